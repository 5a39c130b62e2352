"""Benchmark: xi_min of a 3D weighted Laplacian — shift-invert (sparse LU) against LOBPCG+AMG.

This is the measurement behind ``method="auto"`` in 3D (``_LU_MAX_3D`` in
``gan_pde/spectral/weighted_laplacian.py``): for each element and size it times, in one
process, ``weighted_laplacian_spectrum`` with ``method="shift-invert"`` and with
``method="lobpcg"``, and the plain scikit-fem + ``eigsh`` baseline of
``bench_spectrum.py`` where it finishes in reasonable time (SuperLU with its default
pivoting fills in catastrophically in 3D; it is skipped above ``--baseline-max`` dofs).
Medians of ``--repeat`` runs; BLAS on one thread; results to
``benchmarks/results/spectrum_3d.json``.

    python benchmarks/bench_spectrum_3d.py
    python benchmarks/bench_spectrum_3d.py --large 100   # one P1 run at 101³ ≈ 1e6 dofs

``--large N`` times one ``method="auto"`` P1 solve on N³ cells (issue 10's 3D target is
ξ_min at 1e6 dofs in under a minute), with its assembly/solve split, relative
eigen-residual and the process's peak memory, and writes
``benchmarks/results/spectrum_3d_1e6.json`` (run it in its own process: the peak is the
process's).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from functools import partial
from pathlib import Path

from bench_spectrum import baseline, meta, ours, relative_residual, timed
from threadpoolctl import threadpool_limits

import gan_pde as gp
from gan_pde.fem import make_basis

DENSITY = gp.GaussianMixture(
    means=[[-1.5, 0.0, 0.0], [1.5, 0.5, 0.0]], stds=[1.0, 0.8], weights=[0.5, 0.5]
)
DOMAIN = ((-7.0, 7.0), (-6.5, 7.0), (-6.0, 6.0))
CELLS = {"P1": [21, 30, 46], "P2": [10, 15, 23]}  # ~1e4, 3e4, 1e5 dofs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-max", type=int, default=10_000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results/spectrum_3d.json"))
    parser.add_argument("--large", type=int, help="one P1 run on N^3 cells instead")
    args = parser.parse_args()
    if args.large:
        large(args.large)
        return
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for element, sizes in CELLS.items():
            for n in sizes:
                mesh = gp.mesh.box(*DOMAIN, n=(n, n, n))
                dofs = int(make_basis(mesh, element).N)
                repeat = args.repeat if dofs < 200_000 else 1
                row = {"element": element, "cells": n, "dofs": dofs}
                for method in ("shift-invert", "lobpcg"):
                    solve = partial(ours, mesh, element, method, DENSITY)
                    median, runs, spec = timed(solve, repeat)
                    row[f"{method}_s"] = median
                    row[f"{method}_runs"] = runs
                    row[f"{method}_xi_min"] = float(spec.eigenvalues[1])
                if dofs <= args.baseline_max:
                    median, runs, xi = timed(partial(baseline, mesh, element, DENSITY), 1)
                    row.update(baseline_s=median, baseline_xi_min=float(xi[1]))
                rows.append(row)
                print(
                    json.dumps({k: v for k, v in row.items() if not k.endswith("runs")}), flush=True
                )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta(), "rows": rows}, indent=2))


def large(n: int) -> None:
    """One P1 ``method="auto"`` solve on n³ cells: time, split, residual, peak memory."""
    mesh = gp.mesh.box(*DOMAIN, n=(n, n, n))
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        spectrum = ours(mesh, "P1", "auto", DENSITY)
        seconds = time.perf_counter() - start
    row = {
        "element": "P1",
        "cells": n,
        "dofs": spectrum.n_dofs,
        "method": spectrum.method,
        "seconds": seconds,
        "assembly_s": spectrum.info["assembly_seconds"],
        "solve_s": spectrum.info["solve_seconds"],
        "xi_min": float(spectrum.eigenvalues[1]),
        "relative_residual": relative_residual(spectrum),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    }
    print(json.dumps(row), flush=True)
    out = Path(__file__).parent / "results/spectrum_3d_1e6.json"
    out.write_text(json.dumps({"meta": meta(), "rows": [row]}, indent=2))


if __name__ == "__main__":
    main()
