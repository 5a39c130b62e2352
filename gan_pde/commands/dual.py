"""``gan-pde dual``: the dual metric flows of Turinici (paper 003) from a config.

Runs three studies and writes ``results.json`` and three figures to the output folder:

* ``oscillation.png`` — the oscillating example (1)–(2): r² = |x|² + |y − x_r|² over time
  for the four schemes, and the fitted long-time rates against τ beside the update-matrix
  predictions;
* ``convergence.png`` — Lemma 1 (|z_N^I − z_N^E| ≤ Cτ), both schemes against the dual flow
  (7), and the EDI (21) defect, all against τ;
* ``collapse.png`` — the generator's spread against τ for the JKO particle scheme (mode
  collapse above the step threshold) and two particle histories.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde.commands._common import (
    Progress,
    add_common_options,
    output_folder,
    print_json,
    with_defaults,
    write_results,
)
from gan_pde.config import option, parse_config, read_config_text
from gan_pde.errors import ConfigError

NAME = "dual"
HELP = "dual metric flows (paper 003): scheme rates, Lemma 1, EDI, mode collapse"


def _check_taus(section: str, taus: list, t_final: float) -> None:
    if not (np.isfinite(t_final) and t_final > 0):
        msg = f"key 't_final' in [{section}] must be positive and finite; got {t_final!r}"
        raise ConfigError(msg)
    bad = [t for t in taus if not (np.isfinite(t) and 0 < t <= t_final)]
    if len(taus) < 2 or bad:
        msg = (
            f"key 'taus' in [{section}] must hold >= 2 steps in (0, t_final = {t_final:g}]; "
            f"got {taus}"
        )
        raise ConfigError(msg)


def _check_finite(section: str, **values: list) -> None:
    for key, value in values.items():
        if not value or not np.all(np.isfinite(value)):
            msg = (
                f"key {key!r} in [{section}] must be a non-empty list of finite numbers; "
                f"got {value}"
            )
            raise ConfigError(msg)


@dataclass(frozen=True)
class OscillationConfig:
    """``[oscillation]``: the oscillating example (1)–(2) and its steps."""

    x_r: list = option("list[float]", factory=lambda: [1.0, -0.5])
    x0: list = option("list[float]", factory=lambda: [0.0, 0.0])
    y0: list = option("list[float]", factory=lambda: [2.0, 0.5])
    taus: list = option("list[float]", factory=lambda: [0.2, 0.1, 0.05, 0.025])
    t_final: float = option("float", 50.0)

    def check(self) -> None:
        """ConfigError naming the key for bad steps or states."""
        _check_taus("oscillation", self.taus, self.t_final)
        _check_finite("oscillation", x_r=self.x_r, x0=self.x0, y0=self.y0)
        if not len(self.x_r) == len(self.x0) == len(self.y0):
            msg = (
                "keys 'x_r', 'x0', 'y0' in [oscillation] must have one length; got "
                f"{len(self.x_r)}, {len(self.x0)}, {len(self.y0)}"
            )
            raise ConfigError(msg)


@dataclass(frozen=True)
class ConvergenceConfig:
    """``[convergence]``: Lemma 1 and EDI (21) on the tanh game."""

    damping: float = option("float", 0.5)
    x_r: list = option("list[float]", factory=lambda: [0.5])
    x0: list = option("list[float]", factory=lambda: [1.0])
    y0: list = option("list[float]", factory=lambda: [-0.5])
    taus: list = option("list[float]", factory=lambda: [0.04, 0.02, 0.01, 0.005])
    t_final: float = option("float", 3.0)

    def check(self) -> None:
        """ConfigError naming the key for bad steps, states or damping."""
        _check_taus("convergence", self.taus, self.t_final)
        _check_finite("convergence", x_r=self.x_r, x0=self.x0, y0=self.y0)
        if not (np.isfinite(self.damping) and self.damping >= 0):
            msg = f"key 'damping' in [convergence] must be >= 0; got {self.damping!r}"
            raise ConfigError(msg)
        if not len(self.x_r) == len(self.x0) == len(self.y0):
            msg = "keys 'x_r', 'x0', 'y0' in [convergence] must have one length"
            raise ConfigError(msg)


@dataclass(frozen=True)
class CollapseConfig:
    """``[collapse]``: particle generator vs feature discriminator, the τ scan."""

    target_points: int = option("int", 64)
    separation: float = option("float", 3.0)
    std: float = option("float", 0.3)
    centers: list = option("list[float]", factory=lambda: np.linspace(-3, 3, 13).tolist())
    width: float = option("float", 0.5)
    weight_decay: float = option("float", 0.2)
    particles: int = option("int", 64)
    initial: list = option("list[float]", factory=lambda: [0.2, 0.8])
    taus: list = option("list[float]", factory=lambda: [0.05, 0.2, 0.4, 0.8, 1.6])
    t_final: float = option("float", 30.0)

    def check(self) -> None:
        """ConfigError naming the key for bad sizes, widths or steps."""
        _check_taus("collapse", self.taus, self.t_final)
        _check_finite("collapse", centers=self.centers, initial=self.initial)
        for key in ("target_points", "particles"):
            if getattr(self, key) < 1:
                msg = f"key {key!r} in [collapse] must be >= 1; got {getattr(self, key)}"
                raise ConfigError(msg)
        for key in ("separation", "std", "width"):
            value = getattr(self, key)
            if not (np.isfinite(value) and value > 0):
                msg = f"key {key!r} in [collapse] must be positive and finite; got {value!r}"
                raise ConfigError(msg)
        if not (np.isfinite(self.weight_decay) and self.weight_decay >= 0):
            msg = f"key 'weight_decay' in [collapse] must be >= 0; got {self.weight_decay!r}"
            raise ConfigError(msg)
        if len(self.initial) != 2 or self.initial[0] > self.initial[1]:
            msg = f"key 'initial' in [collapse] must be [low, high]; got {self.initial}"
            raise ConfigError(msg)


@dataclass(frozen=True)
class DualConfig:
    """The configuration of ``gan-pde dual``."""

    oscillation: OscillationConfig
    convergence: ConvergenceConfig
    collapse: CollapseConfig

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON/TOML-ready) of the configuration."""
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None) -> DualConfig:
    """Read and validate a ``gan-pde dual`` config (the bundled default if None)."""
    text, name = read_config_text(path, "dual")
    sections = {
        "oscillation": OscillationConfig,
        "convergence": ConvergenceConfig,
        "collapse": CollapseConfig,
    }
    config = DualConfig(**parse_config(text, name, sections))
    config.oscillation.check()
    config.convergence.check()
    config.collapse.check()
    return config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    add_common_options(parser, out="dual_output")


#: The parts of the command, for progress and for the report of a Ctrl-C.
_STAGES = (
    "the oscillating example",
    "Lemma 1 and the EDI",
    "the mode-collapse scan",
    "the figures",
)


def run(args: argparse.Namespace) -> int:
    args = with_defaults(args, add_arguments)
    config = load_config(args.config)
    out = output_folder(args.out)
    start = time.perf_counter()
    with Progress(0, unit="part", stages=_STAGES, quiet=args.quiet) as progress:
        summary, plots = _studies(config, progress)
        progress.stage(_STAGES[3])
        for plot in plots:
            plot(out)
    seconds = time.perf_counter() - start
    write_results(out, summary)
    if args.json:
        print_json(summary)
        return 0
    oscillation = summary["oscillation"]
    collapse = summary["collapse"]
    orders = summary["convergence"]["orders"]
    threshold = collapse["threshold_measured"]
    threshold = "none" if threshold is None else f"{threshold:.3g}"
    print(
        f"dual ({args.config or 'bundled dual.toml'}): rate of ln r^2 at tau = "
        f"{oscillation['taus'][0]:g}: "
        + ", ".join(f"{k} {v[0]:+.3g}" for k, v in oscillation["measured_rate"].items())
        + f"; Lemma 1 slope {orders['implicit_vs_explicit']:.3f}, orders to (7) "
        f"{orders['implicit']:.3f}/{orders['explicit']:.3f}, EDI defect order {orders['edi']:.3f}; "
        f"collapse threshold {threshold} (predicted >= {collapse['threshold_predicted']:.3g}); "
        f"{seconds:.1f} s; wrote {out}/results.json, oscillation.png, convergence.png, collapse.png"
    )
    return 0


def _studies(config: DualConfig, progress: Progress) -> tuple[dict[str, Any], list]:
    """The three studies: the results document and the figures to draw (``plot(out)``)."""
    from gan_pde.dual import (
        ParticleGame,
        bimodal_target,
        collapse_study,
        convergence_study,
        edi_defect,
        fitted_order,
        oscillation_study,
        simulate,
        tanh_game,
    )
    from gan_pde.provenance import versions

    progress.stage(_STAGES[0])
    osc = config.oscillation
    oscillation = oscillation_study(
        x_r=osc.x_r, x0=osc.x0, y0=osc.y0, taus=osc.taus, t_final=osc.t_final
    )
    progress.stage(_STAGES[1])
    conv = config.convergence
    game = tanh_game(conv.x_r, damping=conv.damping)
    convergence = convergence_study(game, conv.x0, conv.y0, t_final=conv.t_final, taus=conv.taus)
    edi = np.array(
        [
            edi_defect(
                game,
                simulate(game, conv.x0, conv.y0, tau=tau, n_steps=round(conv.t_final / tau)),
            ).total
            for tau in convergence.taus
        ]
    )
    progress.stage(_STAGES[2])
    col = config.collapse
    particle_game = ParticleGame(
        target=bimodal_target(col.target_points, separation=col.separation, std=col.std),
        centers=col.centers,
        width=col.width,
        weight_decay=col.weight_decay,
    )
    initial = np.linspace(col.initial[0], col.initial[1], col.particles)
    collapse = collapse_study(particle_game, initial, taus=col.taus, t_final=col.t_final)
    summary = {
        "oscillation": {
            "taus": oscillation.taus.tolist(),
            "measured_rate": {k: v.tolist() for k, v in oscillation.measured.items()},
            "predicted_rate": {k: v.tolist() for k, v in oscillation.predicted.items()},
            "max_relative_deviation": {k: v.tolist() for k, v in oscillation.max_deviation.items()},
        },
        "convergence": {
            "taus": convergence.taus.tolist(),
            "implicit_vs_explicit": convergence.implicit_vs_explicit.tolist(),
            "implicit_error": convergence.implicit_error.tolist(),
            "explicit_error": convergence.explicit_error.tolist(),
            "edi_defect": edi.tolist(),
            "orders": {**convergence.orders, "edi": fitted_order(convergence.taus, edi)},
        },
        "collapse": {
            "taus": collapse.taus.tolist(),
            "spread": collapse.spread.tolist(),
            "w2": collapse.w2.tolist(),
            "tau_curvature": collapse.tau_curvature.tolist(),
            "threshold_measured": collapse.threshold,
            "threshold_predicted": collapse.predicted,
            "min_collapse_speed": collapse.collapse_speed,
        },
        "config": config.to_dict(),
        "versions": versions(),
    }
    below = min(collapse.taus, key=lambda t: abs(t - 0.5 * collapse.predicted))
    above = collapse.taus[-1]
    paths = {
        float(t): particle_game.simulate(
            initial,
            np.zeros(particle_game.n_features),
            tau=float(t),
            n_steps=round(col.t_final / t),
        )
        for t in (below, above)
    }
    plots = [
        lambda out: _plot_oscillation(oscillation, osc.x_r, out / "oscillation.png"),
        lambda out: _plot_convergence(convergence, edi, out / "convergence.png"),
        lambda out: _plot_collapse(collapse, paths, out / "collapse.png"),
    ]
    return summary, plots


def _plot_oscillation(study: Any, x_r: list, path: Path) -> None:
    """r² over time and the rates against τ (:func:`gan_pde.plotting.plot_dual_oscillation`)."""
    from gan_pde.plotting import figure_file, plot_dual_oscillation

    with figure_file(path, figsize=(10.5, 3.9)) as fig:
        plot_dual_oscillation(study, x_r, fig=fig)


def _plot_convergence(study: Any, edi: np.ndarray, path: Path) -> None:
    """Lemma 1, convergence and EDI against τ (:func:`gan_pde.plotting.plot_dual_convergence`)."""
    from gan_pde.plotting import figure_file, plot_dual_convergence

    with figure_file(path, figsize=(7.5, 4.0)) as fig:
        plot_dual_convergence(study, edi, ax=fig.subplots())


def _plot_collapse(study: Any, paths: dict, path: Path) -> None:
    """Spread against τ and atom histories (:func:`gan_pde.plotting.plot_dual_collapse`)."""
    from gan_pde.plotting import figure_file, plot_dual_collapse

    with figure_file(path, figsize=(4.6 * (1 + len(paths)) + 1.5, 3.8)) as fig:
        plot_dual_collapse(study, paths, fig=fig)
