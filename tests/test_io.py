"""Trajectory files: npz round trip, XDMF time series, atomic writes, bad input."""

from __future__ import annotations

import doctest

import meshio
import numpy as np
import pytest

import gan_pde as gp
from gan_pde import io as io_module
from gan_pde.errors import InvalidInputError
from gan_pde.flows import JSDFlow
from gan_pde.io import load_trajectory, save_trajectory, write_xdmf

TARGET_2D = gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.5]], stds=[1.0, 0.8], weights=[0.6, 0.4])
START_2D = gp.Gaussian(mean=[0.5, -0.5], cov=[[0.7, 0.2], [0.2, 0.9]])


@pytest.fixture(scope="module", params=["P1", "P2"])
def trajectory(request):
    mesh = gp.mesh.rectangle((-6.0, 6.0), (-6.0, 6.0), n=(10, 12))
    flow = JSDFlow(TARGET_2D, START_2D, mesh, element=request.param)
    return flow.solve(1.0, 0.25, save_times=[0.0, 0.5, 1.0])


def test_npz_round_trip_is_exact(trajectory, tmp_path):
    path = save_trajectory(tmp_path / "run.npz", trajectory)
    back = load_trajectory(path)
    for name in ("times", "jsd", "kl", "l1", "mass", "dissipation", "grad_v_integral"):
        np.testing.assert_array_equal(getattr(back, name), getattr(trajectory, name))
    np.testing.assert_array_equal(back.step_times, trajectory.step_times)
    np.testing.assert_array_equal(back.newton_iterations, trajectory.newton_iterations)
    for a, b in zip(back.v, trajectory.v, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(back.densities, trajectory.densities, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.mesh.p, b.mesh.p)
        np.testing.assert_array_equal(a.mesh.t, b.mesh.t)
        assert a.basis.N == b.basis.N
    # the rebuilt densities evaluate like the originals
    x = np.array([[0.1, 0.2], [-1.3, 2.0]])
    np.testing.assert_allclose(back.densities[-1].pdf(x), trajectory.densities[-1].pdf(x))
    assert back.info["element"] == trajectory.info["element"]
    assert back.info["n_dofs"] == trajectory.info["n_dofs"]
    # plain arrays only: the file loads without pickle
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_xdmf_time_series_reads_back(trajectory, tmp_path):
    path = write_xdmf(tmp_path / "out" / "run.xdmf", trajectory)
    assert path.exists() and path.with_suffix(".h5").exists()
    basis = trajectory.densities[0].basis
    vertices = basis.nodal_dofs[0]
    with meshio.xdmf.TimeSeriesReader(path) as reader:
        points, cells = reader.read_points_cells()
        assert reader.num_steps == trajectory.times.size
        np.testing.assert_array_equal(points[:, :2], basis.mesh.p.T)
        assert cells[0].type == "triangle"
        # the same triangles, each written counter-clockwise (as VTK expects)
        np.testing.assert_array_equal(
            np.sort(cells[0].data, axis=1), np.sort(basis.mesh.t.T, axis=1)
        )
        corners = points[cells[0].data, :2]
        edges = corners[:, 1:] - corners[:, :1]
        assert np.all(edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0] > 0.0)
        for k in range(reader.num_steps):
            t, point_data, _ = reader.read_data(k)
            assert t == pytest.approx(trajectory.times[k], abs=0.0)
            np.testing.assert_array_equal(point_data["v"], trajectory.v[k][vertices])
            np.testing.assert_array_equal(point_data["u"], trajectory.densities[k].values[vertices])
    # nothing temporary is left next to the files
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.h5", "run.xdmf"]


def test_writes_are_atomic_and_replace_old_files(trajectory, tmp_path, monkeypatch):
    path = save_trajectory(tmp_path / "run", trajectory)
    assert path.name == "run.npz"
    before = path.read_bytes()

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        save_trajectory(path, trajectory)
    # the old file is intact and the temporary file is gone
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]


def test_bad_input(trajectory, tmp_path):
    with pytest.raises(InvalidInputError, match="Trajectory"):
        save_trajectory(tmp_path / "x.npz", {"times": [0.0]})
    with pytest.raises(InvalidInputError, match=".xdmf"):
        write_xdmf(tmp_path / "x.vtu", trajectory)
    with pytest.raises(InvalidInputError, match="not a gan_pde trajectory"):
        load_trajectory(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(InvalidInputError, match="not a gan_pde trajectory"):
        load_trajectory(tmp_path / "other.npz")
    # a result of another type is not a trajectory either
    from gan_pde.io import save

    dual = gp.dual.simulate(gp.dual.oscillating_game([1.0]), [0.0], [1.0], tau=0.1, n_steps=2)
    with pytest.raises(InvalidInputError, match="not a gan_pde trajectory.*'DualPath'"):
        load_trajectory(save(tmp_path / "dual.npz", dual))
    mesh = trajectory.densities[0].basis.mesh
    values = {"u": np.zeros((2, mesh.p.shape[1]))}
    with pytest.raises(InvalidInputError, match=r"times must be finite; times\[1\] = nan"):
        io_module.write_xdmf_series(tmp_path / "x.xdmf", mesh, [0.0, np.nan], values)
    with pytest.raises(InvalidInputError, match="times must be increasing"):
        io_module.write_xdmf_series(tmp_path / "x.xdmf", mesh, [1.0, 0.0], values)
    assert not (tmp_path / "x.xdmf").exists()


def test_docstring_examples(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    failures, _ = doctest.testmod(io_module)
    assert failures == 0


def test_generic_save_load_round_trips(tmp_path):
    """gan_pde.io.save/load: every result type comes back equal, from an allowlist only."""
    from gan_pde.dual import oscillating_game, simulate
    from gan_pde.io import load, save
    from gan_pde.sweep import sweep

    path = simulate(oscillating_game([1.0]), [0.0], [2.0], tau=0.1, n_steps=20, scheme="implicit")
    back = load(save(tmp_path / "dual.npz", path))
    assert type(back) is type(path)
    for name in ("times", "x", "y", "inner_iterations"):
        np.testing.assert_array_equal(getattr(back, name), getattr(path, name))
    assert (back.scheme, back.tau, back.info) == (path.scheme, path.tau, path.info)

    result = sweep(lambda *, a: {"b": 2 * a}, {"a": [1, 2]}, scheduler="synchronous")
    result.to_json(tmp_path / "results.json")
    again = load(tmp_path / "results.json")
    assert again.column("b").tolist() == [2, 4] and again.names == ["a"]

    with pytest.raises(InvalidInputError, match="cannot save a dict"):
        save(tmp_path / "x.npz", {"a": 1})
    np.savez(tmp_path / "other.npz", metadata=np.array('{"type": "os.system"}'))
    with pytest.raises(InvalidInputError, match="unknown type 'os.system'"):
        load(tmp_path / "other.npz")


def test_load_reads_a_verify_report(tmp_path):
    from gan_pde.io import load
    from gan_pde.verify import run_checks, write_report

    write_report(run_checks(level="quick", only="spectrum.hermite"), tmp_path)
    (check,) = load(tmp_path / "results.json")
    assert check.name == "spectrum.hermite" and check.passed and check.details


def test_meanfield_results_round_trip(tmp_path):
    from gan_pde.io import load, save
    from gan_pde.meanfield import ToyWGAN, WGANMeanField

    model = WGANMeanField(
        data=gp.GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3], weights=[0.5, 0.5]),
        generator={"alpha": (-3.0, 3.0, 16), "beta": 1.0, "gamma": 0.0},
        discriminator={"a": (-1.0, 1.0, 16), "b": 1.0, "c": 0.0},
        mu_in=lambda a: np.exp(-((a - 1.0) ** 2) / 0.1),
        nu_in=lambda a: np.exp(-((a - 0.3) ** 2) / 0.05),
    )
    trajectory = model.solve(0.5, save_times=[0.0, 0.25, 0.5])
    back = load(save(tmp_path / "mf.npz", trajectory))
    for name in ("times", "mu", "nu", "energy", "generator", "wall_mass"):
        np.testing.assert_array_equal(getattr(back, name), getattr(trajectory, name))
    assert back.mu_names == trajectory.mu_names and len(back.mu_grid) == 1
    path = ToyWGAN(gamma_c=1.0).simulate(g0=2.0, omega0=0.5, t_final=5.0)
    toy = load(save(tmp_path / "toy.npz", path))
    np.testing.assert_array_equal(toy.energy, path.energy)


def test_training_run_round_trip_through_io_load(tmp_path):
    from gan_pde.io import load, save
    from gan_pde.nn.run import TrainingRun

    run = TrainingRun(
        algorithm="gan",
        steps=np.array([0, 10]),
        times=np.array([0.0, 0.1]),
        samples=np.random.default_rng(0).standard_normal((2, 5, 1)),
        parameters={"w": np.ones((2, 3))},
        losses={"d": np.linspace(0.0, 1.0, 10)},
        wall_time=0.5,
        device="cpu",
        seed=3,
        config={"lr": 0.1},
        versions={"gan_pde": gp.__version__},
    )
    back = load(save(tmp_path / "run.npz", run))
    assert isinstance(back, TrainingRun) and back.seed == 3 and back.config == {"lr": 0.1}
    np.testing.assert_array_equal(back.samples, run.samples)
    np.testing.assert_array_equal(back.losses["d"], run.losses["d"])


def test_xdmf_writers_keep_the_working_directory_and_write_in_parallel_threads(
    tmp_path, monkeypatch
):
    """Two threads writing different series at once both leave valid files; no writer
    changes the working directory (a chdir would move the other thread's relative paths)."""
    import os
    import threading

    monkeypatch.chdir(tmp_path)  # relative paths below: a chdir would send them elsewhere
    calls = []
    monkeypatch.setattr(os, "chdir", lambda *args: calls.append(args))
    cwd = os.getcwd()
    meshes = {
        "a": gp.mesh.rectangle((0.0, 1.0), (0.0, 2.0), n=(6, 5)),
        "b": gp.mesh.box((0.0, 1.0), (0.0, 1.0), (0.0, 1.0), n=3),
    }
    times = np.linspace(0.0, 1.0, 12)
    fields = {
        name: {f"{name}_field": [np.sin(t + mesh.p[0]) for t in times]}
        for name, mesh in meshes.items()
    }
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            start.wait()
            for _ in range(3):  # several rounds, so the two writers overlap
                io_module.write_xdmf_series(
                    f"out/{name}/series.xdmf", meshes[name], times, fields[name]
                )
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(name,)) for name in meshes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert calls == [] and os.getcwd() == cwd
    for name, mesh in meshes.items():
        folder = tmp_path / "out" / name
        assert sorted(p.name for p in folder.iterdir()) == ["series.h5", "series.xdmf"]
        with meshio.xdmf.TimeSeriesReader(folder / "series.xdmf") as reader:
            points, _ = reader.read_points_cells()
            np.testing.assert_array_equal(points[:, : mesh.dim()], mesh.p.T)
            assert reader.num_steps == times.size
            for k in range(reader.num_steps):
                t, data, _ = reader.read_data(k)
                assert t == times[k]
                expected = fields[name][f"{name}_field"][k]
                np.testing.assert_array_equal(data[f"{name}_field"], expected)


def test_a_file_of_training_run_save_still_loads_through_io_load(tmp_path):
    pytest.importorskip("torch")
    from gan_pde.io import load
    from gan_pde.nn import train_particles

    run = train_particles(
        gp.Gaussian(mean=[1.0], cov=[[1.0]]),
        gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        epsilon=0.1,
        n_particles=6,
        steps=2,
        n_data=40,
        device="cpu",
    )
    back = load(run.save(tmp_path / "run.npz"))  # TrainingRun's own layout
    assert type(back) is type(run) and back.seed == run.seed
    np.testing.assert_array_equal(back.samples, run.samples)
    for name, values in run.losses.items():
        np.testing.assert_array_equal(back.losses[name], values)
