"""The reference-table kernel of the consistent mass on affine simplices (P1 and P2).

Reference: scikit-fem's own form evaluation (``weighted_mass.coo_data``,
``basis.interpolate``), which evaluates the basis at every quadrature point of every cell;
the kernel computes the same sums from one reference table, in another order.

Tolerances.  Both compute :math:`\\sum_q t_q` with :math:`t_q = \\rho_q\\hat\\phi_i\\hat\\phi_j
|\\det J|W_q` from the same double inputs: each term takes at most 3 roundings (three
products), and a sum of nqp terms at most nqp − 1 more, so each result is within
:math:`(nqp + 2)\\,u\\sum_q|t_q|` of the exact sum (u = ε/2, first order; Higham, Accuracy and
Stability, §3.1 and §4.2) and the two within :math:`(nqp + 2)\\,\\varepsilon\\sum_q|t_q|` of
each other.  P2 functions change sign, so the bound is relative to the absolute sum
:math:`\\sum_q|t_q|`, not to the entry (which can cancel to almost nothing).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import skfem

import gan_pde as gp
from gan_pde.errors import InvalidInputError
from gan_pde.fem import make_basis
from gan_pde.fem.forms import (
    affine_interpolate,
    affine_lagrange_values,
    affine_weighted_mass_values,
    is_affine_lagrange,
    weighted_mass,
)
from gan_pde.flows.operator import LogDiffusionOperator

EPS = np.finfo(float).eps


@skfem.BilinearForm
def _absolute_mass(u, v, w):
    r""":math:`\int \rho\,|u\,v|`: with ``rho`` = ρ·sign(dx), the absolute sums
    :math:`\sum_q|t_q|` that bound the round-off (quadrature weights can be negative: the
    degree-3 tetrahedron rule has a negative centroid weight)."""
    return w["rho"] * np.abs(u * v)


def _absolute_sums(basis: skfem.CellBasis, rho: np.ndarray) -> np.ndarray:
    r""":math:`\sum_q|\rho_q\hat\phi_i\hat\phi_j|\,|\det J|\,|W_q|` per raw entry."""
    return _absolute_mass.coo_data(basis, rho=rho * np.sign(basis.dx)).data


def _jittered(mesh: skfem.Mesh, seed: int) -> skfem.Mesh:
    """The mesh with its interior vertices moved by up to 15 % of the spacing, so that
    |det J| differs from cell to cell (a structured mesh hides a wrong cell factor)."""
    rng = np.random.default_rng(seed)
    p = mesh.p.copy()
    lo, hi = p.min(axis=1, keepdims=True), p.max(axis=1, keepdims=True)
    interior = np.all((p > lo) & (p < hi), axis=0)
    spacing = (hi - lo).min() / round(mesh.nvertices ** (1.0 / mesh.dim()))
    p[:, interior] += 0.15 * spacing * rng.uniform(-1.0, 1.0, (mesh.dim(), interior.sum()))
    return type(mesh)(p, mesh.t)


MESHES = {
    "line": lambda: _jittered(gp.mesh.interval(-1.0, 2.0, n=9), 1),
    "tri": lambda: _jittered(gp.mesh.rectangle((-1.0, 1.0), (0.0, 3.0), n=(5, 6)), 2),
    "tet": lambda: _jittered(gp.mesh.box((0.0, 1.0), (0.0, 2.0), (-1.0, 0.0), n=(3, 3, 2)), 3),
}


def _case(name: str, element: str, seed: int = 0):
    basis = make_basis(MESHES[name](), element)
    rng = np.random.default_rng(seed)
    # weights over 8 orders of magnitude inside each cell, as e^{s - c_e} in a Newton step
    rho = np.exp(rng.uniform(-18.0, 0.0, basis.dx.shape))
    return basis, rho


def _excess(values: np.ndarray, basis: skfem.CellBasis, rho: np.ndarray) -> float:
    """max |values − coo_data| / bound (≤ 1 passes), bound from the module docstring."""
    reference = weighted_mass.coo_data(basis, rho=rho).data
    absolute = _absolute_sums(basis, rho)
    nqp = basis.X.shape[1]
    bound = (nqp + 2) * EPS * absolute
    assert np.all(bound > 0.0)
    return float(np.max(np.abs(values - reference) / bound))


@pytest.mark.parametrize("name", sorted(MESHES))
@pytest.mark.parametrize("element", ["P1", "P2"])
def test_mass_values_match_coo_data(name, element):
    basis, rho = _case(name, element)
    assert is_affine_lagrange(basis)
    table = affine_lagrange_values(basis)
    assert _excess(affine_weighted_mass_values(table, rho), basis, rho) <= 1.0


@pytest.mark.parametrize("name", sorted(MESHES))
@pytest.mark.parametrize("element", ["P1", "P2"])
def test_entry_order_is_that_of_coo_data(name, element):
    """Entry [j, i, e] lies in row dofs[i, e], column dofs[j, e] in scikit-fem's COO: the
    order the operator's row scaling and its pattern slots assume."""
    basis, rho = _case(name, element)
    rows, cols = weighted_mass.coo_data(basis, rho=rho).indices
    dofs = affine_lagrange_values(basis).dofs
    n, nelems = dofs.shape
    np.testing.assert_array_equal(rows, np.broadcast_to(dofs[None], (n, n, nelems)).ravel())
    np.testing.assert_array_equal(cols, np.broadcast_to(dofs[:, None], (n, n, nelems)).ravel())


@pytest.mark.parametrize("name", sorted(MESHES))
def test_permuted_local_order_fails(name):
    """Negative control: a table whose local P2 functions are listed in another order
    (a vertex and an edge function swapped) gives values far outside the bound."""
    basis, rho = _case(name, "P2")
    table = affine_lagrange_values(basis)
    n = table.values.shape[0]
    order = np.arange(n)
    order[[0, n - 1]] = order[[n - 1, 0]]
    values = table.values[order]
    wrong = dataclasses.replace(
        table, products=(values[:, None, :] * values[None, :, :]).reshape(n * n, -1)
    )
    assert _excess(affine_weighted_mass_values(wrong, rho), basis, rho) > 1e6


def test_constant_weight_integrates_the_domain():
    """Independent of scikit-fem: with ρ = 1 the entries sum to ∫ Σ_iφ_i Σ_jφ_j = |Ω|
    (the Lagrange functions sum to 1), each cell's to its volume."""
    mesh = MESHES["tri"]()
    basis = make_basis(mesh, "P2")
    table = affine_lagrange_values(basis)
    values = affine_weighted_mass_values(table, np.ones(basis.dx.shape))
    per_cell = values.reshape(-1, mesh.nelements).sum(axis=0)
    volumes = gp.mesh.cell_volumes(mesh)
    # the entries' absolute sums add up to ∫(Σ_i|φ_i|)² ≤ (5/3)²·volume (P2 on triangles);
    # rounding: (nqp + 2)u of that in the entries and 35u in adding the 36 of them, i.e.
    # (9 + 35)/2·25/9 ε < 62 ε; the quadrature weights sum to 1/2 within nqp·ε and the
    # reference volume is a 2x2 determinant (2 ε): rtol 80 ε
    np.testing.assert_allclose(per_cell, volumes, rtol=80 * EPS, atol=0.0)


@pytest.mark.parametrize("name", sorted(MESHES))
@pytest.mark.parametrize("element", ["P1", "P2"])
def test_interpolation_matches_scikit_fem(name, element):
    """Σ_i u_i φ_i(x_q): nbfun products and nbfun − 1 sums, each within
    nbfun·u·Σ|u_iφ_i| of the exact value, so the two within nbfun·ε·Σ|u_iφ_i|."""
    basis, _ = _case(name, element)
    u = np.random.default_rng(5).normal(size=basis.N)
    table = affine_lagrange_values(basis)
    absolute = np.abs(u[table.dofs]).T @ np.abs(table.values)
    difference = np.abs(affine_interpolate(table, u) - np.asarray(basis.interpolate(u)))
    assert np.all(difference <= table.values.shape[0] * EPS * absolute)


def test_rejects_quadrilaterals_and_wrong_shapes():
    quad = make_basis(gp.mesh.rectangle((0.0, 1.0), (0.0, 1.0), n=(2, 2), cell="quad"), "P2")
    assert not is_affine_lagrange(quad)
    with pytest.raises(InvalidInputError, match="affine simplex"):
        affine_lagrange_values(quad)
    basis, rho = _case("tri", "P2")
    with pytest.raises(InvalidInputError, match="shape"):
        affine_weighted_mass_values(affine_lagrange_values(basis), rho.T)


# ------------------------------------------------------------------ the JSD operator


def _operator(element: str, cell: str = "tri", **kwargs) -> LogDiffusionOperator:
    target = gp.GaussianMixture(
        means=[[-1.0, 0.0], [1.0, 0.5]], stds=[0.8, 0.6], weights=[0.6, 0.4]
    )
    mesh = gp.mesh.rectangle((-4.0, 4.0), (-4.0, 4.0), n=(8, 8), cell=cell)
    return LogDiffusionOperator(target, mesh, element=element, lumped=False, **kwargs)


def _scikit_fem_path(op: LogDiffusionOperator) -> LogDiffusionOperator:
    op._mass_table_ready, op._mass_table = True, None
    return op


@pytest.mark.parametrize(("element", "solver"), [("P2", None), ("P1", None), ("P1", "auto")])
def test_operator_nonlinear_matches_scikit_fem_path(element, solver):
    """N̂(s) and its Jacobian with the kernel against the same operator on scikit-fem's
    path (P1 with solver="auto" is set up by the P1 kernel, whose cell order the table
    must follow too).  Differences, relative to the absolute sums A of the row's
    quadrature terms t = e^{s_h + ln ρ_d − c_e}φ_iφ_j|det J||W_q|·(row factor):
    (a) the raw entries, (nqp + 2)ε·A (above);
    (b) s_h at the quadrature points, within δ = nbfun·ε·max|s|·Σ|φ_i| of each other
    (Σ|φ_i| ≤ 5/3 for P2 on triangles, 1 for P1), which changes each term relatively by
    at most 2δ (once in s_h, once through the cell shift c_e, first order);
    (c) the sums of the raw entries into a row or a slot, ≤ (terms − 1)·ε·A with at most
    6·6 terms here (a P2 vertex row of a 6-cell star; a slot has fewer).
    The Jacobian's slot (i, j) sums a subset of row i's terms, so row i's A bounds it."""
    s = np.random.default_rng(7).normal(scale=1.5, size=_operator(element).n_dofs)
    kernel = _operator(element, solver=solver)
    reference = _scikit_fem_path(_operator(element, solver=solver))
    n_new, jac_new = kernel._nonlinear(s)
    n_ref, jac_ref = reference._nonlinear(s)
    assert kernel._mass_table is not None
    # A from scikit-fem: the reference path's weights and row factors, |terms| summed
    basis = reference.basis
    log_w = reference.log_target_at_quadrature + np.asarray(basis.interpolate(s))
    shift = log_w.max(axis=1)
    terms = _absolute_sums(basis, np.exp(log_w - shift[:, None]))
    terms *= reference._row_scale(shift, None, trial=True)
    rows = weighted_mass.coo_data(basis, rho=np.ones_like(log_w)).indices[0]
    absolute = np.bincount(rows, weights=terms, minlength=kernel.n_dofs)
    nqp, nbfun = basis.X.shape[1], basis.Nbfun
    spread = 5.0 / 3.0 if element == "P2" else 1.0
    factor = (nqp + 2) + 2 * nbfun * spread * np.abs(s).max() + 36
    assert np.all(np.abs(n_new - n_ref) <= factor * EPS * absolute)
    slot_rows = kernel._pattern_rows
    assert np.all(np.abs(jac_new - jac_ref) <= factor * EPS * absolute[slot_rows])
    # negative control: the bound sees the e^s weight change by a relative 1e-10
    n_off, _ = kernel._nonlinear(s + 1e-10)
    assert not np.all(np.abs(n_off - n_ref) <= factor * EPS * absolute)


def test_quadrilaterals_take_scikit_fem_path():
    op = _operator("P2", cell="quad")
    n_of_s, _ = op._nonlinear(np.zeros(op.n_dofs))
    assert op._mass_table_ready and op._mass_table is None
    # s = 0: N̂(0) = D⁻¹M1 = the scaled load of v = 0, the same raw entries (the same
    # coo_data call, the same shifts and row factors) summed in another order: at most
    # (number of terms)·ε of the absolute row sum, ≤ 81 terms (a Q2 vertex row, 4 cells·9)
    absolute = op._nonlinear_absolute(np.zeros(op.n_dofs))
    load = op.load(np.zeros(op.n_dofs))
    assert np.all(np.abs(n_of_s - load) <= 81 * EPS * absolute)
