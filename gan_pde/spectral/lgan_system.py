r"""The linearised GAN (lGAN) in space and time: a mixed finite-element method (paper 004).

The discriminator perturbation u and the generator velocity v of the lGAN follow the weak
system (6), with the gradient penalty γ of Section 6 (μ = ρ dx):

.. math::

    \langle u_t,\hat u\rangle_\mu = -\alpha\langle u,\hat u\rangle_\mu
        - \beta\langle\nabla\hat u, v\rangle_\mu
        - \gamma\langle\nabla u,\nabla\hat u\rangle_\mu,
    \qquad
    \langle v_t,\hat v\rangle_\mu = \beta\langle\nabla u,\hat v\rangle_\mu .

**Discretisation.**  With u in the continuous Lagrange space :math:`U_h` of degree k
(basis :math:`\phi_j`) and v in a vector space :math:`V_h` (basis :math:`\psi_i`), the
Galerkin system is :math:`M_w\dot w = Lw`, w = (u, v):

.. math::

    \begin{pmatrix} M_u & 0 \\ 0 & M_v \end{pmatrix}\frac{d}{dt}
    \begin{pmatrix} u \\ v \end{pmatrix}
    = \begin{pmatrix} -\alpha M_u - \gamma K & -\beta B^\top \\ \beta B & 0 \end{pmatrix}
    \begin{pmatrix} u \\ v \end{pmatrix},
    \qquad B_{ij} = \int\rho\,\nabla\phi_j\cdot\psi_i\,dx,

with the weighted masses :math:`M_u`, :math:`M_v` and stiffness :math:`K` of
:mod:`gan_pde.fem.forms`.  This is (26), :math:`w_t = \mathcal L w`, in space.

**The stable pair is exact.**  ``pair="stable"`` takes for :math:`V_h` the discontinuous
vector polynomials of degree k − 1 (P0 for k = 1).  It contains :math:`\nabla U_h`:
:math:`\nabla\phi_j = \sum_i G_{ij}\psi_i`, so :math:`B = M_vG` and
:math:`K = G^\top M_v G = B^\top M_v^{-1}B`, exactly, whatever the weight and the
quadrature, as long as all three matrices use the same quadrature.  An eigenpair with
λ ≠ 0 then has :math:`v = (\beta/\lambda)\,Gu` (the discrete (17)) and
:math:`\lambda M_u u = -\alpha M_u u - (\gamma + \beta^2/\lambda)Ku`: u is an eigenvector
of the discrete weighted Laplacian, :math:`Ku = \xi_h M_u u`, and

.. math::

    \lambda^2 + (\alpha + \gamma\xi_h)\lambda + \beta^2\xi_h = 0
    \qquad\text{(Theorems 2–3, (16), (19), (22), for every discrete } \xi_h\text{)}.

So the discrete spectrum is :func:`gan_pde.spectral.lgan.eigenvalues` of the discrete
:math:`\xi_h` of :func:`gan_pde.weighted_laplacian_spectrum` (same matrices), plus −α (the
mean of u, (21)) and the kernel.

**Kernel** (Corollary 1, (10)–(11)).  Lw = 0 forces Bu = 0, i.e. ∇u = 0: u is constant on
each of the :math:`n_c` connected components of the mesh.  Then
:math:`\alpha M_u u + \beta B^\top v = 0`, and testing with u = 1 (:math:`B\mathbf 1 = 0`)
gives αC = 0 and :math:`B^\top v = 0`, the discrete divergence-free condition
:math:`\langle\nabla\hat u, v\rangle_\mu = 0` for all :math:`\hat u\in U_h`.  As
rank B = rank G = :math:`n_u - n_c`,

.. math::

    \dim\ker L = n_v - \operatorname{rank}B + [\alpha = 0]\,n_c
               = n_v - n_u + n_c\,(1 + [\alpha = 0]).

In 1D :math:`n_v = n_u - 1` and only the constants (α = 0) remain: ρv = const = 0 by the
no-flux boundary.  On a triangle mesh with T cells and N vertices the P1/P0 kernel has
2T − N + 1 + [α = 0] divergence-free velocities, about 3N.

**The equal-order pair and its spurious modes.**  ``pair="equal-order"`` takes for
:math:`V_h` the continuous vector space of degree k, the same as u.  It does not contain
:math:`\nabla U_h`: now :math:`v = (\beta/\lambda)M_v^{-1}Bu`, the μ-projection
:math:`\Pi_h\nabla u` of the gradient, and λ solves the quadratic eigenproblem

.. math::

    \lambda^2 M_u u + \lambda(\alpha M_u + \gamma K)u + \beta^2 K_\Pi u = 0,
    \qquad K_\Pi = B^\top M_v^{-1}B \ne K .

The coupling sees projected gradients, :math:`u^\top K_\Pi u = \|\Pi_h\nabla u\|^2_\mu
\le u^\top K u`, so the eigenvalues are no longer the roots for the :math:`\xi_h` (for
γ > 0 they are not the roots for any single pencil), and the oscillating u whose gradient
the continuous space hardly sees (checkerboards, :math:`\|\Pi_h\nabla u\|_\mu \ll
\|\nabla u\|_\mu`) give slow spurious modes: the discrete inf–sup (LBB) constant
:math:`\inf_u\sup_v \langle\nabla u, v\rangle_\mu/(\|\nabla u\|_\mu\|v\|_\mu)` is not
bounded below uniformly in h, the condition the last paragraph of Section 5 asks of a
(pressure u, velocity v) pair, and the discrete divergence-free space
:math:`\ker B^\top` is not the μ-orthogonal complement of :math:`\nabla U_h`.  Such a u
gives a real mode :math:`\lambda \approx -\beta^2\zeta/(\alpha + \gamma\xi)` with
:math:`\zeta = \|\Pi_h\nabla u\|^2/\|u\|^2` small and ξ large: on N(0, 1) with
(α, β, γ) = (0.3, 1, 0.2) the equal-order P1 rate is η_h = −0.20 on 30 cells and −0.050 on
60 (→ 0 like h²), where Theorem 4 and the stable pair give −0.25.

**Underflowing weights.**  All matrices are assembled in log space and scaled
symmetrically, :math:`\tilde M_w = SM_wS`, :math:`\tilde L = SLS`, as
:func:`gan_pde.fem.assemble_weighted` does: :math:`S_u = e^{-\ell/2}` with ℓ = ln ρ at the
u-dofs, and for the stable pair :math:`S_v = e^{-c_e/2}` for every v-dof of cell e, with
:math:`c_e` the maximum of ln ρ over the quadrature points of e (a v-dof lives in one
cell, so this is a diagonal scaling; it makes the block :math:`\tilde M_v` that of the
weight :math:`\rho/e^{c_e}\le 1`, of order one however small ρ is).  For the equal-order
pair ℓ is taken at the v-dof locations.  Every entry is a sum of
:math:`e^{c_e - (\ell_i+\ell_j)/2}\int_e e^{\ln\rho - c_e}\dots`, whose exponents are of the
order of the oscillation of ln ρ over one cell, so nothing under- or overflows.  The
pencil keeps its eigenvalues, :math:`\tilde K = \tilde B^\top\tilde M_v^{-1}\tilde B`
still holds, states are the scaled coefficients y = S⁻¹w, and
:math:`\|u\|^2_\mu = y_u^\top\tilde M_u y_u`.

Examples
--------
>>> import gan_pde as gp
>>> from gan_pde.spectral.lgan_system import LGANSystem
>>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-8, 8, n=40),
...                     alpha=1.0, beta=1.0, element="P2")
>>> lam = system.eigenvalues(k=3)  # the slowest modes: -α and λ±(ξ = 1)
>>> print(", ".join(f"{z:.5f}" for z in lam))
-0.50000+0.86603j, -0.50000-0.86603j, -1.00000+0.00000j
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph
import scipy.sparse.linalg as spla
import skfem
from skfem.helpers import dot, grad

from gan_pde._arrays import as_positive_int
from gan_pde.errors import InvalidInputError, NotConvergedError, NumericalBreakdownError
from gan_pde.fem.basis import element_order, make_basis
from gan_pde.fem.forms import WeightedSystem, assemble_weighted, log_density_at_quadrature
from gan_pde.fem.linalg import factorize_symmetric
from gan_pde.spectral import lgan
from gan_pde.spectral.weighted_laplacian import smallest_eigenvalues

if TYPE_CHECKING:
    from gan_pde.densities import Density

__all__ = [
    "PAIRS",
    "SCHEMES",
    "LGANSystem",
    "LGANTrajectory",
    "MixtureExperiment",
    "integrate",
    "mixture_experiment",
]

logger = logging.getLogger(__name__)

#: Element pairs for (u, v): ``"stable"`` (continuous P_k, discontinuous vector P_{k−1}) and
#: ``"equal-order"`` (continuous P_k, continuous vector P_k; has spurious modes).
PAIRS = ("stable", "equal-order")
#: Time integrators of :func:`integrate`.
SCHEMES = ("euler", "heun", "rk4", "crank-nicolson")
#: Largest system (u- plus v-dofs) handled by the dense eigen-solvers.
DENSE_MAX = 3000
#: Largest ratio of ARPACK's Ritz values |θ| (θ = 1/(λ − σ)) whose small members keep 8
#: digits: each carries an absolute error of about ε max|θ|.
_RITZ_SPREAD_MAX = 1e8

# Discontinuous vector spaces of degree k - 1 that contain the gradients of continuous P_k.
_GRADIENT_SPACES: dict[type, tuple[Callable[[], skfem.Element], Callable[[], skfem.Element]]] = {
    skfem.MeshLine1: (skfem.ElementLineP0, lambda: skfem.ElementDG(skfem.ElementLineP1())),
    skfem.MeshTri1: (skfem.ElementTriP0, lambda: skfem.ElementDG(skfem.ElementTriP1())),
    skfem.MeshTet1: (skfem.ElementTetP0, lambda: skfem.ElementDG(skfem.ElementTetP1())),
}


@skfem.BilinearForm
def _coupling(u, v, w):
    r""":math:`\int\rho\,\nabla u\cdot v` (trial u scalar, test v vector), ρ as ``rho``."""
    return w["rho"] * dot(grad(u), v)


@skfem.BilinearForm
def _vector_mass(u, v, w):
    r""":math:`\int\rho\,u\cdot v` for vector fields, ρ as ``rho``."""
    return w["rho"] * dot(u, v)


class LGANSystem:
    r"""The lGAN system (6) with gradient penalty, discretised by mixed finite elements.

    Builds the log-scaled matrices of :math:`\tilde M_w\dot y = \tilde L y` (see the module
    docstring for the equations, the pairs and the scaling):

    .. math::

        \tilde M_w = \begin{pmatrix}\tilde M_u & 0\\ 0 & \tilde M_v\end{pmatrix},\qquad
        \tilde L = \begin{pmatrix}-\alpha\tilde M_u - \gamma\tilde K & -\beta\tilde B^\top
        \\ \beta\tilde B & 0\end{pmatrix}
        \qquad\text{(paper 004, (6), (26); γ: Section 6)}.

    Parameters
    ----------
    density
        The data density ρ of μ = ρ dx; need not be normalised.
    mesh
        A simplex mesh (``MeshLine1``, ``MeshTri1``, ``MeshTet1``) covering where ρ lives;
        natural (no-flux) boundary conditions.
    alpha, beta, gamma
        The lGAN parameters: α ≥ 0 (:math:`\phi_1''(0)+\phi_2''(0)`, the convention of
        :mod:`gan_pde.spectral.lgan`), β ≠ 0 of either sign, penalty γ ≥ 0.
    element
        ``"P1"`` or ``"P2"``, the degree k of u.
    pair
        ``"stable"`` (v discontinuous of degree k − 1; exact Theorems 2–3) or
        ``"equal-order"`` (v continuous of degree k; spurious modes).

    Attributes
    ----------
    mass, operator
        :math:`\tilde M_w` and :math:`\tilde L`, CSR, of size :math:`n_u + n_v`; the state
        y is (u-part, v-part).
    u_mass, stiffness, v_mass, coupling
        The blocks :math:`\tilde M_u`, :math:`\tilde K`, :math:`\tilde M_v`,
        :math:`\tilde B` (shape ``(n_v, n_u)``).
    u_basis, v_basis
        The scikit-fem bases, on the same quadrature.
    u_log_scale, v_log_scale
        ln of the inverse scaling per dof: :math:`S = e^{-\ell/2}`.
    n_u, n_v
        Numbers of u- and v-dofs.

    Examples
    --------
    >>> import gan_pde as gp
    >>> system = LGANSystem(gp.Gaussian(mean=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]]),
    ...                     gp.mesh.rectangle((-4.0, 4.0), (-4.0, 4.0), n=(4, 4)),
    ...                     alpha=0.5, beta=-1.0)
    >>> system.n_u, system.n_v, system.kernel_dimension()  # 2T − N + 1 = 64 − 25 + 1
    (25, 64, 40)
    """

    def __init__(
        self,
        density: Density,
        mesh: skfem.Mesh,
        *,
        alpha: float,
        beta: float,
        gamma: float = 0.0,
        element: str = "P1",
        pair: str = "stable",
    ) -> None:
        _check_density_and_mesh(density, mesh)
        self.alpha = _parameter(alpha, "alpha", nonnegative=True, reason=lgan._ALPHA_REASON)
        self.beta = _parameter(beta, "beta")
        if self.beta == 0.0:
            msg = f"beta must be non-zero: {lgan._BETA_REASON}"
            raise InvalidInputError(msg)
        self.gamma = _parameter(gamma, "gamma", nonnegative=True, reason=lgan._GAMMA_REASON)
        if pair not in PAIRS:
            msg = f"pair={pair!r} is not supported; expected one of {PAIRS}"
            raise InvalidInputError(msg)
        self.pair = pair
        self.element = element.upper() if isinstance(element, str) else element
        order = element_order(element)
        self.density = density
        self.mesh = mesh

        self.u_basis = make_basis(mesh, self.element)
        weighted = assemble_weighted(density, self.u_basis)
        log_qp = log_density_at_quadrature(density, self.u_basis)
        shift = log_qp.max(axis=1)
        relative = np.exp(log_qp - shift[:, np.newaxis])
        if pair == "stable":
            scalar = _GRADIENT_SPACES[type(mesh)][order - 1]()
        else:
            scalar = self.u_basis.elem
        self.v_basis = skfem.Basis(
            mesh,
            skfem.ElementVector(scalar, dim=mesh.dim()),
            quadrature=self.u_basis.quadrature,
        )
        if pair == "stable":
            cell = np.empty(self.v_basis.N, dtype=np.int64)
            cell[self.v_basis.element_dofs] = np.arange(mesh.nelements)[np.newaxis, :]
            self.v_log_scale = shift[cell]
        else:
            self.v_log_scale = np.asarray(density.log_pdf(self.v_basis.doflocs.T), dtype=float)
        self.u_log_scale = weighted.log_scale
        self._cell_log_variation = getattr(weighted, "cell_log_variation", None)
        self.u_mass = weighted.mass
        self.stiffness = weighted.stiffness
        self.coupling = _scaled_matrix(
            _coupling,
            self.u_basis,
            self.v_basis,
            relative,
            shift,
            weighted.log_scale,
            self.v_log_scale,
        )
        self.v_mass = _scaled_matrix(
            _vector_mass,
            self.v_basis,
            self.v_basis,
            relative,
            shift,
            self.v_log_scale,
            self.v_log_scale,
        )
        self.n_u = int(self.u_basis.N)
        self.n_v = int(self.v_basis.N)
        self.mass = sp.block_diag([self.u_mass, self.v_mass], format="csr")
        self.operator = sp.bmat(
            [
                [
                    -self.alpha * self.u_mass - self.gamma * self.stiffness,
                    -self.beta * self.coupling.T,
                ],
                [self.beta * self.coupling, None],
            ],
            format="csr",
        )
        logger.debug("lGAN system: %d u-dofs, %d v-dofs, pair %s", self.n_u, self.n_v, pair)

    def __repr__(self) -> str:
        return (
            f"LGANSystem(alpha={self.alpha}, beta={self.beta}, gamma={self.gamma}, "
            f"element={self.element!r}, pair={self.pair!r}, n_u={self.n_u}, n_v={self.n_v})"
        )

    @property
    def n_components(self) -> int:
        """Number of connected components of the mesh (the dimension of the constants)."""
        return int(scipy.sparse.csgraph.connected_components(self.u_mass, directed=False)[0])

    def laplacian_eigenvalues(self, k: int | None = None) -> np.ndarray:
        r"""Eigenvalues :math:`\xi_h` of the discrete weighted Laplacian :math:`(\tilde K,
        \tilde M_u)`, the same matrices as the lGAN operator.

        .. math::

            \tilde K y = \xi_h\,\tilde M_u y \qquad\text{(paper 004, (14))}

        Parameters
        ----------
        k
            All :math:`n_u` eigenvalues (dense, ``None``) or the k smallest (shift-invert
            Lanczos).

        Returns
        -------
        numpy.ndarray
            Ascending; the first is the 0 of the constants, set to exactly 0.

        Examples
        --------
        >>> import gan_pde as gp
        >>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        ...                     gp.mesh.interval(-8, 8, n=40), alpha=1.0, beta=1.0,
        ...                     element="P2")
        >>> print(system.laplacian_eigenvalues(k=3).round(6))
        [0. 1. 2.]
        """
        self._check_resolved("laplacian_eigenvalues")
        if k is None:
            _check_dense(self.n_u, "laplacian_eigenvalues")
            try:
                xi = scipy.linalg.eigh(
                    self.stiffness.toarray(), self.u_mass.toarray(), eigvals_only=True
                )
            except np.linalg.LinAlgError as error:
                raise self._unresolved(error, "laplacian_eigenvalues") from error
        else:
            k = as_positive_int(k, "k")
            if k >= self.n_u - 1:
                return self.laplacian_eigenvalues()[:k]
            system = WeightedSystem(self.stiffness, self.u_mass, self.u_log_scale)
            xi = smallest_eigenvalues(system, k, dim=self.u_basis.mesh.dim())
        xi = np.sort(xi)
        xi[: self.n_components] = 0.0  # the constants: ξ = 0 exactly, round-off removed
        return xi

    def predicted_eigenvalues(self) -> np.ndarray:
        r"""The non-kernel spectrum that Theorems 2–3 predict from the discrete :math:`\xi_h`.

        .. math::

            \{-\alpha\}_{\alpha > 0}\ \cup\ \{\lambda_\pm(\xi_h):\ \xi_h > 0\},\qquad
            \lambda^2 + (\alpha + \gamma\xi_h)\lambda + \beta^2\xi_h = 0
            \qquad\text{(paper 004, (16), (22))}.

        For the stable pair these are the non-kernel eigenvalues of the system (see the
        module docstring); for the equal-order pair they are not.

        Returns
        -------
        numpy.ndarray
            Complex, :math:`2(n_u - n_c) + n_c[\alpha > 0]` values, in the order of
            :meth:`eigenvalues`.
        """
        xi = self.laplacian_eigenvalues()
        n_c = self.n_components
        lam_plus, lam_minus = lgan.eigenvalues(
            xi[n_c:], alpha=self.alpha, beta=self.beta, gamma=self.gamma
        )
        mean_modes = np.full(n_c if self.alpha > 0 else 0, -self.alpha, dtype=complex)
        return _sorted(np.concatenate([lam_plus, lam_minus, mean_modes]))

    def eigenvalues(
        self,
        k: int | None = None,
        *,
        sigma: complex = 0.0,
        tol: float = 1e-12,
        method: str = "auto",
    ) -> np.ndarray:
        r"""Eigenvalues of the pencil :math:`(\tilde L, \tilde M_w)`: all, or the k non-kernel
        ones nearest σ.

        .. math::

            \tilde L y = \lambda\,\tilde M_w y \qquad\text{(paper 004, (8))}

        With ``k=None`` all :math:`n_u + n_v` eigenvalues are computed densely (the kernel
        included, as values of size ~1e-15).  With k given, the kernel is removed exactly:
        for λ ≠ 0 the eigenproblem is the quadratic one in u alone,
        :math:`(\lambda^2\tilde M_u + \lambda(\alpha\tilde M_u + \gamma\tilde K) +
        \beta^2\tilde B^\top\tilde M_v^{-1}\tilde B)u = 0`, which is block diagonal for the
        :math:`\tilde M_u`-orthogonal splitting into constants (roots 0 and −α) and the rest;
        ARPACK runs shift-invert on the companion linearisation of the rest, each step one
        solve with a sparse LU of the bordered saddle matrix

        .. math::

            \begin{pmatrix}\sigma^2\tilde M_u + \sigma(\alpha\tilde M_u+\gamma\tilde K) &
            \beta\tilde B^\top & \tilde M_u c\\ \beta\tilde B & -\tilde M_v & 0\\
            (\tilde M_u c)^\top & 0 & 0\end{pmatrix},

        c the scaled constants (one column per connected component), and −α (α > 0) is
        added back.  σ = 0 (the default) gives the modes of smallest modulus, the slowest
        ones.  A cluster of nearly equal eigenvalues nearest σ (the tail
        :math:`\lambda_+(\xi) \to -\beta^2/\gamma` of WGAN-GP) slows ARPACK down.

        Parameters
        ----------
        k
            ``None`` for the dense full spectrum (at most :data:`DENSE_MAX` dofs), or the
            number of eigenvalues nearest ``sigma``.
        sigma
            Target of the shift-invert mode (real or complex); it must not be an eigenvalue
            of the reduced problem (σ = 0 is one only if B has null vectors other than the
            constants, which the stable pair never has).
        tol
            ARPACK's relative accuracy of the Ritz values of the shift-inverted operator.
        method
            ``"auto"``: for the stable pair and σ = 0, the slowest modes are computed from
            the k smallest ξ_h of the same matrices through λ² + (α+γξ_h)λ + β²ξ_h = 0
            (exact for this pair, and as fast as :func:`weighted_laplacian_spectrum`),
            together with the k largest ξ_h when 0 < αγ < β² (there the real λ₊ of the high
            modes tends to −β²/γ from below, so the highest modes can be the slowest);
            otherwise, and with ``"arnoldi"``, ARPACK on the reduced operator below.

        Returns
        -------
        numpy.ndarray
            Complex eigenvalues sorted by descending real part, then descending imaginary
            part.

        Raises
        ------
        NumericalBreakdownError
            If σ is an eigenvalue (the shifted matrix is singular), or if the mesh does not
            resolve ρ: max/min of the diagonal of :math:`\tilde M_w` (a lower bound of its
            condition number) exceeds 1/(nε), so that no eigen-solver has a digit left.
        NotConvergedError
            If ARPACK does not converge.

        Examples
        --------
        >>> import gan_pde as gp
        >>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        ...                     gp.mesh.interval(-8, 8, n=30), alpha=0.0, beta=2.0)
        >>> lam = system.eigenvalues()  # WGAN: ±2i√ξ_h and the kernel of the constants
        >>> print(lam.size, bool(abs(lam.real).max() < 1e-12))
        61 True
        """
        self._check_resolved("eigenvalues")
        if k is None:
            return _sorted(np.linalg.eigvals(self._normalised_operator("eigenvalues")))
        k = as_positive_int(k, "k")
        if not (math.isfinite(tol) and tol > 0.0):
            msg = f"tol must be a positive number; got {tol!r}"
            raise InvalidInputError(msg)
        sigma = complex(sigma)
        if not np.isfinite(sigma):
            msg = f"sigma must be finite; got {sigma!r}"
            raise InvalidInputError(msg)
        if method not in ("auto", "arnoldi"):
            msg = f"method must be 'auto' or 'arnoldi'; got {method!r}"
            raise InvalidInputError(msg)
        if self.pair == "stable" and sigma == 0 and method == "auto":
            return self._slowest_from_laplacian(int(k))
        return self._eigenvalues_near(int(k), sigma, tol)

    def _slowest_from_laplacian(self, k: int) -> np.ndarray:
        r"""The k non-kernel eigenvalues of smallest modulus, from the ξ_h and Theorems 2–3.

        For the stable pair the discrete spectrum is exactly λ±(ξ_h) plus −α (tested to
        1e-14 against the full operator).  Which ξ_h hold the modes nearest 0:
        :math:`\lambda_+\lambda_- = \beta^2\xi` with :math:`|\lambda_+| \le |\lambda_-|`, so
        :math:`f(\xi) = |\lambda_+(\xi)|` is the smaller modulus of each ξ, and f is
        unimodal.  On a complex pair :math:`f = |\beta|\sqrt\xi` rises; on a real branch
        :math:`d\lambda_+/d\xi = -(\gamma\lambda_+ + \beta^2)/\sqrt D` (see
        :func:`gan_pde.spectral.lgan.decay_rate`), so λ₊ moves towards −β²/γ and never
        crosses it.  Hence f rises with ξ for γ = 0 and for αγ ≥ β² (λ₊ stays above −β²/γ),
        but for 0 < αγ < β² the real branch beyond the complex interval lies below −β²/γ
        and f *falls* from 2β²/γ (α = 0) towards β²/γ: the high modes can be the slowest.
        For a unimodal f, every ξ_h outside the k smallest and the k largest non-zero ones
        lies on a monotone side of one of these groups, which then holds k modes of modulus
        ≤ f(ξ_h) ≤ |λ±(ξ_h)|; so those two groups (the smallest alone when f rises) hold
        the k modes nearest 0.
        """
        n_c = self.n_components
        nonzero = self.n_u - n_c
        falls = self.gamma > 0.0 and self.alpha * self.gamma < self.beta**2 * (1.0 + 1e-9)
        if k + (k if falls else 0) >= nonzero - 1:
            xi = self.laplacian_eigenvalues()[n_c:]
        else:
            xi = self.laplacian_eigenvalues(k + n_c)[n_c:]
            if falls:
                xi = np.concatenate([xi, self._largest_laplacian_eigenvalues(k)])
        # ξ_h ≥ 0; a nearly disconnected domain has a second ξ_h at round-off, which the
        # eigen-solver may return as −1e-14
        xi = np.maximum(xi, 0.0)
        lam_plus, lam_minus = lgan.eigenvalues(
            xi, alpha=self.alpha, beta=self.beta, gamma=self.gamma
        )
        mean_modes = np.full(n_c if self.alpha > 0 else 0, -self.alpha, dtype=complex)
        lam = np.concatenate([lam_plus, lam_minus, mean_modes])
        return _sorted(lam[np.argsort(np.abs(lam), kind="stable")][:k])

    def _largest_laplacian_eigenvalues(self, k: int) -> np.ndarray:
        """The k largest ξ_h of (K̃, M̃_u) by Lanczos (the top of the spectrum is extreme,
        so no shift is needed)."""
        return np.sort(
            spla.eigsh(self.stiffness, k=k, M=self.u_mass, which="LA", return_eigenvectors=False)
        )

    def kernel_dimension(self) -> int:
        r"""Dimension of the kernel of the discrete operator (Corollary 1, (10)–(11)).

        .. math::

            \dim\ker L = n_v - \operatorname{rank}B + [\alpha = 0]\,n_c
                       = n_v - n_u + n_c\,(1 + [\alpha = 0])

        for the stable pair (:math:`n_c` connected components; see the module docstring).
        The equal-order pair has no formula (B has spurious null vectors); its kernel is
        the numerical rank deficiency of the dense, :math:`\tilde M_w`-normalised operator.

        Returns
        -------
        int

        Examples
        --------
        >>> import gan_pde as gp
        >>> rho = gp.Gaussian(mean=[0.0], cov=[[1.0]])
        >>> m = gp.mesh.interval(-6, 6, n=10)
        >>> LGANSystem(rho, m, alpha=1.0, beta=1.0).kernel_dimension()  # 1D: none
        0
        >>> LGANSystem(rho, m, alpha=0.0, beta=1.0).kernel_dimension()  # the constants
        1
        """
        n_c = self.n_components
        if self.pair == "stable":
            return self.n_v - self.n_u + n_c * (2 if self.alpha == 0.0 else 1)
        singular = scipy.linalg.svdvals(self._normalised_operator("kernel_dimension"))
        # Null singular values are ~1e-16 of the largest; the smallest non-zero ones are
        # ~h² of it (the slowest mode over the fastest), far above 1e-10 on dense sizes.
        return int(np.sum(singular <= 1e-10 * singular[0]))

    def decay_rate(self) -> float:
        r"""The rate η: the largest real part over the non-kernel discrete modes (Theorem 4).

        .. math::

            \eta_h = \max\Bigl(-\alpha\,[\alpha > 0],\
                \max_{\xi_h > 0}\operatorname{Re}\lambda_+(\xi_h)\Bigr)

        For the stable pair this is :func:`gan_pde.spectral.lgan.decay_rate` of the discrete
        spectrum; :math:`\operatorname{Re}\lambda_+` is quasi-convex in ξ (it falls, then
        may rise towards −β²/γ), so the smallest and the largest :math:`\xi_h` suffice and
        no full spectrum is needed.  For the equal-order pair it is computed from the dense
        spectrum with the :meth:`kernel_dimension` eigenvalues nearest 0 left out.

        Returns
        -------
        float
            η ≤ 0; 0 means no decay (e.g. WGAN, α = γ = 0).

        Examples
        --------
        >>> import gan_pde as gp
        >>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        ...                     gp.mesh.interval(-8, 8, n=40), alpha=3.0, beta=1.0,
        ...                     element="P2")
        >>> print(f"{system.decay_rate():.6f}")  # (−3 + √5)/2 at ξ = 1
        -0.381966
        """
        self._check_resolved("decay_rate")
        if self.pair == "equal-order":
            return float(self._nonkernel_eigenvalues().real.max())
        n_c = self.n_components
        smallest = self.laplacian_eigenvalues(k=n_c + 1)[n_c]
        # a nearly disconnected domain (two narrow components far apart) has ξ_min at the
        # round-off floor of the pencil, and round-off can make it −1e-14: the rate is then
        # Re λ₊(ξ) → 0, evaluated at the smallest positive ξ instead of refused
        smallest = max(float(smallest), np.finfo(float).tiny)
        largest = spla.eigsh(
            self.stiffness, k=1, M=self.u_mass, which="LA", return_eigenvectors=False
        )
        rate = lgan.decay_rate(
            smallest,
            alpha=self.alpha,
            beta=self.beta,
            gamma=self.gamma,
            xi=np.maximum(largest, smallest),
        )
        return float(rate)

    def state(
        self,
        u: Callable[[np.ndarray], np.ndarray] | None = None,
        v: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray:
        r"""The scaled state y = S⁻¹w of the interpolants of u and v.

        Parameters
        ----------
        u
            u(x) for points x of shape ``(n, d)``, returning ``(n,)``; ``None`` for u = 0.
        v
            v(x) returning ``(n, d)``; ``None`` for v = 0.

        Returns
        -------
        numpy.ndarray
            y of length :math:`n_u + n_v`, the input of :func:`integrate` and
            :meth:`norms`.

        Examples
        --------
        >>> import gan_pde as gp
        >>> import numpy as np
        >>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        ...                     gp.mesh.interval(-10, 10, n=40), alpha=1.0, beta=1.0)
        >>> y = system.state(v=lambda x: np.ones_like(x))  # a translated generator
        >>> print([round(norm, 6) for norm in system.norms(y)])  # ‖u‖_μ = 0, ‖v‖_μ = 1
        [0.0, 1.0]
        """
        y = np.zeros(self.n_u + self.n_v)
        if u is not None:
            values = np.asarray(u(self.u_basis.doflocs.T), dtype=float).reshape(-1)
            if values.shape != (self.n_u,) or not np.all(np.isfinite(values)):
                msg = f"u must return {self.n_u} finite values for {self.n_u} points"
                raise InvalidInputError(msg)
            y[: self.n_u] = values * np.exp(0.5 * self.u_log_scale)
        if v is not None:
            dim = self.mesh.dim()
            values = np.empty(self.n_v)
            for component, dofs in enumerate(self.v_basis.split_indices()):
                field_values = np.asarray(v(self.v_basis.doflocs[:, dofs].T), dtype=float)
                if field_values.shape != (dofs.size, dim) or not np.all(np.isfinite(field_values)):
                    msg = f"v must return a finite array of shape (n, {dim}) for n points"
                    raise InvalidInputError(msg)
                values[dofs] = field_values[:, component]
            y[self.n_u :] = values * np.exp(0.5 * self.v_log_scale)
        return y

    def norms(self, y: np.ndarray) -> tuple[float, float]:
        r"""The norms :math:`\|u\|_\mu = \sqrt{y_u^\top\tilde M_u y_u}` and
        :math:`\|v\|_\mu = \sqrt{y_v^\top\tilde M_v y_v}` of a scaled state.

        Returns
        -------
        tuple of float
            (‖u‖_μ, ‖v‖_μ).
        """
        y = _state(y, self.n_u + self.n_v)
        return _norms(self, y)

    def _normalised_operator(self, what: str) -> np.ndarray:
        """Dense :math:`C^{-1}\tilde LC^{-\top}`, :math:`\tilde M_w = CC^\top`: same spectrum,
        and an :math:`\tilde M_w`-orthonormal basis, so singular values measure the kernel."""
        _check_dense(self.n_u + self.n_v, what)
        try:
            factor = np.linalg.cholesky(self.mass.toarray())
        except np.linalg.LinAlgError as error:
            raise self._unresolved(error, what) from error
        left = scipy.linalg.solve_triangular(factor, self.operator.toarray(), lower=True)
        return scipy.linalg.solve_triangular(factor, left.T, lower=True).T

    def _check_resolved(self, what: str) -> None:
        r"""Refuse scaled masses that are singular to working precision.

        The log scaling keeps :math:`\tilde M_w` of order one where ρ is resolved, but where
        ln ρ varies by tens inside one cell the entries grow like :math:`e^{\Delta\ln\rho}`
        and :math:`\tilde M_w` loses every digit: eigenvalues (of any solver) and time
        steps are then round-off.  For an SPD matrix cond ≥ max(diag)/min(diag), so a ratio
        above :math:`1/(n\varepsilon)` (about 1e11 for 10⁵ dofs; a resolved mesh gives a few
        hundred at most) proves it.
        """
        diagonal = np.concatenate([self.u_mass.diagonal(), self.v_mass.diagonal()])
        smallest, largest = float(diagonal.min()), float(diagonal.max())
        if smallest > 0.0 and largest <= smallest / (diagonal.size * np.finfo(float).eps):
            return
        ratio = largest / smallest if smallest > 0.0 else math.inf
        raise self._unresolved(f"cond(M̃_w) ≥ max/min of its diagonal = {ratio:.3g}", what)

    def _unresolved(self, error: Exception | str, what: str) -> NumericalBreakdownError:
        """The error for a weighted mass that is not numerically positive definite."""
        variation = self._cell_log_variation
        worst = (
            ""
            if variation is None
            else f" (ln(rho) varies by up to {float(np.max(variation)):.1f} inside one cell)"
        )
        msg = (
            f"{what}: the weighted mass matrix is singular to working precision "
            f"({error}){worst}; this happens when the mesh does not resolve the weight "
            "(refine it or shrink the domain to where rho matters)"
        )
        return NumericalBreakdownError(msg)

    def _nonkernel_eigenvalues(self) -> np.ndarray:
        """The dense spectrum without the :meth:`kernel_dimension` values nearest 0."""
        lam = self.eigenvalues()
        return lam[np.sort(np.argsort(np.abs(lam))[self.kernel_dimension() :])]

    def _eigenvalues_near(self, k: int, sigma: complex, tol: float) -> np.ndarray:
        n_c = self.n_components
        size = 2 * (self.n_u - n_c)
        if k >= size - 1:
            nonkernel = self._nonkernel_eigenvalues()
            return _sorted(nonkernel[np.argsort(np.abs(nonkernel - sigma), kind="stable")][:k])
        constants = _component_constants(self)
        weighted = np.asarray(self.u_mass @ constants)
        gram = weighted.T @ constants

        def project(x: np.ndarray) -> np.ndarray:
            return x - constants @ np.linalg.solve(gram, weighted.T @ x)

        dtype = float if sigma.imag == 0.0 else complex
        shift = sigma.real if dtype is float else sigma
        damping = self.alpha * self.u_mass + self.gamma * self.stiffness
        top = shift**2 * self.u_mass + shift * damping
        bordered = sp.bmat(
            [
                [top, self.beta * self.coupling.T, sp.csr_matrix(weighted)],
                [self.beta * self.coupling, -self.v_mass, None],
                [sp.csr_matrix(weighted.T), None, sp.csr_matrix((n_c, n_c))],
            ],
            format="csc",
        ).astype(dtype)
        try:
            # COLAMD, not a minimum-degree ordering of AᵀA + A: the dense border column
            # M̃_u c makes minimum degree fill in almost completely (2D P2 with 22 000 rows:
            # 100 s and 1e8 factor entries against 1.3 s and 7e6 with COLAMD)
            lu = spla.splu(bordered, permc_spec="COLAMD")
        except RuntimeError as error:
            msg = (
                f"sigma={sigma} is an eigenvalue of the reduced lGAN problem (the shifted "
                f"matrix is singular: {error}); choose another sigma"
            )
            raise NumericalBreakdownError(msg) from error
        n_u = self.n_u
        mass_shifted = damping + shift * self.u_mass

        def resolvent(x: np.ndarray) -> np.ndarray:
            first, second = project(x[:n_u].reshape(-1, 1)), project(x[n_u:].reshape(-1, 1))
            rhs = -(self.u_mass @ second) - mass_shifted @ first
            padded = np.concatenate([rhs.ravel(), np.zeros(self.n_v + n_c, dtype=dtype)])
            a = project(lu.solve(padded)[:n_u].reshape(-1, 1))
            return np.concatenate([a.ravel(), (first + shift * a).ravel()])

        operator = spla.LinearOperator((2 * n_u, 2 * n_u), matvec=resolvent, dtype=dtype)
        start = np.random.default_rng(0).standard_normal(2 * n_u)
        start = np.concatenate(
            [project(start[:n_u, None]).ravel(), project(start[n_u:, None]).ravel()]
        )
        # ARPACK converges slowly where the modes nearest sigma cluster (the tail regime,
        # λ₊ → −β²/γ) or nearly coincide (critical damping, near-defective pairs): a first
        # try with a small Krylov space, then a larger one
        for ncv, restarts in ((max(2 * k + 1, 20), None), (max(4 * k + 1, 80), 300)):
            try:
                theta = spla.eigs(
                    operator,
                    k=k,
                    which="LM",
                    v0=start.astype(dtype),
                    return_eigenvectors=False,
                    tol=tol,
                    ncv=min(size, ncv),
                    maxiter=restarts,
                )
                break
            except spla.ArpackNoConvergence as error:
                failure = error
        else:
            if self.n_u + self.n_v <= DENSE_MAX:
                # still no convergence (measured: critical damping, where λ₊ and λ₋ of one
                # ξ_h nearly coincide and the 2×2 block is close to a Jordan block): the
                # dense spectrum is affordable at this size and exact to round-off
                logger.warning(
                    "ARPACK did not converge for k=%d, sigma=%s (%s); using the dense spectrum",
                    k,
                    sigma,
                    failure,
                )
                nonkernel = self._nonkernel_eigenvalues()
                order = np.argsort(np.abs(nonkernel - sigma), kind="stable")
                return _sorted(nonkernel[order][:k])
            msg = f"ARPACK shift-invert did not converge for k={k}, sigma={sigma}: {failure}"
            raise NotConvergedError(msg) from failure
        magnitudes = np.abs(theta)
        if magnitudes.max() > _RITZ_SPREAD_MAX * magnitudes.min() and size <= DENSE_MAX:
            # a mode at round-off distance from sigma (e.g. ξ_h ≈ 1e-14 on a nearly
            # disconnected domain) gives a Ritz value ~1e16 beside the others; Ritz values
            # of one Krylov basis carry absolute errors ~ε max|θ|, so the small ones lose
            # their digits (measured: 3e-5 on −0.0552): the dense spectrum is affordable
            logger.warning(
                "ARPACK Ritz values span %.1e (> %.0e): using the dense spectrum",
                magnitudes.max() / magnitudes.min(),
                _RITZ_SPREAD_MAX,
            )
            nonkernel = self._nonkernel_eigenvalues()
            order = np.argsort(np.abs(nonkernel - sigma), kind="stable")
            return _sorted(nonkernel[order][:k])
        lam = sigma + 1.0 / theta
        if self.alpha > 0.0:
            copies = n_c
            if abs(self.alpha * self.gamma - self.beta**2) <= 1e-12 * self.beta**2:
                # αγ = β²: λ² + (α + γξ)λ + β²ξ = (λ + α)(λ + β²ξ/α), so −α is an eigenvalue
                # for every ξ_h, of multiplicity n_u in all; a single-vector Krylov method
                # sees one vector per eigenspace and returns too few copies (found by the
                # stress campaign): ARPACK's copies are replaced by the exact multiplicity
                lam = lam[np.abs(lam + self.alpha) > 1e-8 * self.alpha]
                copies = self.n_u
            lam = np.concatenate([lam, np.full(copies, -self.alpha, dtype=complex)])
        return _sorted(lam[np.argsort(np.abs(lam - sigma), kind="stable")][:k])


@dataclass(frozen=True)
class LGANTrajectory:
    r"""Norms of an lGAN solution at every step, and its final state.

    Attributes
    ----------
    times
        :math:`t_n = n\tau`, n = 0..steps.
    u_norm, v_norm
        :math:`\|u(t_n)\|_\mu` and :math:`\|v(t_n)\|_\mu`.
    final
        The scaled state y at the last step.
    scheme, tau
        The integrator and the step.
    info
        Parameters that reproduce the run.
    """

    times: np.ndarray
    u_norm: np.ndarray
    v_norm: np.ndarray
    final: np.ndarray = field(repr=False)
    scheme: str
    tau: float
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)

    @property
    def norm(self) -> np.ndarray:
        r"""The energy norm :math:`\sqrt{\|u\|_\mu^2 + \|v\|_\mu^2}`, non-increasing for the
        exact flow: :math:`\tfrac{d}{dt}\|w\|^2 = -2\alpha\|u\|_\mu^2
        - 2\gamma\|\nabla u\|_\mu^2`."""
        return np.hypot(self.u_norm, self.v_norm)

    def rate(self, *, start: float | None = None, of: str = "norm") -> float:
        r"""Least-squares slope of :math:`\ln\|\cdot\|` against t over :math:`t \ge` ``start``.

        Parameters
        ----------
        start
            First time of the fit; default the second half of the run.
        of
            ``"norm"`` (the energy norm), ``"u"`` or ``"v"``.

        Returns
        -------
        float
            The fitted exponential rate (η of Theorem 4 once the slowest mode dominates).
        """
        series = {"norm": self.norm, "u": self.u_norm, "v": self.v_norm}
        if of not in series:
            msg = f"of={of!r} is not one of {tuple(series)}"
            raise InvalidInputError(msg)
        begin = 0.5 * self.times[-1] if start is None else float(start)
        window = self.times >= begin
        if window.sum() < 2 or np.any(series[of][window] <= 0.0):
            msg = f"the fit needs at least two positive norms at t >= {begin}"
            raise InvalidInputError(msg)
        return float(np.polyfit(self.times[window], np.log(series[of][window]), 1)[0])


def integrate(
    system: LGANSystem,
    y0: np.ndarray,
    *,
    tau: float,
    steps: int,
    scheme: str = "crank-nicolson",
) -> LGANTrajectory:
    r"""Integrate :math:`\tilde M_w\dot y = \tilde L y` with a one-step scheme.

    Each scheme multiplies an eigenmode λ by its stability function per step:

    .. math::

        y_{n+1} = R(\tau\tilde M_w^{-1}\tilde L)\,y_n,\qquad
        R(z) = 1 + z\ \text{(Euler, (27)–(28))},\ \ 1 + z + \tfrac{z^2}{2}\ \text{(Heun)},\ \
        \sum_{j\le4}\tfrac{z^j}{j!}\ \text{(RK4)},\ \ \frac{1 + z/2}{1 - z/2}\ \text{(CN)}.

    Forward Euler, gradient descent–ascent, is absolutely unstable for WGAN and for γ = 0
    on fine meshes (29): the late-time growth factor per step is
    :math:`\max_i|R(\tau\lambda_i)|` over the discrete spectrum, and ξ_max ~ h⁻².  Heun and
    RK4 are stable for τ up to :func:`gan_pde.spectral.lgan.max_stable_step`.
    Crank–Nicolson is A-stable; for WGAN (α = γ = 0) :math:`\tilde M_w^{-1}\tilde L` is
    skew-adjoint in the :math:`\tilde M_w` inner product and CN, its Cayley transform,
    conserves :math:`\|u\|_\mu^2 + \|v\|_\mu^2` exactly, like the exact flow.  It is not
    L-stable: a stiff real mode (:math:`\lambda \approx -\gamma\xi_{\max}`, ξ_max ~ h⁻²)
    is damped only by :math:`|R| \approx 1 - 4/(\tau|\lambda|)` per step, a rate
    :math:`\approx -4/(\tau^2|\lambda|)`, which must stay well below the η being measured.

    The mass matrix is factorised once (block diagonal, per cell for the stable pair's v),
    and for Crank–Nicolson :math:`\tilde M_w - \tfrac{\tau}{2}\tilde L` once.

    Parameters
    ----------
    system
        The discretised lGAN.
    y0
        Initial scaled state (see :meth:`LGANSystem.state`).
    tau
        Step τ > 0.
    steps
        Number of steps ≥ 1.
    scheme
        One of :data:`SCHEMES`.

    Returns
    -------
    LGANTrajectory

    Raises
    ------
    NumericalBreakdownError
        If the solution overflows (an unstable explicit scheme run too long), or if the mesh
        does not resolve ρ (see :meth:`LGANSystem.eigenvalues`).

    Examples
    --------
    >>> import gan_pde as gp
    >>> import numpy as np
    >>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
    ...                     gp.mesh.interval(-8, 8, n=40), alpha=0.0, beta=1.0)
    >>> y0 = system.state(v=lambda x: np.ones_like(x))
    >>> traj = integrate(system, y0, tau=0.1, steps=100)  # WGAN: CN conserves the energy
    >>> print(f"{traj.norm[-1] / traj.norm[0]:.12f}")
    1.000000000000
    """
    if not isinstance(system, LGANSystem):
        msg = f"system must be an LGANSystem; got {type(system).__name__}"
        raise InvalidInputError(msg)
    y = _state(y0, system.n_u + system.n_v).copy()
    tau = _parameter(tau, "tau", nonnegative=True, reason="a step size")
    if tau == 0.0:
        msg = "tau must be > 0 (a step size); got 0.0"
        raise InvalidInputError(msg)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        msg = f"steps must be an integer >= 1; got {steps!r}"
        raise InvalidInputError(msg)
    if scheme not in SCHEMES:
        msg = f"scheme={scheme!r} is not one of {SCHEMES}"
        raise InvalidInputError(msg)
    system._check_resolved("integrate")
    step = _stepper(system, tau, scheme)
    u_norm = np.empty(steps + 1)
    v_norm = np.empty(steps + 1)
    u_norm[0], v_norm[0] = _norms(system, y)
    for n in range(1, steps + 1):
        y = step(y)
        u_norm[n], v_norm[n] = _norms(system, y)
        if not (np.isfinite(u_norm[n]) and np.isfinite(v_norm[n])):
            msg = (
                f"the {scheme} solution overflowed at step {n} (t = {n * tau:g}): the scheme "
                f"is unstable for tau={tau:g} on this spectrum (see lgan.max_stable_step)"
            )
            raise NumericalBreakdownError(msg)
    info = {
        "alpha": system.alpha,
        "beta": system.beta,
        "gamma": system.gamma,
        "element": system.element,
        "pair": system.pair,
        "n_u": system.n_u,
        "n_v": system.n_v,
        "steps": int(steps),
    }
    return LGANTrajectory(
        times=tau * np.arange(steps + 1),
        u_norm=u_norm,
        v_norm=v_norm,
        final=y,
        scheme=scheme,
        tau=tau,
        info=info,
    )


@dataclass(frozen=True)
class MixtureExperiment:
    r"""The five (α, β, γ) settings of paper 004, Section 7, at the PDE level.

    Attributes
    ----------
    separation
        M of the mixture ½N(0, 1) + ½N(M, 1).
    xi_min
        The discrete Poincaré constant :math:`\xi_{h,\min}` of the mixture.
    names
        The settings: ``"WGAN"`` (0, −1, 0), ``"WGAN-GP optimal"`` (0, −1, 2/√ξ_min),
        ``"WGAN-GP sub-optimal"`` (0, −1, 1/√ξ_min), ``"LSGAN"`` (0.25, −0.5, 0) and
        ``"optimal"`` (β = 1, α and γ of :func:`~gan_pde.spectral.lgan.optimal_parameters`).
    parameters
        (α, β, γ) per setting.
    predicted_rates
        η of the discrete spectrum per setting (:func:`~gan_pde.spectral.lgan.decay_rate`
        with all the discrete :math:`\xi_h`).
    measured_rates
        Slope of ln of the energy norm over the second half of the run.
    oscillating
        Whether some non-kernel mode is a complex pair: relative imaginary part above
        1e-6, so that a critically damped ξ_min (a double root, split by round-off into a
        pair ~1e-8 apart) counts as real.
    trajectories
        The decay curves (:class:`LGANTrajectory`), from u₀ = 0, v₀ = 1 (a translated
        generator).
    """

    separation: float
    xi_min: float
    names: tuple[str, ...]
    parameters: tuple[tuple[float, float, float], ...]
    predicted_rates: np.ndarray
    measured_rates: np.ndarray
    oscillating: np.ndarray
    trajectories: tuple[LGANTrajectory, ...] = field(repr=False)


def mixture_experiment(
    separation: float,
    *,
    t_final: float = 100.0,
    tau: float = 0.02,
    element: str = "P2",
    cells: int = 120,
    margin: float = 8.0,
) -> MixtureExperiment:
    r"""Decay curves of the five settings of paper 004, Section 7, for ½N(0,1) + ½N(M,1).

    The settings (α, β, γ), with :math:`\xi_{\min}` the discrete Poincaré constant:

    .. math::

        (0, -1, 0),\quad (0, -1, 2/\sqrt{\xi_{\min}}),\quad (0, -1, 1/\sqrt{\xi_{\min}}),
        \quad (0.25, -0.5, 0),\quad (|\beta|\sqrt{\xi_{\min}}, 1, |\beta|/\sqrt{\xi_{\min}})

    (WGAN; WGAN-GP with the γ of (23) and α = 0, critically damped at ξ_min; a sub-optimal
    γ, oscillating at ξ_min; the default LSGAN; β = 1 with the optimum of (23)–(25)).  Each
    is integrated by Crank–Nicolson from u₀ = 0, v₀ = 1 (the generator translated by one
    unit), which excites the slowest mode of the mixture.  Theorem 4 predicts the order of
    the rates: optimal (−|β|√ξ_min) < WGAN-GP ≈ sub-optimal (≈ −√ξ_min/2) < LSGAN
    (−α/2 when ξ_min > α²/(4β²)) < WGAN (0, energy conserved).

    Parameters
    ----------
    separation
        M > 0.
    t_final, tau
        Length of the run and Crank–Nicolson step (rate error O(τ²|λ|³)).
    element, cells, margin
        The mesh: ``cells`` cells of ``element`` on [−margin, M + margin].

    Returns
    -------
    MixtureExperiment

    Examples
    --------
    >>> experiment = mixture_experiment(3.0, t_final=10.0, tau=0.05, cells=60)
    >>> print(f"{experiment.xi_min:.4f}")  # the paper's estimate: 0.25
    0.2572
    >>> print(experiment.names[int(experiment.predicted_rates.argmin())])
    optimal
    """
    from gan_pde.densities import GaussianMixture
    from gan_pde.mesh import interval

    m = _parameter(separation, "separation", nonnegative=True, reason="a distance")
    if m == 0.0:
        msg = "separation must be > 0 (two distinct modes)"
        raise InvalidInputError(msg)
    t_final = _parameter(t_final, "t_final", nonnegative=True, reason="a duration")
    tau = _parameter(tau, "tau", nonnegative=True, reason="a step size")
    if not 0.0 < tau <= t_final:
        msg = f"need 0 < tau <= t_final; got tau={tau}, t_final={t_final}"
        raise InvalidInputError(msg)
    density = GaussianMixture(means=[[0.0], [m]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    mesh = interval(-margin, m + margin, cells)
    xi = LGANSystem(density, mesh, alpha=0.0, beta=1.0, element=element).laplacian_eigenvalues()
    xi_min = float(xi[1])
    best = lgan.optimal_parameters(xi_min, beta=1.0)
    root = math.sqrt(xi_min)
    names = ("WGAN", "WGAN-GP optimal", "WGAN-GP sub-optimal", "LSGAN", "optimal")
    parameters = (
        (0.0, -1.0, 0.0),
        (0.0, -1.0, 2.0 / root),
        (0.0, -1.0, 1.0 / root),
        (0.25, -0.5, 0.0),
        (best.alpha, 1.0, best.gamma),
    )
    steps = max(1, round(t_final / tau))
    predicted, measured, oscillating, trajectories = [], [], [], []
    for alpha, beta, gamma in parameters:
        system = LGANSystem(density, mesh, alpha=alpha, beta=beta, gamma=gamma, element=element)
        y0 = system.state(v=np.ones_like)
        trajectory = integrate(system, y0, tau=tau, steps=steps)
        predicted.append(
            float(lgan.decay_rate(xi_min, alpha=alpha, beta=beta, gamma=gamma, xi=xi[2:]))
        )
        measured.append(trajectory.rate())
        lam, _ = lgan.eigenvalues(xi[1:], alpha=alpha, beta=beta, gamma=gamma)
        oscillating.append(bool(np.any(np.abs(lam.imag) > 1e-6 * np.abs(lam))))
        trajectories.append(trajectory)
    return MixtureExperiment(
        separation=m,
        xi_min=xi_min,
        names=names,
        parameters=parameters,
        predicted_rates=np.array(predicted),
        measured_rates=np.array(measured),
        oscillating=np.array(oscillating),
        trajectories=tuple(trajectories),
    )


def _check_density_and_mesh(density: Density, mesh: skfem.Mesh) -> None:
    if not hasattr(density, "log_pdf") or not hasattr(density, "dim"):
        msg = f"density must be a gan_pde Density (with log_pdf and dim); got {type(density)}"
        raise InvalidInputError(msg)
    if type(mesh) not in _GRADIENT_SPACES:
        msg = (
            f"mesh of type {type(mesh).__name__} is not supported; the lGAN pairs need a "
            "simplex mesh: MeshLine1, MeshTri1 or MeshTet1"
        )
        raise InvalidInputError(msg)
    if density.dim != mesh.dim():
        msg = f"the density has dimension {density.dim} but the mesh has dimension {mesh.dim()}"
        raise InvalidInputError(msg)


def _parameter(value: float, name: str, *, nonnegative: bool = False, reason: str = "") -> float:
    """A finite real scalar, optionally ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        msg = f"{name} must be a real number; got {value!r}"
        raise InvalidInputError(msg)
    number = float(value)
    if not math.isfinite(number):
        msg = f"{name} must be finite; got {value!r}"
        raise InvalidInputError(msg)
    if nonnegative and number < 0.0:
        msg = f"{name} must be >= 0 ({reason}); got {number}"
        raise InvalidInputError(msg)
    return number


def _state(y: np.ndarray, size: int) -> np.ndarray:
    array = np.asarray(y)
    if array.dtype.kind not in "biuf" or array.shape != (size,):
        msg = f"the state must be a real vector of length {size}; got {array.dtype} {array.shape}"
        raise InvalidInputError(msg)
    array = array.astype(float)
    if not np.all(np.isfinite(array)):
        msg = "the state must be finite"
        raise InvalidInputError(msg)
    return array


def _check_dense(size: int, what: str) -> None:
    if size > DENSE_MAX:
        msg = (
            f"{what} is dense for {size} dofs > DENSE_MAX = {DENSE_MAX}; use a coarser mesh "
            "or pass k (the k eigenvalues nearest sigma)"
        )
        raise InvalidInputError(msg)


def _sorted(lam: np.ndarray) -> np.ndarray:
    """Descending real part, then descending imaginary part."""
    return lam[np.lexsort((-lam.imag, -lam.real))]


def _scaled_matrix(
    form: skfem.BilinearForm,
    trial: skfem.CellBasis,
    test: skfem.CellBasis,
    relative: np.ndarray,
    shift: np.ndarray,
    ell_trial: np.ndarray,
    ell_test: np.ndarray,
) -> sp.csr_matrix:
    r"""Assemble :math:`S_{test}AS_{trial}` in log space (see :mod:`gan_pde.fem.forms`)."""
    coo = form.coo_data(trial, test, rho=relative)
    rows, cols = coo.indices
    # scikit-fem orders raw COO entries as (local trial, local test, element): element fastest.
    cell = np.tile(np.arange(trial.nelems), trial.Nbfun * test.Nbfun)
    factor = np.exp(shift[cell] - 0.5 * (ell_test[rows] + ell_trial[cols]))
    return sp.csr_matrix((coo.data * factor, (rows, cols)), shape=coo.shape)


def _component_constants(system: LGANSystem) -> np.ndarray:
    """Scaled indicator functions of the connected components, shape ``(n_u, n_c)``."""
    _, labels = scipy.sparse.csgraph.connected_components(system.u_mass, directed=False)
    half = 0.5 * system.u_log_scale
    constants = np.zeros((system.n_u, labels.max() + 1))
    for label in range(constants.shape[1]):
        inside = labels == label
        constants[inside, label] = np.exp(half[inside] - half[inside].max())
    return constants


def _norms(system: LGANSystem, y: np.ndarray) -> tuple[float, float]:
    u, v = y[: system.n_u], y[system.n_u :]
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported as inf
        squares = float(u @ (system.u_mass @ u)), float(v @ (system.v_mass @ v))
    return math.sqrt(max(squares[0], 0.0)), math.sqrt(max(squares[1], 0.0))


def _stepper(system: LGANSystem, tau: float, scheme: str) -> Callable[[np.ndarray], np.ndarray]:
    if scheme == "crank-nicolson":
        lu = spla.splu(
            sp.csc_matrix(system.mass - 0.5 * tau * system.operator), permc_spec="MMD_AT_PLUS_A"
        )
        explicit = (system.mass + 0.5 * tau * system.operator).tocsr()
        return lambda y: lu.solve(explicit @ y)
    mass_lu = factorize_symmetric(system.mass)

    def rate(y: np.ndarray) -> np.ndarray:
        return mass_lu.solve(system.operator @ y)

    if scheme == "euler":
        return lambda y: y + tau * rate(y)
    if scheme == "heun":

        def heun(y: np.ndarray) -> np.ndarray:
            k1 = rate(y)
            return y + 0.5 * tau * (k1 + rate(y + tau * k1))

        return heun

    def rk4(y: np.ndarray) -> np.ndarray:
        k1 = rate(y)
        k2 = rate(y + 0.5 * tau * k1)
        k3 = rate(y + 0.5 * tau * k2)
        k4 = rate(y + tau * k3)
        return y + tau / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    return rk4
