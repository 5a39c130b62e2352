"""MkDocs hook: ``docs/gallery.md``, every figure the ``gan-pde`` commands write.

Each figure is drawn at build time by the command's own figure function (the thin
``_plot*`` wrappers of :mod:`gan_pde.commands`, which call :mod:`gan_pde.plotting`) on a
small problem computed by the package, so the gallery shows exactly what the commands
write and nothing is committed.  Figures of commands that train networks (``train``,
``compare``, the schedule of ``sde``) are drawn on *stand-in* results: samples drawn from
the PDE solution and model curves of the right shape, since training at build time would
take minutes.  The whole gallery builds in a few seconds (``python docs/hooks/gallery.py``
prints the time of each entry).

The page ``gallery.md`` holds the marker ``<!-- gallery -->``; :func:`on_page_markdown`
replaces it with one section per command and :func:`on_files` adds the PNGs as generated
files (``img/gallery/<command>-<file>``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MARKER = "<!-- gallery -->"
FOLDER = "img/gallery"


@dataclass(frozen=True)
class Entry:
    """One figure: the command that writes it, its file name, what it shows, the
    :mod:`gan_pde.plotting` function that draws it and whether its data are a stand-in."""

    command: str
    file: str
    caption: str
    function: str
    stand_in: bool = False

    @property
    def site_path(self) -> str:
        return f"{FOLDER}/{self.command}-{self.file}"


# ----------------------------------------------------------------------------------------
# small problems, each drawn by the command's own figure functions


def _mixture_1d():
    import gan_pde as gp

    return gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])


def _spectrum(out: Path) -> None:
    import gan_pde as gp
    from gan_pde.plotting import plot_spectrum

    rho = _mixture_1d()
    mesh = gp.mesh.interval(-12.0, 12.0, n=200)
    spec = gp.weighted_laplacian_spectrum(rho, mesh, k=4, element="P2")
    plot_spectrum(spec, rho, out / "spectrum-1d.png")
    rho2 = gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.5]], stds=[0.8, 0.8], weights=[0.5, 0.5])
    mesh = gp.mesh.rectangle((-5.0, 5.0), (-4.5, 5.0), n=(24, 24))
    spec2 = gp.weighted_laplacian_spectrum(rho2, mesh, k=4, element="P1")
    plot_spectrum(spec2, rho2, out / "spectrum-2d.png")


def _jsd_flow(out: Path) -> None:
    import gan_pde as gp
    from gan_pde.commands import jsd_flow

    flow = gp.JSDFlow(
        _mixture_1d(), gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-10.0, 10.0, n=200)
    )
    trajectory = flow.solve(5.0, 0.1, save_times=[0.0, 0.5, 1.0, 2.0, 5.0])
    jsd_flow._plot_densities(flow, trajectory, out / "densities.png")
    jsd_flow._plot_divergences(trajectory, out / "divergences.png")
    target = gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.0]], stds=[0.7, 0.7])
    flow2 = gp.JSDFlow(
        target,
        gp.Gaussian(mean=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]]),
        gp.mesh.rectangle((-5.0, 5.0), (-4.0, 4.0), n=(20, 16)),
    )
    trajectory2 = flow2.solve(2.0, 0.25, save_times=[0.0, 0.5, 2.0])
    jsd_flow._plot_densities(flow2, trajectory2, out / "densities-2d.png")


_LGAN_TOML = """
[density]
kind = "mixture"
means = [[-2.0], [2.0]]
stds = [1.0, 1.0]
weights = [0.5, 0.5]
[domain]
kind = "interval"
bounds = [[-10.0, 10.0]]
cells = [40]
[lgan]
alpha = 0.25
beta = -0.5
gamma = 0.0
[integrator]
scheme = "{scheme}"
tau = {tau}
steps = {steps}
"""


def _lgan(out: Path) -> None:
    from gan_pde.commands import lgan

    for scheme, tau, steps, name in (
        ("crank-nicolson", 0.05, 1000, "lgan.png"),
        ("rk4", 0.1, 500, "lgan-rk4.png"),
    ):
        config_file = out / f"{name}.toml"
        config_file.write_text(_LGAN_TOML.format(scheme=scheme, tau=tau, steps=steps))
        config = lgan.load_config(str(config_file))
        lgan._plot(lgan.analyse(config), config["integrator"], str(out / name))


_MEANFIELD_TOML = """
[toy]
gamma_c = 1.0
starts = [[2.0, 0.5], [-3.0, -1.0], [0.5, 0.0]]
t_final = 40.0
[model]
gamma_c = 5.0
data_means = [-1.0, 1.0]
data_stds = [0.3, 0.3]
[generator]
free = ["alpha", "gamma"]
lower = [-3.0, -3.0]
upper = [3.0, 3.0]
cells = [24, 24]
values = [0.0, 1.0, 0.0]
init_mean = [1.0, 0.0]
init_std = [0.3, 0.3]
[discriminator]
free = ["a", "b"]
lower = [-1.0, -1.0]
upper = [1.0, 1.0]
cells = [24, 24]
values = [0.0, 0.0, 0.0]
init_mean = [0.3, 0.2]
init_std = [0.15, 0.15]
[solver]
t_final = 4.0
save_times = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
"""


def _meanfield(out: Path) -> None:
    from gan_pde.commands import meanfield
    from gan_pde.meanfield import ToyWGAN

    config_file = out / "meanfield.toml"
    config_file.write_text(_MEANFIELD_TOML)
    config = meanfield.load_config(config_file)
    toy = ToyWGAN(gamma_c=config.toy.gamma_c)
    paths = [toy.simulate(g0=g, omega0=w, t_final=config.toy.t_final) for g, w in config.toy.starts]
    solver = config.solver
    trajectory = meanfield.build_model(config).solve(
        solver.t_final, save_times=solver.save_times, cfl=solver.cfl
    )
    meanfield._plot_laws(trajectory, out / "laws.png")
    meanfield._plot_phase(toy, paths, out / "phase.png")
    meanfield._plot_energy(trajectory, out / "energy.png")


def _dual(out: Path) -> None:
    from gan_pde.commands import dual
    from gan_pde.dual import (
        ParticleGame,
        bimodal_target,
        collapse_study,
        convergence_study,
        edi_defect,
        oscillation_study,
        simulate,
        tanh_game,
    )

    x_r = [1.0, -0.5]
    oscillation = oscillation_study(x_r=x_r, taus=[0.2, 0.1, 0.05], t_final=20.0)
    dual._plot_oscillation(oscillation, x_r, out / "oscillation.png")
    game = tanh_game([0.5], damping=0.5)
    taus = [0.04, 0.02, 0.01]
    convergence = convergence_study(game, [1.0], [-0.5], t_final=1.0, taus=taus)
    edi = np.array(
        [
            edi_defect(game, simulate(game, [1.0], [-0.5], tau=t, n_steps=round(1.0 / t))).total
            for t in convergence.taus
        ]
    )
    dual._plot_convergence(convergence, edi, out / "convergence.png")
    particle_game = ParticleGame(
        target=bimodal_target(32, separation=3.0, std=0.3),
        centers=np.linspace(-3.0, 3.0, 13),
        width=0.5,
        weight_decay=0.2,
    )
    initial = np.linspace(0.2, 0.8, 32)
    collapse = collapse_study(
        particle_game, initial, taus=[0.1, 0.4, 1.6], t_final=15.0, bisections=2
    )
    paths = {
        tau: particle_game.simulate(
            initial, np.zeros(particle_game.n_features), tau=tau, n_steps=round(15.0 / tau)
        )
        for tau in (0.4, 1.6)
    }
    dual._plot_collapse(collapse, paths, out / "collapse.png")


def _sde(out: Path) -> None:
    from gan_pde.commands import sde
    from gan_pde.mesh import rectangle
    from gan_pde.sde.fokker_planck import stationary_fokker_planck
    from gan_pde.sde.quadratic import location_gan, location_scale_wgan, moments_of
    from gan_pde.sde.studies import exact_weak_orders

    rng = np.random.default_rng(7)
    x, z = rng.normal(1.0, 0.5, 8), rng.normal(0.0, 1.0, 8)
    game = location_scale_wgan(x, z, weight_decay=0.5)
    study = exact_weak_orders(
        game, [0.4, -0.1, -0.6], [0.2, 0.1, 0.05, 0.025], batch_size=2, t_final=1.0
    )
    sde._plot_weak_orders(study, out / "weak_orders.png")
    game = location_gan(x, z, curvature=0.5, weight_decay=1.0)
    mean, cov = moments_of(game.stationary_moments("alt", eta=0.5, batch_size=1))
    b, a, div = game.fokker_planck_coefficients("alt", eta=0.5, batch_size=1)
    half = 6 * np.sqrt(np.diag(cov))
    mesh = rectangle(
        (mean[0] - half[0], mean[0] + half[0]), (mean[1] - half[1], mean[1] + half[1]), n=(24, 24)
    )
    fem = stationary_fokker_planck(b, a, mesh, divergence=div)
    samples = rng.multivariate_normal(mean, cov, size=400)  # stand-in for the torch long run
    sde._plot_invariant(fem, mean, cov, samples, out / "invariant.png")
    steps = np.arange(600)
    lr = 0.1 * 0.5 ** np.floor(steps / 150)  # stand-in for train_sml with the FDR2 schedule
    noise = np.exp(rng.normal(0.0, 0.3, (2, steps.size)))
    scheduled = {"lr": lr, "grad_norm": np.sqrt(lr / 0.1) * 0.3 * noise[0]}
    constant = {"lr": np.full(steps.size, 0.1), "grad_norm": 0.3 * noise[1]}
    sde._plot_schedule(scheduled, constant, out / "schedule.png")


def _sweep(out: Path) -> None:
    from gan_pde.commands import sweep as command
    from gan_pde.sweep import TASKS, sweep

    grid = {"separation": [0.0, 2.0, 4.0, 6.0], "cells": [60, 120], "element": ["P2"]}
    result = sweep(TASKS["poincare_constant"], grid, scheduler="synchronous")
    command._plot(result, grid, out / "sweep.png")


def _pde_samples(trajectory, count: int, seed: int) -> np.ndarray:
    """(n_saved, count, 1) draws from u(t): the stand-in for generated samples."""
    rng = np.random.default_rng(seed)
    return np.stack([u.sample(count, rng) for u in trajectory.densities])


def _jsd_stand_in():
    import gan_pde as gp
    from gan_pde.compare import distances_over_time
    from gan_pde.nn.run import TrainingRun

    target = _mixture_1d()
    flow = gp.JSDFlow(
        target, gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-10.0, 10.0, n=200)
    )
    times = np.linspace(0.0, 3.0, 7)
    trajectory = flow.solve(3.0, 0.1, save_times=times)
    steps = np.arange(300)
    rng = np.random.default_rng(1)
    runs = {}
    for seed, name in enumerate(("particles", "gan", "algorithm2", "fem_particles")):
        runs[name] = TrainingRun(
            algorithm=name,
            steps=(times / 0.1).round().astype(int),
            times=times,
            samples=_pde_samples(trajectory, 300, seed),
            parameters={},
            losses={
                "discriminator": 1.386 - 0.2 * np.exp(-steps / 80) + 0.02 * rng.normal(size=300),
                "generator": 0.69 + 0.1 * np.exp(-steps / 80) + 0.02 * rng.normal(size=300),
            },
            wall_time=0.0,
            device="cpu",
            seed=seed,
        )
    w1 = {
        name: distances_over_time(run, trajectory, metrics=("w1",))["w1"]
        for name, run in runs.items()
    }
    return target, trajectory, runs, w1


def _train(out: Path) -> None:
    from gan_pde.commands import train
    from gan_pde.compare import distances_over_time

    target, trajectory, runs, _ = _jsd_stand_in()
    run = runs["particles"]
    train._plot_losses(run, out / "losses.png")
    distances = distances_over_time(run, trajectory, metrics=("w1",))
    train._plot_overlay(run, trajectory, target, (-10.0, 10.0), distances, out)


def _compare(out: Path) -> None:
    from gan_pde.commands import compare
    from gan_pde.compare.experiments import JSDComparison, LSGANComparison, WGANComparison
    from gan_pde.meanfield import WGANMeanField
    from gan_pde.spectral.lgan import decay_rate
    from gan_pde.sweep import TASKS

    _, trajectory, runs, w1 = _jsd_stand_in()
    rng = np.random.default_rng(2)
    study = {
        name: {
            "values": values,
            "mean_w1": (0.2 / np.sqrt(np.arange(1, 4)) * rng.uniform(0.9, 1.1, 3)).tolist(),
            "final_w1": (0.15 / np.sqrt(np.arange(1, 4)) * rng.uniform(0.9, 1.1, 3)).tolist(),
        }
        for name, values in (
            ("n_particles", [125, 500, 2000]),
            ("discriminator_steps", [1, 5, 20]),
            ("epsilon", [0.2, 0.1, 0.05]),
        )
    }
    jsd = JSDComparison(
        times=trajectory.times,
        w1=w1,
        jsd_to_target=trajectory.jsd,
        gan_minus_particles=0.0,
        gradient_identity=0.0,
        study=study,
        trajectory=trajectory,
        runs=runs,
    )
    compare._plot_jsd(jsd, out)
    settings = (
        ("(a)", 0.25, -0.5, 0.0),
        ("(b)", 1.0, -0.5, 0.0),
        ("(c)", 0.25, -1.0, 0.0),
        ("(d)", 0.25, -0.5, 1.0),
        ("(e)", 2.0, -2.0, 0.5),
    )
    lsgan = []
    for separation in (3.0, 4.0):
        xi_min = TASKS["poincare_constant"](separation=separation, cells=80)["xi_min"]
        predicted = np.array(
            [decay_rate(xi_min, alpha=a, beta=b, gamma=g) for _, a, b, g in settings]
        )
        measured = predicted * rng.uniform(0.85, 1.15, predicted.size)
        times = np.linspace(0.0, 30.0, 120)
        lsgan.append(
            LSGANComparison(
                separation=separation,
                xi_min=xi_min,
                names=tuple(s[0] for s in settings),
                parameters=tuple(s[1:] for s in settings),
                predicted_rates=predicted,
                measured_rates=measured,
                ranking_agrees=True,
                disagreements=[],
                times=times,
                d_norm2=np.exp(2 * measured[:, None] * times) * (1 + 0.3 * np.cos(times)),
            )
        )
    compare._plot_lsgan(lsgan, out)
    model = WGANMeanField(
        data=_mixture_1d_wgan(),
        generator={"alpha": (-3.0, 3.0, 24), "beta": 1.0, "gamma": 0.0},
        discriminator={"a": (-1.0, 1.0, 24), "b": 1.0, "c": 0.0},
        mu_in=lambda alpha: np.exp(-((alpha - 1.0) ** 2) / 0.1),
        nu_in=lambda a: np.exp(-((a - 0.3) ** 2) / 0.05),
    )
    pde = model.solve(2.0, save_times=np.linspace(0.0, 2.0, 5))
    widths = (50, 200, 800)
    scale = 1 / np.sqrt(np.array(widths))[:, None]
    wgan = WGANComparison(
        widths=widths,
        times=pde.times,
        w2={
            "mu/alpha": 0.5 * scale * rng.uniform(0.8, 1.2, (3, 5)),
            "nu/a": 0.2 * scale * rng.uniform(0.8, 1.2, (3, 5)),
        },
        slopes={"mu/alpha": -0.5, "nu/a": -0.5},
        wall_pde=pde.wall_mass,
        wall_networks=pde.wall_mass + scale * rng.normal(0.0, 0.3, (3, 5)),
        pde=pde,
    )
    compare._plot_wgan(wgan, out)


def _mixture_1d_wgan():
    import gan_pde as gp

    return gp.GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3])


# ----------------------------------------------------------------------------------------
# the registry: command, file, caption, drawing function, builder

_STAND_IN = (
    "Stand-in data: no network is trained when the docs are built; the samples are draws "
    "from the PDE solution and the network curves are model curves of the right shape. "
)

ENTRIES: list[Entry] = [
    Entry(
        "spectrum",
        "spectrum-1d.png",
        "`gan-pde spectrum --plot FILE` on a 1D mesh: the first eigenfunctions of the "
        "weighted Laplacian over the shaded density (½N(−2, 1) + ½N(2, 1), P2, 200 cells).",
        "plot_spectrum / plot_eigenfunctions",
    ),
    Entry(
        "spectrum",
        "spectrum-2d.png",
        "The same on a 2D mesh: one panel per eigenfunction, symmetric colour scale with a "
        "colorbar, level sets of ρ as black lines (P1, 24 × 24 cells).",
        "plot_spectrum / plot_eigenfunctions",
    ),
    Entry(
        "jsd-flow",
        "densities.png",
        "`densities.png`, 1D: u(t) at the saved times over the shaded target ρ_d (200 cells).",
        "plot_densities",
    ),
    Entry(
        "jsd-flow",
        "densities-2d.png",
        "`densities.png`, 2D: one panel per saved time on a common colour scale, one "
        "colorbar; white lines: level sets of ρ_d (20 × 16 cells).",
        "plot_densities",
    ),
    Entry(
        "jsd-flow",
        "divergences.png",
        "`divergences.png`: JSD, KL and L¹ distance of u(t) to ρ_d at the saved times.",
        "plot_divergences",
    ),
    Entry(
        "lgan",
        "lgan.png",
        "`gan-pde lgan --plot FILE` (Crank–Nicolson, τ = 0.05, 40 cells): the eigenvalues "
        "zoomed on their own extent (the stability boundary of Crank–Nicolson is Re λ = 0), "
        "the scaled eigenvalues τλ in the whole stability region, and the decay of the run.",
        "plot_lgan_summary",
    ),
    Entry(
        "lgan",
        "lgan-rk4.png",
        "The same with RK4 and τ = 0.1: a bounded stability region.",
        "plot_lgan_summary",
    ),
    Entry(
        "meanfield",
        "laws.png",
        "`laws.png`: marginals of μ and ν over time, saved at the uneven times "
        "0, 0.25, 0.5, 1, 2, 4 and drawn at those times (white ticks), 24 × 24 cells.",
        "plot_meanfield_laws",
    ),
    Entry(
        "meanfield",
        "phase.png",
        "`phase.png`: the toy model's phase portrait with the level sets of E_γc and the "
        "walls |ω| = 1.",
        "plot_toy_phase",
    ),
    Entry(
        "meanfield",
        "energy.png",
        "`energy.png`: the energy and the ν mass at the wall.",
        "plot_meanfield_energy",
    ),
    Entry(
        "dual",
        "oscillation.png",
        "`oscillation.png`: r² over time per scheme and the long-time rates against τ "
        "(τ = 0.2, 0.1, 0.05 to t = 20).",
        "plot_dual_oscillation",
    ),
    Entry(
        "dual",
        "convergence.png",
        "`convergence.png`: Lemma 1, both schemes against the flow (7) and the EDI defect.",
        "plot_dual_convergence",
    ),
    Entry(
        "dual",
        "collapse.png",
        "`collapse.png`: the generator's spread against τ and the atoms below and above "
        "the collapse threshold (32 atoms).",
        "plot_dual_collapse",
    ),
    Entry(
        "sde",
        "weak_orders.png",
        "`weak_orders.png`: exact weak errors against η.",
        "plot_weak_orders",
    ),
    Entry(
        "sde",
        "invariant.png",
        "`invariant.png`: the FEM invariant density (24 × 24 cells) with the exact 2σ "
        "ellipse. The white points stand in for the torch long run: draws from the exact "
        "Gaussian.",
        "plot_invariant_density",
        stand_in=True,
    ),
    Entry(
        "sde",
        "schedule.png",
        "`schedule.png`: the FDR2 learning-rate schedule.",
        "plot_lr_schedule",
        stand_in=True,
    ),
    Entry(
        "sweep",
        "sweep.png",
        "`sweep.png`: ξ_min against the separation for two meshes; coinciding lines stay "
        "visible by marker and dash.",
        "plot_sweep",
    ),
    Entry(
        "train",
        "losses.png",
        "`losses.png`: the losses against the training step.",
        "plot_losses",
        stand_in=True,
    ),
    Entry(
        "train",
        "densities.png",
        "`densities.png`: histograms of the samples over u(t) of the JSD flow and ρ_d.",
        "plot_samples",
        stand_in=True,
    ),
    Entry(
        "train",
        "distance.png",
        "`distance.png`: W₁ of the samples to u(t).",
        "plot_distances",
        stand_in=True,
    ),
    Entry(
        "compare",
        "jsd_distance.png",
        "`jsd_distance.png`: W₁ of each run to u(t).",
        "plot_jsd_comparison",
        stand_in=True,
    ),
    Entry(
        "compare",
        "jsd_densities.png",
        "`jsd_densities.png`: samples of two runs over u(t).",
        "plot_jsd_comparison_samples",
        stand_in=True,
    ),
    Entry(
        "compare",
        "jsd_study.png",
        "`jsd_study.png`: W₁ against the particle count, discriminator steps and ε.",
        "plot_jsd_study",
        stand_in=True,
    ),
    Entry(
        "compare",
        "lsgan_decay.png",
        "`lsgan_decay.png`: ‖D(t)‖² of the five settings per separation M.",
        "plot_lsgan_decay",
        stand_in=True,
    ),
    Entry(
        "compare",
        "lsgan_rates.png",
        "`lsgan_rates.png`: measured against predicted rates; colour = M, marker = "
        "setting (the predictions are the package's FEM rates).",
        "plot_lsgan_rates",
        stand_in=True,
    ),
    Entry(
        "compare",
        "wgan.png",
        "`wgan.png`: W₂ of the neuron laws to the mean-field PDE per width N, and the "
        "critic mass at the wall (the PDE curve is a real solve on 24 cells).",
        "plot_wgan_comparison",
        stand_in=True,
    ),
]

BUILDERS: dict[str, Callable[[Path], None]] = {
    "spectrum": _spectrum,
    "jsd-flow": _jsd_flow,
    "lgan": _lgan,
    "meanfield": _meanfield,
    "dual": _dual,
    "sde": _sde,
    "sweep": _sweep,
    "train": _train,
    "compare": _compare,
}


def figures(commands: list[str] | None = None) -> tuple[dict[str, bytes], dict[str, float]]:
    """PNG bytes of every gallery figure by site path, and the seconds of each builder."""
    import matplotlib

    matplotlib.use("Agg")
    images: dict[str, bytes] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder, matplotlib.rc_context({"savefig.dpi": 100}):
        out = Path(folder)
        for command, build in BUILDERS.items():
            if commands is not None and command not in commands:
                continue
            target = out / command
            target.mkdir()
            start = time.perf_counter()
            build(target)
            seconds[command] = time.perf_counter() - start
            for entry in ENTRIES:
                if entry.command == command:
                    images[entry.site_path] = (target / entry.file).read_bytes()
    return images, seconds


def gallery_markdown() -> str:
    """The sections that replace :data:`MARKER`: one per command, one figure each."""
    lines: list[str] = []
    command = None
    for entry in ENTRIES:
        if entry.command != command:
            command = entry.command
            lines += [f"## gan-pde {command}", ""]
        functions = " / ".join(
            f"`gan_pde.plotting.{name.strip()}`" for name in entry.function.split("/")
        )
        caption = (_STAND_IN if entry.stand_in else "") + entry.caption
        lines += [
            f"### {entry.file}",
            "",
            caption + f" Drawn by {functions}.",
            "",
            f"[![{entry.command}: {entry.file}]({entry.site_path})]({entry.site_path})",
            "",
        ]
    return "\n".join(lines)


_CACHE: dict[str, bytes] = {}


def on_files(files, config):
    from mkdocs.structure.files import File

    images, _ = figures()
    _CACHE.clear()
    _CACHE.update(images)
    for path, content in images.items():
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 - the hook's signature
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, gallery_markdown())
    return markdown


if __name__ == "__main__":
    start = time.perf_counter()
    images, seconds = figures()
    for name, value in seconds.items():
        print(f"{name:10s} {value:6.2f} s")
    print(f"{len(images)} figures in {time.perf_counter() - start:.2f} s")
