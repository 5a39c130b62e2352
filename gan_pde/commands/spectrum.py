"""``gan-pde spectrum``: the weighted-Laplacian spectrum and Poincaré constant (paper 004)."""

from __future__ import annotations

import argparse
import json
import time

from gan_pde import __version__

NAME = "spectrum"
HELP = "weighted-Laplacian spectrum and Poincaré constant (paper 004)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--plot", metavar="FILE", help="save a figure of the eigenfunctions")


def run(args: argparse.Namespace) -> int:
    from gan_pde.config import load_spectrum_config
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    config = load_spectrum_config(args.config)
    density = config.density.build()
    mesh = config.domain.build()
    config.solver.check_mesh(mesh)
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
