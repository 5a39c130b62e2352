"""gan_pde.fem.solvers: every installed backend against SuperLU on the same problems.

The parity tolerances are round-off times conditioning: a backward-stable solve of
:math:`Ax = b` has a relative forward error at most :math:`\\kappa(A)\\,c\\,\\epsilon`, and two
such solves differ by at most the sum of their errors.  The condition numbers are computed
(the problems are small enough for dense eigenvalues), and ``c = 100`` covers the growth
factors of the norm-wise backward errors of Cholesky and LU without pivoting on SPD
matrices (≤ n·ε in the worst case, ~ε·√(nnz per row) in practice).
"""

from __future__ import annotations

import contextlib
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import gan_pde as gp
from gan_pde.checkpoint import load_checkpoint, save_checkpoint
from gan_pde.errors import (
    InvalidInputError,
    MissingDependencyError,
    NumericalBreakdownError,
    ReproducibilityWarning,
)
from gan_pde.fem import solvers
from gan_pde.fem.solvers import (
    SIMILARITY_RANGE,
    as_linear_solver,
    available_backends,
    linear_solver,
)
from gan_pde.flows import JSDFlow
from gan_pde.flows.jsd import JSDStepper

EPS = np.finfo(float).eps
INSTALLED = available_backends()
DIRECT = [b for b in ("cholmod", "pardiso") if b in INSTALLED]
OTHERS = [b for b in INSTALLED if b != "superlu"]
RHO_2D = gp.GaussianMixture(
    means=[[-1.5, 0.0], [1.5, 0.5], [0.0, -2.0]], stds=[1.0, 0.8, 0.9], weights=[0.4, 0.3, 0.3]
)


def _shifted_pencil(element: str = "P1", n: int = 30, dim: int = 2):
    """K + σM of a weighted Laplacian (SPD) and its dof coordinates."""
    if dim == 2:
        mesh = gp.mesh.rectangle((-7.0, 7.0), (-7.0, 7.0), n=(n, n))
        rho = RHO_2D
    else:
        mesh = gp.mesh.box((-5.0, 5.0), (-5.0, 5.0), (-5.0, 5.0), n=(n, n, n))
        rho = gp.Gaussian(mean=[0.0, 0.0, 0.0], cov=np.eye(3))
    basis = gp.fem.make_basis(mesh, element)
    system = gp.fem.assemble_weighted(rho, basis)
    ratio = system.stiffness.diagonal() / system.mass.diagonal()
    shifted = (system.stiffness + 1e-2 * float(np.mean(ratio)) * system.mass).tocsr()
    return shifted, basis.doflocs.T


def _condition(matrix: sp.spmatrix) -> float:
    values = np.linalg.eigvalsh(matrix.toarray())
    return float(values[-1] / values[0])


@pytest.fixture(scope="module")
def problem():
    matrix, coordinates = _shifted_pencil()
    rhs = np.random.default_rng(0).standard_normal((matrix.shape[0], 3))
    return matrix, coordinates, rhs, _condition(matrix)


def _parity(x, reference, kappa, extra=0.0):
    error = np.linalg.norm(x - reference) / np.linalg.norm(reference)
    assert error <= 2 * 100 * kappa * EPS + extra, (error, kappa)


@pytest.mark.parametrize("backend", OTHERS)
def test_backend_solves_like_superlu(problem, backend):
    matrix, coordinates, rhs, kappa = problem
    reference = linear_solver("superlu").factorize(matrix, coordinates=coordinates).solve(rhs)
    factor = linear_solver(backend).factorize(matrix, coordinates=coordinates)
    # AMG stops CG at a relative residual AMG_RTOL: forward error <= kappa * AMG_RTOL
    extra = kappa * solvers.AMG_RTOL if backend == "amg" else 0.0
    _parity(factor.solve(rhs), reference, kappa, extra)
    # one column at a time gives the same columns (to the same accuracy)
    _parity(factor.solve(rhs[:, 1]), reference[:, 1], kappa, extra)
    record = factor.describe()
    assert record["backend"] == backend
    assert record["n"] == matrix.shape[0]


@pytest.mark.parametrize("backend", INSTALLED)
def test_refactor_keeps_the_analysis_and_matches_a_fresh_factorization(problem, backend):
    matrix, coordinates, rhs, kappa = problem
    solver = linear_solver(backend)
    factor = solver.factorize(matrix, coordinates=coordinates)
    changed = matrix + sp.diags(np.linspace(0.0, 1.0, matrix.shape[0]))  # same pattern
    changed = sp.csr_matrix((changed.tocsr().data, matrix.indices, matrix.indptr), matrix.shape)
    factor.refactor(changed)
    assert factor.refactorizations == 1
    fresh = solver.factorize(changed, coordinates=coordinates).solve(rhs)
    if backend == "superlu":
        # SuperLU refactorises on the same ordering: bit for bit what a fresh one gives
        np.testing.assert_array_equal(factor.solve(rhs), fresh)
    else:
        extra = kappa * solvers.AMG_RTOL if backend == "amg" else 0.0
        _parity(factor.solve(rhs), fresh, _condition(changed), extra)
    with pytest.raises(InvalidInputError, match="sparsity pattern"):
        factor.refactor(sp.identity(matrix.shape[0], format="csr"))


@pytest.mark.parametrize("backend", DIRECT)
def test_similarity_transform_of_an_spd_matrix(problem, backend):
    # J = W⁻¹BW with a smooth h (like ln ρ/2 on the dofs): a Cholesky backend factorises
    # B, SuperLU J itself; both solve J x = b with the accuracy of a solve with B
    matrix, coordinates, rhs, kappa = problem
    h = -0.5 * np.sum(coordinates**2, axis=1) / 4.0
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    similar = sp.csr_matrix(
        (matrix.data * np.exp(h[matrix.indices] - h[rows]), matrix.indices, matrix.indptr),
        shape=matrix.shape,
    )
    b = rhs[:, 0]
    reference = linear_solver("superlu").factorize(similar).solve(b)
    factor = linear_solver(backend).factorize(similar, similarity=h)
    x = factor.solve(b)
    # the error of y = W x is that of a B-solve; x = W⁻¹y inherits it component-wise
    # relative to |W⁻¹| |y|, so compare W x
    _parity(np.exp(h) * x, np.exp(h) * reference, kappa)
    assert factor.describe()["similarity"].startswith("diagonal")


def test_similarity_beyond_the_double_range_falls_back_to_superlu(problem):
    matrix, _, rhs, _ = problem
    h = np.zeros(matrix.shape[0])
    h[0] = -(SIMILARITY_RANGE + 1.0)
    name = (DIRECT or ["amg"])[0]
    factor = linear_solver(name).factorize(matrix, similarity=h)
    assert factor.backend == "superlu"
    assert factor.describe()["fallback_from"] == name


def test_superlu_memory_is_its_factor(problem):
    matrix, coordinates, _, _ = problem
    factor = linear_solver("superlu").factorize(matrix, coordinates=coordinates)
    assert factor.factor_nnz == factor.lu.nnz
    assert factor.memory_bytes == 12 * factor.lu.nnz


@pytest.mark.skipif("pardiso" not in INSTALLED, reason="pypardiso not installed")
def test_pardiso_reports_its_factor(problem):
    matrix, coordinates, _, _ = problem
    lu = linear_solver("superlu").factorize(matrix, coordinates=coordinates)
    factor = linear_solver("pardiso").factorize(matrix)
    # L of a Cholesky-like factorisation: at least the lower triangle of A, and less than
    # SuperLU's L + U
    assert sp.tril(matrix).nnz <= factor.factor_nnz < lu.factor_nnz
    assert factor.memory_bytes >= 8 * factor.factor_nnz


def test_general_systems(problem):
    matrix, _, rhs, _ = problem
    # a convection-like skew part: unsymmetric, with the same SPD symmetric part
    unsymmetric = (matrix + 0.3 * (sp.triu(matrix, 1) - sp.tril(matrix, -1))).tocsr()
    b = rhs[:, 0]
    reference = linear_solver("superlu", kind="general")(unsymmetric, b)
    residual = np.linalg.norm(unsymmetric @ reference - b) / np.linalg.norm(b)
    assert residual < 1e-10
    if "pardiso" in INSTALLED:
        x = linear_solver("pardiso", kind="general")(unsymmetric, b)
        kappa = np.linalg.cond(unsymmetric.toarray())
        _parity(x, reference, kappa)
    for name in ("cholmod", "amg"):
        with pytest.raises(InvalidInputError, match="symmetric positive definite"):
            linear_solver(name, kind="general")


def test_not_positive_definite_is_a_breakdown():
    indefinite = sp.diags([1.0, -1.0, 2.0], format="csr")
    for name in [*DIRECT]:
        with pytest.raises(NumericalBreakdownError):
            linear_solver(name).factorize(indefinite)
    with pytest.raises(NumericalBreakdownError, match="singular"):
        linear_solver("superlu").factorize(sp.csr_matrix((3, 3)) + sp.diags([1.0, 0.0, 1.0]))


def test_auto_prefers_cholmod_then_pardiso_then_superlu(monkeypatch):
    def only(*names):
        monkeypatch.setattr(solvers, "_importable", lambda b: b in (*names, "superlu", "amg"))

    only("cholmod", "pardiso")
    assert linear_solver().name == "cholmod"
    assert linear_solver(kind="general").name == "pardiso"
    only("pardiso")
    assert linear_solver().name == "pardiso"
    only()
    assert linear_solver().name == "superlu"
    assert linear_solver(kind="general").name == "superlu"
    # AMG for large 3D systems: beyond AMG_MIN_3D without a supernodal backend
    assert linear_solver(size=solvers.AMG_MIN_3D + 1, dim=3).name == "amg"
    assert linear_solver(size=solvers.AMG_MIN_3D + 1, dim=2).name == "superlu"
    only("cholmod")
    assert linear_solver(size=solvers.AMG_MIN_3D + 1, dim=3).name == "cholmod"
    assert linear_solver(size=solvers.AMG_MIN_3D_FAST + 1, dim=3).name == "amg"
    assert linear_solver().describe()["requested"] == "auto"


def test_bad_solver_arguments(monkeypatch, problem):
    matrix = problem[0]
    with pytest.raises(InvalidInputError, match="not one of"):
        linear_solver("umfpack")
    with pytest.raises(InvalidInputError, match="kind"):
        linear_solver("superlu", kind="hermitian")
    with pytest.raises(InvalidInputError, match="LinearSolver"):
        as_linear_solver(3)
    with pytest.raises(InvalidInputError, match="square"):
        linear_solver("superlu").factorize(sp.csr_matrix((3, 4)))
    with pytest.raises(InvalidInputError, match="similarity"):
        linear_solver("superlu" if not DIRECT else DIRECT[0]).factorize(
            matrix, similarity=np.zeros(3)
        )
    monkeypatch.setattr(solvers, "_importable", lambda b: b in ("superlu", "amg"))
    with pytest.raises(MissingDependencyError, match=r"gan_pde\[cholmod\]"):
        linear_solver("cholmod")
    with pytest.raises(MissingDependencyError, match=r"gan_pde\[pardiso\]"):
        linear_solver("pardiso")
    small = gp.mesh.rectangle((-1, 1), (-1, 1), n=4)
    with pytest.raises(InvalidInputError, match="solver="):
        gp.weighted_laplacian_spectrum(RHO_2D, small, solver="mumps")
    with pytest.raises(InvalidInputError, match="method='lobpcg'"):
        gp.weighted_laplacian_spectrum(RHO_2D, small, method="shift-invert", solver="amg")


def test_as_linear_solver_changes_kind_keeping_the_backend():
    spd = linear_solver("superlu")
    assert as_linear_solver(spd) is spd
    assert as_linear_solver(spd, kind="general").name == "superlu"
    assert as_linear_solver(spd, kind="general").kind == "general"


# ------------------------------------------------------------------ the package's solves


@pytest.fixture(scope="module")
def spectrum_reference():
    mesh = gp.mesh.rectangle((-8.0, 8.0), (-8.0, 8.0), n=(40, 40))
    return mesh, gp.weighted_laplacian_spectrum(
        RHO_2D, mesh, k=5, method="shift-invert", solver="superlu"
    )


@pytest.mark.parametrize("backend", OTHERS)
def test_spectrum_with_every_backend(spectrum_reference, backend):
    mesh, reference = spectrum_reference
    # AMG is LOBPCG's preconditioner; the direct backends factorise the shift-invert
    method = "lobpcg" if backend == "amg" else "shift-invert"
    spec = gp.weighted_laplacian_spectrum(RHO_2D, mesh, k=5, method=method, solver=backend)
    # each run's eigenpairs have backward errors <= 100·tol = 1e-8 (checked by the
    # solver); with ARPACK at tol = 1e-10 they are ~1e-13, and the eigenvalues of a
    # symmetric definite pencil move by at most the backward error times
    # (‖K‖ + ξ‖M‖)/(yᵀMy) ~ 1e2 here: 1e-9 relative leaves room for both runs
    np.testing.assert_allclose(spec.eigenvalues[1:], reference.eigenvalues[1:], rtol=1e-9)
    assert spec.info["linear_solver"]["backend"] == backend
    assert reference.info["linear_solver"]["backend"] == "superlu"


def test_spectrum_records_the_auto_choice(spectrum_reference):
    mesh, _ = spectrum_reference
    spec = gp.weighted_laplacian_spectrum(RHO_2D, mesh, k=3, method="shift-invert")
    record = spec.info["linear_solver"]
    assert record["backend"] == linear_solver("auto").name
    assert record["factor_nnz"] is None or record["factor_nnz"] > 0
    dense = gp.weighted_laplacian_spectrum(RHO_2D, gp.mesh.rectangle((-8, 8), (-8, 8), n=30))
    assert dense.method == "dense"
    assert dense.info["linear_solver"] is None


def _flow(solver=None, n=32):
    from gan_pde.flows import JSDFlow

    target = gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.5]], stds=[1.0, 0.8])
    start = gp.Gaussian(mean=[0.5, -0.5], cov=[[0.7, 0.2], [0.2, 0.9]])
    flow = JSDFlow(target, start, gp.mesh.rectangle((-7.0, 7.0), (-7.0, 7.0), n=(n, n)))
    if solver is not None:
        flow.operator.set_solver(solver)
    return flow


def test_jsd_default_refactor_is_bit_identical_to_fresh_factorizations(monkeypatch):
    # the reused symbolic analysis (SuperLU's ordering) must not change a single bit of
    # the flow's results against factorising every Jacobian from scratch, as before
    from gan_pde.fem import linalg
    from gan_pde.flows import operator

    monkeypatch.setattr(linalg, "NESTED_DISSECTION_MIN_SIZE", 500)  # the dissection path
    reused = _flow().solve(0.3, 0.05)
    original = operator._ReusedFactorization._factorize

    def fresh(self, matrix):
        self._lu = None
        original(self, matrix)

    monkeypatch.setattr(operator._ReusedFactorization, "_factorize", fresh)
    scratch = _flow().solve(0.3, 0.05)
    np.testing.assert_array_equal(reused.jsd, scratch.jsd)
    np.testing.assert_array_equal(reused.v[-1], scratch.v[-1])


@pytest.mark.parametrize("backend", DIRECT)
def test_jsd_flow_with_every_backend(backend):
    reference = _flow().solve(0.3, 0.05)
    flow = _flow(backend)
    trajectory = flow.solve(0.3, 0.05)
    # Newton stops each resolvent at a per-node backward error of ~100 ε (at most 1e-10
    # on stagnation); the step maps are contractions in L¹(μ), so two solutions of the same
    # steps differ by the Newton tolerances accumulated over 6 steps: 1e-9 relative
    # (v = q/m̂ − 1 carries an absolute rounding error ε(1 + |v|): compare 1 + v)
    np.testing.assert_allclose(1 + trajectory.v[-1], 1 + reference.v[-1], rtol=1e-9)
    np.testing.assert_allclose(trajectory.jsd, reference.jsd, rtol=1e-9)
    record = flow.operator.solver_provenance()
    assert record["backend"] == backend
    assert record["factorizations"] >= 1


@pytest.mark.parametrize("backend", DIRECT)
def test_jsd_checkpoint_state_restores_with_every_backend(backend):
    flow = _flow(backend)
    op = flow.operator
    v = flow.v0
    first = op.advance(v, 0.05)
    state = op._linear_solver.state()
    assert op._linear_solver.state()["lu_indptr"] is state["lu_indptr"]  # same object
    second = op.advance(first.v, 0.05, initial_guess=first.s)
    op._linear_solver.restore(state)
    again = op.advance(first.v, 0.05, initial_guess=first.s)
    # restoring the stored matrix reproduces the factorisation exactly: same bits
    np.testing.assert_array_equal(again.v, second.v)


@pytest.mark.parametrize("backend", [b for b in INSTALLED if b in ("pardiso", "superlu")])
def test_fokker_planck_backends(backend):
    from gan_pde.sde import stationary_fokker_planck

    mesh = gp.mesh.rectangle((-5.0, 5.0), (-5.0, 5.0), n=(24, 24))

    def diffusion(x):
        return np.broadcast_to(2.0 * np.eye(2), (len(x), 2, 2))

    reference = stationary_fokker_planck(lambda x: -x, diffusion, mesh)
    result = stationary_fokker_planck(lambda x: -x, diffusion, mesh, solver=backend)
    assert result.info["linear_solver"]["backend"] == backend
    # the bordered system is well conditioned here (κ ~ 1e4 measured): 1e-10 relative
    np.testing.assert_allclose(result.values, reference.values, rtol=1e-10, atol=1e-12)
    with pytest.raises(InvalidInputError, match="symmetric positive definite"):
        stationary_fokker_planck(lambda x: -x, diffusion, mesh, solver="cholmod")


def test_fast_pattern_is_the_pattern_bit_for_bit():
    from skfem.models.poisson import laplace

    from gan_pde.fem.newton import CSRPattern
    from gan_pde.flows.operator import _pattern_from_triplets

    for element in ("P1", "P2"):
        basis = gp.fem.make_basis(gp.mesh.rectangle((0, 1), (0, 1), n=(7, 5)), element)
        rows, cols = laplace.coo_data(basis).indices
        shape = (basis.N, basis.N)
        plain, fast = (
            CSRPattern.from_triplets(rows, cols, shape),
            _pattern_from_triplets(rows, cols, shape),
        )
        for name in ("indptr", "indices", "slot"):
            np.testing.assert_array_equal(getattr(fast, name), getattr(plain, name))
            assert getattr(fast, name).dtype == getattr(plain, name).dtype


def test_p1_kernel_set_up_gives_the_same_operator():
    from gan_pde.flows.operator import LogDiffusionOperator

    target = gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.5]], stds=[1.0, 0.8])
    mesh = gp.mesh.rectangle((-7.0, 7.0), (-7.0, 7.0), n=(20, 20))
    reference = LogDiffusionOperator(target, mesh)
    fast = LogDiffusionOperator(target, mesh, assembly="p1-kernel")
    assert (reference.assembly, fast.assembly) == ("scikit-fem", "p1-kernel")
    # the same quadrature summed in another order: entries agree to round-off relative to
    # the largest entry of their row (rows are O(1) after the scaling by ρ_d(x_i))
    for name in ("_stiffness_hat", "_mass_hat"):
        a, b = getattr(reference, name), getattr(fast, name)
        row_max = abs(a).max(axis=1).toarray().ravel()
        difference = abs(a - b).max(axis=1).toarray().ravel()
        assert np.all(difference <= 1e3 * EPS * row_max)
    np.testing.assert_allclose(fast.weights, reference.weights, rtol=1e-13)
    assert fast.basis.N == reference.basis.N  # built on the second core meanwhile
    # the default: the reference path with the reference solver, the kernel with another
    chosen = LogDiffusionOperator(target, mesh, solver=(DIRECT or ["amg"])[0])
    assert chosen.assembly == "p1-kernel"
    with pytest.raises(InvalidInputError, match="P1 on a simplex"):
        LogDiffusionOperator(target, mesh, element="P2", lumped=False, assembly="p1-kernel")
    with pytest.raises(InvalidInputError, match="assembly="):
        LogDiffusionOperator(target, mesh, assembly="fast")


def test_ci_has_the_fast_backends_it_installed():
    """CI installs CHOLMOD and PARDISO before a second run of these tests
    (GAN_PDE_REQUIRE_FAST=1): there a missing backend is a failure, not a skip."""
    import os

    if os.environ.get("GAN_PDE_REQUIRE_FAST") != "1":
        pytest.skip("only where CI installed the fast backends (GAN_PDE_REQUIRE_FAST=1)")
    assert {"cholmod", "pardiso"} <= set(INSTALLED), INSTALLED


@pytest.mark.parametrize("backend", DIRECT)
def test_jsd_flow_takes_the_solver_at_construction(backend):
    from gan_pde.flows import JSDFlow

    target = gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.5]], stds=[1.0, 0.8])
    start = gp.Gaussian(mean=[0.5, -0.5], cov=[[0.7, 0.2], [0.2, 0.9]])
    mesh = gp.mesh.rectangle((-7.0, 7.0), (-7.0, 7.0), n=(32, 32))
    flow = JSDFlow(target, start, mesh, solver=backend)
    # a fast backend sets up with the P1 kernel (the pattern built on the second core)
    assert flow.operator.assembly == "p1-kernel"
    trajectory = flow.solve(0.3, 0.05)
    reference = _flow().solve(0.3, 0.05)
    # as in test_jsd_flow_with_every_backend: Newton tolerances over 6 contracting steps
    np.testing.assert_allclose(1 + trajectory.v[-1], 1 + reference.v[-1], rtol=1e-9)
    assert flow.operator.solver_provenance()["backend"] == backend
    # the default is the reference path, bit for bit
    default = JSDFlow(target, start, mesh, solver="superlu")
    np.testing.assert_array_equal(default.solve(0.3, 0.05).v[-1], reference.v[-1])


def test_p1_kernel_pieces_are_the_kernel():
    from gan_pde.fem import (
        p1_simplex_entries,
        p1_simplex_triplets,
        p1_simplex_values,
        quadrature_rule,
        simplex_geometry,
    )

    mesh = gp.mesh.rectangle((-3.0, 3.0), (-2.0, 2.0), n=(9, 7))
    geometry = simplex_geometry(mesh, quadrature_rule(mesh, "P1"))
    rng = np.random.default_rng(3)
    relative = rng.uniform(0.5, 1.0, (geometry.weights.size, mesh.nelements))
    half = rng.uniform(0.5, 2.0, geometry.dofs.shape)
    rows, cols, data = p1_simplex_entries(geometry, relative, half)
    triplets = p1_simplex_triplets(np.asarray(mesh.t))
    np.testing.assert_array_equal(triplets[0], rows)
    np.testing.assert_array_equal(triplets[1], cols)
    np.testing.assert_array_equal(p1_simplex_values(geometry, relative, half), data)
    # half=None is unit scaling, to the bit
    ones = p1_simplex_values(geometry, relative, np.ones(geometry.dofs.shape))
    np.testing.assert_array_equal(p1_simplex_values(geometry, relative, None), ones)
    # negative control: another scaling changes the values
    assert not np.array_equal(ones, data)


@pytest.mark.skipif("cholmod" not in INSTALLED, reason="scikit-sparse not installed")
def test_cholmod_orders_2d_problems_by_the_package_dissection_and_solves_on_one_thread():
    from threadpoolctl import threadpool_info

    # 2D with coordinates above NESTED_DISSECTION_MIN_SIZE: the package's dissection
    matrix, coordinates = _shifted_pencil(n=230)
    assert matrix.shape[0] >= gp.fem.linalg.NESTED_DISSECTION_MIN_SIZE
    factor = linear_solver("cholmod").factorize(matrix, coordinates=coordinates)
    assert factor.describe()["ordering"] == "nested dissection (gan_pde)"
    # CHOLMOD's own when asked for, and in 3D
    own = linear_solver("cholmod", cholmod_ordering="amd").factorize(
        matrix, coordinates=coordinates
    )
    assert own.describe()["ordering"] == "CHOLMOD amd"
    rhs = np.random.default_rng(0).standard_normal((matrix.shape[0], 2))
    # a single vector (one BLAS thread) and a block (all threads) give the same solution
    single = factor.solve(rhs[:, 0])
    block = factor.solve(rhs)
    # the same factor, summed in another order (BLAS-2 against BLAS-3 kernels): each is
    # within c·κ·ε of the solution, κ ≤ ~1e4 for this shift (σ = 1e-2 mean diag K/M), so
    # 1e-9 leaves c ~ 1e3; measured 1e-15
    difference = np.linalg.norm(single - block[:, 0]) / np.linalg.norm(block[:, 0])
    assert difference <= 1e-9, difference
    np.testing.assert_allclose(matrix @ single, rhs[:, 0], rtol=1e-8, atol=1e-8)
    # the limit is switched on for single vectors from the threshold, and undone after
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    with solvers._single_thread_blas(rhs[:, 0], solvers.SINGLE_THREAD_SOLVE_MIN) as limited:
        if limited is not None:  # threadpoolctl installed
            inside = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
            assert set(inside) == {1}
    after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert after == before
    # a block of right-hand sides keeps every thread: no limit at all
    assert isinstance(solvers._single_thread_blas(rhs, 10**9), contextlib.nullcontext)


def test_jsd_trajectory_records_its_linear_solver(tmp_path):
    trajectory = _flow().solve(0.1, 0.05)
    record = trajectory.info["linear_solver"]
    assert record["backend"] == "superlu" and record["requested"] == "superlu"
    assert record["factorizations"] >= 1
    # and it survives the round trip through gan_pde.io
    path = tmp_path / "run.npz"
    gp.io.save(path, trajectory)
    assert gp.io.load(path).info["linear_solver"]["backend"] == "superlu"


@pytest.mark.parametrize("scheme", ["crank-nicolson", "rk4"])
def test_lgan_integrate_takes_the_solver_interface(scheme):
    from gan_pde.spectral.lgan_system import LGANSystem, integrate

    system = LGANSystem(
        gp.Gaussian(mean=[0.0, 0.0], cov=np.eye(2)),
        gp.mesh.rectangle((-6.0, 6.0), (-6.0, 6.0), n=(14, 14)),
        alpha=0.5,
        beta=-1.0,
        gamma=0.3,
    )
    y0 = system.state(
        u=lambda x: np.exp(-0.5 * np.sum(x**2, axis=1)),
        v=lambda x: x * np.exp(-0.25 * np.sum(x**2, axis=1))[:, None],
    )
    tau = 0.01 if scheme == "rk4" else 0.05
    default = integrate(system, y0, tau=tau, steps=10, scheme=scheme)
    # the default is SuperLU, the factorisation these schemes always used: same bits
    superlu = integrate(system, y0, tau=tau, steps=10, scheme=scheme, solver="superlu")
    np.testing.assert_array_equal(superlu.final, default.final)
    assert default.info["linear_solver"]["backend"] == "superlu"
    kind = "general" if scheme == "crank-nicolson" else "spd"
    for backend in INSTALLED:
        if backend == "superlu" or (kind == "general" and backend in ("cholmod", "amg")):
            continue
        other = integrate(system, y0, tau=tau, steps=10, scheme=scheme, solver=backend)
        assert other.info["linear_solver"]["backend"] == backend
        # 10 steps of a contracting (α, γ > 0) scheme: each solve within ~κ·ε of
        # SuperLU's (κ of the mass or of M − τL/2 ≲ 1e4 on this mesh; AMG's CG to
        # AMG_RTOL = 1e-12), errors not amplified by the stable step map
        np.testing.assert_allclose(other.final, default.final, rtol=1e-9, atol=1e-12)
    if kind == "general":
        with pytest.raises(InvalidInputError, match="symmetric positive definite"):
            integrate(system, y0, tau=tau, steps=2, scheme=scheme, solver="cholmod")


def test_one_blas_thread_sections_nest_across_threads():
    # Two solves whose one-thread sections interleave (A enters, B enters, A leaves, B
    # leaves) must leave BLAS as it was; each section holds one thread while any is open.
    controller = pytest.importorskip("threadpoolctl").ThreadpoolController()
    blas = [lib for lib in controller.lib_controllers if lib.user_api == "blas"]
    if not blas:
        pytest.skip("no BLAS library that threadpoolctl can control")

    def counts():
        return [lib.num_threads for lib in controller.lib_controllers if lib.user_api == "blas"]

    with controller.limit(limits=2, user_api="blas"):  # a known start, > 1
        start = counts()
        sections = solvers._OneBlasThread()
        a, b = sections(controller), sections(controller)
        a.__enter__()
        b.__enter__()
        assert set(counts()) == {1}
        a.__exit__(None, None, None)
        assert set(counts()) == {1}  # B still solving
        b.__exit__(None, None, None)
        assert counts() == start
        # negative control: the same interleaving of independent limits leaves one thread
        first = controller.limit(limits=1, user_api="blas")
        second = controller.limit(limits=1, user_api="blas")
        first.restore_original_limits()
        second.restore_original_limits()
        assert set(counts()) == {1} and start != counts()
        # and from real threads: many concurrent sections end where they started
        with controller.limit(limits=2, user_api="blas"):
            barrier = threading.Barrier(8)

            def solve():
                barrier.wait()
                for _ in range(50):
                    with solvers._ONE_BLAS_THREAD(controller):
                        pass

            workers = [threading.Thread(target=solve) for _ in range(8)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            assert counts() == start


def test_resuming_with_another_backend_warns(tmp_path):
    # the JSD stepper stores its backend in the checkpoint state; a resume with another
    # one is accepted (the steps are kept) with a ReproducibilityWarning naming both
    flow = JSDFlow(gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.Gaussian(mean=[1.0], cov=[[0.5]]),
                   gp.mesh.interval(-8.0, 8.0, n=80))  # fmt: skip
    stepper = JSDStepper(flow, 0.1, 0.05)
    state, _ = stepper.step(stepper.initial_state(), 0.0, 0.05)
    arrays = stepper.state_arrays(state)
    assert str(arrays["linear_solver"]) == "superlu"
    path = tmp_path / "run.ckpt.npz"
    save_checkpoint(path, kind="test", fingerprint={}, state=arrays)
    stored = load_checkpoint(path, kind="test", fingerprint={})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same backend: silent
        stepper.load_state(stored)
        stepper.load_state({k: v for k, v in stored.items() if k != "linear_solver"})  # old
    other = {**stored, "linear_solver": np.array("cholmod")}
    with pytest.warns(ReproducibilityWarning, match="written with the 'cholmod'.*'superlu'"):
        stepper.load_state(other)


def test_lgan_stepper_stores_its_backend_and_warns_on_another():
    from gan_pde.spectral.lgan_integrate import LGANStepper
    from gan_pde.spectral.lgan_system import LGANSystem

    system = LGANSystem(
        gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-6, 6, n=20), alpha=0.0, beta=1.0
    )
    y0 = system.state(v=lambda x: np.ones_like(x))
    stepper = LGANStepper(system, y0, tau=0.25, scheme="euler")
    arrays = stepper.state_arrays(stepper.step(stepper.initial_state(), 0.0, 0.25)[0])
    assert str(arrays["linear_solver"]) == stepper.factor.backend == "superlu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state = stepper.load_state(arrays)
    np.testing.assert_array_equal(state["y"], arrays["y"])
    with pytest.warns(ReproducibilityWarning, match="lgan.integrate.*'pardiso'"):
        stepper.load_state({**arrays, "linear_solver": np.array("pardiso")})
