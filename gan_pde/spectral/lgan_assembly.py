r"""Assembly of the linearised GAN (lGAN) in space: the mixed finite-element matrices (paper 004).

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

**The pairs.**  ``pair="stable"`` takes for :math:`V_h` the discontinuous vector
polynomials of degree k − 1 (P0 for k = 1), which contain :math:`\nabla U_h`: the discrete
spectrum is then exactly Theorems 2–3 for every discrete ξ_h.  ``pair="equal-order"`` takes
the continuous vector space of degree k and has spurious modes.  Both are analysed in
:mod:`gan_pde.spectral.lgan_modes`, whose eigen-solves :class:`LGANSystem` inherits.

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
>>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-6, 6, n=30),
...                     alpha=0.5, beta=1.0)
>>> system.n_u, system.n_v, system.mass.shape  # P1 u, P0 v: one v-dof per cell
(31, 30, (61, 61))
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import skfem
from skfem.helpers import dot, grad

from gan_pde.errors import InvalidInputError
from gan_pde.fem.basis import element_order, make_basis
from gan_pde.fem.forms import assemble_weighted, log_density_at_quadrature
from gan_pde.spectral import lgan
from gan_pde.spectral.lgan_modes import LGANModes

if TYPE_CHECKING:
    from gan_pde.densities import Density

__all__ = ["PAIRS", "LGANSystem"]

logger = logging.getLogger(__name__)

#: Element pairs for (u, v): ``"stable"`` (continuous P_k, discontinuous vector P_{k−1}) and
#: ``"equal-order"`` (continuous P_k, continuous vector P_k; has spurious modes).
PAIRS = ("stable", "equal-order")

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


class LGANSystem(LGANModes):
    r"""The lGAN system (6) with gradient penalty, discretised by mixed finite elements.

    Builds the log-scaled matrices of :math:`\tilde M_w\dot y = \tilde L y` (see the module
    docstring for the equations, the pairs and the scaling):

    .. math::

        \tilde M_w = \begin{pmatrix}\tilde M_u & 0\\ 0 & \tilde M_v\end{pmatrix},\qquad
        \tilde L = \begin{pmatrix}-\alpha\tilde M_u - \gamma\tilde K & -\beta\tilde B^\top
        \\ \beta\tilde B & 0\end{pmatrix}
        \qquad\text{(paper 004, (6), (26); γ: Section 6)}.

    The eigen-solves (:meth:`~LGANModes.eigenvalues`, ``laplacian_eigenvalues``,
    ``predicted_eigenvalues``, ``kernel_dimension``, ``decay_rate``) are inherited from
    :class:`~gan_pde.spectral.lgan_modes.LGANModes`; the time integrators are
    :func:`gan_pde.spectral.lgan_integrate.integrate`.

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


def _norms(system: LGANSystem, y: np.ndarray) -> tuple[float, float]:
    u, v = y[: system.n_u], y[system.n_u :]
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported as inf
        squares = float(u @ (system.u_mass @ u)), float(v @ (system.v_mass @ v))
    return math.sqrt(max(squares[0], 0.0)), math.sqrt(max(squares[1], 0.0))
