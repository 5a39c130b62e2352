"""FEM core: bases, point evaluation, functionals and the Newton solver."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import skfem
from scipy import integrate, stats
from skfem.helpers import dot, grad

import gan_pde as gp
from gan_pde.errors import InvalidInputError, NotConvergedError, NumericalBreakdownError
from gan_pde.fem import (
    CSRPattern,
    FEMFunction,
    assemble_weighted,
    js_divergence,
    kl_divergence,
    l1_distance,
    make_basis,
    mass,
    newton,
    quadrature_points,
    weighted_mass,
    weighted_stiffness,
)

# ---------------------------------------------------------------- bases and evaluation


@pytest.mark.parametrize(
    "mesh",
    [
        gp.mesh.interval(0, 1, n=4),
        gp.mesh.rectangle((0, 1), (0, 1), n=(3, 3)),
        gp.mesh.rectangle((0, 1), (0, 1), n=(3, 3), cell="quad"),
        gp.mesh.box((0, 1), (0, 1), (0, 1), n=(2, 2, 2)),
        gp.mesh.box((0, 1), (0, 1), (0, 1), n=(2, 2, 2), cell="hex"),
    ],
    ids=["line", "tri", "quad", "tet", "hex"],
)
@pytest.mark.parametrize("element", ["P1", "P2"])
def test_weighted_forms_reproduce_integrals(mesh, element):
    # with rho = 1: 1^T M 1 = |Omega| = 1 and K 1 = 0 (constants have no gradient); with
    # rho = 1 + x_0, 1^T M 1 = 1 + 1/2 exactly (quadrature exact for polynomials).
    basis = make_basis(mesh, element)
    ones = np.ones(basis.N)
    x = basis.global_coordinates()
    m = weighted_mass.assemble(basis, rho=1.0 + x[0])
    k = weighted_stiffness.assemble(basis, rho=1.0 + x[0])
    assert ones @ m @ ones == pytest.approx(1.5, rel=1e-13)
    assert np.abs(k @ ones).max() < 1e-12
    # P2 reproduces quadratics: grad-grad with u = x_0^2 gives int (1+x)(2x)^2 = 4/3 + 1
    u = basis.doflocs[0] ** 2 if element == "P2" else basis.doflocs[0]
    expected = 4 / 3 + 1 if element == "P2" else 1.5
    assert u @ k @ u == pytest.approx(expected, rel=1e-12)


def test_fem_function_evaluation_and_outside_points():
    mesh = gp.mesh.rectangle((0, 1), (0, 2), n=(5, 7))
    basis = make_basis(mesh, "P2")
    f = FEMFunction(basis, 1 + basis.doflocs[0] ** 2 - basis.doflocs[0] * basis.doflocs[1])
    pts = np.random.default_rng(1).uniform(-0.5, 2.5, size=(400, 2))
    values = f(pts)
    inside = (pts[:, 0] >= 0) & (pts[:, 0] <= 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= 2)
    exact = 1 + pts[:, 0] ** 2 - pts[:, 0] * pts[:, 1]
    np.testing.assert_allclose(values[inside], exact[inside], atol=1e-13)  # P2 is exact
    assert np.all(values[~inside] == 0.0)
    with pytest.raises(InvalidInputError, match=r"shape \(n, 2\)"):
        f(np.zeros((3, 3)))


# ---------------------------------------------------------------- functionals


def test_mass_l1_kl_jsd_of_gaussians_against_closed_forms():
    mesh = gp.mesh.interval(-15, 16, n=200)
    p = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    q = gp.Gaussian(mean=[1.0], cov=[[1.0]])
    # degree-8 Gauss quadrature on h = 0.155: error ~ h^16 |f^(16)| -> round-off level
    assert mass(p, mesh) == pytest.approx(1.0, abs=1e-13)
    assert l1_distance(p, q, mesh) == pytest.approx(2 * (2 * stats.norm.cdf(0.5) - 1), rel=1e-12)
    assert kl_divergence(p, q, mesh) == pytest.approx(0.5, rel=1e-12)

    def integrand(x):
        a, b = stats.norm.pdf(x), stats.norm.pdf(x, 1.0)
        m = 0.5 * (a + b)
        return 0.5 * (a * np.log(a / m) + b * np.log(b / m))

    reference = integrate.quad(integrand, -15, 16, epsabs=1e-14, limit=200)[0]
    assert js_divergence(p, q, mesh) == pytest.approx(reference, rel=1e-10)
    assert js_divergence(p, p, mesh) == pytest.approx(0.0, abs=1e-15)


def test_jsd_tends_to_ln2_for_far_apart_densities_without_nan():
    # overlap of N(-30,1) and N(30,1) underflows: JSD must be ln 2, L1 = 2, and no NaN
    mesh = gp.mesh.interval(-45, 45, n=600)
    p = gp.Gaussian(mean=[-30.0], cov=[[1.0]])
    q = gp.Gaussian(mean=[30.0], cov=[[1.0]])
    assert js_divergence(p, q, mesh) == pytest.approx(np.log(2.0), rel=1e-12)
    assert l1_distance(p, q, mesh) == pytest.approx(2.0, rel=1e-12)
    # q underflows where p lives, but log q does not: KL = (60)^2 / 2 exactly
    assert kl_divergence(p, q, mesh) == pytest.approx(1800.0, rel=1e-12)


def test_functionals_of_mesh_densities_use_the_fem_function_exactly():
    mesh = gp.mesh.interval(-8, 8, n=64)
    basis = make_basis(mesh, "P2")
    target = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    u = gp.MeshDensity.from_density(target, basis, normalize=True)
    assert mass(u, mesh) == pytest.approx(1.0, rel=1e-12)
    # JSD(u, target) is the interpolation error: small (h = 0.25, P2) and positive
    assert 0 < js_divergence(u, target, mesh) < 1e-6


def test_functional_dimension_mismatch():
    p = gp.Gaussian(mean=[0.0, 0.0], cov=np.eye(2))
    with pytest.raises(InvalidInputError, match="dimension 2 does not match the mesh"):
        mass(p, gp.mesh.interval(-1, 1, n=3))


# ---------------------------------------------------------------- Newton


def _resolvent_problem(n=200, lam=10.0):
    """The JSD-flow step in s = ln(1 + w): a strictly convex energy (paper 002, (12)).

    E(s) = int (e^s - (1 + f) s) dmu + lam/4 int |grad s|^2 dmu, grad E = F, and the
    Jacobian is the e^s-weighted mass plus lam/2 times the weighted stiffness.
    """
    rho = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    basis = make_basis(gp.mesh.interval(-6, 6, n=n), "P1")
    x = basis.global_coordinates()
    weight = rho.pdf(np.asarray(x).reshape(1, -1).T).reshape(basis.nelems, -1)

    @skfem.LinearForm
    def load(v, w):
        return w["rho"] * (np.exp(w["s"]) - 1.0 - w["f"]) * v

    @skfem.BilinearForm
    def jac_form(u, v, w):
        return w["rho"] * (np.exp(w["s"]) * u * v + 0.5 * lam * dot(grad(u), grad(v)))

    @skfem.Functional
    def energy_form(w):
        return w["rho"] * (
            np.exp(w["s"]) - (1.0 + w["f"]) * w["s"] + 0.25 * lam * dot(grad(w["s"]), grad(w["s"]))
        )

    stiffness = weighted_stiffness.assemble(basis, rho=weight)
    f_target = 4.0 * np.exp(-((basis.doflocs[0] - 1.0) ** 2)) + 0.5 * np.sin(basis.doflocs[0])
    f_field = basis.interpolate(f_target)

    def residual(s):
        return load.assemble(basis, rho=weight, s=basis.interpolate(s), f=f_field) + (
            0.5 * lam * (stiffness @ s)
        )

    pattern = CSRPattern.from_form(jac_form, basis, rho=weight, s=basis.zeros())

    def jacobian(s):
        return pattern.assemble(jac_form, basis, rho=weight, s=basis.interpolate(s))

    def energy(s):
        return energy_form.assemble(basis, rho=weight, s=basis.interpolate(s), f=f_field)

    def fresh_jacobian(s):
        return jac_form.assemble(basis, rho=weight, s=basis.interpolate(s))

    jacobian.fresh = fresh_jacobian
    return basis, residual, jacobian, energy, pattern


def test_newton_converges_quadratically_and_reuses_the_pattern():
    basis, residual, jacobian, energy, pattern = _resolvent_problem(lam=10.0)
    seen = []

    def tracked(s):
        matrix = jacobian(s)
        seen.append(matrix)
        return matrix

    result = newton(residual, tracked, basis.zeros(), energy=energy, rtol=1e-12)
    assert result.converged
    norms = result.residual_norms
    # quadratic convergence r_{k+1} <= C r_k^2 / r_0 with C = O(1) once r_k < r_0 / 2,
    # excluding steps that land on the round-off floor (~1e-13 r_0 for this problem)
    pairs = [
        (a, b)
        for a, b in zip(norms[:-1], norms[1:], strict=True)
        if a < 0.5 * norms[0] and b > 1e-12 * norms[0]
    ]
    assert len(pairs) >= 3
    assert all(b <= 10.0 * a**2 / norms[0] for a, b in pairs)
    assert result.iterations <= 12
    # every Jacobian is a view on the pattern's index arrays: nothing was re-sorted
    assert all(
        np.shares_memory(m.indices, pattern.indices) and np.shares_memory(m.indptr, pattern.indptr)
        for m in seen
    )
    # the reused pattern gives the same matrix as a fresh scikit-fem assembly (summation
    # order differs: round-off only)
    fresh = jacobian.fresh(result.x).toarray()
    np.testing.assert_allclose(jacobian(result.x).toarray(), fresh, rtol=1e-13, atol=1e-20)


def test_newton_line_search_handles_huge_steps():
    # lambda = 1e4 from s = -5: the undamped Newton step overshoots (e^s blows up); the
    # Armijo line search on the convex energy must still converge.  The residual's
    # round-off floor is ~ eps * (lambda/2) * |K|_inf * max|s| ~ 2.2e-16 * 5e3 * (2/h)
    # ~ 4e-11 (h = 0.06), so Newton exits through its step criterion; assert the residual
    # is within 10x of that floor.
    basis, residual, jacobian, energy, _ = _resolvent_problem(lam=1e4)
    result = newton(residual, jacobian, basis.zeros() - 5.0, energy=energy, rtol=1e-12)
    assert result.converged
    assert np.min(result.step_lengths) < 1.0  # the line search was needed
    assert result.at_roundoff
    assert np.linalg.norm(residual(result.x)) <= 4e-10


def test_newton_failures_are_loud():
    with pytest.raises(NotConvergedError, match="did not converge in 3 iterations"):
        newton(
            lambda x: np.arctan(x), lambda x: sp.diags(1 / (1 + x**2)), np.array([1.3]), max_iter=3
        )
    with pytest.raises(NumericalBreakdownError, match="NaN/Inf"):
        newton(lambda x: np.where(x > 0, np.nan, x), lambda x: sp.eye(1), np.array([1.0]))
    with pytest.raises(InvalidInputError, match="scale must be positive"):
        newton(lambda x: x, lambda x: sp.eye(1), np.ones(1), scale=np.zeros(1))
    with pytest.raises(InvalidInputError, match="invalid Newton options"):
        newton(lambda x: x, lambda x: sp.eye(1), np.zeros(1), max_iter=0)
    result = newton(
        lambda x: np.arctan(x),
        lambda x: sp.diags(1 / (1 + x**2)),
        np.array([1.3]),
        max_iter=3,
        raise_on_failure=False,
    )
    assert not result.converged


# ------------------------------------------------------------- nested dissection


def test_nested_dissection_is_a_permutation_that_dissects():
    from scipy.sparse.csgraph import connected_components

    from gan_pde.fem.ordering import nested_dissection

    mesh = gp.mesh.rectangle((0.0, 1.0), (0.0, 2.0), n=(40, 60))
    basis = make_basis(mesh, "P2")
    matrix = assemble_weighted(gp.Gaussian(mean=[0.5, 1.0], cov=np.eye(2)), basis).stiffness
    perm = nested_dissection(matrix, basis.doflocs.T, leaf_size=32)
    assert np.array_equal(np.sort(perm), np.arange(basis.N))
    # the top-level separator is ordered last; removing it disconnects the graph, and the
    # two halves are contiguous blocks before it
    graph = sp.csr_matrix(matrix)[perm][:, perm]
    n = basis.N
    for size in range(1, n):
        rest = graph[: n - size][:, : n - size]
        count, labels = connected_components(rest, directed=False)
        if count >= 2:
            break
    assert count == 2 and size < 0.1 * n  # a thin separator (a grid line of P2 dofs)
    assert np.all(np.diff(labels) >= 0)  # first half, then second half


def test_factorize_symmetric_with_nested_dissection_solves_exactly():
    from gan_pde.fem import linalg

    mesh = gp.mesh.rectangle((-4.0, 4.0), (-4.0, 4.0), n=(160, 160))
    basis = make_basis(mesh, "P1")
    system = assemble_weighted(gp.Gaussian(mean=[0.0, 0.0], cov=np.eye(2)), basis)
    matrix = (system.stiffness + 0.1 * system.mass).tocsr()
    assert basis.N < linalg.NESTED_DISSECTION_MIN_SIZE  # force the ordering at this size
    linalg_min = linalg.NESTED_DISSECTION_MIN_SIZE
    try:
        linalg.NESTED_DISSECTION_MIN_SIZE = 1000
        lu = linalg.factorize_symmetric(matrix, coordinates=basis.doflocs.T)
    finally:
        linalg.NESTED_DISSECTION_MIN_SIZE = linalg_min
    assert isinstance(lu, linalg.PermutedLU)
    rhs = np.random.default_rng(1).standard_normal((basis.N, 2))
    x = lu.solve(rhs)
    # backward stable without pivoting (SPD): residual ~ eps * cond ~ 1e-16 * 1e4
    assert np.linalg.norm(matrix @ x - rhs) <= 1e-10 * np.linalg.norm(rhs)
    np.testing.assert_allclose(lu.solve(rhs[:, 0]), x[:, 0], rtol=0, atol=1e-13)


@pytest.mark.parametrize(
    "mesh",
    [
        gp.mesh.interval(-3.0, 3.0, n=7),
        gp.mesh.rectangle((-3.0, 3.0), (-2.0, 2.0), n=(7, 5)),
        gp.mesh.box((-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0), n=(3, 4, 2)),
    ],
    ids=["line", "tri", "tet"],
)
def test_p1_simplex_fast_assembly_equals_scikit_fem(mesh):
    from gan_pde.fem import forms

    dim = mesh.dim()
    rho = gp.Gaussian(mean=np.full(dim, 0.3), cov=0.7 * np.eye(dim))
    basis = make_basis(mesh, "P1")
    relative = np.exp(forms.log_density_at_quadrature(rho, basis))
    k = forms.weighted_stiffness.coo_data(basis, rho=relative)
    m = forms.weighted_mass.coo_data(basis, rho=relative)
    geometry = forms.simplex_geometry(mesh, (basis.X, basis.W))
    nqp = basis.X.shape[1]
    points = geometry.points.reshape(nqp, -1, dim).transpose(1, 0, 2).reshape(-1, dim)
    np.testing.assert_allclose(points, quadrature_points(basis), rtol=0, atol=1e-14)
    np.testing.assert_allclose(geometry.volume[:, None] * geometry.weights, basis.dx, rtol=1e-13)
    # unit scaling: the real and imaginary parts are the raw K and M entries
    ones = np.ones(geometry.dofs.shape)
    rows, cols, data = forms.p1_simplex_entries(geometry, relative.T, ones)
    assert np.array_equal(rows, k.indices[0]) and np.array_equal(cols, k.indices[1])
    # the same sums in another order: round-off of the entries' size
    np.testing.assert_allclose(data.real, k.data, rtol=0, atol=1e-14 * np.abs(k.data).max())
    np.testing.assert_allclose(data.imag, m.data, rtol=0, atol=1e-14 * np.abs(m.data).max())


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_p1_fast_path_assembles_the_same_scaled_system(dim, monkeypatch):
    """The P1 kernel against scikit-fem's generic assembly of the same log-scaled pencil."""
    from gan_pde.fem import forms

    mesh = {
        1: gp.mesh.interval(-5.0, 5.0, n=40),
        2: gp.mesh.rectangle((-4.0, 4.0), (-3.0, 5.0), n=(9, 11)),
        3: gp.mesh.box((-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0), n=(4, 3, 5)),
    }[dim]
    rho = gp.GaussianMixture(
        means=[np.full(dim, -1.0), np.full(dim, 1.5)], stds=[0.8, 1.1], weights=[0.3, 0.7]
    )
    basis = make_basis(mesh, "P1")
    fast = assemble_weighted(rho, basis)
    monkeypatch.setattr(forms, "is_p1_simplex", lambda basis: False)

    def fast_path(*args):
        raise AssertionError("the generic assembly must not take the P1 kernel")

    monkeypatch.setattr(forms, "assemble_p1_simplex", fast_path)
    generic = assemble_weighted(rho, basis)
    for a, b in ((fast.stiffness, generic.stiffness), (fast.mass, generic.mass)):
        # equal sums in another order: round-off relative to the largest entry
        assert abs(a - b).max() <= 1e-13 * abs(b).max()
    np.testing.assert_array_equal(fast.log_scale, generic.log_scale)
    np.testing.assert_allclose(fast.cell_log_variation, generic.cell_log_variation, atol=1e-12)
    np.testing.assert_array_equal(fast.dof_coordinates, generic.dof_coordinates)


def _jittered(mesh: skfem.Mesh, seed: int) -> skfem.Mesh:
    """An unstructured copy of ``mesh``: interior vertices moved by up to 0.25 of the
    spacing, the vertices renumbered and the vertices of every cell listed in a random
    order (so that the pairs i < j of a cell meet their global rows in either order)."""
    rng = np.random.default_rng(seed)
    p, t = mesh.p.copy(), mesh.t.copy()
    spacing = np.ptp(p, axis=1) / np.round(mesh.nvertices ** (1 / p.shape[0]))
    interior = np.ones(p.shape[1], dtype=bool)
    interior[mesh.boundary_nodes()] = False
    p[:, interior] += 0.25 * spacing[:, None] * rng.uniform(-1, 1, (p.shape[0], interior.sum()))
    renumber = rng.permutation(p.shape[1])
    p_new = np.empty_like(p)
    p_new[:, renumber] = p
    t = renumber[t]
    t = np.take_along_axis(t, np.argsort(rng.random(t.shape), axis=0), axis=0)
    return type(mesh)(p_new, t)


@pytest.mark.parametrize(
    "mesh",
    [
        gp.mesh.rectangle((-4.0, 4.0), (-3.0, 5.0), n=(13, 11)),
        _jittered(gp.mesh.rectangle((-4.0, 4.0), (-3.0, 5.0), n=(13, 11)), 1),
        gp.mesh.box((-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0), n=(6, 5, 7)),
        _jittered(gp.mesh.box((-3.0, 3.0), (-3.0, 3.0), (-3.0, 3.0), n=(6, 5, 7)), 2),
    ],
    ids=["tri", "tri-jittered", "tet", "tet-jittered"],
)
def test_blocked_p1_assembly_equals_scikit_fem_sums(mesh, monkeypatch):
    """The blocked P1 assembly (pairs i <= j summed into a pattern built from the cells)
    against scikit-fem's plain assembly of the unscaled forms, scaled afterwards:
    K~ = S K S, M~ = S M S with S = diag(exp(-ln rho(x_i) / 2))."""
    from gan_pde.fem import forms, quadrature_rule

    dim = mesh.dim()
    rho = gp.GaussianMixture(
        means=[np.full(dim, -1.0), np.full(dim, 1.5)], stds=[0.8, 1.1], weights=[0.3, 0.7]
    )
    basis = make_basis(mesh, "P1")
    weight = np.exp(forms.log_density_at_quadrature(rho, basis))
    scale = sp.diags(np.exp(-0.5 * rho.log_pdf(mesh.p.T)))
    references = [
        scale @ skfem.asm(form, basis, rho=weight) @ scale
        for form in (forms.weighted_stiffness, forms.weighted_mass)
    ]
    # blocks of 7 cells: many block boundaries
    monkeypatch.setattr(forms, "_P1_BLOCK", 7)
    system = forms.assemble_p1_simplex(rho, mesh, quadrature_rule(mesh, "P1"))
    for matrix, reference in zip((system.stiffness, system.mass), references, strict=True):
        # each entry sums at most ~24 cells' terms, each a few products of factors with
        # relative round-off ~1e-16: 1e-13 of the largest entry leaves a factor ~40
        assert abs(matrix - reference).max() <= 1e-13 * abs(reference).max()
        assert matrix.has_canonical_format
        # symmetric to the bit: the lower triangle is a copy of the upper one
        assert (matrix != matrix.T).nnz == 0
    # one pattern for both matrices (zero stiffness entries stay stored)
    assert np.array_equal(system.stiffness.indptr, system.mass.indptr)
    assert np.array_equal(system.stiffness.indices, system.mass.indices)
    # the block size changes nothing, to the bit (each block's values need its cells alone)
    monkeypatch.setattr(forms, "_P1_BLOCK", 10**6)
    single = forms.assemble_p1_simplex(rho, mesh, quadrature_rule(mesh, "P1"))
    assert (single.stiffness != system.stiffness).nnz == 0
    assert (single.mass != system.mass).nnz == 0
    np.testing.assert_array_equal(single.cell_log_variation, system.cell_log_variation)
    # negative control: the degree-2 rule (one order below the package's) is an O(h^2)
    # relative change, far above the tolerance
    coarse = forms.assemble_p1_simplex(rho, mesh, quadrature_rule(mesh, "P1", intorder=2))
    assert abs(coarse.mass - references[1]).max() > 1e-6 * abs(references[1]).max()


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_p1_assembly_names_a_degenerate_cell(dim):
    """A zero-volume cell makes the P1 gradients undefined: a clear error, not NaN matrices."""
    mesh = {
        1: skfem.MeshLine1(np.array([[0.0, 1.0, 1.0, 2.0]]), np.array([[0, 1, 2], [1, 2, 3]])),
        2: skfem.MeshTri1(
            np.array([[0.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0]]),
            np.array([[0, 0], [1, 1], [2, 3]]),
        ),
        3: skfem.MeshTet1(
            np.array(
                [[0.0, 1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]]
            ),
            np.array([[0, 0], [1, 1], [2, 2], [3, 4]]),
        ),
    }[dim]
    rho = gp.Gaussian(mean=np.zeros(dim), cov=np.eye(dim))
    first = {1: 1, 2: 0, 3: 0}[dim]  # the zero-length interval is the middle one in 1D
    with pytest.raises(InvalidInputError, match=f"1 degenerate cells .* first cell {first} "):
        gp.weighted_laplacian_spectrum(rho, mesh, k=2, element="P1", method="dense")


# ---------------------------------------------------------------- public kernel and log scale


def test_the_p1_kernel_and_helpers_are_public_and_keep_their_private_names():
    """``gan_pde.fem`` exports the P1 simplex kernel and its helpers; the private names that
    other modules imported stay the same objects, so those imports keep working."""
    import gan_pde.fem as fem
    from gan_pde.fem import forms

    public = (
        "SimplexGeometry",
        "assemble_p1_simplex",
        "is_p1_simplex",
        "is_p1_simplex_mesh",
        "p1_simplex_entries",
        "simplex_geometry",
    )
    for name in public:
        assert name in fem.__all__ and name in forms.__all__, name
        assert getattr(fem, name) is getattr(forms, name), name
        assert getattr(forms, f"_{name}") is getattr(forms, name), name
    assert fem.is_p1_simplex_mesh(gp.mesh.rectangle((0, 1), (0, 1), n=2))
    assert not fem.is_p1_simplex_mesh(skfem.MeshQuad1())
    assert not fem.is_p1_simplex(make_basis(gp.mesh.interval(0, 1, n=3), "P2"))


def _log_scale_data():
    """States z and scales a covering a = 0, moderate and astronomically large v, v = 0,
    v < 0 and v <= -1 (NaN for ln(1 + v))."""
    rng = np.random.default_rng(7)
    z = np.concatenate(
        [[-1.5, -1.0, -0.3, 0.0, 1e-300, 1e-12, 0.5, 3.0, 1e20, 1e300], rng.lognormal(0, 3, 40)]
    )
    a = np.where(np.arange(z.size) % 3 == 0, 0.0, rng.uniform(0.0, 3000.0, z.size))
    return z, a


def test_the_log_scaling_matches_the_jsd_state_code_bit_for_bit():
    """One implementation of z = (1 + v)e^{-a} - 1 and its conversions: bit for bit the
    operations of LogDiffusionOperator.log1p_state and of JSDFlow's state handling, so the
    flow can call them without changing a result."""
    from gan_pde.fem import logscale

    z, a = _log_scale_data()
    with np.errstate(all="ignore"):
        # the formulas as they stand in flows/operator.py and flows/jsd.py
        lp = a + np.log1p(np.where(z > -1.0, z, np.nan))
        v = np.where(a > 0.0, np.expm1(lp), z)
        log_v = np.where(lp > 0.0, lp + np.log(-np.expm1(-lp)), -np.inf)
        psi = np.log(-np.expm1(-lp))
        log_v0 = np.linspace(-5.0, 900.0, 25)
        log1p_v0 = np.logaddexp(0.0, log_v0)
        scale = np.maximum(0.0, log1p_v0 - 64.0)
        v0 = np.exp(log_v0)
        z0 = np.where(scale > 0.0, np.expm1(log1p_v0 - scale), v0)
    same = lambda x, y: np.array_equal(x, y, equal_nan=True)  # noqa: E731
    assert same(logscale.log1p_of_state(z, a), lp)
    assert same(logscale.log1p_of_state(z, None), np.log1p(np.where(z > -1.0, z, np.nan)))
    assert same(logscale.state_to_v(z, a), v) and logscale.state_to_v(z, None) is z
    assert same(logscale.log_v_from_log1p(lp), log_v)
    assert same(logscale.log_v_over_1p_v(lp), psi)
    got_scale, got_log1p = logscale.log_scale_for(log_v0, plain_max=64.0)
    assert same(got_scale, scale) and same(got_log1p, log1p_v0)
    assert same(logscale.state_from_log1p(v0, log1p_v0, scale), z0)
    # the operator's own method, live
    flow = gp.JSDFlow(
        gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        gp.Gaussian(mean=[0.5], cov=[[1.0]]),
        gp.mesh.interval(-5.0, 5.0, n=z.size - 1),
    )
    flow.operator.set_log_scale(np.abs(a))
    assert same(flow.operator.log1p_state(z), logscale.log1p_of_state(z, np.abs(a)))


def test_the_log_scaling_round_trips_beyond_the_double_range():
    """v = e^900 is +inf as a double; its state, ln(1 + v) and ln v are exact: the round
    trip v -> z -> ln(1 + v) -> ln v loses only round-off of ln(1 + v) ~ 900 (a few ulps)."""
    from gan_pde.fem import log1p_of_state, log_scale_for, log_v_from_log1p, state_from_log1p

    log_v = np.array([-30.0, 0.0, 10.0, 63.0, 65.0, 900.0, 3000.0])
    with np.errstate(over="ignore"):
        v = np.exp(log_v)
    scale, log1p_v = log_scale_for(log_v, plain_max=64.0)
    assert np.array_equal(scale > 0.0, log1p_v > 64.0)
    z = state_from_log1p(v, log1p_v, scale)
    assert np.all(np.isfinite(z)) and np.all(np.log1p(z) <= 64.0 + 1e-12)
    back = log_v_from_log1p(log1p_of_state(z, scale))
    # ln(1 + z) + a recomputes ln(1 + v) to a few ulps of its size (≤ 3000)
    np.testing.assert_allclose(back, log_v, rtol=0, atol=8 * np.finfo(float).eps * 3000.0)


def test_newton_polish_takes_one_step_from_an_accepted_start():
    # F(x) = x - c with a start that meets the RMS test (‖F‖ ≤ atol) but leaves one
    # equation at atol/2 while the others are exact: without polish Newton returns the
    # start untouched; with it, one (exact, linear) step puts every equation at 0.
    c = np.linspace(1.0, 2.0, 100)
    start = c.copy()
    start[7] += 5e-13
    kwargs = {"rtol": 0.0, "atol": 1e-12}
    plain = newton(lambda x: x - c, lambda x: sp.eye(c.size), start, **kwargs)
    assert plain.iterations == 0 and plain.x[7] - c[7] == pytest.approx(5e-13)  # control
    polished = newton(lambda x: x - c, lambda x: sp.eye(c.size), start, polish=True, **kwargs)
    assert polished.iterations == 1 and np.max(np.abs(polished.x - c)) <= 4 * np.finfo(float).eps
    # a polishing step whose residual is worse than both the start and the target is
    # dropped: a Jacobian off by a factor 10 overshoots by 9x the start's error
    wrong = newton(lambda x: x - c, lambda x: 0.1 * sp.eye(c.size), start, polish=True, **kwargs)
    assert wrong.iterations == 0 and np.array_equal(wrong.x, start)
