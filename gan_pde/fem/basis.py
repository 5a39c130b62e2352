"""Finite-element spaces on scikit-fem meshes: element choice and quadrature points."""

from __future__ import annotations

import numpy as np
import skfem

from gan_pde.errors import InvalidInputError

__all__ = [
    "ELEMENT_NAMES",
    "element_order",
    "make_basis",
    "quadrature_points",
    "quadrature_rule",
]

#: Accepted element names.  On quadrilaterals/hexahedra "P1"/"P2" mean the tensor-product
#: elements Q1/Q2 (the same polynomial degree per direction).
ELEMENT_NAMES = ("P1", "P2", "Q1", "Q2")

_ELEMENTS: dict[type, tuple[type, type]] = {
    skfem.MeshLine1: (skfem.ElementLineP1, skfem.ElementLineP2),
    skfem.MeshTri1: (skfem.ElementTriP1, skfem.ElementTriP2),
    skfem.MeshQuad1: (skfem.ElementQuad1, skfem.ElementQuad2),
    skfem.MeshTet1: (skfem.ElementTetP1, skfem.ElementTetP2),
    skfem.MeshHex1: (skfem.ElementHex1, skfem.ElementHex2),
}


def element_order(element: str) -> int:
    """Polynomial degree of an element name (``"P1"`` → 1, ``"P2"`` → 2)."""
    if not isinstance(element, str) or element.upper() not in ELEMENT_NAMES:
        msg = f"element={element!r} is not supported; expected one of {ELEMENT_NAMES}"
        raise InvalidInputError(msg)
    return int(element[1])


def make_basis(
    mesh: skfem.Mesh, element: str = "P1", *, intorder: int | None = None
) -> skfem.CellBasis:
    """Lagrange finite-element basis of degree 1 or 2 on a scikit-fem mesh.

    Parameters
    ----------
    mesh
        A scikit-fem mesh (interval, triangles, quadrilaterals, tetrahedra, hexahedra),
        e.g. from :mod:`gan_pde.mesh`.
    element
        ``"P1"`` or ``"P2"`` (``"Q1"``/``"Q2"`` are accepted synonyms on quads/hexes).
    intorder
        Quadrature degree.  The default ``2·p + 1`` integrates the weighted forms
        :math:`\\int\\rho\\,\\nabla\\phi_i\\cdot\\nabla\\phi_j` with a smooth weight ρ to a
        degree that keeps the optimal O(h^{2p}) eigenvalue rate (degree ≥ 2p − 2 suffices,
        Ciarlet's quadrature theory); the extra degree reduces the constant.

    Examples
    --------
    >>> import gan_pde as gp
    >>> basis = make_basis(gp.mesh.interval(0.0, 1.0, n=4), "P2")
    >>> int(basis.N)
    9
    """
    order = element_order(element)
    for mesh_type, elements in _ELEMENTS.items():
        if isinstance(mesh, mesh_type):
            elem = elements[order - 1]()
            break
    else:
        msg = (
            f"mesh of type {type(mesh).__name__} is not supported; expected a first-order "
            "scikit-fem MeshLine1, MeshTri1, MeshQuad1, MeshTet1 or MeshHex1"
        )
        raise InvalidInputError(msg)
    return skfem.Basis(mesh, elem, quadrature=quadrature_rule(mesh, element, intorder=intorder))


def quadrature_rule(
    mesh: skfem.Mesh, element: str = "P1", *, intorder: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The reference quadrature ``(X, W)`` that :func:`make_basis` uses (degree ``2·p + 1``
    unless ``intorder`` is given), without building the basis."""
    if intorder is None:
        intorder = 2 * element_order(element) + 1
    return skfem.quadrature.get_quadrature(mesh.refdom, intorder)


def quadrature_points(basis: skfem.CellBasis) -> np.ndarray:
    """Global quadrature points of ``basis`` as an ``(nelems * nqp, dim)`` array.

    The row ``e * nqp + q`` is quadrature point ``q`` of cell ``e``, so reshaping a vector
    of values with ``.reshape(nelems, nqp)`` gives the layout scikit-fem forms expect.
    """
    x = basis.mapping.F(basis.X)  # (dim, nelems, nqp)
    return np.ascontiguousarray(x.reshape(x.shape[0], -1).T)
