"""The WGAN mean-field solvers on the stepping engine: SIGKILL/resume, invariants, protocol.

Each solver is killed (SIGKILL, no handler runs) at a step drawn at random, resumed from
its checkpoint and compared bit for bit with an uninterrupted run (:mod:`killresume`).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from killresume import assert_identical, kill_and_resume

import gan_pde as gp
from gan_pde import engine
from gan_pde.errors import IncompatibleCheckpointError, InvalidInputError, NumericalBreakdownError
from gan_pde.meanfield import (
    BumpLaw,
    ToyMeanField,
    ToyWGAN,
    WGANMeanField,
    simulate_particles,
)
from gan_pde.meanfield import toy as toy_module
from gan_pde.meanfield.toy import ProjectedPath, ToyMeanFieldPath, ToyPath, integrate_projected
from gan_pde.meanfield.transport import mass_roundoff

EPS = np.finfo(float).eps

MODEL = """
import time
import gan_pde as gp
from gan_pde.engine import CallbackTracker
from gan_pde.meanfield import WGANMeanField

def model():
    return WGANMeanField(
        data=gp.GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3]),
        generator={"alpha": (-3.0, 3.0, 24), "beta": 1.0, "gamma": 0.0},
        discriminator={"a": (-1.0, 1.0, 24), "b": 1.0, "c": 0.0},
        mu_in=lambda a: np.exp(-((a - 1.0) ** 2) / 0.1),
        nu_in=lambda a: np.exp(-((a - 0.3) ** 2) / 0.05),
        gamma_c=5.0,
    )

def keywords(checkpoint, resume, delay):
    # a slow step (a sleep after it) lets the parent catch the step it kills at
    out = {"trackers": [CallbackTracker(lambda t, v: time.sleep(delay))], "resume": resume}
    if checkpoint:
        out.update(checkpoint=checkpoint, checkpoint_steps=1, checkpoint_interval=None)
    return out
"""

WGAN_BODY = (
    MODEL
    + """
def result(checkpoint, resume):
    traj = model().solve(1.0, save_times=np.linspace(0.0, 1.0, 41),
                         **keywords(checkpoint, resume, 0.02))
    return {"times": traj.times, "mu": traj.mu, "nu": traj.nu, "energy": traj.energy,
            "dissipation": traj.dissipation, "generator": traj.generator,
            "discriminator": traj.discriminator, "wall_mass": traj.wall_mass,
            "heun_steps": traj.info["n_steps"], "dt_min": traj.info["dt_min"],
            "substeps": traj.info["substeps"],
            "_resumed_from_step": traj.info["resumed_from_step"]}
"""
)

PARTICLES_BODY = (
    MODEL
    + """
from gan_pde.meanfield import simulate_particles

def result(checkpoint, resume):
    # random initial draws and SGD samples: the generator is part of the checkpoint
    run = simulate_particles(model(), n=50, h=1.0, t_final=1.0, batch=2, seed=5,
                             save_times=np.linspace(0.0, 1.0, 6),
                             **keywords(checkpoint, resume, 0.01))
    return {"times": run.times, "theta": run.theta, "omega": run.omega,
            "_resumed_from_step": run.info["resumed_from_step"]}
"""
)

TOY_BODY = (
    MODEL
    + """
from gan_pde.meanfield import ToyWGAN

def result(checkpoint, resume):
    path = ToyWGAN(gamma_c=1.0).simulate(g0=2.0, omega0=0.5, t_final=40.0, dt=0.5,
                                         **keywords(checkpoint, resume, 0.01))
    return {"times": path.times, "g": path.g, "omega": path.omega, "energy": path.energy,
            "hit_times": path.hit_times, "release_times": path.release_times,
            "turning_times": path.turning_times, "turning_g": path.turning_g,
            "_resumed_from_step": path.info["resumed_from_step"]}
"""
)

FV_BODY = (
    MODEL
    + """
from gan_pde.meanfield import BumpLaw, ToyMeanField

def result(checkpoint, resume):
    model = ToyMeanField(gamma_c=1.0, law=BumpLaw(-0.5, 0.5), g0=-3.0)
    fv = model.solve_fv(cells=40, t_final=3.0, save_times=[0.0, 1.0, 2.0, 3.0],
                        **keywords(checkpoint, resume, 0.02))
    return {"times": fv.times, "g": fv.g, "nu": fv.nu, "wall_mass": fv.wall_mass,
            "n_steps": fv.n_steps, "_resumed_from_step": fv.info["resumed_from_step"]}
"""
)


@pytest.mark.parametrize(
    ("body", "last"),
    [
        # the last step the kill may be drawn at: the runs have 40, 50, 80 and 34 steps
        (WGAN_BODY, 30),
        (PARTICLES_BODY, 40),
        (TOY_BODY, 70),
        (FV_BODY, 28),
    ],
    ids=["wgan-meanfield", "particles", "toy-wgan", "toy-fv"],
)
def test_sigkill_at_a_random_step_then_resume_is_bit_identical(tmp_path, monkeypatch, body, last):
    kill_at = int(np.random.default_rng().integers(2, last))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    resumed, unbroken, left = kill_and_resume(tmp_path, body, kill_at=kill_at)
    assert left >= kill_at and int(resumed["_resumed_from_step"]) == left
    assert int(unbroken["_resumed_from_step"]) == 0
    assert_identical(resumed, unbroken)


# --------------------------------------------------------------------------- invariants

DATA = gp.GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3])


def _model(cells=24):
    return WGANMeanField(
        data=DATA,
        generator={"alpha": (-3.0, 3.0, cells), "beta": 1.0, "gamma": 0.0},
        discriminator={"a": (-1.0, 1.0, cells), "b": 1.0, "c": 0.0},
        mu_in=lambda a: np.exp(-((a - 1.0) ** 2) / 0.1),
        nu_in=lambda a: np.exp(-((a - 0.3) ** 2) / 0.05),
        gamma_c=5.0,
    )


def _fv_model():
    return ToyMeanField(gamma_c=1.0, law=BumpLaw(-0.5, 0.5), g0=-3.0)


def test_mass_stays_within_its_round_off_bound_and_the_bound_is_tight_enough():
    model = _model()
    traj = model.solve(1.0, save_times=np.linspace(0.0, 1.0, 11))
    steps = traj.info["n_steps"]
    bound = mass_roundoff(steps, 24, 1)
    # the bound: (2 dim + 5) eps per Heun step and 2 eps per cell (mass_roundoff)
    assert bound == EPS * (7 * steps + 48)
    drift = np.abs(traj.mu.sum(axis=1) - model.mu_in.sum()).max()
    assert drift <= bound
    # a leak the watch must catch is far above it: one Heun step's flux through a wall
    # would move ~h |V| m_wall >> 1e-10, while the bound after these steps is ~1e-13
    assert bound < 1e-12
    fv = _fv_model().solve_fv(cells=40, t_final=3.0)
    assert fv.info["mass_tolerance"] == mass_roundoff(fv.n_steps, 40, 1)
    assert np.abs(fv.nu.sum(axis=1) - fv.nu[0].sum()).max() <= fv.info["mass_tolerance"]


def test_a_mass_leak_stops_the_wgan_run_naming_the_step():
    # the FV scheme cannot be forced past its CFL limit (an explicit dt above it is
    # refused), so the watch is tested with a deliberately broken scheme: rates that add
    # 1e-12 per cell create mass at ~h·cells·1e-12 ~ 1e-13 per Heun step, above the
    # 7 eps = 1.6e-15 per step that round-off may cost
    model = _model()
    rates = model._rates

    def leaking(mu, nu, fields):
        dmu, dnu = rates(mu, nu, fields)
        return dmu + 1e-12, dnu

    model._rates = leaking
    with pytest.raises(NumericalBreakdownError, match=r"mu mass drift.*after step 1 \(t = 0\.1\)"):
        model.solve(1.0, save_times=np.linspace(0.0, 1.0, 11))


def test_non_finite_masses_stop_the_wgan_run_naming_the_heun_step():
    model = _model()
    rates = model._rates
    calls = []

    def broken(mu, nu, fields):
        calls.append(1)
        dmu, dnu = rates(mu, nu, fields)
        return (dmu * np.nan if len(calls) >= 9 else dmu), dnu

    model._rates = broken
    # a fixed dt below the CFL limit: two rate evaluations per Heun step, so the 9th is
    # the first stage of step 5, from t = 4 dt (the NaN velocities it makes are named
    # with that step too)
    with pytest.raises(NumericalBreakdownError, match=r"Heun step 5 from t = 0\.02 broke down"):
        model.solve(1.0, dt=0.005)


def test_non_finite_and_leaking_fv_steps_are_stopped_naming_the_step(monkeypatch):
    rates = toy_module.transport_rates
    calls = []

    def broken(masses, velocities, grid):
        calls.append(1)
        out = rates(masses, velocities, grid)
        return out * np.nan if len(calls) >= 13 else out

    monkeypatch.setattr(toy_module, "transport_rates", broken)
    # two evaluations per Heun step: the 13th is the first stage of step 7
    # (g turns NaN in the same step: the first state array found non-finite is named)
    with pytest.raises(
        NumericalBreakdownError, match=r"'(g|nu)' has \d+ non-finite.*after step 7 "
    ):
        _fv_model().solve_fv(cells=40, t_final=3.0)

    def leaking(masses, velocities, grid):
        return rates(masses, velocities, grid) + 1e-9

    monkeypatch.setattr(toy_module, "transport_rates", leaking)
    # 1e-9 per cell and stage: ~h·40·1e-9 = 4e-9 per step, the bound is ~1e-13
    with pytest.raises(NumericalBreakdownError, match=r"nu mass drifted.*after step 1 "):
        _fv_model().solve_fv(cells=40, t_final=3.0)


def test_the_particle_watch_stops_at_the_first_non_finite_position(monkeypatch):
    from gan_pde.meanfield import particles

    gradient = particles._gradient
    calls = []

    def broken(params, nodes, weights):
        calls.append(1)
        out = gradient(params, nodes, weights)
        return out * np.nan if len(calls) >= 5 else out

    monkeypatch.setattr(particles, "_gradient", broken)
    # two gradients per SGD step (critic, then generator): the 5th is step 3's critic
    with pytest.raises(NumericalBreakdownError, match=r"parameters = nan after step 3 "):
        simulate_particles(_model(), n=10, h=1.0, t_final=0.5)
    monkeypatch.setattr(particles, "_gradient", gradient)
    theta0 = np.full((10, 1), 0.5)
    theta0[3] = np.inf
    with pytest.raises(InvalidInputError, match="theta0 must be finite"):
        simulate_particles(_model(), n=10, h=1.0, t_final=0.5, theta0=theta0)


# --------------------------------------------------------------------------- the protocol


def test_results_carry_times_and_the_engines_info():
    traj = _model().solve(0.2, save_times=[0.1, 0.2])
    assert traj.times.tolist() == [0.1, 0.2]  # t = 0 not asked for: not stored
    assert traj.mu.shape == (2, 24)
    assert traj.info["engine_steps"] == 2 and traj.info["resumed_from_step"] == 0
    assert traj.info["n_steps"] == sum(traj.info["substeps"]) and "versions" in traj.info
    path = ToyWGAN().simulate(t_final=5.0)
    fv = _fv_model().solve_fv(cells=20, t_final=1.0, save_times=[0.5, 0.5])
    assert fv.times.tolist() == [0.5, 0.5, 1.0] and np.array_equal(fv.nu[0], fv.nu[1])
    exact = _fv_model().exact(2.0)
    for result in (path, fv, exact):
        assert {"n_steps", "seconds", "resumed_from_step"} <= set(result.info)
    assert path.info["n_steps"] == 1 and fv.info["n_steps"] == fv.n_steps


@pytest.mark.parametrize(
    "make",
    [
        lambda: ToyWGAN().simulate(t_final=5.0),
        lambda: _fv_model().exact(2.0),
        lambda: integrate_projected(lambda t, y: -y, np.ones(1), -np.ones(1), np.ones(1), 1.0),
    ],
    ids=["ToyPath", "ToyMeanFieldPath", "ProjectedPath"],
)
def test_t_is_a_deprecated_read_only_alias_of_times(make):
    result = make()
    with pytest.warns(DeprecationWarning, match=r"\.t is deprecated: use \.times"):
        t = result.t
    assert t is result.times
    with pytest.raises(AttributeError):
        result.t = result.times


def test_the_old_t_keyword_and_files_saved_with_it_still_load(tmp_path):
    from gan_pde.io import load, save

    path = ToyWGAN(gamma_c=1.0).simulate(g0=2.0, omega0=0.5, t_final=5.0)
    fields = {name: getattr(path, name) for name in path.__dataclass_fields__}
    fields["t"] = fields.pop("times")
    with pytest.warns(DeprecationWarning, match=r"ToyPath\(t=\.\.\.\) is deprecated"):
        old = ToyPath(**fields)
    assert np.array_equal(old.times, path.times)
    with pytest.raises(InvalidInputError, match="not both"):
        ToyPath(times=path.times, **fields)
    # a file written before the rename (format 1, field by field): its field is called t
    # and it has no info
    arrays = {
        f"field/{name}": getattr(path, name)
        for name in (
            "times",
            "g",
            "omega",
            "energy",
            "hit_times",
            "release_times",
            "turning_times",
            "turning_g",
        )
    }
    arrays["field/t"] = arrays.pop("field/times")
    meta = {
        "format": "gan_pde-result",
        "format_version": 1,
        "type": "ToyPath",
        "fields": {
            **{key[len("field/") :]: {"kind": "array"} for key in arrays},
            "gamma_c": {"kind": "json", "value": 1.0, "tuple": False},
        },
    }
    np.savez(tmp_path / "old.npz", **arrays, metadata=np.array(json.dumps(meta)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        back = load(tmp_path / "old.npz")
    assert isinstance(back, ToyPath) and np.array_equal(back.times, path.times)
    assert np.array_equal(back.energy, path.energy) and back.info == {}
    # and a file of today round-trips with its info
    again = load(save(tmp_path / "new.npz", path))
    assert np.array_equal(again.times, path.times) and again.info == path.info


def test_engine_steps_change_the_toy_path_only_at_the_level_of_the_tolerances():
    toy = ToyWGAN(gamma_c=1.0)
    whole = toy.simulate(g0=2.0, omega0=0.5, t_final=60.0)
    steps = toy.simulate(g0=2.0, omega0=0.5, t_final=60.0, dt=0.7)
    assert steps.info["n_steps"] == 86 and whole.info["n_steps"] == 1
    # each engine step restarts DOP853 (rtol = atol = 1e-12): the events move by the
    # solver's error over the run, ~1e-12 per unit time times the growth of errors
    assert steps.hit_times.size == whole.hit_times.size == 1
    assert np.abs(steps.hit_times - whole.hit_times).max() < 1e-9
    assert np.abs(steps.release_times - whole.release_times).max() < 1e-9
    assert abs(steps.limit_amplitude() - whole.limit_amplitude()) < 1e-9
    assert set(np.round(np.arange(1, 86) * 0.7, 12)) <= set(np.round(steps.times, 12))


def test_a_checkpoint_of_other_parameters_is_refused(tmp_path):
    checkpoint = tmp_path / "fv.ckpt"
    _fv_model().solve_fv(cells=20, t_final=1.0, checkpoint=checkpoint)
    other = ToyMeanField(gamma_c=2.0, law=BumpLaw(-0.5, 0.5), g0=-3.0)
    with pytest.raises(IncompatibleCheckpointError, match="'gamma_c' is 1.0 in the checkpoint"):
        other.solve_fv(cells=20, t_final=1.0, checkpoint=checkpoint, resume=True)
    toy = tmp_path / "toy.ckpt"
    ToyWGAN(gamma_c=1.0).simulate(t_final=2.0, dt=0.5, checkpoint=toy)
    with pytest.raises(IncompatibleCheckpointError, match="'gamma_c' is 1.0 in the checkpoint"):
        ToyWGAN(gamma_c=3.0).simulate(t_final=2.0, dt=0.5, checkpoint=toy, resume=True)
    # a finished checkpoint resumes to the same result without a step
    again = ToyWGAN(gamma_c=1.0).simulate(t_final=2.0, dt=0.5, checkpoint=toy, resume=True)
    assert again.info["resumed_from_step"] == 4
    assert np.array_equal(again.g, ToyWGAN(gamma_c=1.0).simulate(t_final=2.0, dt=0.5).g)


def test_checkpoint_keywords_are_checked():
    model = _model()
    with pytest.raises(InvalidInputError, match="resume=True needs a checkpoint"):
        model.solve(0.2, resume=True)
    with pytest.raises(InvalidInputError, match="resume=True needs a checkpoint"):
        simulate_particles(model, n=5, h=1.0, t_final=0.1, resume=True)
    with pytest.raises(InvalidInputError, match="trackers must be a sequence"):
        _fv_model().solve_fv(cells=10, t_final=0.5, trackers=engine.StopTracker(bool))
    with pytest.raises(InvalidInputError, match="dt must be a positive"):
        ToyWGAN().simulate(t_final=1.0, dt=-1.0)
    with pytest.raises(InvalidInputError, match="callback must be callable"):
        model.solve(0.2, callback=3)


def test_a_stop_tracker_ends_the_runs_early_with_the_state_saved():
    stop = engine.StopTracker(lambda t, state: t >= 0.3, reason="enough")
    traj = _model().solve(1.0, save_times=np.linspace(0.0, 1.0, 11), trackers=[stop])
    assert np.allclose(traj.times, [0.0, 0.1, 0.2, 0.3]) and traj.mu.shape == (4, 24)
    assert traj.info["stop_reason"].startswith("enough")
    fv = _fv_model().solve_fv(cells=20, t_final=1.0, trackers=[stop])
    assert fv.times[-1] >= 0.3 and fv.nu.shape[0] == 2 == fv.times.size


def test_projected_path_and_mean_field_path_keep_their_exact_results():
    # the rename touched the exact solution's lookups: a sample time still resolves
    model = _fv_model()
    exact = model.exact(6.0, save_times=[3.5])
    assert isinstance(exact, ToyMeanFieldPath)
    assert exact.wall_mass(3.5) == pytest.approx(1.0, abs=1e-12)
    projected = integrate_projected(
        lambda t, y: np.ones(1), np.zeros(1), -np.ones(1), np.ones(1), 2.0, dt=0.3
    )
    assert isinstance(projected, ProjectedPath)
    # slides on the wall y = 1 from t = 1 on (inside the engine step [0.9, 1.2]): one hit
    # at t = 1, located to the solver's tolerance
    assert len(projected.switches) == 1
    assert projected.switches[0][:3] == (pytest.approx(1.0, abs=1e-10), "hit", 0)
    assert projected.y[0, -1] == 1.0 and projected.info["n_steps"] == 7
