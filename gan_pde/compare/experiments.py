r"""Networks trained with torch laid beside their PDE limits (needs torch).

* :func:`jsd_comparison` — paper 002: the particle generator (Algorithm 2 = explicit Euler
  of the particle ODE (5)), the GAN algorithm on the same particle table (equal to it by the
  last Proposition), and Algorithm 2 with a network generator, against the JSD flow
  (:class:`gan_pde.flows.JSDFlow`) of the same target and initial law: W₁ over time, and
  how it changes with the particle count, the discriminator steps and ε; the gradient
  identity of the last Proposition to round-off.
* :func:`lsgan_comparison` — paper 004, Section 7: LSGAN-type training near equilibrium for
  the five (α, β, γ) settings of Figure 1 on ½N(0,1) + ½N(M,1); the measured decay rate of
  :math:`\|D(t)\|_\mu^2` against η from the FEM ξ_min (:func:`gan_pde.lgan.decay_rate`), and
  whether the two rankings agree.
* :func:`wgan_comparison` — paper 001: WGAN with clipping trained with N neurons against
  the mean-field PDE (:class:`gan_pde.meanfield.WGANMeanField`): W₂ between the empirical
  and the PDE parameter laws vs N, and the mass at the wall of Q in both.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde._arrays import as_positive, as_positive_int
from gan_pde.compare.timeaxis import distances_over_time
from gan_pde.errors import InvalidInputError

__all__ = [
    "JSDComparison",
    "LSGANComparison",
    "WGANComparison",
    "wgan_comparison",
    "jsd_comparison",
    "lsgan_comparison",
    "measured_decay_rate",
    "rankings_agree",
]

logger = logging.getLogger(__name__)

Progress = Callable[[str], None] | None


def _checkpoint_options(
    checkpoint: str | os.PathLike[str] | None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
) -> Callable[[str], dict[str, Any]]:
    """``options(name)``: the checkpoint keywords of the part ``name`` of an experiment.

    Each part gets the file ``checkpoint/<name>.ckpt.npz``; without a folder no part is
    checkpointed (and ``resume=True`` is refused).

    >>> _checkpoint_options(None)("jsd_gan")
    {}
    """
    if checkpoint is None:
        if resume is not False:
            msg = "resume=True needs a checkpoint folder (checkpoint=PATH)"
            raise InvalidInputError(msg)
        return lambda _name: {}
    if not isinstance(checkpoint, (str, os.PathLike)):
        msg = f"checkpoint must be a folder path or None; got {checkpoint!r}"
        raise InvalidInputError(msg)
    folder = Path(checkpoint)
    if folder.exists() and not folder.is_dir():
        msg = f"checkpoint {folder} is a file; give a folder (one checkpoint per training)"
        raise InvalidInputError(msg)

    def options(name: str) -> dict[str, Any]:
        folder.mkdir(parents=True, exist_ok=True)
        return {
            "checkpoint": folder / f"{name}.ckpt.npz",
            "checkpoint_interval": checkpoint_interval,
            "checkpoint_steps": checkpoint_steps,
            "resume": resume,
        }

    return options


def _default_jsd_problem() -> tuple[Any, Any, Any]:
    import gan_pde as gp

    target = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    initial = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    return target, initial, gp.mesh.interval(-10.0, 10.0, n=400)


@dataclass(frozen=True)
class JSDComparison:
    """Network runs against the JSD flow (:func:`jsd_comparison`).

    Attributes
    ----------
    times
        Saved PDE times t = kε.
    w1
        Name -> W₁(samples(t), u(t)) over ``times``: ``"particles"``, ``"gan"``,
        ``"algorithm2"`` and ``"fem_particles"`` (particles moved by the FEM velocity of
        :func:`gan_pde.flows.simulate_particles`, whose distance is the sampling error
        alone).
    jsd_to_target
        JSD(u(t), ρ_d) of the PDE solution.
    gan_minus_particles
        Max |x_gan − x_particles| over all snapshots: the GAN algorithm on the table with
        η_G = εN/2 and Algorithm 2 are the same iteration (last Proposition).
    gradient_identity
        Max |regression gradient − ε·GAN gradient| / max |gradient| for the final networks
        of the Algorithm 2 run.
    study
        Parameter name (``"n_particles"``, ``"discriminator_steps"``, ``"epsilon"``) ->
        ``{"values": [...], "mean_w1": [...], "final_w1": [...]}`` of particle runs.
    trajectory
        The PDE solution.
    runs
        The TrainingRuns by name.
    """

    times: np.ndarray
    w1: dict[str, np.ndarray]
    jsd_to_target: np.ndarray
    gan_minus_particles: float
    gradient_identity: float
    study: dict[str, dict[str, list[float]]]
    trajectory: Any = field(repr=False)
    runs: dict[str, Any] = field(repr=False, default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers (no arrays of samples)."""
        return {
            "times": self.times.tolist(),
            "w1": {k: v.tolist() for k, v in self.w1.items()},
            "jsd_to_target": self.jsd_to_target.tolist(),
            "gan_minus_particles": self.gan_minus_particles,
            "gradient_identity": self.gradient_identity,
            "study": self.study,
        }


def jsd_comparison(
    target: Any = None,
    initial: Any = None,
    mesh: Any = None,
    *,
    epsilon: float = 0.1,
    steps: int = 50,
    n_particles: int = 1000,
    discriminator_steps: int = 5,
    lr_discriminator: float = 0.01,
    batch_size: int = 256,
    n_data: int = 20_000,
    hidden: Sequence[int] = (32, 32),
    generator_steps: int = 5,
    particle_counts: Sequence[int] = (250, 1000, 4000),
    discriminator_step_counts: Sequence[int] = (1, 5, 20),
    epsilons: Sequence[float] = (0.2, 0.1, 0.05),
    seed: int = 0,
    device: Any = None,
    progress: Progress = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
) -> JSDComparison:
    r"""GAN, Algorithm 2 and the particle generator against the JSD flow (paper 002).

    The PDE :math:`v_t = \tfrac12\Delta_\mu\ln(1+v)` (:class:`gan_pde.flows.JSDFlow`,
    Crank–Nicolson with step ε/2) runs from ``initial`` towards ``target``; the networks
    start from the same law: the particle table is a sample of ``initial``, the network
    generator of Algorithm 2 is :math:`G(z) = m + sz + \mathrm{MLP}(z)` with z ~ N(0, 1), the
    mean m and standard deviation s of the Gaussian ``initial`` and a zero output layer, so
    that it starts at ρ_0 exactly.  All runs use the same discriminator architecture (``hidden``,
    tanh), Adam with ``lr_discriminator``, and t = kε.

    Parameters
    ----------
    target, initial, mesh
        1D target density, 1D Gaussian initial law and mesh (default: ½N(−2,1) + ½N(2,1),
        N(0,1), [−10, 10] with 400 cells).
    epsilon, steps
        ε and the number of iterations (final time ε·steps).
    n_particles, discriminator_steps, lr_discriminator, batch_size, n_data, hidden
        Of the main runs.
    generator_steps
        Regression steps (Adam, learning rate 0.01) of the network generator per iteration.
    particle_counts, discriminator_step_counts, epsilons
        The study: particle runs with one option changed (ε changes with steps = T/ε).
    seed, device, progress
        Seed of every run; torch device; optional ``callback(message)``.
    checkpoint
        A folder in which the PDE and FEM-particle solve (``jsd_pde.ckpt.npz``) and every
        network training (``jsd_particles``, ``jsd_gan``, ``jsd_algorithm2``,
        ``jsd_study_<option>_<value>``) keep a checkpoint while they run; the files of
        finished parts stay, so that ``resume=True`` takes them back without a step and
        continues the interrupted one.
    checkpoint_interval, checkpoint_steps
        How often each part writes its checkpoint (seconds of wall time; steps).
    resume
        Continue from the checkpoints in ``checkpoint``: the result equals that of an
        uninterrupted call.

    Returns
    -------
    JSDComparison
    """
    import gan_pde as gp
    from gan_pde.flows import JSDFlow, simulate_particles
    from gan_pde.nn import MLP, gradient_identity, train_algorithm2, train_gan, train_particles
    from gan_pde.nn._torch import require_torch

    torch = require_torch()
    default_target, default_initial, default_mesh = _default_jsd_problem()
    target = default_target if target is None else target
    initial = default_initial if initial is None else initial
    mesh = default_mesh if mesh is None else mesh
    if getattr(target, "dim", None) != 1 or getattr(initial, "dim", None) != 1:
        msg = "jsd_comparison compares in 1D: target and initial must be 1D densities"
        raise InvalidInputError(msg)
    if not hasattr(initial, "mean") or not hasattr(initial, "cov"):
        msg = (
            "initial must be a gan_pde Gaussian (the network generator starts at its law); "
            f"got {type(initial).__name__}"
        )
        raise InvalidInputError(msg)
    steps = as_positive_int(steps, "steps")
    epsilon = as_positive(epsilon, "epsilon")
    t_final = epsilon * steps
    say = progress or (lambda _message: None)
    part = _checkpoint_options(checkpoint, checkpoint_interval, checkpoint_steps, resume)

    def disc() -> Any:
        return MLP(1, 1, hidden=tuple(hidden))

    save = np.unique(np.round(np.linspace(0, steps, min(11, steps + 1))).astype(int))
    times = save * epsilon
    flow = JSDFlow(target, initial, mesh)
    x0 = initial.sample(n_particles, rng=np.random.default_rng(seed))
    say("PDE and FEM-driven particles")
    fem = simulate_particles(
        flow,
        x0,
        t_final,
        epsilon / 2.0,
        save_times=times,
        scheme="crank-nicolson",
        **part("jsd_pde"),
    )
    trajectory = fem.flow
    common = dict(
        discriminator_steps=discriminator_steps,
        lr_discriminator=lr_discriminator,
        optimizer="adam",
        batch_size=batch_size,
        n_data=n_data,
        steps=steps,
        save_steps=save.tolist(),
        seed=seed,
        device=device,
    )
    runs: dict[str, Any] = {}
    say("particle generator (Algorithm 2 with a table)")
    runs["particles"] = train_particles(
        target, x0, epsilon=epsilon, discriminator=disc(), **common, **part("jsd_particles")
    )
    say("GAN algorithm on the same table")
    runs["gan"] = train_gan(
        target,
        generator=gp.nn.ParticleGenerator(x0),
        discriminator=disc(),
        lr_generator=epsilon * n_particles / 2.0,
        generator_optimizer="sgd",
        **common,
        **part("jsd_gan"),
    )
    say("Algorithm 2 with a network generator")
    generator = _GaussianStart(initial, MLP(1, 1, hidden=tuple(hidden), output_scale=0.0))
    runs["algorithm2"] = train_algorithm2(
        target,
        epsilon=epsilon,
        generator=generator,
        discriminator=disc(),
        generator_steps=generator_steps,
        lr_generator=0.01,
        n_eval=n_particles,
        **common,
        **part("jsd_algorithm2"),
    )
    distances = {
        name: distances_over_time(run, trajectory, metrics=("w1",))["w1"]
        for name, run in runs.items()
    }
    distances["fem_particles"] = np.array(
        [
            gp.flows.wasserstein_1d(p[:, 0], u)
            for p, u in zip(fem.positions, trajectory.densities, strict=True)
        ]
    )
    gan_diff = float(np.abs(runs["gan"].samples - runs["particles"].samples).max())
    final = runs["algorithm2"]
    d_params = {
        k.split("/", 1)[1]: torch.as_tensor(v[-1])
        for k, v in final.parameters.items()
        if k.startswith("D/")
    }
    g_params = {
        k.split("/", 1)[1]: torch.as_tensor(v[-1])
        for k, v in final.parameters.items()
        if k.startswith("G/")
    }
    z = torch.as_tensor(initial.sample(512, rng=np.random.default_rng(seed + 1)))
    identity = gradient_identity(disc(), d_params, generator, g_params, z, epsilon=epsilon)
    relative = identity["max_abs_difference"] / identity["max_abs_gradient"]
    study: dict[str, dict[str, list[float]]] = {}
    for name, values in (
        ("n_particles", particle_counts),
        ("discriminator_steps", discriminator_step_counts),
        ("epsilon", epsilons),
    ):
        entry: dict[str, list[float]] = {"values": [], "mean_w1": [], "final_w1": []}
        for value in values:
            say(f"study {name} = {value}")
            options = dict(common)
            eps, n = epsilon, n_particles
            if name == "n_particles":
                n = int(value)
            elif name == "discriminator_steps":
                options["discriminator_steps"] = int(value)
            else:
                eps = float(value)
                options["steps"] = max(1, round(t_final / eps))
                options["save_steps"] = 11
            start = initial.sample(n, rng=np.random.default_rng(seed))
            run = train_particles(
                target,
                start,
                epsilon=eps,
                discriminator=disc(),
                **options,
                **part(f"jsd_study_{name}_{value:g}"),
            )
            d = distances_over_time(run, trajectory, metrics=("w1",))["w1"]
            entry["values"].append(float(value))
            entry["mean_w1"].append(float(np.mean(d)))
            entry["final_w1"].append(float(d[-1]))
        study[name] = entry
    return JSDComparison(
        times=times,
        w1=distances,
        jsd_to_target=np.asarray(trajectory.jsd),
        gan_minus_particles=gan_diff,
        gradient_identity=float(relative),
        study=study,
        trajectory=trajectory,
        runs=runs,
    )


class _GaussianStart:
    """Generator z ↦ m + s z + net(z): the push-forward of N(0, 1) is N(m, s²) while net = 0."""

    def __init__(self, initial: Any, net: Any):
        self.mean = float(np.asarray(initial.mean).ravel()[0])
        self.std = float(np.sqrt(np.asarray(initial.cov).ravel()[0]))
        self.net = net
        self.in_dim, self.out_dim = 1, 1

    def init(self, generator: Any, *, dtype: Any = None, device: Any = None) -> dict[str, Any]:
        return self.net.init(generator, dtype=dtype, device=device)

    def __call__(self, params: dict[str, Any], z: Any) -> Any:
        return self.mean + self.std * z + self.net(params, z)


def measured_decay_rate(times: Any, d_norm2: Any, *, drop: float = 1e-5) -> float:
    r"""Decay rate η of :math:`\|D(t)\|^2 \sim e^{2\eta t}` measured on a training record.

    The upper envelope :math:`E(t) = \max_{s \ge t}\|D(s)\|^2` removes the oscillation of
    complex modes; η is half the least-squares slope of :math:`\ln E` from the peak of
    :math:`\|D\|^2` (after the initial excitation of D from 0) until E has dropped by the
    factor ``drop`` (where the nonlinear remainder of the finite perturbation takes over)
    or the record ends; NaN when fewer than 3 points lie in that window (the peak comes at
    the end of the record: too short a run).

    Examples
    --------
    >>> t = np.linspace(0.0, 20.0, 401)
    >>> d2 = np.exp(-0.3 * t) * (1.0 + 0.5 * np.cos(t))
    >>> round(measured_decay_rate(t, d2), 2)
    -0.15
    """
    t = np.asarray(times, dtype=float)
    d = np.asarray(d_norm2, dtype=float)
    if t.shape != d.shape or t.ndim != 1 or t.size < 3 or not np.all(np.isfinite(d)):
        msg = (
            "times and d_norm2 must be finite 1D arrays of one length >= 3; "
            f"got shapes {t.shape} and {d.shape}"
        )
        raise InvalidInputError(msg)
    envelope = np.maximum.accumulate(d[::-1])[::-1]
    top = int(np.argmax(d))
    below = np.flatnonzero(envelope < envelope[top] * drop)
    end = int(below[0]) if below.size else d.size
    if end - top < 3:
        return math.nan
    slope = np.polyfit(t[top:end], np.log(np.maximum(envelope[top:end], np.finfo(float).tiny)), 1)[
        0
    ]
    return float(slope / 2.0)


def rankings_agree(predicted: Any, measured: Any, *, tie: float = 0.1) -> tuple[bool, list]:
    """Whether the measured rates order every pair of settings as the predicted ones do.

    Pairs whose predicted rates differ by at most ``tie`` times the largest |rate| count as
    ties and are not compared.  Returns the verdict and the disagreeing pairs (i, j).

    Examples
    --------
    >>> rankings_agree([0.0, -0.25, -0.25, -0.5], [-0.01, -0.2, -0.22, -0.4])
    (True, [])
    """
    p = np.asarray(predicted, dtype=float)
    m = np.asarray(measured, dtype=float)
    scale = tie * float(np.abs(p).max())
    bad = [
        (i, j)
        for i in range(p.size)
        for j in range(i + 1, p.size)
        if abs(p[i] - p[j]) > scale and np.sign(p[i] - p[j]) != np.sign(m[i] - m[j])
    ]
    return not bad, bad


@dataclass(frozen=True)
class LSGANComparison:
    r"""Near-equilibrium LSGAN training against the lGAN rates (:func:`lsgan_comparison`).

    Attributes
    ----------
    separation
        M of ½N(0,1) + ½N(M,1).
    xi_min
        FEM Poincaré constant of the mixture.
    names, parameters
        The five settings (α, β, γ) of paper 004, Figure 1.
    predicted_rates
        η from the FEM spectrum (:func:`gan_pde.lgan.decay_rate`).
    measured_rates
        η measured on :math:`\|D(t)\|^2_{\mu_n}` (:func:`measured_decay_rate`).
    ranking_agrees, disagreements
        :func:`rankings_agree` of the two.
    times, d_norm2
        The records, ``d_norm2`` of shape (5, steps).
    samples, feature_centers, feature_bandwidth, shift
        The data set (n, 1), the discriminator's Gaussian features (centres and width) and
        the initial displacement of the generator's particles.
    discriminator, run
        The :class:`~gan_pde.nn.FeatureNet` and the :class:`~gan_pde.nn.TrainingRun`
        (parameters ``D/c`` and ``G/x`` of the five settings at the saved steps).
    """

    separation: float
    xi_min: float
    names: tuple[str, ...]
    parameters: tuple[tuple[float, float, float], ...]
    predicted_rates: np.ndarray
    measured_rates: np.ndarray
    ranking_agrees: bool
    disagreements: list
    times: np.ndarray = field(repr=False)
    d_norm2: np.ndarray = field(repr=False)
    samples: np.ndarray | None = field(repr=False, default=None)
    feature_centers: np.ndarray | None = field(repr=False, default=None)
    feature_bandwidth: float = math.nan
    shift: float = math.nan
    discriminator: Any = field(repr=False, default=None)
    run: Any = field(repr=False, default=None)

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers."""
        return {
            "separation": self.separation,
            "xi_min": self.xi_min,
            "names": list(self.names),
            "parameters": [list(p) for p in self.parameters],
            "predicted_rates": self.predicted_rates.tolist(),
            "measured_rates": self.measured_rates.tolist(),
            "ranking_agrees": self.ranking_agrees,
            "disagreements": [list(p) for p in self.disagreements],
        }


def lsgan_comparison(
    separation: float,
    *,
    n_data: int = 200,
    features: int = 12,
    bandwidth_factor: float = 1.5,
    shift: float = 0.01,
    integrator: str = "heun",
    tau: float = 0.02,
    t_final: float = 30.0,
    seed: int = 0,
    device: Any = None,
    saves: int = 2,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
) -> LSGANComparison:
    r"""The five settings of paper 004's Figure 1 trained near equilibrium, vs lGAN.

    Data: n samples of ½N(0,1) + ½N(M,1).  Discriminator: a
    :class:`~gan_pde.nn.FeatureNet` of ``features`` Gaussian bumps (equispaced on the data
    range, width ``bandwidth_factor`` spacings) orthonormalised in :math:`L^2(\mu_n)`, with
    D ≡ 0 at the start.  Generator: a :class:`~gan_pde.nn.ParticleGenerator` on the data
    (latent = the data point, G_* = identity) displaced by ``shift`` (v₀ = const, as in
    :func:`gan_pde.spectral.lgan_system.mixture_experiment`), moving with
    ``generator_speed = n`` so that its parameter flow is the :math:`L^2(\mu_n)` velocity
    of (6).  With these, parameter training is a Galerkin discretisation of the lGAN system
    (6) with the gradient penalty, and the losses' α, β and γ are those of (22).  All five
    settings train in one vmapped call (:func:`gan_pde.nn.train_lsgan` with ``runs=5``)
    with the ODE-GAN ``integrator`` (Heun, as in the paper) and step τ.

    Parameters
    ----------
    separation
        M > 0 (the paper uses 3 and 4).
    n_data, features, bandwidth_factor, shift
        Data size, discriminator features, their width, initial displacement.
    integrator, tau, t_final
        Stepper, step and length of the runs.
    seed, device
        Seed of the data; torch device.
    saves
        Number of equispaced saved steps (parameters of D and G in ``run``), >= 2.
    checkpoint
        A folder in which the training keeps a checkpoint ``lsgan_M<separation>.ckpt.npz``
        while it runs (:func:`gan_pde.nn.train_lsgan`; the FEM spectrum of the mixture is
        recomputed on a resume).
    checkpoint_interval, checkpoint_steps
        How often it writes the checkpoint (seconds of wall time; steps).
    resume
        Continue from the checkpoint in ``checkpoint``: the result equals that of an
        uninterrupted call.

    Returns
    -------
    LSGANComparison
    """
    import gan_pde as gp
    from gan_pde.nn import FeatureNet, ParticleGenerator, train_lsgan
    from gan_pde.spectral.lgan_system import mixture_experiment

    separation = as_positive(separation, "separation")
    if not (math.isfinite(t_final) and math.isfinite(tau) and 0 < tau < t_final):
        msg = f"need 0 < tau < t_final; got tau={tau!r}, t_final={t_final!r}"
        raise InvalidInputError(msg)
    part = _checkpoint_options(checkpoint, checkpoint_interval, checkpoint_steps, resume)
    pde = mixture_experiment(separation, t_final=1.0, tau=0.05, cells=120)
    rho = gp.GaussianMixture(means=[[0.0], [separation]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    x = rho.sample(n_data, rng=np.random.default_rng(seed))
    centers = np.linspace(x.min(), x.max(), features)
    disc = FeatureNet(centers, bandwidth=bandwidth_factor * float(centers[1] - centers[0]), data=x)
    alpha, beta, gamma = (list(v) for v in zip(*pde.parameters, strict=True))
    steps = max(3, round(t_final / tau))
    run = train_lsgan(
        x,
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        runs=len(alpha),
        discriminator=disc,
        generator=ParticleGenerator(x + shift),
        latent="data",
        integrator=integrator,
        lr=tau,
        steps=steps,
        generator_speed=float(n_data),
        n_eval=n_data,
        save_steps=saves,
        device=device,
        seed=seed,
        **part(f"lsgan_M{separation:g}"),
    )
    d_norm2 = run.losses["d_norm2"]
    times = tau * np.arange(1, steps + 1)
    measured = np.array([measured_decay_rate(times, d) for d in d_norm2])
    agree, bad = rankings_agree(pde.predicted_rates, measured)
    return LSGANComparison(
        separation=float(separation),
        xi_min=pde.xi_min,
        names=pde.names,
        parameters=pde.parameters,
        predicted_rates=pde.predicted_rates,
        measured_rates=measured,
        ranking_agrees=agree,
        disagreements=bad,
        times=times,
        d_norm2=d_norm2,
        samples=x,
        feature_centers=centers,
        feature_bandwidth=float(disc.bandwidth),
        shift=float(shift),
        discriminator=disc,
        run=run,
    )


@dataclass(frozen=True)
class WGANComparison:
    r"""WGAN with clipping (N neurons, torch) against the mean-field PDE (:func:`wgan_comparison`).

    Attributes
    ----------
    widths
        The neuron counts N.
    times
        Saved times :math:`t = nh/N`.
    w2
        ``"mu/<axis>"`` / ``"nu/<axis>"`` -> array (len(widths), len(times)): exact 1D
        :math:`W_2` between the empirical marginal of the trained neurons and the PDE
        marginal on each free axis (:func:`gan_pde.meanfield.particles.w2_to_cells`),
        averaged over the runs.
    slopes
        Fitted log–log slope against N of W₂ averaged over the runs and the saved times
        t > 0 (t = 0 is the sampling of the initial law alone) per axis (−1/2 is the
        Monte-Carlo rate of an empirical law; NaN for a single N or no t > 0).
    wall_pde
        ν mass in the wall layer of Q (the boundary cells) of the PDE, (len(times),).
    wall_networks
        Share of critic neurons in the wall layer (inside Q, within ``wall_layer`` of its
        wall; default one cell, the layer of ``wall_pde``), (len(widths), len(times)),
        averaged over the runs.
    pde
        The :class:`gan_pde.meanfield.MeanFieldTrajectory`.
    w2_runs, wall_runs
        The same per run: arrays (len(widths), runs, len(times)) (runs = 1 for a single
        run).
    """

    widths: tuple[int, ...]
    times: np.ndarray
    w2: dict[str, np.ndarray]
    slopes: dict[str, float]
    wall_pde: np.ndarray
    wall_networks: np.ndarray
    pde: Any = field(repr=False)
    w2_runs: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    wall_runs: np.ndarray | None = field(repr=False, default=None)

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers."""
        return {
            "widths": list(self.widths),
            "times": self.times.tolist(),
            "w2": {k: v.tolist() for k, v in self.w2.items()},
            "slopes": self.slopes,
            "wall_pde": self.wall_pde.tolist(),
            "wall_networks": self.wall_networks.tolist(),
        }


def _default_wgan_model(cells: int = 80) -> Any:
    """The default model of :func:`wgan_comparison` with ``cells`` cells per free axis."""
    import gan_pde as gp
    from gan_pde.meanfield import WGANMeanField

    return WGANMeanField(
        data=gp.GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3]),
        generator={"alpha": (-3.0, 3.0, cells), "beta": 1.0, "gamma": 0.0},
        discriminator={"a": (-1.0, 1.0, cells), "b": 1.0, "c": 0.0},
        mu_in=lambda alpha: np.exp(-((alpha - 1.0) ** 2) / 0.1),
        nu_in=lambda a: np.exp(-((a - 0.3) ** 2) / 0.05),
    )


def wgan_comparison(
    model: Any = None,
    *,
    widths: Sequence[int] = (50, 200, 800),
    h: float = 1.0,
    t_final: float = 2.0,
    saves: int = 5,
    batch_size: int | None = 1,
    seed: int = 0,
    device: Any = None,
    runs: int | None = None,
    wall_layer: float | None = None,
    n_data: int = 10_000,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
) -> WGANComparison:
    r"""Train the clipped WGAN of paper 001 with N neurons and compare with its mean field.

    The PDE (7)–(8) is :class:`gan_pde.meanfield.WGANMeanField` (finite volumes); the
    networks are :func:`gan_pde.nn.train_wgan` with N = M neurons, step h (PDE time h/N per
    step), n_c = γ_c critic steps per generator step (γ_c an integer), the model's
    frozen components frozen, and initial neurons drawn i.i.d. from the model's initial
    laws μ_in, ν_in.  For each N: :math:`W_2` between the empirical marginals of the neurons
    and the PDE marginals over time, and the share of critic neurons in the wall layer of
    Q (the cells next to ±1, where clipping concentrates mass) beside the PDE's wall mass.

    Parameters
    ----------
    model
        A ``WGANMeanField`` with ``energy="wgan"``, K = L = 1 (default: data
        ½N(−1, 0.3²) + ½N(1, 0.3²), α ∈ [−3, 3] and a ∈ Q free on 80 cells each,
        β = b = 1, γ = c = 0, μ_in ∝ exp(−(α−1)²/0.1), ν_in ∝ exp(−(a−0.3)²/0.05): the
        critic's a-law is pushed against the wall a = 1).
    widths
        The neuron counts N.
    h, t_final, saves
        Learning rate, final PDE time, number of saved times.
    batch_size
        Samples of z and x per step (1: the paper's SGD; None: the whole data set).
    seed, device
        Seed of the initial neurons and of training; torch device.
    runs
        None for one run per N; R for R independent runs per N (each draws its own
        initial neurons; training seeds seed, …, seed + R − 1), trained in one vmapped
        call: ``w2_runs`` and ``wall_runs`` hold them, ``w2`` and ``wall_networks`` their
        means (the spread gives the Monte-Carlo standard errors).
    wall_layer
        Width of the wall layer of Q in which the critic neurons are counted (default: one
        cell of the model's discriminator grid, the layer of ``wall_pde``).
    n_data
        Size of the data set drawn from the model's data law (shared by all runs and
        widths: its sampling error, ~n_data^-1/2 in the velocities, is common to them).
    checkpoint
        A folder in which the PDE solve (``wgan_pde.ckpt.npz``) and each training
        (``wgan_N<width>.ckpt.npz``) keep a checkpoint while they run; the files of
        finished parts stay, so that ``resume=True`` takes them back without a step.
    checkpoint_interval, checkpoint_steps
        How often each part writes its checkpoint (seconds of wall time; steps).
    resume
        Continue from the checkpoints in ``checkpoint``: the result equals that of an
        uninterrupted call.

    Returns
    -------
    WGANComparison
    """
    from gan_pde.meanfield.particles import sample_law, w2_to_cells
    from gan_pde.nn import train_wgan

    model = _default_wgan_model() if model is None else model
    gamma_c = float(getattr(model, "gamma_c", math.nan))
    if getattr(model, "energy_kind", None) != "wgan" or not gamma_c.is_integer() or gamma_c < 1:
        msg = "model must be a WGANMeanField with energy='wgan' and an integer gamma_c >= 1"
        raise InvalidInputError(msg)
    if not widths or any(not isinstance(n, int) or n < 2 for n in widths):
        msg = f"widths must be a non-empty list of ints >= 2; got {widths!r}"
        raise InvalidInputError(msg)
    part = _checkpoint_options(checkpoint, checkpoint_interval, checkpoint_steps, resume)
    times = np.linspace(0.0, t_final, saves)
    pde = model.solve(t_final, save_times=times, **part("wgan_pde"))
    rng = np.random.default_rng(seed)
    data = model.data if hasattr(model.data, "sample") else np.asarray(model.data, dtype=float)
    gen, dis = model.generator, model.discriminator
    frozen = [f"G/{'abc'[k]}" for k in range(3) if k not in gen.free]
    frozen += [f"D/{'abc'[k]}" for k in range(3) if k not in dis.free]
    if runs is not None:
        runs = as_positive_int(runs, "runs")
    count = 1 if runs is None else runs
    w2: dict[str, list] = {}
    walls = []
    grid = dis.grid
    layer = min(grid.widths) if hasattr(grid, "widths") else 2.0 / grid.cells[0]
    if wall_layer is not None:
        if not (math.isfinite(wall_layer) and 0.0 < wall_layer <= 1.0):
            msg = f"wall_layer must be a width in (0, 1]; got {wall_layer!r}"
            raise InvalidInputError(msg)
        layer = float(wall_layer)
    for n in widths:
        full: dict[str, list] = {"G": [], "D": []}
        for _ in range(count):
            for key, neurons, masses in (("G", gen, model.mu_in), ("D", dis, model.nu_in)):
                free = sample_law(masses, neurons.grid, n, rng)
                cols = [
                    free[:, neurons.free.index(k)]
                    if k in neurons.free
                    else np.full(n, neurons.frozen[k])
                    for k in range(3)
                ]
                full[key].append(np.stack(cols, axis=1))
        inits = {key: np.stack(v) if runs is not None else v[0] for key, v in full.items()}
        steps = max(1, round(t_final * n / h))
        save = np.round(times * n / h).astype(int)
        run = train_wgan(
            data,
            width=n,
            h=t_final * n / steps,
            steps=steps,
            batch_size=batch_size,
            generator_init=inits["G"],
            critic_init=inits["D"],
            frozen=frozen,
            critic_steps=int(gamma_c),
            save_steps=np.unique(np.clip(save, 0, steps)).tolist(),
            n_data=n_data,
            n_eval=200,
            seed=seed,
            device=device,
            runs=runs,
            **part(f"wgan_N{n}"),
        )
        saved = len(run.steps)

        def neurons_of(name: str, run: Any = run, n: int = n, saved: int = saved) -> np.ndarray:
            return run.parameters[name].reshape(count, saved, n)

        for key, neurons, laws, names in (
            ("mu", gen, pde.mu, pde.mu_names),
            ("nu", dis, pde.nu, pde.nu_names),
        ):
            prefix = "G" if key == "mu" else "D"
            for axis, k in enumerate(neurons.free):
                g = neurons.grid
                edges = np.linspace(g.lower[axis], g.upper[axis], g.cells[axis] + 1)
                others = tuple(a + 1 for a in range(laws.ndim - 1) if a != axis)
                marginal = laws.sum(axis=others) if others else laws
                points = neurons_of(f"{prefix}/{'abc'[k]}")
                w2.setdefault(f"{key}/{names[axis]}", []).append(
                    [
                        [
                            math.sqrt(w2_to_cells(points[r, j], edges, marginal[j]))
                            for j in range(saved)
                        ]
                        for r in range(count)
                    ]
                )
        free_d = [np.abs(neurons_of(f"D/{'abc'[k]}")) for k in dis.free]
        # inside Q and within one cell of its wall (a neuron outside Q is in no layer of Q)
        in_layer = np.any([(v >= 1.0 - layer) & (v <= 1.0) for v in free_d], axis=0)
        walls.append(in_layer.mean(axis=2))
    per_run = {k: np.array(v) for k, v in w2.items()}
    arrays = {k: v.mean(axis=1) for k, v in per_run.items()}
    positive = times > 0.0
    slopes = {
        k: float(np.polyfit(np.log(widths), np.log(v[:, positive].mean(axis=1)), 1)[0])
        if len(widths) > 1 and positive.any()
        else math.nan
        for k, v in arrays.items()
    }
    wall_runs = np.array(walls)
    return WGANComparison(
        widths=tuple(widths),
        times=times,
        w2=arrays,
        slopes=slopes,
        wall_pde=np.asarray(pde.wall_mass),
        wall_networks=wall_runs.mean(axis=1),
        pde=pde,
        w2_runs=per_run,
        wall_runs=wall_runs,
    )
