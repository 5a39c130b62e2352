r"""Certified Poincaré constants: a posteriori error estimation and adaptive refinement.

The Poincaré constant :math:`\xi_{\min} = \xi_1` of paper 004, (15), is the smallest
non-zero eigenvalue of the weighted eigenproblem with natural boundary conditions

.. math::

    -\nabla\cdot(\rho\nabla w) = \xi\,\rho\,w \ \text{in } \Omega, \qquad
    \rho\,\partial_n w = 0 \ \text{on } \partial\Omega .

**Upper bound.**  A conforming finite-element space :math:`V_h \subset H^1(\rho)` gives, by
the min–max principle, :math:`\xi_{1,h} \ge \xi_1(\Omega)` for every mesh (up to the
round-off and quadrature of the weight).  On a truncated box Ω the constant differs from
that of :math:`\mathbb R^d` by a truncation error that :func:`certified_poincare` measures.

**Estimator.**  For a computed eigenpair :math:`(\xi_h, w_h)`, :math:`\int\rho w_h^2 = 1`,
the residual :math:`r(\phi) = \xi_h\int\rho w_h\phi - \int\rho\nabla w_h\cdot\nabla\phi`
is, after integration by parts on each cell T,

.. math::

    r(\phi) = \sum_T \int_T R_T\,\phi
        - \sum_{E\ \mathrm{interior}} \int_E J_E\,\phi
        - \sum_{E\subset\partial\Omega} \int_E \rho\,\partial_n w_h\,\phi,
    \qquad R_T = \nabla\cdot(\rho\nabla w_h) + \xi_h\rho w_h,
    \quad J_E = [\![\rho\,\partial_n w_h]\!].

The energy norm of the problem is :math:`\|\rho^{1/2}\nabla\cdot\|`, so the dual norm of r
is bounded (with the usual Clément-interpolation argument applied to the weighted space,
where ρ is resolved on each cell patch) by the indicators

.. math::

    \eta_T^2 = h_T^2\,\bigl\|\rho^{-1/2}R_T\bigr\|_T^2
        + \tfrac12\sum_{E\subset\partial T\ \mathrm{interior}} h_E\,
          \bigl\|\rho^{-1/2}J_E\bigr\|_E^2
        + \sum_{E\subset\partial T\cap\partial\Omega} h_E\,
          \bigl\|\rho^{1/2}\partial_n w_h\bigr\|_E^2 ,

with :math:`\rho^{-1/2}R_T = \rho^{1/2}(\Delta w_h + \nabla\ln\rho\cdot\nabla w_h +
\xi_h w_h)` and :math:`\rho^{-1/2}J_E = \rho^{1/2}[\![\partial_n w_h]\!]` (ρ is
continuous), so only :math:`\ln\rho` and its gradient are needed and nothing under- or
overflows (ρ enters relative to its maximum; η is invariant under scaling of ρ).  For a
simple eigenvalue :math:`\xi_h - \xi = \|\rho^{1/2}\nabla(w - w_h)\|^2 - \xi\|\rho^{1/2}
(w - w_h)\|^2`, so the eigenvalue error is of the order of :math:`\eta^2 = \sum_T
\eta_T^2`; for a cluster (ξ_1 ≈ ξ_2, e.g. an isotropic Gaussian) the indicators of the
cluster's eigenvectors are added.  The estimator holds up to constants (reliability and
efficiency are asymptotic): :math:`\eta^2` is an *estimate* of :math:`\xi_h - \xi`, and
its effectivity is measured in the tests and the benchmark.

The weights are :math:`h_T/p`, :math:`h_E/p` for degree p (the hp-scaling of Melenk and
Wohlmuth), which brings the P2 effectivity closer to 1.

**Quadrature.**  The upper bound holds for the exact weighted forms; quadrature of the
weight perturbs :math:`\xi_h` by an amount the residual does not see.  The loop therefore
also refines every cell on which :math:`\ln\rho` varies by more than
``weight_oscillation`` (a coarse 1D Gaussian mesh otherwise gives :math:`\xi_h < \xi`
by 1e-7), and once :math:`\eta^2` is small it measures the quadrature effect
:math:`q = |\sum_T d_T| \approx |R^{+}(w_h) - \xi_h|`, with :math:`R^{+}` the Rayleigh
quotient under a raised quadrature and :math:`d_T` its change cell by cell; the estimate
is :math:`\eta^2 + q`, and while q is too large the cells holding it are refined (Dörfler
on :math:`|d_T|`).  An eigenfunction that lies in V_h, e.g. the linear ξ_1 mode of a
Gaussian, has :math:`\eta^2 \approx 0`, and its error is all quadrature: N(0, 1.88²) on
P1 cells with oscillation ≤ 0.5 gives :math:`\xi_h` 4e-5 below ξ_1.  A first mesh so
coarse that the weighted mass matrix is indefinite (the degree-3 rules of P1 on triangles
and tetrahedra have a negative weight) is refined where ln ρ oscillates before the first
solve that succeeds.

**Adaptivity.**  Dörfler marking (the smallest set of cells holding a fraction θ of
:math:`\eta^2`), conforming refinement of the marked cells (``mesh.refined(marked)``:
bisection in 1D, red–green–blue on triangles), repeated until
:math:`\eta^2 + q \le \mathrm{tol}\cdot\xi_h`.

**Lower bound.**  For the *uniform* weight on a triangle mesh the Crouzeix–Raviart
eigenvalue with the correction of Carstensen and Gedicke (Math. Comp. 83 (2014)
2605–2629),

.. math::

    \xi_1 \ \ge\ \frac{\xi_{1,\mathrm{CR}}}{1 + \kappa^2\,\xi_{1,\mathrm{CR}}\,H^2},
    \qquad \kappa = 0.1893,\ H = \max_T h_T,

is a guaranteed lower bound (their argument uses only :math:`\int_T\nabla(v -
I_{\mathrm{CR}}v) = 0` and :math:`\|v - I_{\mathrm{CR}}v\|_T \le \kappa h_T
\|\nabla(v - I_{\mathrm{CR}}v)\|_T`, which do not involve the boundary condition, so the
Neumann problem is covered; exact arithmetic in the algebraic eigenvalue assumed).  For a
non-constant weight the first identity fails (:math:`\int_T\rho\nabla(v - I v) \ne 0`), and
no lower bound is returned: there the lower side is only the estimate
:math:`\xi_h - \eta^2`.

Examples
--------
>>> import gan_pde as gp
>>> from gan_pde.spectral.adaptive import adaptive_poincare
>>> rho = gp.Gaussian(mean=[0.0], cov=[[1.0]])
>>> result = adaptive_poincare(rho, gp.mesh.interval(-9.0, 9.0, n=8), tol=1e-8)
>>> print(f"{result.xi_min:.6f}", bool(result.converged))
1.000000 True
"""

from __future__ import annotations

import itertools
import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse.linalg as spla
import skfem
from skfem.models.poisson import laplace, mass

from gan_pde.errors import (
    AccuracyWarning,
    InvalidInputError,
    NotConvergedError,
    NumericalBreakdownError,
)
from gan_pde.fem.basis import element_order, make_basis, quadrature_points
from gan_pde.fem.forms import log_density_at_quadrature
from gan_pde.fem.solvers import LinearSolver, as_linear_solver
from gan_pde.spectral.weighted_laplacian import Spectrum, weighted_laplacian_spectrum

if TYPE_CHECKING:
    from gan_pde.densities import Density

__all__ = [
    "KAPPA_TRIANGLE",
    "AdaptiveResult",
    "CertifiedPoincare",
    "adaptive_poincare",
    "certified_poincare",
    "crouzeix_raviart_lower_bound",
    "dorfler_mark",
    "error_indicators",
    "fitted_rate",
    "rayleigh_upper_bound",
    "truncation_box",
]

logger = logging.getLogger(__name__)

#: Interpolation constant of the Crouzeix–Raviart element on triangles (Carstensen–Gedicke).
KAPPA_TRIANGLE = 0.1893
#: Eigenvalues within this relative distance of ξ_1 form its cluster in the estimator.
CLUSTER_RTOL = 1e-2
_SIMPLEX_MESHES = (skfem.MeshLine1, skfem.MeshTri1, skfem.MeshTet1)


@dataclass(frozen=True)
class AdaptiveResult:
    r"""ξ_min from a sequence of refined meshes, with its error estimate and history.

    Attributes
    ----------
    xi_min
        The conforming :math:`\xi_{1,h}` on the last mesh: an upper bound of the
        Poincaré constant of the truncated domain up to the quadrature of the weight.
    error_estimate
        :math:`\eta^2 + |\xi_{1,h} - R(w_h)|`: the estimate of
        :math:`|\xi_{1,h} - \xi_1|` (not guaranteed), the residual estimate plus the
        quadrature effect measured by the Rayleigh quotient R with raised quadrature
        (:func:`rayleigh_upper_bound`).
    upper_bound
        :func:`rayleigh_upper_bound` of the last eigenfunction: an upper bound of ξ_1 of
        the truncated domain up to the (much smaller) error of a higher quadrature.
    lower_bound
        Guaranteed Crouzeix–Raviart/Carstensen–Gedicke lower bound (uniform weight on
        triangles only), else ``None``.
    converged
        Whether ``error_estimate`` :math:`\le \mathrm{tol}\cdot\xi_{1,h}` was reached.
    history
        Per iteration: ``n_dofs``, ``xi_min``, ``estimator`` (η²), ``h_max`` and, when
        computed, ``lower_bound`` and ``quadrature`` (NaN otherwise).
    spectrum
        The :class:`~gan_pde.spectral.weighted_laplacian.Spectrum` on the last mesh.
    indicators
        :math:`\eta_T^2` on the last mesh.
    info
        Parameters and timings.
    """

    xi_min: float
    error_estimate: float
    upper_bound: float
    lower_bound: float | None
    converged: bool
    history: dict[str, np.ndarray]
    spectrum: Spectrum = field(repr=False)
    indicators: np.ndarray = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def mesh(self) -> skfem.Mesh:
        """The last mesh."""
        return self.spectrum.basis.mesh

    @property
    def relative_error_estimate(self) -> float:
        r""":math:`\eta^2/\xi_{1,h}`."""
        return self.error_estimate / self.xi_min


@dataclass(frozen=True)
class CertifiedPoincare:
    r"""ξ_min of a density on :math:`\mathbb R^d` with discretisation and truncation errors.

    Attributes
    ----------
    xi_min
        Conforming ξ_min on the box ``box`` (adaptive mesh).
    error_estimate
        The discretisation estimate η² on that box.
    truncation_effect
        :math:`|\xi_{\min}(\text{box}) - \xi_{\min}(\text{larger box})|`.
    box, larger_box
        ``(d, 2)`` arrays: where :math:`\ln\rho \ge \ln\rho_{\max} - T` and the same for
        ``T + tail_step``.
    result, larger
        The two :class:`AdaptiveResult`.
    """

    xi_min: float
    error_estimate: float
    truncation_effect: float
    box: np.ndarray
    larger_box: np.ndarray
    result: AdaptiveResult = field(repr=False)
    larger: AdaptiveResult = field(repr=False)

    @property
    def total_error(self) -> float:
        """Discretisation estimate plus truncation effect."""
        return self.error_estimate + self.truncation_effect


def error_indicators(spectrum: Spectrum, density: Density, *, index: int = 1) -> np.ndarray:
    r"""Residual indicators :math:`\eta_T^2` of the eigenpair ``index`` (and its cluster).

    .. math::

        \eta_T^2 = h_T^2\|\rho^{1/2}(\Delta w_h + \nabla\ln\rho\cdot\nabla w_h
            + \xi_h w_h)\|_T^2 + \tfrac12\sum_{E\ \mathrm{int}} h_E
            \|\rho^{1/2}[\![\partial_n w_h]\!]\|_E^2
            + \sum_{E\subset\partial\Omega} h_E\|\rho^{1/2}\partial_n w_h\|_E^2

    (module docstring; paper 004, (14)–(15)), with ρ relative to its maximum and
    :math:`w_h` normalised in :math:`L^2(\rho)` with the same ρ.

    Parameters
    ----------
    spectrum
        From :func:`~gan_pde.weighted_laplacian_spectrum` on a simplex mesh (P1 or P2).
    density
        The weight of ``spectrum``.
    index
        The eigenpair (1 = ξ_min); eigenvalues within :data:`CLUSTER_RTOL` of it are added.

    Returns
    -------
    numpy.ndarray
        :math:`\eta_T^2` per cell; their sum estimates :math:`\xi_h - \xi`.

    Examples
    --------
    >>> import gan_pde as gp
    >>> rho = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    >>> spec = gp.weighted_laplacian_spectrum(rho, gp.mesh.interval(-8, 8, n=40), k=3)
    >>> error_indicators(spec, rho).shape
    (40,)
    """
    basis = spectrum.basis
    mesh = basis.mesh
    if not isinstance(mesh, _SIMPLEX_MESHES):
        msg = f"error_indicators needs a simplex mesh; got {type(mesh).__name__}"
        raise InvalidInputError(msg)
    values = spectrum.eigenvalues
    if not 1 <= index < values.size:
        msg = f"index={index} is out of range 1..{values.size - 1}"
        raise InvalidInputError(msg)
    cluster = np.flatnonzero(np.abs(values - values[index]) <= CLUSTER_RTOL * values[index])
    cluster = cluster[cluster >= 1]
    log_qp = log_density_at_quadrature(density, basis)
    top = float(log_qp.max())
    rho = np.exp(log_qp - top)
    score = np.asarray(density.grad_log_pdf(quadrature_points(basis)), dtype=float)
    score = score.T.reshape(mesh.dim(), basis.nelems, -1)
    h = _diameters(mesh)
    interior = [skfem.InteriorFacetBasis(mesh, basis.elem, side=s) for s in (0, 1)]
    boundary = skfem.FacetBasis(mesh, basis.elem)
    rho_int = _relative_rho(density, interior[0], top)
    rho_bnd = _relative_rho(density, boundary, top)
    # hp-scaling of the weights (Melenk–Wohlmuth): h_T/p and h_E/p for degree p.
    h = h / basis.elem.maxdeg
    total = np.zeros(basis.nelems)
    for j in cluster:
        w = spectrum.eigenvectors[:, j]
        field = basis.interpolate(w)
        norm = math.sqrt(float(np.sum(rho * np.asarray(field) ** 2 * basis.dx)))
        w = w / norm
        field = basis.interpolate(w)
        laplacian = _cell_laplacian(basis, w)
        residual = (
            laplacian[:, None] + np.sum(score * field.grad, axis=0) + values[j] * np.asarray(field)
        )
        total += h**2 * np.sum(rho * residual**2 * basis.dx, axis=1)
        g0, g1 = (b.interpolate(w).grad for b in interior)
        jump = np.sum((g0 - g1) * interior[0].normals, axis=0)
        jump_integral = np.sum(rho_int * jump**2 * interior[0].dx, axis=1)
        for side in interior:
            np.add.at(total, side.tind, 0.5 * h[side.tind] * jump_integral)
        flux = np.sum(boundary.interpolate(w).grad * boundary.normals, axis=0)
        flux_integral = np.sum(rho_bnd * flux**2 * boundary.dx, axis=1)
        np.add.at(total, boundary.tind, h[boundary.tind] * flux_integral)
    return total


def dorfler_mark(indicators: np.ndarray, *, theta: float = 0.5) -> np.ndarray:
    r"""Dörfler (bulk) marking: the fewest cells whose indicators hold a fraction θ.

    .. math::

        \sum_{T\in\mathcal M}\eta_T^2 \ \ge\ \theta\sum_T\eta_T^2

    Parameters
    ----------
    indicators
        :math:`\eta_T^2 \ge 0` per cell.
    theta
        Bulk fraction, 0 < θ ≤ 1 (θ = 1 marks every cell with a non-zero indicator).

    Returns
    -------
    numpy.ndarray
        Indices of the marked cells.

    Examples
    --------
    >>> dorfler_mark(np.array([1.0, 5.0, 2.0, 2.0]), theta=0.6)
    array([1, 2])
    """
    eta = np.asarray(indicators, dtype=float)
    if eta.ndim != 1 or eta.size == 0 or not np.all(np.isfinite(eta)) or np.any(eta < 0):
        msg = "indicators must be a non-empty 1-D array of finite non-negative numbers"
        raise InvalidInputError(msg)
    if not (isinstance(theta, (int, float)) and 0.0 < theta <= 1.0):
        msg = f"theta must be in (0, 1]; got {theta!r}"
        raise InvalidInputError(msg)
    order = np.argsort(-eta, kind="stable")
    cumulative = np.cumsum(eta[order])
    count = int(np.searchsorted(cumulative, theta * cumulative[-1] * (1.0 - 1e-12))) + 1
    return np.sort(order[: min(count, eta.size)])


def rayleigh_upper_bound(spectrum: Spectrum, density: Density, *, extra_order: int = 6) -> float:
    r"""Rayleigh quotient of the computed ξ_min eigenfunction, integrated more accurately.

    .. math::

        \xi_1 \le \frac{\int\rho|\nabla w_h|^2}{\int\rho(w_h - \bar w_h)^2},
        \qquad \bar w_h = \frac{\int\rho w_h}{\int\rho}
        \qquad\text{(paper 004, (30)–(31))}

    for any :math:`w_h \in H^1`: the min–max principle needs exact integrals, so they are
    evaluated with the quadrature degree raised by ``extra_order`` (the solver's own
    quadrature may put :math:`\xi_h` slightly below ξ_1 for smooth weights).

    Examples
    --------
    >>> import gan_pde as gp
    >>> rho = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    >>> spec = gp.weighted_laplacian_spectrum(rho, gp.mesh.interval(-9, 9, n=30), k=3)
    >>> bound = rayleigh_upper_bound(spec, rho)
    >>> bool(bound >= 1.0 - 1e-12), round(bound, 6)
    (True, 1.0)
    """
    old = spectrum.basis
    order = old.elem.maxdeg
    basis = make_basis(old.mesh, f"P{order}", intorder=2 * order + 1 + extra_order)
    log_qp = log_density_at_quadrature(density, basis)
    rho = np.exp(log_qp - log_qp.max())
    w = spectrum.eigenvectors[:, 1]
    field = basis.interpolate(w)
    weights = rho * basis.dx
    mean = float(np.sum(weights * np.asarray(field)) / np.sum(weights))
    numerator = float(np.sum(weights * np.sum(field.grad**2, axis=0)))
    denominator = float(np.sum(weights * (np.asarray(field) - mean) ** 2))
    return numerator / denominator


def _quadrature_indicators(
    spectrum: Spectrum, density: Density, *, extra_order: int = 6
) -> np.ndarray:
    r"""Per cell, the change of the ξ_min Rayleigh quotient under a raised quadrature.

    .. math::

        d_T = \frac{\bigl(A_T^{+} - A_T\bigr) - \xi_h\bigl(B_T^{+} - B_T\bigr)}{B},
        \qquad A_T = \int_T\rho|\nabla w_h|^2,\quad B_T = \int_T\rho\,w_h^2,

    with the solver's rule (no mark) and the rule of degree raised by ``extra_order`` (+);
    :math:`\sum_T d_T` is, to first order, :math:`R^{+}(w_h) - \xi_h`: the quadrature
    effect on ξ_h that the residual estimator does not see.
    """
    old = spectrum.basis
    order = old.elem.maxdeg
    raised = make_basis(old.mesh, f"P{order}", intorder=2 * order + 1 + extra_order)
    w = spectrum.eigenvectors[:, 1]
    xi = spectrum.poincare_constant
    logs = [log_density_at_quadrature(density, b) for b in (old, raised)]
    top = max(float(v.max()) for v in logs)
    parts = []
    for basis, log_qp in zip((old, raised), logs, strict=True):
        field = basis.interpolate(w)
        weights = np.exp(log_qp - top) * basis.dx
        stiffness = np.sum(weights * np.sum(field.grad**2, axis=0), axis=1)
        mass = np.sum(weights * np.asarray(field) ** 2, axis=1)
        parts.append((stiffness, mass))
    (a_old, b_old), (a_new, b_new) = parts
    return ((a_new - a_old) - xi * (b_new - b_old)) / b_old.sum()


def crouzeix_raviart_lower_bound(
    mesh: skfem.Mesh,
    *,
    kappa: float = KAPPA_TRIANGLE,
    solver: str | LinearSolver | None = "auto",
) -> float:
    r"""Guaranteed lower bound of the first non-zero Neumann eigenvalue of −Δ on a mesh.

    .. math::

        \xi_1 \ \ge\ \frac{\xi_{1,\mathrm{CR}}}{1 + \kappa^2\xi_{1,\mathrm{CR}}H^2}
        \qquad\text{(Carstensen–Gedicke 2014, Theorem 3.1; uniform weight)}

    with the Crouzeix–Raviart eigenvalue :math:`\xi_{1,\mathrm{CR}}` and the largest cell
    diameter H.  Valid for the uniform weight only (see the module docstring).

    Parameters
    ----------
    mesh
        A triangle mesh of the domain.
    kappa
        The interpolation constant (0.1893 for triangles).
    solver
        The sparse solver of the shift-invert (:func:`~gan_pde.fem.solvers.linear_solver`
        name or instance).

    Returns
    -------
    float

    Examples
    --------
    >>> import skfem
    >>> mesh = skfem.MeshTri1.init_tensor(np.linspace(0, 1, 17), np.linspace(0, 1, 17))
    >>> bound = crouzeix_raviart_lower_bound(mesh)
    >>> bool(bound <= np.pi**2), round(bound, 3)
    (True, 9.821)
    """
    if not isinstance(mesh, skfem.MeshTri1):
        msg = f"the Crouzeix–Raviart lower bound needs a triangle mesh; got {type(mesh).__name__}"
        raise InvalidInputError(msg)
    basis = skfem.Basis(mesh, skfem.ElementTriCR(), intorder=2)
    stiffness = laplace.assemble(basis)
    mass_matrix = mass.assemble(basis)
    shift = 1e-6 * float(np.mean(stiffness.diagonal() / mass_matrix.diagonal()))
    factor = as_linear_solver(solver).factorize(stiffness + shift * mass_matrix)
    values = spla.eigsh(
        stiffness,
        k=3,
        M=mass_matrix,
        sigma=-shift,
        which="LM",
        OPinv=spla.LinearOperator(stiffness.shape, matvec=factor.solve, dtype=float),
        return_eigenvectors=False,
    )
    xi_cr = float(np.sort(values)[1])
    h_max = float(_diameters(mesh).max())
    return xi_cr / (1.0 + kappa**2 * xi_cr * h_max**2)


def adaptive_poincare(
    density: Density,
    mesh: skfem.Mesh,
    *,
    element: str = "P2",
    tol: float = 1e-6,
    theta: float = 0.5,
    max_dofs: int = 200_000,
    max_iterations: int = 60,
    uniform: bool = False,
    lower_bound: bool = True,
    weight_oscillation: float = 0.5,
    solver: str | LinearSolver | None = "auto",
    k: int = 4,
) -> AdaptiveResult:
    r"""ξ_min by adaptive refinement until the estimate :math:`\eta^2 + q \le \mathrm{tol}\,\xi_h`.

    Solve → estimate (:func:`error_indicators`) → mark (:func:`dorfler_mark`) → refine,
    for the weighted eigenproblem (paper 004, (14)–(15)) with natural boundary conditions
    on the mesh's domain.

    Parameters
    ----------
    density
        The weight ρ.
    mesh
        The initial simplex mesh (``MeshLine1``, ``MeshTri1``, ``MeshTet1``).
    element
        ``"P1"`` or ``"P2"``.
    tol
        Relative target of the estimate :math:`\eta^2/\xi_h`.
    theta
        Dörfler fraction.
    max_dofs, max_iterations
        Budget; the loop stops with ``converged=False`` when a refined mesh would exceed
        ``max_dofs`` or after ``max_iterations`` solves.
    uniform
        Refine every cell instead (for comparison).
    lower_bound
        Compute the Crouzeix–Raviart lower bound when it is valid (uniform weight on a
        triangle mesh).
    weight_oscillation
        Cells where :math:`\ln\rho` varies by more than this over the quadrature points
        are refined as well: the estimator does not see the quadrature error of the
        weighted forms, which can exceed the discretisation error (and break the upper
        bound) on cells where ρ changes by a large factor.
    solver
        The sparse solver of every eigen-solve (:func:`~gan_pde.weighted_laplacian_spectrum`'s
        ``solver``); the backend used is recorded in ``info["linear_solver"]``.
    k
        Eigenpairs per solve (≥ 3, so that a cluster at ξ_1 is seen).

    Returns
    -------
    AdaptiveResult

    Examples
    --------
    >>> import gan_pde as gp
    >>> rho = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0])
    >>> result = adaptive_poincare(rho, gp.mesh.interval(-12.0, 12.0, n=8), tol=1e-7)
    >>> print(f"{result.xi_min:.5f}", result.lower_bound)
    0.11906 None
    """
    _validate(density, mesh, tol, max_dofs, max_iterations, k)
    element_order(element)
    linear = as_linear_solver(solver)
    with_lower = bool(lower_bound and isinstance(mesh, skfem.MeshTri1) and _is_uniform(density))
    records: dict[str, list[float]] = {
        key: [] for key in ("n_dofs", "xi_min", "estimator", "h_max", "lower_bound", "quadrature")
    }
    start = time.perf_counter()
    converged = False
    spectrum = None
    for _ in range(max_iterations):
        # the loop refines cells where ln(rho) oscillates (weight_oscillation) itself, so
        # an under-resolved first mesh is refined instead of refused or warned about
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AccuracyWarning)
                spectrum = weighted_laplacian_spectrum(
                    density, mesh, k=k, element=element, max_log_variation=None, solver=linear
                )
        except NumericalBreakdownError:
            # a first mesh far too coarse for ρ (found by the stress campaign: 4x4
            # triangles over 15 σ, ln ρ varying by 15-58 in the cell holding the mode):
            # the degree-3 rules of P1 on triangles and tetrahedra have a negative weight,
            # and the weighted mass matrix is then indefinite.  Refine where ln ρ
            # oscillates and solve again.
            oscillation = np.ptp(
                log_density_at_quadrature(density, make_basis(mesh, element)), axis=1
            )
            coarse = np.flatnonzero(oscillation > weight_oscillation)
            if coarse.size == 0:
                raise
            mesh = mesh.refined(coarse)
            continue
        indicators = error_indicators(spectrum, density)
        xi = spectrum.poincare_constant
        estimate = float(indicators.sum())
        records["n_dofs"].append(spectrum.n_dofs)
        records["xi_min"].append(xi)
        records["estimator"].append(estimate)
        records["h_max"].append(float(_diameters(mesh).max()))
        records["lower_bound"].append(
            crouzeix_raviart_lower_bound(mesh, solver=linear) if with_lower else math.nan
        )
        records["quadrature"].append(math.nan)
        logger.debug("adaptive: %d dofs, xi=%.12g, eta^2=%.3e", spectrum.n_dofs, xi, estimate)
        oscillation = np.ptp(log_density_at_quadrature(density, spectrum.basis), axis=1)
        coarse = np.flatnonzero(oscillation > weight_oscillation)
        # η² does not see the quadrature error of the weighted forms, so a small η² is no
        # certificate on its own (found by the stress campaign: N(0, 1.88²) on 17 P1 cells
        # has η² ~ 0, its ξ_1 mode being linear, and ξ_h 7e-5 *below* ξ_1; with every cell
        # at an oscillation <= 0.5 still 4e-5 below).  Once η² is small, the quadrature
        # effect q is measured cell by cell (:func:`_quadrature_indicators`) and is part of
        # the estimate; the cells holding it are refined while it is too large.
        marked_quadrature = np.zeros(0, dtype=int)
        if estimate <= tol * xi:
            contributions = _quadrature_indicators(spectrum, density)
            quadrature = abs(float(contributions.sum()))
            records["quadrature"][-1] = quadrature
            if estimate + quadrature <= tol * xi:
                converged = True
                break
            marked_quadrature = dorfler_mark(np.abs(contributions), theta=theta)
        if uniform:
            marked = np.arange(mesh.nelements)
        elif marked_quadrature.size:
            marked = np.union1d(marked_quadrature, coarse)
        else:
            marked = np.union1d(dorfler_mark(indicators, theta=theta), coarse)
        refined = mesh.refined() if uniform else mesh.refined(marked)
        growth = refined.nelements / mesh.nelements
        if spectrum.n_dofs * growth > max_dofs:
            break
        mesh = refined
    history = {key: np.asarray(value, dtype=float) for key, value in records.items()}
    history["n_dofs"] = history["n_dofs"].astype(int)
    if spectrum is None:
        msg = (
            f"no mesh within {max_iterations} refinements resolved the weight well enough "
            "for a positive definite weighted mass matrix; start from a finer mesh"
        )
        raise NotConvergedError(msg)
    upper = rayleigh_upper_bound(spectrum, density)
    if not np.isfinite(history["quadrature"][-1]):
        history["quadrature"][-1] = abs(float(_quadrature_indicators(spectrum, density).sum()))
    return AdaptiveResult(
        xi_min=float(history["xi_min"][-1]),
        error_estimate=float(history["estimator"][-1] + history["quadrature"][-1]),
        upper_bound=upper,
        lower_bound=float(history["lower_bound"][-1]) if with_lower else None,
        converged=converged,
        history=history,
        spectrum=spectrum,
        indicators=indicators,
        info={
            "element": element.upper(),
            "tol": tol,
            "theta": theta,
            "uniform": uniform,
            "seconds": time.perf_counter() - start,
            "density": repr(density),
            "linear_solver": spectrum.info.get("linear_solver"),
        },
    )


def truncation_box(
    density: Density, *, tail: float = 20.0, n_samples: int = 4000, seed: int = 0
) -> np.ndarray:
    r"""A box outside which :math:`\ln\rho < \ln\rho_{\max} - T` on its faces.

    Starts from the bounding box of ``n_samples`` draws and moves each face outwards (by
    10 % of the width) until :math:`\max_{\text{face}}\ln\rho \le \ln\rho_{\max} - T`, with
    :math:`\ln\rho_{\max}` the largest value at the samples.

    Parameters
    ----------
    density
        A density with ``sample`` and ``log_pdf``, positive on :math:`\mathbb R^d`.
    tail
        T > 0.
    n_samples, seed
        The draws that locate the mass.

    Returns
    -------
    numpy.ndarray
        Shape ``(d, 2)``: one ``[a, b]`` per coordinate.

    Examples
    --------
    >>> import gan_pde as gp
    >>> box = truncation_box(gp.Gaussian(mean=[0.0], cov=[[1.0]]), tail=8.0)
    >>> bool(box[0, 1] >= 4.0)  # ln rho drops by 8 at |x| = 4
    True
    """
    if not (isinstance(tail, (int, float)) and math.isfinite(tail) and tail > 0):
        msg = f"tail must be a positive number; got {tail!r}"
        raise InvalidInputError(msg)
    samples = np.asarray(density.sample(n_samples, rng=seed), dtype=float)
    level = float(np.max(density.log_pdf(samples))) - tail
    box = np.stack([samples.min(axis=0), samples.max(axis=0)], axis=1)
    dim = box.shape[0]
    for _ in range(200):
        moved = False
        width = box[:, 1] - box[:, 0]
        for axis, side in itertools.product(range(dim), (0, 1)):
            if np.max(density.log_pdf(_face(box, axis, side))) > level:
                box[axis, side] += (0.1 if side else -0.1) * width[axis]
                moved = True
        if not moved:
            return box
    msg = f"no box found where ln rho drops by tail={tail} (the density has heavy tails?)"
    raise InvalidInputError(msg)


def certified_poincare(
    density: Density,
    *,
    tail: float = 20.0,
    tail_step: float = 10.0,
    cells: int = 8,
    element: str = "P2",
    tol: float = 1e-6,
    theta: float = 0.5,
    max_dofs: int = 200_000,
    seed: int = 0,
    solver: str | LinearSolver | None = "auto",
) -> CertifiedPoincare:
    r"""ξ_min of ρ on :math:`\mathbb R^d`: adaptive on a tail box, truncation measured.

    Runs :func:`adaptive_poincare` on the box of :func:`truncation_box` with ``tail`` and
    on the larger box with ``tail + tail_step`` (both meshed with ``cells`` cells per
    direction, triangles in 2D); the truncation effect is the difference of the two
    (paper 004, (15) on :math:`\mathbb R^d`).

    Parameters
    ----------
    density
        A 1D or 2D density positive on :math:`\mathbb R^d`.
    tail, tail_step
        T and the increment of the comparison box.
    cells, element, tol, theta, max_dofs
        Initial mesh and :func:`adaptive_poincare` options.
    seed
        Seed of the draws in :func:`truncation_box`.
    solver
        The sparse solver of the eigen-solves (:func:`adaptive_poincare`).

    Returns
    -------
    CertifiedPoincare

    Examples
    --------
    >>> import gan_pde as gp
    >>> rho = gp.Gaussian(mean=[0.0], cov=[[4.0]])
    >>> result = certified_poincare(rho, tol=1e-6)
    >>> print(f"{result.xi_min:.4f}", bool(result.truncation_effect < 1e-5))
    0.2500 True
    """
    from gan_pde.mesh import interval, rectangle

    if density.dim not in (1, 2):
        msg = f"certified_poincare handles 1D and 2D densities; got dim={density.dim}"
        raise InvalidInputError(msg)
    results, boxes = [], []
    for t in (tail, tail + tail_step):
        box = truncation_box(density, tail=t, seed=seed)
        if density.dim == 1:
            mesh = interval(*box[0], n=cells)
        else:
            mesh = rectangle(tuple(box[0]), tuple(box[1]), n=cells)
        boxes.append(box)
        results.append(
            adaptive_poincare(
                density,
                mesh,
                element=element,
                tol=tol,
                theta=theta,
                max_dofs=max_dofs,
                solver=solver,
            )
        )
    return CertifiedPoincare(
        xi_min=results[0].xi_min,
        error_estimate=results[0].error_estimate,
        truncation_effect=abs(results[0].xi_min - results[1].xi_min),
        box=boxes[0],
        larger_box=boxes[1],
        result=results[0],
        larger=results[1],
    )


def fitted_rate(n_dofs: np.ndarray, errors: np.ndarray) -> float:
    r"""Least-squares slope of :math:`\ln(\text{error})` against :math:`\ln(\text{dofs})`.

    Examples
    --------
    >>> print(f"{fitted_rate(np.array([10, 100, 1000]), np.array([1e-2, 1e-4, 1e-6])):.3f}")
    -2.000
    """
    n = np.asarray(n_dofs, dtype=float)
    e = np.asarray(errors, dtype=float)
    if n.shape != e.shape or n.size < 2 or np.any(n <= 0) or np.any(e <= 0):
        msg = "fitted_rate needs at least two positive (dofs, error) pairs of equal shape"
        raise InvalidInputError(msg)
    return float(np.polyfit(np.log(n), np.log(e), 1)[0])


def _validate(density, mesh, tol, max_dofs, max_iterations, k) -> None:
    if not hasattr(density, "log_pdf") or not hasattr(density, "grad_log_pdf"):
        msg = f"density must be a gan_pde Density; got {type(density).__name__}"
        raise InvalidInputError(msg)
    if not isinstance(mesh, _SIMPLEX_MESHES):
        msg = (
            f"mesh of type {type(mesh).__name__} is not supported; adaptive refinement needs "
            "a simplex mesh: MeshLine1, MeshTri1 or MeshTet1"
        )
        raise InvalidInputError(msg)
    if not (isinstance(tol, (int, float)) and 0.0 < tol < 1.0):
        msg = f"tol must be in (0, 1); got {tol!r}"
        raise InvalidInputError(msg)
    for name, value, low in (("max_dofs", max_dofs, 1), ("max_iterations", max_iterations, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            msg = f"{name} must be an integer >= {low}; got {value!r}"
            raise InvalidInputError(msg)
    if isinstance(k, bool) or not isinstance(k, int) or k < 3:
        msg = f"k must be an integer >= 3; got {k!r}"
        raise InvalidInputError(msg)


def _is_uniform(density: Density) -> bool:
    from gan_pde.densities import Uniform

    return isinstance(density, Uniform)


def _diameters(mesh: skfem.Mesh) -> np.ndarray:
    """Largest edge length of every cell (the cell length in 1D)."""
    vertices = mesh.p[:, mesh.t]  # (dim, n_vertices, n_cells)
    largest = np.zeros(mesh.nelements)
    for i, j in itertools.combinations(range(mesh.t.shape[0]), 2):
        largest = np.maximum(largest, np.linalg.norm(vertices[:, i] - vertices[:, j], axis=0))
    return largest


def _relative_rho(density: Density, facets: skfem.FacetBasis, top: float) -> np.ndarray:
    points = np.asarray(facets.global_coordinates())  # (dim, n_facets, n_qp)
    flat = points.reshape(points.shape[0], -1).T
    values = np.asarray(density.log_pdf(flat), dtype=float).reshape(points.shape[1:])
    return np.exp(np.minimum(values - top, 0.0))


def _cell_laplacian(basis: skfem.CellBasis, w: np.ndarray) -> np.ndarray:
    """Δw_h per cell: 0 for P1; for P2 from the exact quadratic through the cell's dofs."""
    if basis.elem.maxdeg <= 1:
        return np.zeros(basis.nelems)
    dim = basis.mesh.dim()
    exponents = [e for e in itertools.product(range(3), repeat=dim) if sum(e) <= 2]
    locations = basis.doflocs[:, basis.element_dofs]  # (dim, n_local, n_cells)
    centre = locations.mean(axis=1, keepdims=True)
    scale = _diameters(basis.mesh)
    local = (locations - centre) / scale[None, None, :]
    columns = [np.prod([local[i] ** e[i] for i in range(dim)], axis=0) for e in exponents]
    vandermonde = np.stack(columns, axis=-1).transpose(1, 0, 2)  # (n_cells, n_local, n_mono)
    coefficients = np.linalg.solve(vandermonde, w[basis.element_dofs].T[:, :, None])[:, :, 0]
    laplacian = np.zeros(basis.nelems)
    for m, e in enumerate(exponents):
        if max(e) == 2:
            laplacian += 2.0 * coefficients[:, m]
    return laplacian / scale**2


def _face(box: np.ndarray, axis: int, side: int, per_axis: int = 201) -> np.ndarray:
    """Points on one face of a box, a lattice of ``per_axis`` points per free direction."""
    axes = [np.linspace(lo, hi, per_axis) for lo, hi in box]
    axes[axis] = np.array([box[axis, side]])
    grid = np.meshgrid(*axes, indexing="ij")
    return np.stack([g.ravel() for g in grid], axis=1)
