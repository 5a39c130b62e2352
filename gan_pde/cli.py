"""The ``gan-pde`` command line.

``gan-pde spectrum [CONFIG] [--json] [--plot FILE]`` computes the weighted-Laplacian
spectrum described by a TOML config (the bundled default when CONFIG is omitted);
``gan-pde config show NAME`` prints a bundled config.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence

from gan_pde import __version__
from gan_pde.errors import GanPdeError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gan-pde", description="Finite-element solvers for the PDEs of GAN training."
    )
    parser.add_argument("--version", action="version", version=f"gan-pde {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")
    commands = parser.add_subparsers(dest="command", required=True)

    spectrum = commands.add_parser(
        "spectrum", help="weighted-Laplacian spectrum and Poincaré constant (paper 004)"
    )
    spectrum.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    spectrum.add_argument("--json", action="store_true", help="print machine-readable JSON")
    spectrum.add_argument("--plot", metavar="FILE", help="save a figure of the eigenfunctions")

    config = commands.add_parser("config", help="bundled configurations")
    config_commands = config.add_subparsers(dest="action", required=True)
    show = config_commands.add_parser("show", help="print a bundled config")
    show.add_argument("name", help="config name, e.g. 'spectrum'")
    config_commands.add_parser("list", help="list bundled configs")
    return parser


def _run_spectrum(args: argparse.Namespace) -> int:
    from gan_pde.config import load_spectrum_config
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    config = load_spectrum_config(args.config)
    density = config.density.build()
    mesh = config.domain.build()
    start = time.perf_counter()
    spectrum = weighted_laplacian_spectrum(
        density,
        mesh,
        k=config.solver.k,
        element=config.solver.element,
        method=config.solver.method,
        tol=config.solver.tol,
    )
    seconds = time.perf_counter() - start
    if args.plot:
        from gan_pde.plotting import plot_spectrum

        plot_spectrum(spectrum, density, args.plot)
    if args.json:
        payload = {
            "eigenvalues": spectrum.eigenvalues.tolist(),
            "poincare_constant": spectrum.poincare_constant
            if spectrum.eigenvalues.size > 1
            else None,
            "backward_errors": spectrum.residuals.tolist(),
            "element": spectrum.element,
            "method": spectrum.method,
            "n_dofs": spectrum.n_dofs,
            "seconds": seconds,
            "info": spectrum.info,
            "config": config.to_dict(),
            "version": __version__,
        }
        print(json.dumps(payload, indent=2))
        return 0
    source = args.config or "bundled spectrum.toml"
    print(f"weighted-Laplacian spectrum ({source})")
    print(
        f"  {spectrum.element} on {spectrum.info['n_cells']} cells, {spectrum.n_dofs} dofs, "
        f"method {spectrum.method}, {seconds:.2f} s"
    )
    for i, (value, error) in enumerate(zip(spectrum.eigenvalues, spectrum.residuals, strict=True)):
        print(f"  xi_{i} = {value: .12g}   (backward error {error:.1e})")
    if spectrum.eigenvalues.size > 1:
        print(f"Poincaré constant xi_min = {spectrum.poincare_constant:.12g}")
    if args.plot:
        print(f"figure written to {args.plot}")
    return 0


def _run_config(args: argparse.Namespace) -> int:
    from gan_pde.config import bundled_config_names, bundled_config_text

    if args.action == "list":
        print("\n".join(bundled_config_names()))
    else:
        print(bundled_config_text(args.name), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gan-pde``; returns the exit status (2 for a gan_pde error)."""
    args = _parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "spectrum":
            return _run_spectrum(args)
        return _run_config(args)
    except GanPdeError as err:
        print(f"gan-pde: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
