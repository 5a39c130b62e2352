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
    """

    stiffness: sp.csr_matrix
    mass: sp.csr_matrix
    log_scale: np.ndarray
    cell_log_variation: np.ndarray | None = None
    dof_coordinates: np.ndarray | None = None


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
    k_coo = weighted_stiffness.coo_data(basis, rho=relative)
    m_coo = weighted_mass.coo_data(basis, rho=relative)
    rows, cols = k_coo.indices
    # scikit-fem orders the raw COO entries as (local j, local i, element): element is fastest.
    cell = np.tile(np.arange(basis.nelems), basis.Nbfun * basis.Nbfun)
    factor = np.exp(shift[cell] - 0.5 * (ell[rows] + ell[cols]))
    shape = (basis.N, basis.N)
    stiffness = sp.csr_matrix((k_coo.data * factor, (rows, cols)), shape=shape)
    mass = sp.csr_matrix((m_coo.data * factor, (rows, cols)), shape=shape)
    return WeightedSystem(
        stiffness=stiffness,
        mass=mass,
        log_scale=ell,
        cell_log_variation=shift - log_qp.min(axis=1),
        dof_coordinates=dof_points,
    )
