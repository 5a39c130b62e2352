"""The one result protocol: every public result type goes through ``gan_pde.io.save`` →
``load`` with every field back bit for bit, and follows the trajectory protocol (``times``
for the time-dependent types, ``info`` a dict).

Each type is built by running its model at a tiny size (a few steps on a few cells), so the
round trip sees what a real run produces: meshes, bases and densities (JSD flow, spectra),
sparse matrices (the weighted system of a spectrum), nested results (a certified Poincaré
constant holds two adaptive results, a comparison holds trajectories and training runs),
numpy scalars in ``info``.  A walk over the package finds every dataclass, so a new result
type cannot be left out of :data:`gan_pde.io.RESULT_TYPES` unnoticed.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import math
import pkgutil
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gan_pde as gp
from gan_pde import io
from gan_pde.engine import Stepper
from gan_pde.errors import InvalidInputError

# ------------------------------------------------------------------------------ the builders

BUILDERS: dict[str, Callable[[], Any]] = {}


def builder(name: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    def register(function: Callable[[], Any]) -> Callable[[], Any]:
        BUILDERS[name] = function
        return function

    return register


def _torch() -> Any:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _flow() -> Any:
    target = gp.GaussianMixture(means=[[-1.0], [1.5]], stds=[0.7, 0.9], weights=[0.5, 0.5])
    return gp.JSDFlow(target, gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-6, 6, n=30))


@builder("Trajectory")
def _trajectory() -> Any:
    return _flow().solve(0.5, 0.25)


@builder("ParticleTrajectory")
def _particle_trajectory() -> Any:
    return gp.simulate_particles(_flow(), np.linspace(-1.0, 1.0, 5)[:, None], 0.5, 0.25)


def _gaussian() -> Any:
    return gp.Gaussian(mean=[0.0], cov=[[1.0]])


@builder("Spectrum")
def _spectrum() -> Any:
    return gp.weighted_laplacian_spectrum(_gaussian(), gp.mesh.interval(-6, 6, n=40), k=3)


@builder("AdaptiveResult")
def _adaptive() -> Any:
    return gp.adaptive_poincare(_gaussian(), gp.mesh.interval(-8, 8, n=8), tol=1e-3)


@builder("CertifiedPoincare")
def _certified() -> Any:
    return gp.certified_poincare(_gaussian(), tol=1e-3, tail=10.0, tail_step=4.0, max_dofs=2000)


def _lgan_system() -> Any:
    from gan_pde.spectral import LGANSystem

    return LGANSystem(_gaussian(), gp.mesh.interval(-6, 6, n=20), alpha=0.0, beta=1.0)


@builder("LGANTrajectory")
def _lgan_trajectory() -> Any:
    from gan_pde.spectral import integrate

    system = _lgan_system()
    return integrate(system, system.state(v=lambda x: np.ones_like(x)), tau=0.25, steps=4)


@builder("MixtureExperiment")
def _mixture_experiment() -> Any:
    from gan_pde.spectral import mixture_experiment

    return mixture_experiment(3.0, t_final=1.0, tau=0.1, cells=16)


@builder("OptimalParameters")
def _optimal_parameters() -> Any:
    return gp.lgan.optimal_parameters(0.5, beta=1.0, xi_max=4.0)


def _samples() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(40, 1))


@builder("BandwidthStudy")
def _bandwidth_study() -> Any:
    from gan_pde.spectral import bandwidth_study

    return bandwidth_study(_samples(), [1.0, 2.0], cells=16)


@builder("AugmentationStudy")
def _augmentation_study() -> Any:
    return gp.augmentation_study(_samples(), [0.0, 0.5], kinds=("scaling",), cells=16)


def _meanfield_model() -> Any:
    return gp.WGANMeanField(
        data=gp.GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3], weights=[0.5, 0.5]),
        generator={"alpha": (-3.0, 3.0, 12), "beta": 1.0, "gamma": 0.0},
        discriminator={"a": (-1.0, 1.0, 8), "b": 1.0, "c": 0.0},
        mu_in=lambda a: np.exp(-((a - 1.0) ** 2) / 0.1),
        nu_in=lambda a: np.exp(-((a - 0.3) ** 2) / 0.5),
    )


@builder("MeanFieldTrajectory")
def _meanfield_trajectory() -> Any:
    return _meanfield_model().solve(0.25, save_times=[0.0, 0.25])


@builder("MeanFieldParticles")
def _meanfield_particles() -> Any:
    from gan_pde.meanfield.particles import simulate_particles

    return simulate_particles(_meanfield_model(), n=6, h=0.5, t_final=0.25)


@builder("ParticleFlowRun")
def _particle_flow_run() -> Any:
    from gan_pde.meanfield.highres import simulate_particle_flow

    return simulate_particle_flow(_meanfield_model(), n=6, t_final=0.25)


@builder("ToyPath")
def _toy_path() -> Any:
    return gp.ToyWGAN(gamma_c=1.0).simulate(g0=2.0, omega0=0.5, t_final=1.0)


@builder("ProjectedPath")
def _projected_path() -> Any:
    from gan_pde.meanfield.toy import integrate_projected

    return integrate_projected(
        lambda t, y: np.array([1.0, -y[1]]),
        np.array([0.0, 1.0]),
        np.array([-1.0, -1.0]),
        np.array([0.5, 1.0]),
        1.0,
        t_eval=np.array([0.0, 0.5, 1.0]),
    )


def _toy_mean_field() -> Any:
    from gan_pde.meanfield import BumpLaw, ToyMeanField

    return ToyMeanField(gamma_c=1.0, law=BumpLaw(-0.5, 0.5), g0=-3.0)


@builder("ToyMeanFieldPath")
def _toy_mean_field_path() -> Any:
    return _toy_mean_field().exact(2.0, save_times=[0.0, 1.0, 2.0])


@builder("ToyMeanFieldFV")
def _toy_mean_field_fv() -> Any:
    return _toy_mean_field().solve_fv(cells=20, t_final=0.5, dt=0.05)


@builder("DecayFit")
def _decay_fit() -> Any:
    from gan_pde.meanfield.highres import decay_per_period

    t = np.linspace(0.0, 30.0, 3001)
    return decay_per_period(t, np.exp(-0.05 * t) * np.cos(t))


def _dual_path() -> Any:
    from gan_pde.dual import oscillating_game, simulate

    return simulate(oscillating_game([1.0]), [0.0], [2.0], tau=0.1, n_steps=6, scheme="implicit")


@builder("DualPath")
def _dual() -> Any:
    return _dual_path()


def _particle_game() -> Any:
    from gan_pde.dual import ParticleGame, bimodal_target

    return ParticleGame(target=bimodal_target(8), centers=np.linspace(-3, 3, 7), width=0.5)


@builder("ParticlePath")
def _particle_path() -> Any:
    return _particle_game().simulate(np.linspace(-0.5, 0.5, 8), np.zeros(7), tau=0.1, n_steps=3)


@builder("CollapseStudy")
def _collapse_study() -> Any:
    from gan_pde.dual import collapse_study

    return collapse_study(
        _particle_game(), np.linspace(0.2, 0.8, 8), taus=[0.1, 0.4], t_final=0.8, bisections=1
    )


@builder("OscillationStudy")
def _oscillation_study() -> Any:
    from gan_pde.dual import oscillation_study

    return oscillation_study(taus=(0.2, 0.1), t_final=1.0, schemes=("implicit", "alternating"))


@builder("ConvergenceStudy")
def _convergence_study() -> Any:
    from gan_pde.dual import convergence_study, oscillating_game

    return convergence_study(oscillating_game([1.0]), [0.0], [2.0], t_final=0.4, taus=[0.2, 0.1])


@builder("EDIDefect")
def _edi_defect() -> Any:
    from gan_pde.dual import edi_defect, oscillating_game

    return edi_defect(oscillating_game([1.0]), _dual_path())


def _sde() -> tuple[Any, Any]:
    torch = _torch()
    from gan_pde.sde import GANSDE

    rng = np.random.default_rng(3)
    x, z = rng.normal(1.0, 0.5, 4), rng.normal(0.0, 1.0, 3)

    def loss(theta: Any, omega: Any, x: Any, z: Any) -> Any:
        return (
            omega[0] * x
            - omega[0] * (theta[0] + theta[1] * z)
            + 0.25 * ((theta**2).sum() - (omega**2).sum())
        )

    sde = GANSDE(loss, x, z, d_theta=2, d_omega=1)
    return sde, torch.tensor([0.5, 1.0, 0.2], dtype=torch.float64)


@builder("Ensemble")
def _ensemble() -> Any:
    from gan_pde.sde import simulate_sde

    sde, gamma0 = _sde()
    return simulate_sde(sde, gamma0, eta=0.1, batch_size=1, steps=3, n_paths=6)


@builder("LongRun")
def _long_run() -> Any:
    from gan_pde.sde import long_run

    sde, gamma0 = _sde()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a too short run for the statistics: not the point
        return long_run(sde, gamma0, eta=0.2, batch_size=1, t_final=0.6, n_paths=20)


@builder("StationaryDensity")
def _stationary_density() -> Any:
    from gan_pde.sde import stationary_fokker_planck

    return stationary_fokker_planck(
        lambda x: -x, lambda x: np.ones_like(x)[:, :, None], gp.mesh.interval(-5, 5, 20)
    )


@builder("TrainingRun")
def _training_run() -> Any:
    _torch()
    from gan_pde.nn import train_particles

    return train_particles(
        gp.Gaussian(mean=[1.0], cov=[[1.0]]),
        _gaussian(),
        epsilon=0.1,
        n_particles=8,
        steps=2,
        n_data=50,
        device="cpu",
    )


@builder("PoincareEstimate")
def _poincare_estimate() -> Any:
    _torch()
    from gan_pde.nn.poincare import estimate_poincare_constant

    estimate = estimate_poincare_constant(_samples(), hidden=(4,), steps=3, device="cpu")
    return dataclasses.replace(estimate, function=None)  # the network: see the refusal test


@builder("PoincareStudy")
def _poincare_study() -> Any:
    _torch()
    from gan_pde.nn.poincare import poincare_study

    return poincare_study(
        separations=(3.0,),
        dims=(1,),
        n_train=20,
        n_holdout=20,
        mixture_steps=2,
        digits=False,
        device="cpu",
        hidden=(4,),
    )


@builder("JSDComparison")
def _jsd_comparison() -> Any:
    _torch()
    from gan_pde.compare.experiments import jsd_comparison

    return jsd_comparison(
        steps=2,
        n_particles=8,
        discriminator_steps=1,
        particle_counts=(4,),
        discriminator_step_counts=(1,),
        epsilons=(0.1,),
        batch_size=8,
        n_data=50,
        hidden=(4,),
        device="cpu",
    )


@builder("LSGANComparison")
def _lsgan_comparison() -> Any:
    _torch()
    from gan_pde.compare.experiments import lsgan_comparison

    result = lsgan_comparison(3.0, n_data=20, features=4, tau=0.1, t_final=0.5, device="cpu")
    return dataclasses.replace(result, discriminator=None)  # the torch module: refused


@builder("WGANComparison")
def _wgan_comparison() -> Any:
    _torch()
    from gan_pde.compare.experiments import wgan_comparison

    return wgan_comparison(widths=(4, 8), t_final=0.5, saves=2, n_data=50, device="cpu")


class _Decay(Stepper):
    """u' = -u by backward Euler: the engine's own example."""

    kind = "decay"

    def initial_state(self) -> dict[str, np.ndarray]:
        return {"u": np.array([1.0, 2.0])}

    def step(self, state: dict, t: float, dt: float) -> tuple[dict, dict]:
        return {"u": state["u"] / (1.0 + dt)}, {"dt": dt}

    def observe(self, state: dict, t: float) -> dict[str, Any]:
        return {"u": state["u"].copy(), "total": float(state["u"].sum())}


@builder("EngineResult")
def _engine_result() -> Any:
    from gan_pde.engine import run

    return run(_Decay(), t_final=1.0, dt=0.25, save_times=[0.5])


@builder("SweepResult")
def _sweep_result() -> Any:
    from gan_pde.sweep import sweep

    return sweep(lambda *, a: {"b": 2 * a}, {"a": [1, 2]}, scheduler="synchronous")


@builder("NewtonResult")
def _newton_result() -> Any:
    import scipy.sparse as sp

    return gp.fem.newton(
        lambda x: x**3 - 2.0, lambda x: sp.diags(3.0 * x**2).tocsr(), np.array([1.0, 2.0])
    )


# ------------------------------------------------------------------------------ the protocol

#: Results with a time axis: ``times`` is a non-decreasing 1-D float array of save times
#: (the exact toy path repeats a time where an event falls on a save time).
TIME_DEPENDENT = {
    "Trajectory", "ParticleTrajectory", "LGANTrajectory", "MeanFieldTrajectory",
    "MeanFieldParticles", "ParticleFlowRun", "ToyPath", "ProjectedPath", "ToyMeanFieldPath",
    "ToyMeanFieldFV", "DualPath", "ParticlePath", "Ensemble", "TrainingRun", "EngineResult",
}  # fmt: skip

#: Results that are not a run of a model (a fit, a solver's iterations, tables of studies,
#: the parameters of a closed form): no ``info`` is asked of them.
NOT_RUNS = {
    "OptimalParameters", "DecayFit", "NewtonResult", "BandwidthStudy", "AugmentationStudy",
    "CollapseStudy", "OscillationStudy", "ConvergenceStudy", "EDIDefect", "StationaryDensity",
    "PoincareStudy", "CertifiedPoincare", "MixtureExperiment", "JSDComparison",
    "LSGANComparison", "WGANComparison",
}  # fmt: skip

#: Dataclasses of the package that are not results, and why.
NOT_RESULTS = {
    "DensityConfig": "a config section", "DomainConfig": "a config section",
    "SolverConfig": "a config section", "SpectrumConfig": "a config",
    "RunState": "the engine's loop state", "Plan": "a trainer's plan",
    "CSRPattern": "a sparsity pattern", "SimplexGeometry": "mesh geometry",
    "AffineLagrangeValues": "a reference-element value table of a basis",
    "ResolventResult": "one solve inside a step", "StepResult": "one step inside a run",
    "EuclideanGame": "a model definition", "ParticleGame": "a model definition",
    "QuadraticGame": "a model definition",
    "DistributedSystem": "one MPI rank's assembled matrices",
    "LocalPart": "one MPI rank's part of a mesh", "GANSDE": "a model definition",
    "DistributedSpectrum": "one MPI rank's share of a Spectrum (gather=True: the Spectrum)",
    "NeuralPoincareConfig": "the options of estimate_poincare_constant",
}  # fmt: skip


def _dataclasses_of_the_package() -> dict[str, type]:
    found: dict[str, type] = {}
    for module in pkgutil.walk_packages(gp.__path__, "gan_pde."):
        if module.name.startswith(("gan_pde.verify", "gan_pde.commands")):
            continue  # checks and command configs, not results of the models
        if "torch" not in sys.modules and module.name.startswith(("gan_pde.nn", "gan_pde.sde")):
            pytest.importorskip("torch")
        try:
            mod = importlib.import_module(module.name)
        except ModuleNotFoundError as err:  # an optional dependency (mpi4py, petsc4py)
            if (err.name or "gan_pde").startswith("gan_pde"):
                raise
            continue
        for name, obj in vars(mod).items():
            if not (inspect.isclass(obj) and dataclasses.is_dataclass(obj)):
                continue
            if not name.startswith("_") and obj.__module__ == module.name:
                found[name] = obj
    return found


def test_every_dataclass_of_the_package_is_a_listed_result_or_named_as_not_one():
    found = _dataclasses_of_the_package()
    listed = set(io.RESULT_TYPES) | set(io.PART_TYPES) | set(NOT_RESULTS)
    unlisted = sorted(set(found) - listed)
    assert not unlisted, (
        f"{unlisted}: add each result type to gan_pde.io.RESULT_TYPES (and a builder here), "
        "a part of results to PART_TYPES, or the name to NOT_RESULTS with the reason"
    )
    for name in (*io.RESULT_TYPES, *io.PART_TYPES):  # each entry resolves to its class
        cls = getattr(importlib.import_module({**io.RESULT_TYPES, **io.PART_TYPES}[name]), name)
        assert dataclasses.is_dataclass(cls) and cls.__name__ == name
    assert set(BUILDERS) == set(io.RESULT_TYPES), set(BUILDERS) ^ set(io.RESULT_TYPES)


def assert_same(a: Any, b: Any, where: str = "result") -> None:
    """``a`` and ``b`` equal field by field, arrays bit for bit (dtype, shape, NaN places)."""
    import scipy.sparse as sp
    import skfem

    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if dataclasses.is_dataclass(a):
        for spec in dataclasses.fields(a):
            assert_same(getattr(a, spec.name), getattr(b, spec.name), f"{where}.{spec.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape}"
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif isinstance(a, (np.generic, float, complex)):
        assert repr(a) == repr(b), f"{where}: {a!r} != {b!r}"  # nan == nan, -0.0 != 0.0
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, skfem.Mesh):
        assert_same(a.doflocs, b.doflocs, f"{where}.p")
        assert_same(a.t, b.t, f"{where}.t")
        assert_same(a.boundaries, b.boundaries, f"{where}.boundaries")
        assert_same(a.subdomains, b.subdomains, f"{where}.subdomains")
    elif isinstance(a, skfem.CellBasis):
        assert type(a.elem) is type(b.elem), where
        assert_same(a.mesh, b.mesh, f"{where}.mesh")
        assert_same(a.X, b.X, f"{where}.X")
        assert_same(a.W, b.W, f"{where}.W")
        assert_same(a.element_dofs, b.element_dofs, f"{where}.element_dofs")
    elif isinstance(a, gp.MeshDensity):
        assert_same(a.basis, b.basis, f"{where}.basis")
        assert_same(a.values, b.values, f"{where}.values")
    elif sp.issparse(a):
        assert a.shape == b.shape and a.format == b.format, where
        for part in ("data", "indices", "indptr"):
            assert_same(getattr(a.tocsr(), part), getattr(b.tocsr(), part), f"{where}.{part}")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    return {}


def _build(name: str, built: dict[str, Any]) -> Any:
    if name not in built:
        built[name] = BUILDERS[name]()
    return built[name]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_save_then_load_gives_every_field_back(name, built, tmp_path):
    result = _build(name, built)
    assert type(result).__name__ == name
    path = io.save(tmp_path / f"{name}.npz", result)
    back = io.load(path)
    assert_same(result, back)
    # plain arrays only: the file loads without pickle, and names its type
    with np.load(path, allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)
        assert json.loads(str(data["metadata"]))["type"] == name


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_the_trajectory_protocol(name, built):
    result = _build(name, built)
    fields = {spec.name for spec in dataclasses.fields(result)}
    if name in TIME_DEPENDENT:
        assert "times" in fields, f"{name} has a time axis: its field must be called times"
    if "times" in fields:  # the comparisons too: their PDE times
        times = result.times
        assert isinstance(times, np.ndarray) and times.ndim == 1 and times.dtype == np.float64
        assert times.size >= 1 and np.all(np.diff(times) >= 0.0), times
    assert "t" not in fields, f"{name}.t: the time field is called times (t: a property alias)"
    if name not in NOT_RUNS:
        assert isinstance(result.info, dict), f"{name}.info must be a dict of metadata"


# ------------------------------------------------------------------------------ robustness


def test_a_shared_basis_is_stored_once_and_shared_again(built, tmp_path):
    trajectory = _build("Trajectory", built)
    back = io.load(io.save(tmp_path / "run.npz", trajectory))
    assert len({id(d.basis) for d in back.densities}) == 1
    with np.load(tmp_path / "run.npz", allow_pickle=False) as data:
        assert sum(key.endswith("/X") for key in data.files) == 1
        # the scalar series keep their plain names: np.load(path)["jsd"] works without gan_pde
        np.testing.assert_array_equal(data["jsd"], trajectory.jsd)
    particles = io.load(io.save(tmp_path / "p.npz", _build("ParticleTrajectory", built)))
    assert particles.times is particles.flow.times  # one array in the run: one after loading


def test_a_file_saved_with_the_old_field_name_t_loads(tmp_path):
    # the toy paths called their time field t before the common name times (and the
    # other way round): a file written under either name loads into the class of today
    from gan_pde.meanfield.toy import ProjectedPath

    path = _projected_path()
    names = {spec.name for spec in dataclasses.fields(ProjectedPath)}
    ours, other = ("times", "t") if "times" in names else ("t", "times")
    saved = io.save(tmp_path / "path.npz", path)
    with np.load(saved, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays.pop("metadata")))
    fields = meta["tree"]["fields"]
    fields[other] = fields.pop(ours)
    np.savez(tmp_path / "old.npz", **arrays, metadata=np.array(json.dumps(meta)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no field is dropped
        back = io.load(tmp_path / "old.npz")
    assert_same(path, back)


def test_files_of_the_first_layouts_still_load(tmp_path):
    # a trajectory of format 1 (flat arrays and the mesh p, t) and a result written field by
    # field (format 1): what gan_pde wrote before the tree layout
    trajectory = _trajectory()
    basis = trajectory.densities[0].basis
    series = ("times", "jsd", "kl", "l1", "mass", "dissipation", "grad_v_integral", "v_min",
              "v_max")  # fmt: skip
    meta = {"format_version": 1, "mesh_type": "MeshLine1", "element": "P1", "info": {"a": 1}}
    np.savez(
        tmp_path / "old.npz",
        **{name: getattr(trajectory, name) for name in series},
        v=np.stack(trajectory.v),
        u=np.stack([d.values for d in trajectory.densities]),
        step_times=trajectory.step_times,
        newton_iterations=trajectory.newton_iterations,
        mesh_p=basis.mesh.p,
        mesh_t=basis.mesh.t,
        metadata=np.array(json.dumps(meta)),
    )
    for back in (io.load_trajectory(tmp_path / "old.npz"), io.load(tmp_path / "old.npz")):
        for name in series:
            assert_same(getattr(trajectory, name), getattr(back, name), name)
        assert back.info == {"a": 1}
    dual = _dual_path()
    fields = {
        "times": {"kind": "array"}, "x": {"kind": "array"}, "y": {"kind": "array"},
        "inner_iterations": {"kind": "array"},
        "scheme": {"kind": "json", "value": dual.scheme, "tuple": False},
        "tau": {"kind": "json", "value": dual.tau, "tuple": False},
        "info": {"kind": "json", "value": json.loads(json.dumps(dual.info)), "tuple": False},
    }  # fmt: skip
    meta = {"format": "gan_pde-result", "format_version": 1, "type": "DualPath", "fields": fields}
    arrays = {f"field/{k}": getattr(dual, k) for k in ("times", "x", "y", "inner_iterations")}
    np.savez(tmp_path / "dual.npz", **arrays, metadata=np.array(json.dumps(meta)))
    back = io.load(tmp_path / "dual.npz")
    for name in ("times", "x", "y", "inner_iterations"):
        assert_same(getattr(dual, name), getattr(back, name), name)


def test_objects_no_file_can_rebuild_are_refused_naming_the_field_and_what_to_save():
    _torch()
    from gan_pde.nn.poincare import estimate_poincare_constant

    estimate = estimate_poincare_constant(_samples(), hidden=(4,), steps=2, device="cpu")
    with pytest.raises(InvalidInputError, match=r"PoincareEstimate\.function.*function=None"):
        io.save("never-written.npz", estimate)
    result = _engine_result()
    lambda_state = dataclasses.replace(result, state={"f": lambda x: x})
    with pytest.raises(InvalidInputError, match=r"EngineResult\.state.*state_arrays"):
        io.save("never-written.npz", lambda_state)
    flow = _flow()
    trajectory = dataclasses.replace(_trajectory(), info={"target": flow.target})
    with pytest.raises(InvalidInputError, match=r"Trajectory\.info.*analytic density"):
        io.save("never-written.npz", trajectory)


def test_loading_never_builds_a_class_outside_the_lists(tmp_path):
    tree = {"k": "dataclass", "type": "Popen", "fields": {}}
    meta = {"format": "gan_pde-result", "format_version": 2, "type": "DualPath", "tree": tree}
    np.savez(tmp_path / "evil.npz", metadata=np.array(json.dumps(meta)))
    with pytest.raises(InvalidInputError, match="unknown type 'Popen'"):
        io.load(tmp_path / "evil.npz")
    tree = {"k": "basis", "id": 0, "element": "ElementVector", "mesh": {}, "X": "", "W": ""}
    meta["tree"] = tree
    np.savez(tmp_path / "evil.npz", metadata=np.array(json.dumps(meta)))
    with pytest.raises(InvalidInputError, match="unknown scikit-fem element 'ElementVector'"):
        io.load(tmp_path / "evil.npz")
    meta["format_version"] = 3
    np.savez(tmp_path / "new.npz", metadata=np.array(json.dumps(meta)))
    with pytest.raises(InvalidInputError, match="format version 3.*update gan_pde"):
        io.load(tmp_path / "new.npz")


def test_numbers_keep_their_exact_type_and_value(tmp_path):
    result = dataclasses.replace(
        _engine_result(),
        info={
            "nan": math.nan, "inf": -math.inf, "zero": -0.0, "big": 2**70, "c": 1 + 2j,
            "f32": np.float32(0.1), "i8": np.int8(-3), "flag": np.bool_(True), "s": np.str_("x"),
            3: "an int key", "none": None, "tuple": (1, "a"), "nested": {"a": [np.arange(3)]},
        },
    )  # fmt: skip
    back = io.load(io.save(tmp_path / "numbers", result))
    assert (tmp_path / "numbers.npz").exists()
    assert_same(result, back)
