r"""Weighted forms and their log-scaled assembly.

The weighted Laplacian :math:`-\Delta_\mu w = -\rho^{-1}\nabla\cdot(\rho\nabla w)` of paper 004
(eqs. (12)–(14)) has the weak form

.. math::

    \int \rho\,\nabla w\cdot\nabla \phi\,dx = \xi \int \rho\, w\,\phi\,dx ,

so its matrices are the weighted stiffness :math:`K_{ij} = \int\rho\nabla\phi_i\cdot\nabla\phi_j`
and the weighted mass :math:`M_{ij} = \int \rho\,\phi_i\phi_j`.

Far in the tails ρ underflows: a Gaussian at 40σ is :math:`e^{-800} = 0` in double precision,
and the rows of K and M there become exactly zero, a singular pencil.  We therefore assemble
the symmetrically scaled matrices :math:`\tilde K = SKS`, :math:`\tilde M = SMS` with
:math:`S = \mathrm{diag}(e^{-\ell_i/2})`, :math:`\ell_i = \ln\rho(x_i)` at the degrees of
freedom, directly in log space:

.. math::

    \tilde M_{ij} = \sum_{e \ni i,j} e^{c_e - (\ell_i+\ell_j)/2}
        \int_e e^{\ln\rho(x) - c_e}\,\phi_i\phi_j\,dx ,
    \qquad c_e = \max_{x_q\in e} \ln\rho(x_q) .

Both exponents stay of the order of the oscillation of :math:`\ln\rho` over one cell, so
nothing overflows or underflows however small ρ is; the pencil :math:`(\tilde K,\tilde M)` has
the same eigenvalues as :math:`(K, M)`, its mass matrix has a diagonal of order one, and the
eigenvectors transform back as :math:`w = S y`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import skfem
from skfem.helpers import dot, grad

from gan_pde.errors import InvalidDensityError
from gan_pde.fem.basis import quadrature_points

if TYPE_CHECKING:
    from gan_pde.densities import Density

__all__ = [
    "WeightedSystem",
    "assemble_weighted",
    "log_density_at_quadrature",
    "weighted_mass",
    "weighted_stiffness",
]


@skfem.BilinearForm
def weighted_mass(u, v, w):
    r""":math:`\int \rho\, u\, v\, dx` with ρ passed as ``rho`` at the quadrature points."""
    return w["rho"] * u * v


@skfem.BilinearForm
def weighted_stiffness(u, v, w):
    r""":math:`\int \rho\, \nabla u\cdot\nabla v\, dx` with ρ passed as ``rho``."""
    return w["rho"] * dot(grad(u), grad(v))


def log_density_at_quadrature(density: Density, basis: skfem.CellBasis) -> np.ndarray:
    """``ln ρ`` at the quadrature points of ``basis``, shape ``(nelems, nqp)``.

    Raises
    ------
    InvalidDensityError
        If ``ln ρ`` is NaN or +inf anywhere, or −inf (ρ = 0) at some quadrature point: the
        weighted problems need ρ > 0 on the whole mesh.
    """
    points = quadrature_points(basis)
    values = np.asarray(density.log_pdf(points), dtype=float)
    _check_log_density(values, points, "quadrature point")
    return values.reshape(basis.nelems, -1)


def _check_log_density(values: np.ndarray, points: np.ndarray, where: str) -> None:
    flat = values.ravel()
    bad = ~np.isfinite(flat)
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    if np.isnan(flat[first]) or flat[first] > 0:
        msg = f"the density's log_pdf is {flat[first]} at the {where} {points[first]}"
        raise InvalidDensityError(msg)
    msg = (
        f"the density vanishes (log_pdf = -inf) at {int(bad.sum())} {where}s of the mesh, "
        f"first at {points[first]}; weighted problems need rho > 0 on the whole domain: "
        "restrict the mesh to the support of the density"
    )
    raise InvalidDensityError(msg)


@dataclass(frozen=True)
class WeightedSystem:
    r"""Log-scaled weighted stiffness and mass matrices of one basis and density.

    Attributes
    ----------
    stiffness, mass
        :math:`\tilde K = SKS` and :math:`\tilde M = SMS` (CSR, symmetric).
    log_scale
        :math:`\ell_i = \ln\rho(x_i)` at the degrees of freedom; :math:`S = e^{-\ell/2}`.
    cell_log_variation
        Per cell, :math:`\max - \min` of :math:`\ln\rho` over its quadrature points (None
        when unknown): how well the quadrature resolves the weight on each cell.
    dof_coordinates
        (N, d) coordinates of the dofs (None when unknown), for fill-reducing orderings.
    ordering
        A fill-reducing permutation of the dofs computed beforehand, or None.
    """

    stiffness: sp.csr_matrix
    mass: sp.csr_matrix
    log_scale: np.ndarray
    cell_log_variation: np.ndarray | None = None
    dof_coordinates: np.ndarray | None = None
    ordering: np.ndarray | None = None


_P1_SIMPLEX = (skfem.ElementLineP1, skfem.ElementTriP1, skfem.ElementTetP1)


def _is_p1_simplex(basis: skfem.CellBasis) -> bool:
    return type(basis.elem) in _P1_SIMPLEX and isinstance(
        basis.mesh, (skfem.MeshLine1, skfem.MeshTri1, skfem.MeshTet1)
    )


def _p1_simplex_entries(
    basis: skfem.CellBasis, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Raw COO entries of the weighted K and M for P1 on simplices, in scikit-fem's order.

    On an affine simplex the P1 gradients are constant per cell and the basis values at
    the quadrature points are the same on every cell, so with :math:`w_{eq}` = ρ times the
    quadrature weight:

    .. math::

        K^e_{ij} = \Bigl(\sum_q w_{eq}\Bigr)\nabla\phi_i\cdot\nabla\phi_j, \qquad
        M^e_{ij} = \sum_q w_{eq}\,\hat\phi_i(q)\hat\phi_j(q),

    one weighted sum and one small matrix product per cell instead of a form evaluation
    at every quadrature point (the same numbers as ``coo_data`` up to round-off).
    """
    weights = rho * basis.dx  # (nelems, nqp)
    total = weights.sum(axis=1)
    n = basis.Nbfun
    grads = np.stack([basis.basis[i][0].grad[:, :, 0] for i in range(n)])  # (n, d, nelems)
    values = np.stack([np.asarray(basis.basis[i][0])[0] for i in range(n)])  # (n, nqp)
    dofs = basis.element_dofs
    # entry [j, i, e] couples row dofs[i, e] with column dofs[j, e] (scikit-fem's order)
    k_data = np.empty((n, n, basis.nelems))
    m_data = np.empty((n, n, basis.nelems))
    for j in range(n):
        for i in range(n):
            k_data[j, i] = total * (grads[i] * grads[j]).sum(axis=0)
            m_data[j, i] = weights @ (values[i] * values[j])
    rows = np.broadcast_to(dofs[None, :, :], (n, n, basis.nelems))
    cols = np.broadcast_to(dofs[:, None, :], (n, n, basis.nelems))
    return rows.ravel(), cols.ravel(), k_data.ravel(), m_data.ravel()


def assemble_weighted(density: Density, basis: skfem.CellBasis) -> WeightedSystem:
    """Assemble the log-scaled weighted stiffness and mass matrices (see module docs).

    Parameters
    ----------
    density
        Anything with ``log_pdf`` on ``(n, d)`` arrays (a :class:`gan_pde.densities.Density`).
        It need not be normalised: the pencil is invariant under scaling of ρ.
    basis
        A scikit-fem basis, e.g. from :func:`gan_pde.fem.make_basis`.

    Examples
    --------
    >>> import gan_pde as gp
    >>> from gan_pde.fem import assemble_weighted, make_basis
    >>> basis = make_basis(gp.mesh.interval(-6.0, 6.0, n=50), "P1")
    >>> system = assemble_weighted(gp.Gaussian(mean=[0.0], cov=[[1.0]]), basis)
    >>> system.mass.shape
    (51, 51)
    """
    log_qp = log_density_at_quadrature(density, basis)
    dof_points = np.ascontiguousarray(basis.doflocs.T)
    ell = np.asarray(density.log_pdf(dof_points), dtype=float)
    _check_log_density(ell, dof_points, "degree of freedom")

    shift = log_qp.max(axis=1)
    relative = np.exp(log_qp - shift[:, None])
    if _is_p1_simplex(basis):
        rows, cols, k_data, m_data = _p1_simplex_entries(basis, relative)
    else:
        k_coo = weighted_stiffness.coo_data(basis, rho=relative)
        m_coo = weighted_mass.coo_data(basis, rho=relative)
        rows, cols = k_coo.indices
        k_data, m_data = k_coo.data, m_coo.data
    # both orderings list the raw entries as (local j, local i, element): element fastest.
    # The scaling e^{c_e - (l_i + l_j)/2} of entry (i, j) of cell e is a_ie a_je with
    # a_ie = e^{(c_e - l_i)/2}: one exponential per local dof instead of one per entry
    # (|c_e - l_i| is at most the variation of ln rho over the cell, so no overflow).
    half = np.exp(0.5 * (shift[None, :] - ell[basis.element_dofs]))  # (Nbfun, nelems)
    factor = (half[None, :, :] * half[:, None, :]).ravel()
    # one COO -> CSR conversion (a sort of all entries) for both matrices: K + iM
    both = sp.csr_matrix(
        (k_data * factor + 1j * (m_data * factor), (rows, cols)), shape=(basis.N, basis.N)
    )
    stiffness = sp.csr_matrix((both.data.real.copy(), both.indices, both.indptr), both.shape)
    mass = sp.csr_matrix((both.data.imag.copy(), both.indices, both.indptr), both.shape)
    return WeightedSystem(
        stiffness=stiffness,
        mass=mass,
        log_scale=ell,
        cell_log_variation=shift - log_qp.min(axis=1),
        dof_coordinates=dof_points,
    )
