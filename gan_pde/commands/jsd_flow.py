"""``gan-pde jsd-flow``: the JSD gradient flow of Huang & Zhang (paper 002) from a config.

Writes ``trajectory.npz`` (:func:`gan_pde.io.save_trajectory`), ``trajectory.xdmf`` +
``trajectory.h5`` (an XDMF time series for ParaView), ``densities.png`` and
``divergences.png`` to the output folder, and prints a one-line summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

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
from gan_pde.config import (
    DENSITY_KINDS,
    DensityConfig,
    DomainConfig,
    key_of,
    location_of,
    names_of,
    option,
    parse_config,
    read_config_text,
)
from gan_pde.errors import ConfigError

if TYPE_CHECKING:
    from gan_pde.flows import JSDFlow, Trajectory

NAME = "jsd-flow"
HELP = "JSD gradient flow (paper 002): trajectory files and figures"

#: Most time steps a config may ask for (t_final / dt).
MAX_STEPS = 10_000_000
#: Most saved times drawn in densities.png (1D curves, 2D panels).
_MAX_CURVES = {1: 10, 2: 6}


@dataclass(frozen=True)
class FlowDensityConfig(DensityConfig):
    """``[target]``/``[initial]``: a density table, or a KDE of samples drawn from one."""

    kind: str = option("str", choices=(*DENSITY_KINDS, "kde"))
    source: str = option("str", None, choices=DENSITY_KINDS)
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
    scheme: str = option("str", "tr-bdf2", choices=names_of("gan_pde.flows.operator", "SCHEMES"))
    element: str = option("str", "P1", choices=names_of("gan_pde.fem.basis", "ELEMENT_NAMES"))

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
    add_common_options(parser, out="jsd_flow_output")
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
        help="continue from OUT/checkpoint.npz (same config) to the uninterrupted result; "
        "without a checkpoint, says so and starts from t = 0",
    )


def _checkpoint_position(path: Path, solver: FlowSolverConfig) -> tuple[float, int, int] | None:
    """``(t, step, steps)`` of the checkpoint at ``path`` (None if it cannot be read)."""
    from gan_pde.engine import time_grid

    try:
        with np.load(path, allow_pickle=False) as data:
            step = int(data["__step"])
        grid, _ = time_grid(solver.t_final, solver.dt, solver.save_times)
    except Exception:  # noqa: BLE001 - only for messages; the solver checks the file itself
        return None
    return float(grid[min(step, grid.size - 1)]), step, grid.size - 1


def run(args: argparse.Namespace) -> int:
    from gan_pde.flows import JSDFlow
    from gan_pde.io import save_trajectory, write_xdmf

    args = with_defaults(args, add_arguments)
    config = load_config(args.config)
    solver = config.solver
    out = output_folder(args.out)
    checkpoint = out / "checkpoint.npz"
    resumed = None
    resuming = args.resume and checkpoint.exists()
    if resuming:
        resumed = _checkpoint_position(checkpoint, solver)
    elif args.resume:
        say(f"gan-pde jsd-flow: no checkpoint in {out}: starting from t = 0")
    announced = [not resuming]

    def announce() -> None:
        # once the solver has accepted the checkpoint (its first step, or the end)
        if not announced[0]:
            at = "" if resumed is None else f"t = {resumed[0]:.6g} (step {resumed[1]} of "
            at += "" if resumed is None else f"{resumed[2]}) "
            say(f"gan-pde jsd-flow: resumed from {at}from {checkpoint}")
            announced[0] = True

    def on_interrupt() -> str:
        if checkpoint.exists():
            position = _checkpoint_position(checkpoint, solver)
            at = f"t = {position[0]:.6g}" if position else "its last checkpoint"
            return f"{checkpoint} holds the run at {at}; continue with: {resume_command()}"
        return (
            f"no checkpoint was written yet (one every {args.checkpoint_every:g} s of wall time, "
            "--checkpoint-every): running again starts from t = 0"
        )

    set_interrupt_note(on_interrupt)
    start = time.perf_counter()
    with Progress(
        solver.t_final, unit="t", quiet=args.quiet, start=resumed[0] if resumed else 0.0
    ) as bar:
        bar.stage("building the mesh and the operator")
        flow = JSDFlow(
            config.target.build(),
            config.initial.build(),
            config.domain.build(),
            element=config.solver.element,
        )
        bar.stage("")

        def progress(t: float, _v: np.ndarray) -> None:
            announce()
            bar.update(t)

        trajectory = flow.solve(
            solver.t_final,
            solver.dt,
            save_times=solver.save_times,
            scheme=solver.scheme,
            callback=progress,
            checkpoint=checkpoint,
            checkpoint_interval=args.checkpoint_every,
            resume=args.resume,
        )
        announce()
        seconds = time.perf_counter() - start
        bar.stage("writing the trajectory, XDMF and figures")
        trajectory = dataclasses.replace(
            trajectory, info={**trajectory.info, "config": config.to_dict()}
        )
        save_trajectory(out / "trajectory.npz", trajectory)
        write_xdmf(out / "trajectory.xdmf", trajectory)
        figures = _plot_densities(flow, trajectory, out / "densities.png")
        _plot_divergences(trajectory, out / "divergences.png")
    t0, t1 = float(trajectory.times[0]), float(trajectory.times[-1])
    final = "final" if np.isclose(t1, solver.t_final) else f"t_final = {solver.t_final:g}"
    document = {
        "times": trajectory.times,
        "jsd": trajectory.jsd,
        "l1": trajectory.l1,
        "kl": trajectory.kl,
        "mass": trajectory.mass,
        "t_final": solver.t_final,
        "n_steps": trajectory.info["n_steps"],
        "n_dofs": flow.operator.n_dofs,
        "newton_iterations": int(trajectory.newton_iterations.sum()),
        "resumed_from_step": trajectory.info.get("resumed_from_step", 0),
        "seconds": seconds,
        "config": config.to_dict(),
    }
    write_results(out, document)
    # every result is written: the checkpoint has served its purpose
    checkpoint.unlink(missing_ok=True)
    if args.json:
        print_json(document)
        return 0
    source = args.config or "bundled jsd_flow.toml"
    print(
        f"jsd-flow ({source}): {trajectory.info['n_steps']} {solver.scheme} steps to "
        f"t = {solver.t_final:g} on {flow.operator.n_dofs} {solver.element} dofs, "
        f"JSD {trajectory.jsd[0]:.4g} at t = {t0:g} -> {trajectory.jsd[-1]:.4g} at "
        f"t = {t1:g} ({final}), L1 {trajectory.l1[0]:.4g} -> {trajectory.l1[-1]:.4g}, "
        f"mass drift {np.ptp(trajectory.mass):.1e}, "
        f"{int(trajectory.newton_iterations.sum())} Newton iterations, {seconds:.2f} s; "
        f"wrote {out}/results.json, trajectory.npz, trajectory.xdmf, {figures}divergences.png"
    )
    return 0


def _plot_densities(flow: JSDFlow, trajectory: Trajectory, path: Path) -> str:
    """u at (up to 10 / 6 of) the saved times over ρ_d (1D: one axis; 2D: a panel per
    time, :func:`gan_pde.plotting.plot_densities`); returns the file name written, or ''
    (3D: open the XDMF file)."""
    from gan_pde.plotting import figure_file, plot_densities

    dim = flow.mesh.dim()
    if dim > 2:
        return ""
    target = flow.operator.target_at_dofs[flow.operator.basis.nodal_dofs[0]]
    count = min(trajectory.times.size, _MAX_CURVES[dim])
    size = (8.5, 4.0) if dim == 1 else (3.4 * count + 1.2, 3.6)
    with figure_file(path, figsize=size) as fig:
        plot_densities(trajectory, target, max_times=_MAX_CURVES[dim], fig=fig)
    return "densities.png, "


def _plot_divergences(trajectory: Trajectory, path: Path) -> None:
    """JSD, KL and L¹ at the saved times on a log scale
    (:func:`gan_pde.plotting.plot_divergences`)."""
    from gan_pde.plotting import figure_file, plot_divergences

    with figure_file(path, figsize=(7.5, 4.0)) as fig:
        plot_divergences(trajectory, ax=fig.subplots())
