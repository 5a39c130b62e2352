"""``python -m gan_pde.mpi``: the spectrum and the JSD flow on MPI ranks, from the configs
of ``gan-pde spectrum`` and ``gan-pde jsd-flow``.

Run it under ``mpiexec``::

    mpiexec -n 4 python -m gan_pde.mpi spectrum [CONFIG] [--method lobpcg] [--json] [--out DIR]
    mpiexec -n 4 python -m gan_pde.mpi jsd-flow [CONFIG] [--linear-solver iterative] [--out DIR]
    python -m gan_pde.mpi info

Every rank reads the config; rank 0 builds the mesh, partitions it and sends each rank its
cells; rank 0 prints and writes the results: ``results.json`` (the serial command's document
plus the MPI layout), and for ``jsd-flow`` also ``trajectory.npz``, ``trajectory.xdmf`` +
``.h5`` and ``divergences.png`` — the files of ``gan-pde jsd-flow``.  Exit statuses are
those of ``gan-pde`` (0 done, 1 solver failed, 2 usage/config/dependency error).  PETSc
options go through the ``PETSC_OPTIONS`` environment variable with the prefixes
``-gan_pde_`` (eigen-solver) and ``-gan_pde_jsd_`` (Newton), e.g.
``PETSC_OPTIONS="-gan_pde_jsd_snes_monitor"``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["HELP", "NAME", "add_arguments", "main", "run"]

NAME = "mpi"
HELP = "the spectrum and the JSD flow on MPI ranks (run under mpiexec; PETSc/SLEPc)"

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommands ``spectrum``, ``jsd-flow`` and ``info``."""
    jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    spectrum = jobs.add_parser(
        "spectrum", help="weighted-Laplacian spectrum and xi_min (config of gan-pde spectrum)"
    )
    spectrum.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    spectrum.add_argument(
        "--method",
        choices=("auto", "shift-invert", "lobpcg"),
        default=None,
        help="eigen-solver (default: the config's; 'dense' there means shift-invert)",
    )
    flow = jobs.add_parser("jsd-flow", help="JSD gradient flow (config of gan-pde jsd-flow)")
    flow.add_argument("config", nargs="?", help="TOML config (default: bundled example)")
    flow.add_argument(
        "--linear-solver",
        choices=("direct", "iterative"),
        default="direct",
        help="Newton's linear solver: MUMPS LU (default) or GMRES + AMG",
    )
    for sub in (spectrum, flow):
        sub.add_argument("--json", action="store_true", help="print results.json on stdout")
        sub.add_argument("--out", metavar="DIR", default=None, help="write results.json there")
        sub.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    jobs.add_parser("info", help="say whether petsc4py/slepc4py/mpi4py load, and the ranks")


def _spectrum(args: argparse.Namespace, comm: Any, out: Any) -> dict[str, Any]:
    from gan_pde import __version__
    from gan_pde.config import load_spectrum_config
    from gan_pde.mpi.partition import collective
    from gan_pde.mpi.spectrum import weighted_laplacian_spectrum

    del out  # only results.json, written by the caller
    config = load_spectrum_config(args.config)
    method = args.method or config.solver.method
    method = "shift-invert" if method == "dense" else method
    density, mesh = collective(
        comm,
        lambda: (config.density.build(), config.domain.build()) if comm.rank == 0 else (None, None),
    )
    start = time.perf_counter()
    spectrum = weighted_laplacian_spectrum(
        density,
        mesh,
        k=config.solver.k,
        element=config.solver.element,
        method=method,
        tol=config.solver.tol,
        comm=comm,
        gather=False,
    )
    seconds = time.perf_counter() - start
    return {
        "eigenvalues": spectrum.eigenvalues.tolist(),
        "poincare_constant": (
            spectrum.poincare_constant if spectrum.eigenvalues.size > 1 else None
        ),
        "backward_errors": spectrum.residuals.tolist(),
        "element": spectrum.info["element"],
        "method": spectrum.info["method"],
        "n_dofs": spectrum.info["n_dofs"],
        "seconds": seconds,
        "info": spectrum.info,
        "config": config.to_dict(),
        "version": __version__,
    }


def _jsd_flow(args: argparse.Namespace, comm: Any, out: Any) -> dict[str, Any]:
    from gan_pde.commands.jsd_flow import load_config
    from gan_pde.mpi.jsd import JSDFlow
    from gan_pde.mpi.partition import collective

    config = load_config(args.config)
    solver = config.solver
    target, initial, mesh = collective(
        comm,
        lambda: (
            (config.target.build(), config.initial.build(), config.domain.build())
            if comm.rank == 0
            else (None, None, None)
        ),
    )
    start = time.perf_counter()
    flow = JSDFlow(
        target, initial, mesh, element=solver.element, linear_solver=args.linear_solver, comm=comm
    )
    trajectory = flow.solve(
        solver.t_final, solver.dt, save_times=solver.save_times, scheme=solver.scheme
    )
    seconds = time.perf_counter() - start
    if comm.rank != 0:
        return {}
    trajectory = dataclasses.replace(
        trajectory, info={**trajectory.info, "config": config.to_dict()}
    )
    if out is not None:
        from gan_pde.io import save_trajectory, write_xdmf
        from gan_pde.plotting import figure_file, plot_divergences

        save_trajectory(out / "trajectory.npz", trajectory)
        write_xdmf(out / "trajectory.xdmf", trajectory)
        with figure_file(out / "divergences.png", figsize=(7.5, 4.0)) as fig:
            plot_divergences(trajectory, ax=fig.subplots())
    return {
        "times": trajectory.times,
        "jsd": trajectory.jsd,
        "l1": trajectory.l1,
        "kl": trajectory.kl,
        "mass": trajectory.mass,
        "t_final": solver.t_final,
        "n_steps": trajectory.info["n_steps"],
        "n_dofs": trajectory.info["n_dofs"],
        "newton_iterations": int(trajectory.newton_iterations.sum()),
        "seconds": seconds,
        "info": {k: v for k, v in trajectory.info.items() if k != "config"},
        "config": config.to_dict(),
    }


def _summary(job: str, document: dict[str, Any], size: int) -> str:
    if job == "spectrum":
        values = ", ".join(f"{x:.10g}" for x in document["eigenvalues"])
        return (
            f"spectrum on {size} rank(s): {document['element']} on {document['n_dofs']} dofs, "
            f"{document['method']} ({document['info']['slepc']['solver']}), "
            f"{document['seconds']:.2f} s; eigenvalues {values}; xi_min = "
            f"{document['poincare_constant']}"
        )
    return (
        f"jsd-flow on {size} rank(s): {document['n_steps']} steps on {document['n_dofs']} dofs, "
        f"JSD {document['jsd'][0]:.4g} -> {document['jsd'][-1]:.4g}, mass drift "
        f"{np.ptp(document['mass']):.1e}, {document['newton_iterations']} Newton iterations, "
        f"{document['seconds']:.2f} s"
    )


def run(args: argparse.Namespace) -> int:
    """Run one job (collective under mpiexec); returns the exit status."""
    from gan_pde.commands._common import output_folder, print_json, write_results
    from gan_pde.errors import GanPdeError, NotConvergedError, NumericalBreakdownError
    from gan_pde.mpi._petsc import availability, load
    from gan_pde.mpi.partition import collective

    if args.job == "info":
        ok, text = availability()
        size = load().MPI.COMM_WORLD.size if ok else 0
        print(
            f"gan_pde.mpi: {'available' if ok else 'unavailable'}: {text}"
            + (f"; {size} rank(s)" if ok else "")
        )
        return EXIT_OK if ok else EXIT_USAGE
    comm = None
    try:
        comm = load().MPI.COMM_WORLD
        out = collective(
            comm, lambda: output_folder(args.out) if (args.out and comm.rank == 0) else None
        )
        job = _spectrum if args.job == "spectrum" else _jsd_flow
        document = job(args, comm, out)
    except (NumericalBreakdownError, NotConvergedError) as err:
        if comm is None or comm.rank == 0:
            print(f"gan_pde.mpi {args.job}: failed: {err}", file=sys.stderr)
        return EXIT_FAILED
    except GanPdeError as err:
        if comm is None or comm.rank == 0:
            print(f"gan_pde.mpi {args.job}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if comm.rank != 0:
        return EXIT_OK
    write_results(out, document)
    if args.json:
        print_json(document)
    elif not args.quiet:
        print(_summary(args.job, document, comm.size))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m gan_pde.mpi``."""
    import logging

    parser = argparse.ArgumentParser(
        prog="python -m gan_pde.mpi",
        description=HELP,
        epilog="docs/mpi.md: install, options, outputs, scaling",
    )
    add_arguments(parser)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run(args)
