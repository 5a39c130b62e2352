"""``gan-pde spectrum``: the weighted-Laplacian spectrum and Poincaré constant (paper 004)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from gan_pde import __version__
from gan_pde.commands._common import (
    Progress,
    add_common_options,
    figure_path,
    output_folder,
    print_json,
    with_defaults,
    write_results,
)

NAME = "spectrum"
HELP = "weighted-Laplacian spectrum and Poincaré constant (paper 004)"

_STAGES = ("building the mesh", "the eigen-solve")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="save a figure of the eigenfunctions (format from the extension: .png, .pdf, .svg)",
    )
    add_common_options(
        parser, out=None, out_help="also write results.json into this folder (default: none)"
    )


def run(args: argparse.Namespace) -> int:
    from gan_pde.config import load_spectrum_config
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    args = with_defaults(args, add_arguments)
    config = load_spectrum_config(args.config)
    figure = figure_path(args.plot)
    out = output_folder(args.out) if args.out else None
    with Progress(0, unit="part", stages=_STAGES, quiet=args.quiet) as progress:
        progress.stage(_STAGES[0])
        density = config.density.build()
        mesh = config.domain.build()
        config.solver.check_mesh(mesh)
        progress.stage(_STAGES[1])
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
    if figure is not None:
        from gan_pde.plotting import plot_spectrum

        plot_spectrum(spectrum, density, figure)
    payload: dict[str, Any] = {
        "eigenvalues": spectrum.eigenvalues.tolist(),
        "poincare_constant": (
            spectrum.poincare_constant if spectrum.eigenvalues.size > 1 else None
        ),
        "backward_errors": spectrum.residuals.tolist(),
        "element": spectrum.element,
        "method": spectrum.method,
        "n_dofs": spectrum.n_dofs,
        "seconds": seconds,
        "info": spectrum.info,
        "config": config.to_dict(),
        "version": __version__,
    }
    written = write_results(out, payload)
    if args.json:
        print_json(payload)
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
    if figure is not None:
        print(f"figure written to {figure}")
    if written is not None:
        print(f"results written to {written}")
    return 0
