"""Finite-element functions: point location and evaluation off the quadrature grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import skfem
from scipy.spatial import cKDTree

from gan_pde._arrays import as_points
from gan_pde._repr import short_repr

__all__ = ["FEMFunction", "evaluation_matrix", "locate"]

_SIMPLICES = (skfem.MeshLine1, skfem.MeshTri1, skfem.MeshTet1)


def locate(mesh: skfem.Mesh, points: np.ndarray) -> np.ndarray:
    """Index of a cell containing each point, or −1 for points outside the mesh.

    Simplicial meshes are searched through a k-d tree of cell centroids and barycentric
    coordinates (tolerance 1e-10 in barycentric units, so points on shared faces are found);
    the candidate count grows until every point is found or 64 candidates have failed.
    Quadrilateral and hexahedral meshes use scikit-fem's finder point by point, and points
    it cannot place are reported as outside.
    """
    x = as_points(points, mesh.dim())
    if not isinstance(mesh, _SIMPLICES):
        return _locate_with_skfem(mesh, x)
    vertices = mesh.p[:, mesh.t]  # (dim, dim+1, ncells)
    centroids = vertices.mean(axis=1).T
    # barycentric map: lambda_{1..d} = T^{-1} (x - v0), lambda_0 = 1 - sum
    edges = vertices[:, 1:, :] - vertices[:, :1, :]  # (dim, dim, ncells)
    inverse = np.linalg.inv(np.moveaxis(edges, -1, 0))  # (ncells, dim, dim)
    tree = cKDTree(centroids)
    cells = np.full(x.shape[0], -1, dtype=np.int64)
    todo = np.arange(x.shape[0])
    k = 1
    while todo.size and k <= min(64, mesh.t.shape[1]):
        _, cand = tree.query(x[todo], k=k)
        cand = cand.reshape(todo.size, k)
        found = np.zeros(todo.size, dtype=bool)
        for j in range(k):
            c = cand[:, j]
            lam = np.einsum("nij,nj->ni", inverse[c], x[todo] - vertices[:, 0, c].T)
            inside = (lam.min(axis=1) >= -1e-10) & (lam.sum(axis=1) <= 1.0 + 1e-10)
            new = inside & ~found
            cells[todo[new]] = c[new]
            found |= inside
        todo = todo[~found]
        k *= 4
    return cells


def _locate_with_skfem(mesh: skfem.Mesh, x: np.ndarray) -> np.ndarray:
    finder = mesh.element_finder()
    cells = np.full(x.shape[0], -1, dtype=np.int64)
    for i, point in enumerate(x):
        try:
            cells[i] = int(np.atleast_1d(finder(*point[:, None]))[0])
        except (ValueError, IndexError):
            cells[i] = -1
    return cells


def evaluation_matrix(basis: skfem.CellBasis, points: np.ndarray) -> sp.csr_matrix:
    """Sparse matrix P with ``P @ dofs`` the FEM function's values at ``points``.

    Rows of points outside the mesh are zero, so a function evaluates to 0 there.
    """
    x = as_points(points, basis.mesh.dim())
    cells = locate(basis.mesh, x)
    inside = np.flatnonzero(cells >= 0)
    if inside.size == 0:
        return sp.csr_matrix((x.shape[0], basis.N))
    ref = basis.mapping.invF(x[inside].T[:, :, None], tind=cells[inside])
    phis = np.array(
        [
            np.asarray(basis.elem.gbasis(basis.mapping, ref, k, tind=cells[inside])[0])
            for k in range(basis.Nbfun)
        ]
    ).reshape(basis.Nbfun, -1)
    rows = np.tile(inside, basis.Nbfun)
    cols = basis.element_dofs[:, cells[inside]].ravel()
    return sp.csr_matrix((phis.ravel(), (rows, cols)), shape=(x.shape[0], basis.N))


@dataclass(frozen=True)
class FEMFunction:
    """A finite-element function: a basis and its coefficient vector.

    Calling it evaluates the function at points of shape ``(n, dim)`` (in 1D also ``(n,)``)
    and returns shape ``(n,)``, like calling a :class:`~gan_pde.densities.Density`; points
    outside the mesh give 0.  ``at_nodes`` gives the values at the mesh vertices (for
    plotting/saving).  Its repr names the mesh, element and size instead of printing them.

    Examples
    --------
    >>> import gan_pde as gp
    >>> basis = skfem.Basis(gp.mesh.interval((0.0, 1.0), n=8), skfem.ElementLineP1())
    >>> f = FEMFunction(basis, basis.doflocs[0] ** 2)
    >>> f([0.5, 0.25])
    array([0.25  , 0.0625])
    >>> f
    FEMFunction(basis=Basis(MeshLine1(8 cells), ElementLineP1, N=9), dofs=<9 values in [0, 1]>)
    """

    basis: skfem.CellBasis
    dofs: np.ndarray

    def __call__(self, points: np.ndarray) -> np.ndarray:
        return evaluation_matrix(self.basis, points) @ self.dofs

    def __repr__(self) -> str:
        return short_repr(self)

    @property
    def at_nodes(self) -> np.ndarray:
        """Values at the mesh vertices (the first ``mesh.nvertices`` Lagrange dofs)."""
        return self.dofs[self.basis.nodal_dofs[0]]
