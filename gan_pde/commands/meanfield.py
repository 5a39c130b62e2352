"""``gan-pde meanfield``: WGAN mean-field dynamics (paper 001) from a config.

Writes ``meanfield.npz`` (saved laws, energy, G and D over time, wall mass, toy paths),
``laws.png`` (marginals of μ and ν over time as heat maps), ``phase.png`` (the toy's (g, ω)
phase portrait with the level sets of E_γc and the wall |ω| = 1) and ``energy.png``, and
prints a one-line summary.

``--checkpoint PATH`` checkpoints the mean-field solve (the long part) at its save times,
at most every ``--checkpoint-every`` seconds (and after the last); ``--resume`` continues
an interrupted run from PATH to the result of an uninterrupted one.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde._arrays import as_non_negative
from gan_pde.commands._common import (
    Progress,
    add_common_options,
    output_folder,
    print_json,
    resume_command,
    say,
    set_interrupt_note,
    with_defaults,
    write_results,
)
from gan_pde.config import MAX_CELLS, bad_value, option, parse_config, read_config_text
from gan_pde.errors import ConfigError, InvalidInputError

NAME = "meanfield"
HELP = "WGAN mean-field dynamics (paper 001): laws, blow-up, toy phase portrait"


@dataclass(frozen=True)
class ToyConfig:
    """``[toy]``: the clipped toy of Section 3."""

    gamma_c: float = option("float", 1.0)
    starts: list = option("list[list[float]]", factory=lambda: [[2.0, 0.5], [0.3, 0.2]])
    t_final: float = option("float", 60.0)

    def validate(self, key) -> None:
        """ConfigError naming the key for a non-positive gamma_c or t_final, bad starts."""
        _positive(key, self, "gamma_c", "t_final")
        if any(len(start) != 2 for start in self.starts):
            raise bad_value(key("starts"), self.starts, "every start is a pair [g0, omega0]")


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: γ_c, energy and the data law P (1D Gaussian mixture)."""

    gamma_c: float = option("float", 1.0)
    energy: str = option("str", "wgan", choices=("wgan", "wgan-gp"))
    penalty: float = option("float", 10.0)
    data_means: list = option("list[float]", factory=lambda: [-1.0, 1.0])
    data_stds: list = option("list[float]", factory=lambda: [0.3, 0.3])
    data_weights: list = option("list[float]", None)

    def validate(self, key) -> None:
        """ConfigError naming the key for out-of-range model or data parameters."""
        _positive(key, self, "gamma_c")
        if not self.penalty >= 0:
            raise bad_value(key("penalty"), self.penalty, "must be >= 0 (a penalty weight)")
        n = len(self.data_means)
        if n == 0 or len(self.data_stds) != n:
            raise bad_value(
                key("data_stds"), self.data_stds, f"needs one entry per data mean ({n}, >= 1)"
            )
        if not all(s > 0 for s in self.data_stds):
            raise bad_value(
                key("data_stds"), self.data_stds, "standard deviations must be > 0 (not variances)"
            )
        if self.data_weights is not None:
            weights = self.data_weights
            if len(weights) != n:
                raise bad_value(key("data_weights"), weights, f"needs one entry per mean ({n})")
            if not all(0.0 <= w <= 1.0 for w in weights):
                raise bad_value(
                    key("data_weights"),
                    weights,
                    "every weight is a probability in [0, 1]; "
                    "give fractions (0.5), not percentages (50)",
                )
            if abs(math.fsum(weights) - 1.0) > 1e-12 * n:
                raise bad_value(
                    key("data_weights"),
                    weights,
                    f"must sum to 1, they sum to {math.fsum(weights):.12g}",
                )


@dataclass(frozen=True)
class NeuronConfig:
    """``[generator]`` / ``[discriminator]``: free components, their grid and initial law."""

    free: list = option("list[str]")
    lower: list = option("list[float]")
    upper: list = option("list[float]")
    cells: list = option("list[int]")
    init_mean: list = option("list[float]")
    init_std: list = option("list[float]")
    values: list = option("list[float]", factory=lambda: [0.0, 1.0, 0.0])

    def validate(self, key) -> None:
        """ConfigError naming the key for swapped bounds, absurd grids or widths <= 0.

        Lengths are checked by :meth:`spec`; entries beyond the shortest list are skipped.
        """
        for i, (lo, hi) in enumerate(zip(self.lower, self.upper, strict=False)):
            if not lo < hi:
                raise bad_value(
                    key("lower"),
                    self.lower,
                    f"entry {i} must be < upper[{i}] = {hi:g}; were lower and upper swapped?",
                )
        if any(c < 1 for c in self.cells):
            raise bad_value(key("cells"), self.cells, "every cell count must be >= 1")
        if math.prod(self.cells) > MAX_CELLS:
            raise bad_value(
                key("cells"),
                self.cells,
                f"{math.prod(self.cells):.3g} cells is more than "
                f"the {MAX_CELLS:.0e} a config may ask for; use fewer cells",
            )
        if not all(s > 0 for s in self.init_std):
            raise bad_value(
                key("init_std"), self.init_std, "standard deviations must be > 0 (not variances)"
            )

    def spec(self, names: tuple[str, str, str], section: str) -> dict[str, Any]:
        """The ``{name: (lower, upper, cells) | value}`` mapping of :class:`WGANMeanField`."""
        n = len(self.free)
        for key in ("lower", "upper", "cells", "init_mean", "init_std"):
            if len(getattr(self, key)) != n:
                msg = f"key {key!r} in [{section}] needs {n} entries (one per free component)"
                raise ConfigError(msg)
        if len(self.values) != 3:
            msg = f"key 'values' in [{section}] needs 3 entries {names}"
            raise ConfigError(msg)
        unknown = [f for f in self.free if f not in names]
        if unknown or len(set(self.free)) != n:
            msg = (
                f"key 'free' in [{section}] must list distinct names from {names}; got {self.free}"
            )
            raise ConfigError(msg)
        spec: dict[str, Any] = dict(zip(names, self.values, strict=True))
        for name, lo, hi, cells in zip(self.free, self.lower, self.upper, self.cells, strict=True):
            spec[name] = (lo, hi, cells)
        return spec

    def initial(self, names: tuple[str, str, str]):
        """Gaussian pdf of the free components (cut to the grid by the model)."""
        order = [names.index(f) for f in self.free]
        pairs = sorted(zip(order, self.init_mean, self.init_std, strict=True))
        means = np.array([p[1] for p in pairs])
        stds = np.array([p[2] for p in pairs])
        if np.any(stds <= 0):
            msg = f"init_std must be positive; got {self.init_std}"
            raise ConfigError(msg)

        def pdf(*coords: np.ndarray) -> np.ndarray:
            return np.exp(
                -0.5 * sum(((c - m) / s) ** 2 for c, m, s in zip(coords, means, stds, strict=True))
            )

        return pdf


@dataclass(frozen=True)
class MFSolverConfig:
    """``[solver]``: end time, saved times and CFL fraction."""

    t_final: float = option("float", 4.0)
    save_times: list = option("list[float]", None)
    cfl: float = option("float", 0.8)

    def validate(self, key) -> None:
        """ConfigError naming the key for t_final <= 0, cfl outside (0, 1], bad save times."""
        _positive(key, self, "t_final")
        if not 0.0 < self.cfl <= 1.0:
            raise bad_value(
                key("cfl"), self.cfl, "must be in (0, 1] (a fraction of the explicit CFL limit)"
            )
        if self.save_times is not None:
            outside = [t for t in self.save_times if not 0.0 <= t <= self.t_final]
            if outside:
                raise bad_value(
                    key("save_times"),
                    self.save_times,
                    f"must lie in [0, t_final = {self.t_final:g}]; {outside} do not",
                )


def _positive(key, table, *names: str) -> None:
    for name in names:
        value = getattr(table, name)
        if not value > 0:
            raise bad_value(key(name), value, "must be > 0")


@dataclass(frozen=True)
class MeanFieldConfig:
    """The configuration of ``gan-pde meanfield``."""

    toy: ToyConfig
    model: ModelConfig
    generator: NeuronConfig
    discriminator: NeuronConfig
    solver: MFSolverConfig

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON/TOML-ready) of the configuration."""
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None) -> MeanFieldConfig:
    """Read and validate a ``gan-pde meanfield`` config (the bundled default if None)."""
    text, name = read_config_text(path, "meanfield")
    sections = {
        "toy": ToyConfig,
        "model": ModelConfig,
        "generator": NeuronConfig,
        "discriminator": NeuronConfig,
        "solver": MFSolverConfig,
    }
    return MeanFieldConfig(
        **parse_config(text, name, sections, required=("generator", "discriminator"))
    )


def build_model(config: MeanFieldConfig):
    """The :class:`~gan_pde.meanfield.WGANMeanField` of a config."""
    from gan_pde.densities import GaussianMixture
    from gan_pde.meanfield import DISCRIMINATOR_NAMES, GENERATOR_NAMES, WGANMeanField

    m = config.model
    data = GaussianMixture(
        means=[[v] for v in m.data_means], stds=m.data_stds, weights=m.data_weights
    )
    return WGANMeanField(
        data=data,
        generator=config.generator.spec(GENERATOR_NAMES, "generator"),
        discriminator=config.discriminator.spec(DISCRIMINATOR_NAMES, "discriminator"),
        mu_in=config.generator.initial(GENERATOR_NAMES),
        nu_in=config.discriminator.initial(DISCRIMINATOR_NAMES),
        gamma_c=m.gamma_c,
        energy=m.energy,
        penalty=m.penalty,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    add_common_options(parser, out="meanfield_output")
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        default=None,
        help="checkpoint the mean-field solve to PATH at its save times (kept after the run)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="with --checkpoint: at most every SECONDS of wall time (default 30; 0: at every "
        "save time); the last save time is always checkpointed",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the --checkpoint file (same config) to the uninterrupted result; "
        "without the file, says so and starts from t = 0",
    )


def _checkpoint_options(args: argparse.Namespace) -> tuple[Path | None, bool]:
    """The checkpoint file and whether to resume from it; InvalidInputError for a bad pair."""
    as_non_negative(args.checkpoint_every, "--checkpoint-every")
    if args.checkpoint is None:
        if args.resume:
            msg = "--resume needs --checkpoint PATH (the file of the run to continue)"
            raise InvalidInputError(msg)
        return None, False
    path = Path(args.checkpoint)
    if path.is_dir():
        msg = f"--checkpoint {path} is a folder; give a file name, e.g. {path / 'meanfield.ckpt'}"
        raise InvalidInputError(msg)
    if args.resume and not path.exists():
        say(f"gan-pde meanfield: no checkpoint at {path}: starting from t = 0")
    return path, bool(args.resume)


def run(args: argparse.Namespace) -> int:
    from gan_pde.meanfield import ToyWGAN

    args = with_defaults(args, add_arguments)
    config = load_config(args.config)
    out = output_folder(args.out)
    checkpoint, resume = _checkpoint_options(args)
    if checkpoint is not None:

        def on_interrupt() -> str:
            if checkpoint.exists():
                return f"{checkpoint} holds the run; continue with: {resume_command()}"
            return "no checkpoint was written yet: running again starts from t = 0"

        set_interrupt_note(on_interrupt)
    solver = config.solver
    start = time.perf_counter()
    with Progress(solver.t_final, unit="t", quiet=args.quiet) as progress:
        progress.stage("the toy model of Section 3")
        toy = ToyWGAN(gamma_c=config.toy.gamma_c)
        paths = [
            toy.simulate(g0=g, omega0=w, t_final=config.toy.t_final) for g, w in config.toy.starts
        ]
        progress.stage("building the mean-field model")
        model = build_model(config)
        progress.stage("")
        trajectory = model.solve(
            solver.t_final,
            save_times=solver.save_times,
            cfl=solver.cfl,
            callback=progress.update,
            checkpoint=checkpoint,
            checkpoint_interval=args.checkpoint_every,
            resume=resume,
        )
        if trajectory.info["resumed_from_step"]:
            say(
                f"gan-pde meanfield: resumed from {checkpoint} at save interval "
                f"{trajectory.info['resumed_from_step']} of {trajectory.info['engine_steps']}"
            )
        seconds = time.perf_counter() - start
        progress.stage("writing meanfield.npz and figures")
        arrays: dict[str, Any] = {
            f"trajectory_{k}": v
            for k, v in dataclasses.asdict(trajectory).items()
            if isinstance(v, np.ndarray)
        }
        for i, path in enumerate(paths):
            arrays[f"toy_{i}_t"] = path.times
            arrays[f"toy_{i}_g"] = path.g
            arrays[f"toy_{i}_omega"] = path.omega
        np.savez_compressed(out / "meanfield.npz", **arrays)
        _plot_laws(trajectory, out / "laws.png")
        _plot_phase(toy, paths, out / "phase.png")
        _plot_energy(trajectory, out / "energy.png")
    limits = [float(p.limit_amplitude()) if p.release_times.size else None for p in paths]
    amplitudes = [f"{a:.4f}" if a is not None else "periodic" for a in limits]
    t0, t1 = float(trajectory.times[0]), float(trajectory.times[-1])
    final = "final" if np.isclose(t1, solver.t_final) else f"t_final = {solver.t_final:g}"
    document = {
        "toy": {
            "gamma_c": toy.gamma_c,
            "starts": config.toy.starts,
            "limit_amplitudes": limits,
            "predicted_limit_amplitude": toy.limit_amplitude,
        },
        "times": trajectory.times,
        "energy": trajectory.energy,
        "wall_mass": trajectory.wall_mass,
        "energy_kind": model.energy_kind,
        "n_steps": trajectory.info["n_steps"],
        "resumed_from_step": trajectory.info["resumed_from_step"],
        "seconds": seconds,
        "config": config.to_dict(),
    }
    write_results(out, document)
    if args.json:
        print_json(document)
        return 0
    print(
        f"meanfield ({args.config or 'bundled meanfield.toml'}): toy gamma_c = {toy.gamma_c:g}, "
        f"limit amplitudes {amplitudes} (arccosh(1 + 1/(2 gamma_c)) = {toy.limit_amplitude:.4f}); "
        f"{model.energy_kind} on {trajectory.info['generator_cells']} x "
        f"{trajectory.info['discriminator_cells']} cells, {trajectory.info['n_steps']} steps, "
        f"E {trajectory.energy[0]:.4g} at t = {t0:g} -> {trajectory.energy[-1]:.4g} at "
        f"t = {t1:g} ({final}), nu wall mass {trajectory.wall_mass[0]:.3g} -> "
        f"{trajectory.wall_mass[-1]:.3g}, {seconds:.2f} s; "
        f"wrote {out}/results.json, meanfield.npz, laws.png, phase.png, energy.png"
    )
    return 0


def _plot_laws(trajectory: Any, path: Path) -> None:
    """Per law and free axis: the marginal over time as a heat map, at the true saved times
    (:func:`gan_pde.plotting.plot_meanfield_laws`)."""
    from gan_pde.plotting import figure_file, plot_meanfield_laws

    count = len(trajectory.mu_names) + len(trajectory.nu_names)
    with figure_file(path, figsize=(4.0 * count, 3.6)) as fig:
        plot_meanfield_laws(trajectory, fig=fig)


def _plot_phase(toy: Any, paths: list, path: Path) -> None:
    """The toy's (g, ω) plane (:func:`gan_pde.plotting.plot_toy_phase`)."""
    from gan_pde.plotting import figure_file, plot_toy_phase

    with figure_file(path, figsize=(8.0, 4.2)) as fig:
        plot_toy_phase(toy, paths, ax=fig.subplots())


def _plot_energy(trajectory: Any, path: Path) -> None:
    """Energy and wall mass over time (:func:`gan_pde.plotting.plot_meanfield_energy`)."""
    from gan_pde.plotting import figure_file, plot_meanfield_energy

    with figure_file(path, figsize=(6.0, 4.6)) as fig:
        plot_meanfield_energy(trajectory, fig=fig)
