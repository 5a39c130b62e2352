"""The MPI backend (gan_pde.mpi) against the serial package, on 1 and 2 ranks.

The parallel runs are subprocesses ``mpiexec -n P python ...`` of this interpreter: a driver
(:func:`run_driver`, below) assembles, solves and integrates small problems and saves what
rank 0 gathered; the tests compare it with the serial package computed here.  They skip,
saying why, when this interpreter cannot load petsc4py/slepc4py/mpi4py or there is no
``mpiexec`` (the default ``.venv`` has numpy 2, and Debian's petsc4py is built for numpy 1:
``.ci/run_mpi`` makes ``.venv-mpi`` and runs them there).  The tests of the partitioning and
of the error messages need no MPI and run everywhere.

Tolerances:

- matrices: each entry is the same sum of cell contributions in another order; for at most
  24 cells around a vertex (tetrahedra of ``gan_pde.mesh.box``) each no larger than the
  largest entry, reordering changes an entry by at most ~24²ε ≈ 1.3e-13 of the largest
  entry: tolerance 1e-13 of ``max|A|`` (measured: ≤ 2e-16);
- eigenvalues: SLEPc runs at tol 1e-10 (the serial solver too), which bounds each
  eigenvalue's relative error by 1e-10 (module docs of gan_pde.mpi.spectrum): 1e-8
  relative, the issue's parity level, is 100× that (measured: ≤ 1e-12);
- JSD trajectories: both Newton solvers stop at a per-node backward error of 100ε, so each
  step's state agrees to ~1e-13 and a few steps of a contraction to the same: 1e-8 relative
  (measured: ≤ 1e-15).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gan_pde as gp
from gan_pde.errors import InvalidInputError, MeshError, MissingDependencyError
from gan_pde.fem import assemble_weighted, make_basis
from gan_pde.mpi.partition import element_dofs, partition_cells

#: Relative parity of eigenvalues and JSD trajectories (module docs).
PARITY_RTOL = 1e-8
#: Matrix entries, relative to the largest entry (module docs).
MATRIX_RTOL = 1e-13
#: Seconds one mpiexec run may take on 2 shared cores.
LAUNCH_TIMEOUT = 400

# ------------------------------------------------------------------------- the problems


def assembly_cases() -> list[tuple[str, object, object, str]]:
    """(name, mesh, density, element) assembled on the ranks and compared entry by entry."""
    g2 = gp.Gaussian(mean=[0.2, -0.1], cov=[[1.0, 0.2], [0.2, 0.64]])
    g3 = gp.Gaussian(mean=[0.2, -0.1, 0.0], cov=np.diag([1.0, 0.7, 0.5]).tolist())
    return [
        ("1d-P1", gp.mesh.interval(-6.0, 6.0, n=30), gp.Gaussian(mean=[0.3], cov=[[1.2]]), "P1"),
        ("2d-P1", gp.mesh.rectangle((-4, 4), (-3, 3.5), n=(7, 6)), g2, "P1"),
        ("2d-P2", gp.mesh.rectangle((-4, 4), (-3, 3.5), n=(5, 4)), g2, "P2"),
        ("2d-Q1", gp.mesh.rectangle((-4, 4), (-3, 3.5), n=(5, 4), cell="quad"), g2, "P1"),
        ("3d-P1", gp.mesh.box((-3, 3), (-3, 3), (-3, 3), n=4), g3, "P1"),
        ("3d-P2", gp.mesh.box((-3, 3), (-3, 3), (-3, 3), n=2), g3, "P2"),
    ]


def spectrum_cases() -> list[tuple[str, object, object, str, str, int]]:
    """(name, mesh, density, element, method, k): Gaussians with distinct eigenvalues."""
    g2 = gp.Gaussian(mean=[0.2, -0.1], cov=[[1.0, 0.0], [0.0, 0.64]])
    g3 = gp.Gaussian(mean=[0.2, -0.1, 0.0], cov=np.diag([1.0, 0.7, 0.5]).tolist())
    mix = gp.GaussianMixture(means=[[-1.5], [1.5]], stds=[0.8, 1.0], weights=[0.45, 0.55])
    return [
        ("1d-P1", gp.mesh.interval(-8.0, 8.0, n=60), mix, "P1", "shift-invert", 5),
        ("1d-P2-lobpcg", gp.mesh.interval(-8.0, 8.0, n=40), mix, "P2", "lobpcg", 4),
        ("2d-P1", gp.mesh.rectangle((-5, 5), (-4, 4.5), n=(14, 12)), g2, "P1", "shift-invert", 5),
        ("2d-P2", gp.mesh.rectangle((-5, 5), (-4, 4.5), n=(7, 6)), g2, "P2", "shift-invert", 5),
        ("3d-P1", gp.mesh.box((-4, 4), (-4, 4), (-4, 4), n=5), g3, "P1", "shift-invert", 4),
        ("3d-P1-lobpcg", gp.mesh.box((-4, 4), (-4, 4), (-4, 4), n=5), g3, "P1", "lobpcg", 4),
    ]


def jsd_case() -> tuple[object, object, object]:
    """(target, initial, mesh) of the JSD flow: a 2D mixture from a tilted Gaussian."""
    target = gp.GaussianMixture(
        means=[[-1.0, 0.3], [1.2, -0.2]], stds=[0.9, 1.1], weights=[0.4, 0.6]
    )
    initial = gp.Gaussian(mean=[0.3, 0.1], cov=[[0.8, 0.1], [0.1, 0.6]])
    return target, initial, gp.mesh.rectangle((-5, 5), (-4.5, 4.5), n=(12, 10))


#: (scheme, t_final, dt, save_times) of the JSD runs.
JSD_RUNS = [("backward-euler", 0.4, 0.1, [0.2]), ("tr-bdf2", 0.2, 0.1, None)]


def run_driver(out: str) -> None:
    """Run every problem on the ranks of COMM_WORLD; rank 0 saves ``out`` (npz)."""
    from gan_pde import mpi
    from gan_pde.mpi._petsc import load

    comm = load().MPI.COMM_WORLD
    root = comm.rank == 0
    saved: dict[str, np.ndarray] = {}
    for name, mesh, density, element in assembly_cases():
        part = mpi.distribute(mesh if root else None, element, comm)
        system = mpi.gather_system(mpi.assemble_weighted_mpi(density, part))
        counts = comm.gather(
            (part.n_owned, part.info["local_cells"], np.unique(part.cell_dofs).size), root=0
        )
        if root:
            for key in ("stiffness", "mass"):
                matrix = getattr(system, key).tocoo()
                saved[f"asm/{name}/{key}"] = np.vstack([matrix.row, matrix.col, matrix.data])
            saved[f"asm/{name}/log_scale"] = system.log_scale
            saved[f"asm/{name}/counts"] = np.array(counts)
    for name, mesh, density, element, method, k in spectrum_cases():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = mpi.weighted_laplacian_spectrum(
                density, mesh if root else None, k=k, element=element, method=method
            )
        if root:
            saved[f"spec/{name}/values"] = spec.eigenvalues
            saved[f"spec/{name}/vectors"] = spec.scaled_eigenvectors
            saved[f"spec/{name}/residuals"] = spec.residuals
            assert spec.method == method
    target, initial, mesh = jsd_case()
    for scheme, t_final, dt, save_times in JSD_RUNS:
        flow = mpi.JSDFlow(target, initial, mesh if root else None)
        traj = flow.solve(t_final, dt, save_times=save_times, scheme=scheme)
        if root:
            for key in ("times", "jsd", "kl", "l1", "mass", "dissipation", "grad_v_integral"):
                saved[f"jsd/{scheme}/{key}"] = getattr(traj, key)
            saved[f"jsd/{scheme}/v"] = np.array(traj.v)
            saved[f"jsd/{scheme}/residuals"] = traj.newton_residuals
    if root:
        np.savez(out, **saved)


# ------------------------------------------------------------------------- launching


@functools.cache
def _mpi_environment() -> tuple[str | None, list[str], dict[str, str]]:
    """(reason to skip or None, the mpiexec command prefix, its environment)."""
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        return "no mpiexec on PATH (apt-get install openmpi-bin, see docs/mpi.md)", [], {}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gan_pde.mpi._petsc import availability as a; "
            "ok, why = a(); print(why); raise SystemExit(0 if ok else 3)",
        ],
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT,
        check=False,
    )
    if probe.returncode != 0:
        why = (probe.stdout.strip() or probe.stderr.strip()).splitlines()[-1:]
        return f"the MPI backend is unavailable to {sys.executable}: {' '.join(why)}", [], {}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    command = [mpiexec]
    version = subprocess.run(
        [mpiexec, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    if "Open MPI" in version.stdout or "OpenRTE" in version.stdout:
        # CI runs as root in a container: OpenMPI refuses root without these, and its
        # shared-memory single-copy mechanism (CMA) is often not permitted there
        env.update(
            OMPI_ALLOW_RUN_AS_ROOT="1",
            OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
            OMPI_MCA_btl_vader_single_copy_mechanism="none",
            # ranks that wait yield the core (on shared cores spinning starves the others)
            OMPI_MCA_mpi_yield_when_idle="1",
        )
        command.append("--oversubscribe")
    return None, command, env


def _skip_or_fail(reason: str) -> None:
    """Skip, saying why; fail instead where CI requires the backend (.ci/run_mpi)."""
    if os.environ.get("GAN_PDE_REQUIRE_MPI"):
        pytest.fail(f"GAN_PDE_REQUIRE_MPI is set but {reason}")
    pytest.skip(reason)


def _launch(ranks: int, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    reason, command, env = _mpi_environment()
    if reason is not None:
        _skip_or_fail(reason)
    return subprocess.run(
        [*command, "-n", str(ranks), sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT,
        cwd=cwd,
        env=env,
        check=False,
    )


def _driver_results(ranks: int, folder: Path) -> dict[str, np.ndarray]:
    script = folder / "driver.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        f"import test_mpi\ntest_mpi.run_driver({str(folder / 'out.npz')!r})\n"
    )
    done = _launch(ranks, [str(script)], cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, f"mpiexec -n {ranks} failed:\n{done.stdout}\n{done.stderr}"
    with np.load(folder / "out.npz") as data:
        return dict(data)


@pytest.fixture(scope="session")
def _driver_cache(tmp_path_factory) -> dict:
    return {"factory": tmp_path_factory}


@pytest.fixture(params=[1, 2], ids=["1-rank", "2-ranks"])
def parallel(request, _driver_cache) -> tuple[int, dict[str, np.ndarray]]:
    """(ranks, what the driver saved) for 1 and 2 ranks (each launched once a session)."""
    reason = _mpi_environment()[0]
    if reason is not None:
        _skip_or_fail(reason)
    ranks = request.param
    if ranks not in _driver_cache:
        folder = _driver_cache["factory"].mktemp(f"mpi_driver_{ranks}")
        _driver_cache[ranks] = _driver_results(ranks, folder)
    return ranks, _driver_cache[ranks]


# ------------------------------------------------------------------------- parity


@pytest.mark.parametrize("case", assembly_cases(), ids=lambda c: c[0])
def test_assembly_equals_serial(parallel, case):
    ranks, results = parallel
    name, mesh, density, element = case
    reference = assemble_weighted(density, make_basis(mesh, element))
    for key in ("stiffness", "mass"):
        row, col, data = results[f"asm/{name}/{key}"]
        gathered = type(getattr(reference, key))(
            (data, (row.astype(int), col.astype(int))), shape=getattr(reference, key).shape
        )
        expected = getattr(reference, key)
        scale = abs(expected).max()
        assert abs(gathered - expected).max() <= MATRIX_RTOL * scale, (name, key)
    np.testing.assert_array_equal(results[f"asm/{name}/log_scale"], reference.log_scale)
    owned, cells, local_dofs = results[f"asm/{name}/counts"].T
    assert owned.sum() == reference.mass.shape[0] and cells.sum() == mesh.nelements
    if ranks == 2:
        # both ranks work, and they share an interface (dofs held by both)
        assert np.all(owned > 0) and np.all(cells > 0)
        assert local_dofs.sum() > reference.mass.shape[0]


@pytest.mark.parametrize("case", spectrum_cases(), ids=lambda c: c[0])
def test_spectrum_equals_serial(parallel, case):
    _, results = parallel
    name, mesh, density, element, method, k = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = gp.weighted_laplacian_spectrum(density, mesh, k=k, element=element, tol=1e-10)
    values = results[f"spec/{name}/values"]
    assert values.shape == (k,)
    # ξ_0 is the 0 of the constants in both: compared against ξ_1, not relatively
    assert abs(values[0]) <= PARITY_RTOL * serial.eigenvalues[1]
    np.testing.assert_allclose(values[1:], serial.eigenvalues[1:], rtol=PARITY_RTOL, atol=0)
    assert np.all(results[f"spec/{name}/residuals"] <= 1e-8)
    # eigenvectors of eigenvalues separated from their neighbours (M̃-orthonormal in both)
    vectors = results[f"spec/{name}/vectors"]
    overlap = np.abs(
        np.einsum("ij,ij->j", vectors, serial.system.mass @ serial.scaled_eigenvectors)
    )
    gaps = np.diff(serial.eigenvalues)
    for i in range(1, k - 1):
        if min(gaps[i - 1], gaps[i]) > 1e-2 * serial.eigenvalues[i]:
            assert overlap[i] == pytest.approx(1.0, abs=PARITY_RTOL), (name, i)


@pytest.mark.parametrize("run", JSD_RUNS, ids=lambda r: r[0])
def test_jsd_trajectory_equals_serial(parallel, run):
    _, results = parallel
    scheme, t_final, dt, save_times = run
    target, initial, mesh = jsd_case()
    serial = gp.JSDFlow(target, initial, mesh).solve(
        t_final, dt, save_times=save_times, scheme=scheme
    )
    prefix = f"jsd/{scheme}"
    np.testing.assert_array_equal(results[f"{prefix}/times"], serial.times)
    for key in ("jsd", "kl", "l1", "mass", "dissipation", "grad_v_integral"):
        np.testing.assert_allclose(
            results[f"{prefix}/{key}"], getattr(serial, key), rtol=PARITY_RTOL, atol=0, err_msg=key
        )
    v = results[f"{prefix}/v"]
    expected = np.array(serial.v)
    assert np.abs(v - expected).max() <= PARITY_RTOL * np.abs(expected).max()
    # mass is conserved to round-off by the parallel steps too
    assert np.ptp(results[f"{prefix}/mass"]) <= 1e-14
    assert np.all(results[f"{prefix}/residuals"] <= 1e-10)


# ------------------------------------------------------------------------- command line


SPECTRUM_TOML = """
[density]
kind = "mixture"
means = [[-1.5], [1.5]]
stds = [0.8, 1.0]
weights = [0.45, 0.55]

[domain]
kind = "interval"
bounds = [[-8.0, 8.0]]
cells = [80]

[solver]
k = 4
element = "P2"
"""

JSD_TOML = """
[target]
kind = "mixture"
means = [[-1.0], [1.2]]
stds = [0.9, 1.1]
weights = [0.4, 0.6]

[initial]
kind = "gaussian"
mean = [0.3]
cov = [[0.8]]

[domain]
kind = "interval"
bounds = [[-7.0, 7.0]]
cells = [60]

[solver]
t_final = 0.3
dt = 0.1
scheme = "backward-euler"
element = "P1"
"""


def test_command_line_spectrum_on_two_ranks(tmp_path):
    from gan_pde.config import load_spectrum_config

    config = tmp_path / "spectrum.toml"
    config.write_text(SPECTRUM_TOML)
    done = _launch(2, ["-m", "gan_pde.mpi", "spectrum", str(config), "--json"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    loaded = load_spectrum_config(config)
    serial = gp.weighted_laplacian_spectrum(
        loaded.density.build(), loaded.domain.build(), k=4, element="P2"
    )
    assert document["info"]["ranks"] == 2
    np.testing.assert_allclose(
        document["eigenvalues"][1:], serial.eigenvalues[1:], rtol=PARITY_RTOL, atol=0
    )
    assert document["poincare_constant"] == document["eigenvalues"][1]


def test_command_line_jsd_flow_on_two_ranks(tmp_path):
    from gan_pde.commands.jsd_flow import load_config
    from gan_pde.io import load_trajectory

    config = tmp_path / "jsd.toml"
    config.write_text(JSD_TOML)
    out = tmp_path / "out"
    done = _launch(2, ["-m", "gan_pde.mpi", "jsd-flow", str(config), "--out", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "jsd-flow on 2 rank(s): 3 steps on 61 dofs" in done.stdout
    for name in ("results.json", "trajectory.npz", "trajectory.xdmf", "divergences.png"):
        assert (out / name).is_file(), name
    trajectory = load_trajectory(out / "trajectory.npz")
    loaded = load_config(config)
    serial = gp.JSDFlow(loaded.target.build(), loaded.initial.build(), loaded.domain.build()).solve(
        0.3, 0.1, scheme="backward-euler"
    )
    np.testing.assert_allclose(trajectory.jsd, serial.jsd, rtol=PARITY_RTOL, atol=0)
    np.testing.assert_allclose(np.array(trajectory.v), np.array(serial.v), rtol=PARITY_RTOL, atol=0)
    assert json.loads((out / "results.json").read_text())["info"]["ranks"] == 2


def test_command_line_error_is_reported_once_and_every_rank_stops(tmp_path):
    config = tmp_path / "spectrum.toml"
    config.write_text(SPECTRUM_TOML.replace("k = 4", "k = 5000"))
    done = _launch(2, ["-m", "gan_pde.mpi", "spectrum", str(config)], cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("error: k=5000 is larger than the number of degrees") == 1


def test_an_error_of_rank_zero_finishing_alone_is_raised_on_every_rank(tmp_path):
    # rank 0 runs the serial checks alone after the last collective; an error there must
    # reach rank 1 too (before the fix rank 1 returned and a script's next collective hung
    # until LAUNCH_TIMEOUT: CI of 2026-12-07).  Any exception, not only gan_pde's.
    script = tmp_path / "fail.py"
    script.write_text(
        "import gan_pde as gp\n"
        "import gan_pde.mpi.spectrum as spectrum\n"
        "from gan_pde import mpi\n"
        "from gan_pde.mpi._petsc import load\n"
        "def fail(*args, **kwargs):\n"
        "    raise RuntimeError('a bug on rank 0')\n"
        "spectrum._serial_result = fail\n"
        "comm = load().MPI.COMM_WORLD\n"
        "mesh = gp.mesh.interval((-5.0, 5.0), n=40) if comm.rank == 0 else None\n"
        "try:\n"
        "    mpi.weighted_laplacian_spectrum(gp.Gaussian(mean=[0.0], cov=[[1.0]]), mesh, k=3)\n"
        "except RuntimeError as err:\n"
        "    print(f'rank {comm.rank}: {err}', flush=True)\n"
        "comm.Barrier()\n"
    )
    done = _launch(2, [str(script)], cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    assert "rank 0: a bug on rank 0" in done.stdout
    assert "rank 1: a bug on rank 0" in done.stdout


# ------------------------------------------------------------------------- without MPI


def test_partition_is_balanced_and_compact():
    mesh = gp.mesh.rectangle((0.0, 4.0), (0.0, 1.0), n=(16, 4))
    parts = partition_cells(mesh, 4)
    counts = np.bincount(parts)
    assert counts.sum() == mesh.nelements and counts.max() - counts.min() <= 1
    # bisection across the long axis: each part is one vertical slab of the 4 x 1 box
    centroids = mesh.p[:, mesh.t].mean(axis=1)
    spans = [np.ptp(centroids[0, parts == r]) for r in range(4)]
    assert max(spans) < 1.0


def test_partition_refuses_more_ranks_than_cells():
    mesh = gp.mesh.interval(0.0, 1.0, n=3)
    with pytest.raises(MeshError, match="cannot split 3 cells among 4 ranks"):
        partition_cells(mesh, 4)
    with pytest.raises(InvalidInputError, match="parts must be a positive integer"):
        partition_cells(mesh, 0)


@pytest.mark.parametrize("element", ["P1", "P2"])
def test_element_dofs_are_those_of_the_serial_basis(element):
    mesh = gp.mesh.box((0, 1), (0, 1), (0, 1), n=2)
    np.testing.assert_array_equal(
        element_dofs(mesh, element), make_basis(mesh, element).element_dofs
    )


def test_missing_backend_is_a_clear_error():
    from gan_pde import mpi
    from gan_pde.mpi._petsc import availability

    ok, why = availability()
    if ok:
        pytest.skip("the MPI backend is available here; its absence cannot be tested")
    assert not mpi.available()
    assert "docs/mpi.md" in why
    with pytest.raises(MissingDependencyError, match="docs/mpi.md"):
        mpi.weighted_laplacian_spectrum(gp.Gaussian(mean=[0.0], cov=[[1.0]]), None)


@pytest.mark.parametrize("element", ["P1", "P2"])
def test_rank_zero_result_uses_the_serial_checks_as_they_are(element):
    # Runs without MPI: rank 0's finishing step calls the serial spectrum's private checks
    # (spurious modes, coarse-mesh warning, round-off estimate, normalisation); a change of
    # their signatures broke the MPI backend while every serial test passed (CI: rank 0
    # raised, rank 1 waited in a collective).  The result must be the serial spectrum's.
    from gan_pde.mpi.spectrum import _serial_result

    rho = gp.GaussianMixture(means=[[-1.0, 0.0], [1.0, 0.5]], stds=[0.8, 1.0])
    mesh = gp.mesh.rectangle((-5, 5), (-5, 5), n=12)
    spec = gp.weighted_laplacian_spectrum(rho, mesh, k=4, element=element, method="dense")
    info = {"method": "dense"}
    result = _serial_result(
        spec.system, spec.scaled_eigenvectors, spec.eigenvalues, spec.residuals, mesh,
        element, None, info,
    )  # fmt: skip
    assert result.basis.N == spec.basis.N
    # the eigenvectors are already M̃-orthonormal: normalising again changes round-off only
    np.testing.assert_allclose(result.eigenvectors, spec.eigenvectors, atol=1e-10)
    assert info["xi_min_error_estimate"] >= 0.0
