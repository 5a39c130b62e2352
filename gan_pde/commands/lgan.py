"""``gan-pde lgan``: spectrum, decay rate, optimal parameters and stability of the lGAN.

For the configured density, mesh and (α, β, γ) (paper 004, (6), (22)–(29)) it prints ξ_min
and the first discrete weighted-Laplacian eigenvalues, the slowest lGAN eigenvalues, the
decay rate η and whether the modes oscillate, the optimal (α, γ) of (23)–(25) for the
measured ξ_min and β, and the stability of the chosen integrator and step: the largest
amplification max |R(τλ)| over the discrete spectrum against 1 and the largest stable step.
``--plot FILE`` draws the eigenvalues in the complex plane with the boundary of the scaled
stability region {λ : |R(τλ)| = 1}, and the decay of ‖u‖_μ, ‖v‖_μ from u₀ = 0, v₀ = 1.
``--checkpoint PATH`` writes the state of the time integration to PATH every
``--checkpoint-every`` seconds and at its end; ``--resume`` continues an interrupted run
from it to the results of an uninterrupted one.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde import __version__
from gan_pde._arrays import as_non_negative
from gan_pde.commands._common import (
    EXIT_FAILED,
    Progress,
    add_common_options,
    figure_path,
    output_folder,
    print_json,
    resume_command,
    say,
    set_interrupt_note,
    with_defaults,
    write_results,
)
from gan_pde.config import (
    DensityConfig,
    DomainConfig,
    config_values,
    location_of,
    names_of,
    option,
    parse_config,
    read_config_text,
)
from gan_pde.errors import ConfigError, InvalidInputError

NAME = "lgan"
HELP = "linearised GAN: spectrum, rates, optimal parameters, integrator stability (paper 004)"

#: Points of the ξ grid on which the amplification is maximised between ξ_min and ξ_max.
_XI_GRID = 4000


@dataclass(frozen=True)
class LGANConfig:
    """``[lgan]``: the lGAN parameters and the element pair."""

    alpha: float = option("float", 0.25)
    beta: float = option("float", -0.5)
    gamma: float = option("float", 0.0)
    element: str = option("str", "P2", choices=("P1", "P2"))
    pair: str = option("str", "stable", choices=("stable", "equal-order"))
    k: int = option("int", 6)


@dataclass(frozen=True)
class IntegratorConfig:
    """``[integrator]``: the time integrator of :func:`~gan_pde.spectral.lgan_system.integrate`."""

    scheme: str = option(
        "str", "crank-nicolson", choices=names_of("gan_pde.spectral.lgan_integrate", "SCHEMES")
    )
    tau: float = option("float", 0.05)
    steps: int = option("int", 2000)


#: The parts of the analysis, for progress and for the report of a Ctrl-C.
_STAGES = ("the mesh and the lGAN operators", "the spectra", "the time integration")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled lgan.toml)")
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="save the spectrum and decay figure (format from the extension: .png, .pdf, .svg)",
    )
    add_common_options(
        parser, out=None, out_help="also write results.json into this folder (default: none)"
    )
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="write the state of the time integration to PATH (.npz) every --checkpoint-every "
        "seconds and at its end, for --resume (default: no checkpoint)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="seconds of wall time between checkpoints (default 30; 0: every step)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the time integration from --checkpoint PATH (same config) to the "
        "uninterrupted result; without the file, says so and starts from t = 0",
    )


def load_config(path: str | None) -> dict[str, Any]:
    """Read and validate an lgan config (the bundled ``lgan.toml`` if ``path`` is None)."""
    text, name = read_config_text(path, "lgan")
    sections = {
        "density": DensityConfig,
        "domain": DomainConfig,
        "lgan": LGANConfig,
        "integrator": IntegratorConfig,
    }
    config = parse_config(text, name, sections, required=("density", "domain"))
    params, integrator = config["lgan"], config["integrator"]
    checks = (
        ("alpha", "lgan", params.alpha >= 0, "must be >= 0 (alpha = phi1''(0) + phi2''(0))"),
        ("beta", "lgan", params.beta != 0, "must be non-zero"),
        ("gamma", "lgan", params.gamma >= 0, "must be >= 0 (a penalty weight)"),
        ("k", "lgan", params.k >= 2, "must be >= 2 (xi_min is the second eigenvalue)"),
        ("tau", "integrator", integrator.tau > 0, "must be > 0 (a step size)"),
        ("steps", "integrator", integrator.steps >= 1, "must be >= 1"),
    )
    for key, section, ok, reason in checks:
        if not ok:
            value = getattr(config[section], key)
            where = location_of(config[section], key) or name
            msg = f"key {key!r} in [{section}] ({where}) {reason}; got {value!r}"
            raise ConfigError(msg)
    return config


def analyse(
    config: dict[str, Any],
    progress: Progress | None = None,
    *,
    checkpoint: str | Path | None = None,
    checkpoint_every: float = 30.0,
    resume: bool = False,
) -> dict[str, Any]:
    """Everything the command prints, as a JSON-ready dictionary (plus the trajectory).

    ``progress`` (optional) is told which of the parts :data:`_STAGES` is running;
    ``checkpoint``, ``checkpoint_every`` (seconds) and ``resume`` are passed to
    :func:`~gan_pde.spectral.lgan_integrate.integrate` for the time integration.
    """
    from gan_pde.errors import NumericalBreakdownError
    from gan_pde.spectral import lgan
    from gan_pde.spectral.lgan_system import LGANSystem, integrate

    def stage(index: int) -> None:
        if progress is not None:
            progress.stage(_STAGES[index])

    stage(0)
    params, integrator = config["lgan"], config["integrator"]
    density = config["density"].build()
    mesh = config["domain"].build()
    system = LGANSystem(
        density,
        mesh,
        alpha=params.alpha,
        beta=params.beta,
        gamma=params.gamma,
        element=params.element,
        pair=params.pair,
    )
    stage(1)
    xi = system.laplacian_eigenvalues(k=min(params.k, system.n_u))
    xi_min = float(xi[system.n_components])
    xi_max = float(system.laplacian_eigenvalues()[-1]) if system.n_u <= 3000 else None
    if xi_max is None:
        import scipy.sparse.linalg as spla

        xi_max = float(spla.eigsh(system.stiffness, k=1, M=system.u_mass, which="LA")[0][0])
    slowest = system.eigenvalues(k=min(2 * params.k, 2 * (system.n_u - 1) - 2))
    rate = system.decay_rate()
    grid = np.geomspace(xi_min, max(xi_max, xi_min), _XI_GRID)
    lam_plus, lam_minus = lgan.eigenvalues(
        np.concatenate([xi, grid]), alpha=params.alpha, beta=params.beta, gamma=params.gamma
    )
    spectrum = np.concatenate([lam_plus, lam_minus])
    if params.alpha > 0:
        spectrum = np.append(spectrum, -params.alpha)
    spectrum = spectrum[spectrum != 0]
    amplification = float(
        np.max(np.abs(_stability_function(integrator.scheme)(integrator.tau * spectrum)))
    )
    if integrator.scheme == "crank-nicolson":
        max_step = math.inf
    else:
        max_step = lgan.max_stable_step(spectrum, method=integrator.scheme)
    best = lgan.optimal_parameters(xi_min, beta=params.beta, xi_max=xi_max)
    oscillating = bool(
        np.any(
            lgan.is_oscillating(xi[1:], alpha=params.alpha, beta=params.beta, gamma=params.gamma)
        )
    )
    trajectory, overflow = None, None
    stage(2)
    try:
        trajectory = integrate(
            system,
            system.state(v=np.ones_like),
            tau=integrator.tau,
            steps=integrator.steps,
            scheme=integrator.scheme,
            checkpoint=checkpoint,
            checkpoint_interval=checkpoint_every,
            resume=resume,
        )
    except NumericalBreakdownError as err:
        overflow = str(err)
    return {
        "xi_min": xi_min,
        "xi_max": xi_max,
        "laplacian_eigenvalues": xi.tolist(),
        "lgan_eigenvalues": [[z.real, z.imag] for z in slowest],
        "decay_rate": rate,
        "oscillating": oscillating,
        "optimal": {
            "alpha": best.alpha,
            "gamma": best.gamma,
            "rate": best.rate,
            "alpha_range": list(best.alpha_range),
            "gamma_range": list(best.gamma_range),
            "max_euler_step": best.max_euler_step,
        },
        "stability": {
            "scheme": integrator.scheme,
            "tau": integrator.tau,
            "max_amplification": amplification,
            "stable": bool(amplification <= 1.0 + 1e-12),
            "max_stable_step": max_step,
        },
        "measured_rate": trajectory.rate() if trajectory is not None else None,
        "overflow": overflow,
        "resumed_from_step": trajectory.info["resumed_from_step"] if trajectory is not None else 0,
        "n_u": system.n_u,
        "n_v": system.n_v,
        "_trajectory": trajectory,
        "_spectrum": spectrum,
    }


def run(args: argparse.Namespace) -> int:
    """Print (or write) the analysis; exit 1 when the configured step is unstable."""
    args = with_defaults(args, add_arguments)
    config = load_config(args.config)
    figure = figure_path(args.plot)
    out = output_folder(args.out) if args.out else None
    checkpoint = _checkpoint_file(args)
    with Progress(0, unit="part", stages=_STAGES, quiet=args.quiet) as progress:
        result = analyse(
            config,
            progress,
            checkpoint=checkpoint,
            checkpoint_every=args.checkpoint_every,
            resume=args.resume,
        )
    if result["resumed_from_step"]:
        say(
            f"gan-pde lgan: resumed the time integration from step "
            f"{result['resumed_from_step']} of {config['integrator'].steps} ({checkpoint})"
        )
    if figure is not None:
        _plot(result, config["integrator"], str(figure))
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    document = {
        **public,
        "stability": {
            **public["stability"],
            "max_stable_step": _finite(public["stability"]["max_stable_step"]),
        },
        "config": {k: config_values(v) for k, v in config.items()},
        "version": __version__,
    }
    written = write_results(out, document)
    unstable = _instability(public, config["integrator"])
    if args.json:
        print_json(document)
        if unstable:
            say(f"gan-pde lgan: {unstable}")
        return EXIT_FAILED if unstable else 0
    source = args.config or "bundled lgan.toml"
    lgan_cfg, stab = config["lgan"], public["stability"]
    print(f"linearised GAN ({source}): {public['n_u']} u-dofs, {public['n_v']} v-dofs")
    print(
        f"  alpha={lgan_cfg.alpha:g}, beta={lgan_cfg.beta:g}, gamma={lgan_cfg.gamma:g}, "
        f"{lgan_cfg.element} {lgan_cfg.pair} pair"
    )
    print(f"Poincaré constant xi_min = {public['xi_min']:.10g}")
    print(
        "  Laplacian eigenvalues: " + ", ".join(f"{x:.6g}" for x in public["laplacian_eigenvalues"])
    )
    print(
        "  slowest lGAN eigenvalues: "
        + ", ".join(f"{re:.6g}{im:+.6g}i" for re, im in public["lgan_eigenvalues"])
    )
    print(
        f"decay rate eta = {public['decay_rate']:.6g}"
        f" ({'oscillating' if public['oscillating'] else 'not oscillating'})"
    )
    best = public["optimal"]
    print(
        f"optimal alpha = {best['alpha']:.6g}, gamma = {best['gamma']:.6g} "
        f"(rate {best['rate']:.6g})"
    )
    verdict = "stable" if stab["stable"] else "UNSTABLE"
    print(
        f"{stab['scheme']} with tau = {stab['tau']:g}: max |R(tau lambda)| = "
        f"{stab['max_amplification']:.8g} ({verdict}); max stable step "
        f"{stab['max_stable_step']:.6g}"
    )
    if public["measured_rate"] is not None:
        print(f"measured decay rate over the run: {public['measured_rate']:.6g}")
    else:
        print(f"the run overflowed: {public['overflow']}")
    if figure is not None:
        print(f"figure written to {figure}")
    if written is not None:
        print(f"results written to {written}")
    if unstable:
        say(f"gan-pde lgan: {unstable}")
        return EXIT_FAILED
    return 0


def _checkpoint_file(args: argparse.Namespace) -> Path | None:
    """``--checkpoint`` checked before the work (and the note for a Ctrl-C set)."""
    every = as_non_negative(args.checkpoint_every, "--checkpoint-every")
    if args.checkpoint is None:
        if args.resume:
            msg = "--resume needs --checkpoint PATH (the file that the interrupted run wrote)"
            raise InvalidInputError(msg)
        return None
    path = Path(args.checkpoint)
    if path.is_dir():
        msg = f"--checkpoint {path}: is a folder; give a file name such as {path / 'lgan.npz'}"
        raise InvalidInputError(msg)
    output_folder(path.parent, option="--checkpoint")
    if args.resume and not path.exists():
        say(f"gan-pde lgan: no checkpoint {path}: starting from t = 0")

    def note() -> str:
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as data:
                    where = f" at step {int(data['__step'])}"
            except Exception:  # noqa: BLE001 - only for the message; --resume checks the file
                where = ""
            return f"{path} holds the time integration{where}; continue with: {resume_command()}"
        return (
            "no checkpoint was written yet (one every "
            f"{every:g} s of wall time, --checkpoint-every): running again starts from t = 0"
        )

    set_interrupt_note(note)
    return path


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _instability(public: dict[str, Any], integrator: IntegratorConfig) -> str:
    """'' for a stable step; else one line naming the stable step bound and the fix."""
    stab = public["stability"]
    if stab["stable"] and public["overflow"] is None:
        return ""
    bound = stab["max_stable_step"]
    what = (
        f"[integrator] tau = {integrator.tau:g} is unstable for scheme = "
        f"{integrator.scheme!r} (max |R(tau lambda)| = {stab['max_amplification']:.6g} > 1"
        + (", the run overflowed" if public["overflow"] is not None else "")
        + ")"
    )
    if math.isfinite(bound) and bound > 0:
        return (
            f"{what}: the stable step bound is tau <= {bound:.6g}; lower tau or use "
            "scheme = 'crank-nicolson' (A-stable)"
        )
    return (
        f"{what}: no step is stable for {integrator.scheme} on this spectrum (stable step "
        f"bound {bound:g}); use scheme = 'crank-nicolson' (A-stable)"
        + ("" if integrator.scheme == "rk4" else " or 'rk4'")
    )


def _stability_function(scheme: str):
    if scheme == "euler":
        return lambda z: 1 + z
    if scheme == "heun":
        return lambda z: 1 + z + z**2 / 2
    if scheme == "rk4":
        return lambda z: 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24
    return lambda z: (1 + z / 2) / (1 - z / 2)


def _plot(result: dict[str, Any], integrator: IntegratorConfig, path: str) -> None:
    """The eigenvalues zoomed, τλ in the stability region, the run's decay
    (:func:`gan_pde.plotting.plot_lgan_summary`)."""
    from gan_pde.plotting import figure_file, plot_lgan_summary

    note = f"the run overflowed:\n{result.get('overflow')}" if result.get("overflow") else None
    with figure_file(path, figsize=(16.5, 4.4)) as fig:
        plot_lgan_summary(
            result["_spectrum"],
            result["_trajectory"],
            scheme=integrator.scheme,
            tau=integrator.tau,
            note=note,
            fig=fig,
        )
