"""``gan-pde jsd-flow``: the JSD gradient flow of Huang & Zhang (paper 002) from a config.

Writes ``trajectory.npz`` (:func:`gan_pde.io.save_trajectory`), ``trajectory.xdmf`` +
``trajectory.h5`` (an XDMF time series for ParaView), ``densities.png`` and
``divergences.png`` to the output folder, and prints a one-line summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_pde.config import (
    DensityConfig,
    DomainConfig,
    key_of,
    location_of,
    option,
    parse_config,
    read_config_text,
)
from gan_pde.errors import ConfigError

if TYPE_CHECKING:
    from gan_pde.flows import JSDFlow, Trajectory

NAME = "jsd-flow"
HELP = "JSD gradient flow (paper 002): trajectory files and figures"

_SCHEMES = ("backward-euler", "crank-nicolson", "tr-bdf2")
_KINDS = ("gaussian", "mixture", "uniform")
#: Most time steps a config may ask for (t_final / dt).
MAX_STEPS = 10_000_000
#: Most saved times drawn in densities.png (1D curves, 2D panels).
_MAX_CURVES = {1: 10, 2: 6}


@dataclass(frozen=True)
class FlowDensityConfig(DensityConfig):
    """``[target]``/``[initial]``: a density table, or a KDE of samples drawn from one."""

    kind: str = option("str", choices=(*_KINDS, "kde"))
    source: str = option("str", None, choices=_KINDS)
    samples: int = option("int", 1000)
    seed: int = option("int", 0)
    bandwidth: float = option("float", None)

    def build(self):
        """The density; for ``kind = "kde"`` a KDE of ``samples`` draws from ``source``."""
        if self.kind != "kde":
            return super().build()
        from gan_pde.densities import KDE

        if self.source is None:
            msg = "kind = 'kde' needs the key 'source' (the density the samples come from)"
            raise ConfigError(msg)
        if self.samples < 2:
            msg = f"key 'samples' must be at least 2; got {self.samples}"
            raise ConfigError(msg)
        if self.bandwidth is not None and not self.bandwidth > 0:
            msg = f"key 'bandwidth' must be positive; got {self.bandwidth}"
            raise ConfigError(msg)
        source = dataclasses.replace(self, kind=self.source).build()
        data = source.sample(self.samples, rng=np.random.default_rng(self.seed))
        return KDE(data, bandwidth="scott" if self.bandwidth is None else self.bandwidth)


@dataclass(frozen=True)
class FlowSolverConfig:
    """``[solver]``: time span, step, saved times, scheme and element."""

    t_final: float = option("float", 5.0)
    dt: float = option("float", 0.05)
    save_times: list = option("list[float]", None)
    scheme: str = option("str", "tr-bdf2", choices=_SCHEMES)
    element: str = option("str", "P1", choices=("P1", "P2", "Q1", "Q2"))

    def check(self) -> None:
        """ConfigError naming the key for non-positive, swapped or absurd times."""
        for key in ("t_final", "dt"):
            value = getattr(self, key)
            if not (np.isfinite(value) and value > 0):
                msg = (
                    f"key {key!r} in [solver] ({location_of(self, key)}) must be positive "
                    f"and finite; got {value!r}"
                )
                raise ConfigError(msg)
        if self.dt > self.t_final:
            msg = (
                f"{key_of(self, 'dt')} = {self.dt!r}: the step is longer than t_final = "
                f"{self.t_final!r}; were t_final and dt swapped?"
            )
            raise ConfigError(msg)
        if self.t_final / self.dt > MAX_STEPS:
            msg = (
                f"{key_of(self, 'dt')} = {self.dt!r}: t_final / dt = "
                f"{self.t_final / self.dt:.3g} steps, more than {MAX_STEPS:.0e}; use a "
                "larger dt (TR-BDF2 is second order: dt = 0.05 suffices for t_final = 5)"
            )
            raise ConfigError(msg)
        if self.save_times is not None:
            outside = [t for t in self.save_times if not 0.0 <= t <= self.t_final]
            if outside:
                msg = (
                    f"key 'save_times' in [solver] ({location_of(self, 'save_times')}) must lie "
                    f"in [0, t_final = {self.t_final:g}]; got {outside}"
                )
                raise ConfigError(msg)


@dataclass(frozen=True)
class JSDFlowConfig:
    """The configuration of ``gan-pde jsd-flow``."""

    target: FlowDensityConfig
    initial: FlowDensityConfig
    domain: DomainConfig
    solver: FlowSolverConfig

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON/TOML-ready) of the configuration."""
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None) -> JSDFlowConfig:
    """Read and validate a ``gan-pde jsd-flow`` config (the bundled default if None)."""
    text, name = read_config_text(path, "jsd_flow")
    sections = {
        "target": FlowDensityConfig,
        "initial": FlowDensityConfig,
        "domain": DomainConfig,
        "solver": FlowSolverConfig,
    }
    config = JSDFlowConfig(
        **parse_config(text, name, sections, required=("target", "initial", "domain"))
    )
    config.solver.check()
    return config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    parser.add_argument(
        "--out", default="jsd_flow_output", help="output folder (default: jsd_flow_output)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--checkpoint-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="write OUT/checkpoint.npz every SECONDS of wall time (default 30; 0: every step)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/checkpoint.npz (same config) to the uninterrupted result",
    )


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gan_pde.flows import JSDFlow
    from gan_pde.io import save_trajectory, write_xdmf

    config = load_config(args.config)
    flow = JSDFlow(
        config.target.build(),
        config.initial.build(),
        config.domain.build(),
        element=config.solver.element,
    )
    solver = config.solver
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    disable = bool(args.quiet) or not sys.stderr.isatty()
    with tqdm(total=solver.t_final, unit="time", disable=disable, file=sys.stderr) as bar:

        def progress(t: float, _v: np.ndarray) -> None:
            bar.update(t - bar.n)

        trajectory = flow.solve(
            solver.t_final,
            solver.dt,
            save_times=solver.save_times,
            scheme=solver.scheme,
            callback=progress,
            checkpoint=out / "checkpoint.npz",
            checkpoint_interval=args.checkpoint_every,
            resume=args.resume,
        )
    seconds = time.perf_counter() - start
    trajectory = dataclasses.replace(
        trajectory, info={**trajectory.info, "config": config.to_dict()}
    )
    save_trajectory(out / "trajectory.npz", trajectory)
    write_xdmf(out / "trajectory.xdmf", trajectory)
    figures = _plot_densities(flow, trajectory, out / "densities.png")
    _plot_divergences(trajectory, out / "divergences.png")
    # every result is written: the checkpoint has served its purpose
    (out / "checkpoint.npz").unlink(missing_ok=True)
    source = args.config or "bundled jsd_flow.toml"
    print(
        f"jsd-flow ({source}): {trajectory.info['n_steps']} {solver.scheme} steps to "
        f"t = {solver.t_final:g} on {flow.operator.n_dofs} {solver.element} dofs, "
        f"JSD {trajectory.jsd[0]:.4g} -> {trajectory.jsd[-1]:.4g}, "
        f"L1 {trajectory.l1[0]:.4g} -> {trajectory.l1[-1]:.4g}, "
        f"mass drift {np.ptp(trajectory.mass):.1e}, "
        f"{int(trajectory.newton_iterations.sum())} Newton iterations, {seconds:.2f} s; "
        f"wrote {out}/trajectory.npz, trajectory.xdmf, {figures}divergences.png"
    )
    return 0


def _plot_densities(flow: JSDFlow, trajectory: Trajectory, path: Path) -> str:
    """u at (up to 10 / 6 of) the saved times over ρ_d (1D: one axis; 2D: a panel per
    time); returns the file name written, or '' (3D, quadrilaterals)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mesh = flow.mesh
    if mesh.dim() > 2:
        return ""
    basis = flow.operator.basis
    vertices = basis.nodal_dofs[0]
    target = flow.operator.target_at_dofs[vertices]
    count = trajectory.times.size
    shown = np.unique(np.linspace(0, count - 1, min(count, _MAX_CURVES[mesh.dim()])).round())
    times = trajectory.times[shown.astype(int)]
    densities = [trajectory.densities[int(k)] for k in shown]
    if mesh.dim() == 1:
        order = np.argsort(mesh.p[0])
        x = mesh.p[0, order]
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.fill_between(x, 0.0, target[order], color="0.85", label=r"$\rho_d$")
        colors = plt.cm.viridis(np.linspace(0.0, 0.9, times.size))
        for t, u, color in zip(times, densities, colors, strict=True):
            ax.plot(x, u.values[vertices][order], color=color, label=f"u(t = {t:g})")
        ax.set_xlabel("x")
        ax.legend(fontsize=8)
    else:
        from matplotlib.tri import Triangulation

        if mesh.t.shape[0] != 3:
            return ""
        tri = Triangulation(mesh.p[0], mesh.p[1], mesh.t.T)
        fig, axes = plt.subplots(1, times.size, figsize=(3.6 * times.size, 3.4), squeeze=False)
        top = max(float(u.values.max()) for u in densities)
        levels = np.linspace(0.0, top, 21)
        for ax, t, u in zip(axes[0], times, densities, strict=True):
            ax.tricontourf(tri, u.values[vertices], levels=levels, cmap="viridis")
            ax.tricontour(tri, target, levels=6, colors="w", linewidths=0.5)
            ax.set_title(f"u(t = {t:g})")
            ax.set_aspect("equal")
    fig.suptitle(r"JSD flow: density u(t) (lines / shading: $\rho_d$)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return "densities.png, "


def _plot_divergences(trajectory: Trajectory, path: Path) -> None:
    """JSD(t) and L¹(t) at the saved times on a log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for values, label in [(trajectory.jsd, r"JSD$(u, \rho_d)$"), (trajectory.l1, r"$L^1$")]:
        positive = values > 0
        ax.semilogy(trajectory.times[positive], values[positive], "o-", label=label)
    ax.set_xlabel("t")
    ax.legend()
    ax.set_title("JSD flow: divergences to the target")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
