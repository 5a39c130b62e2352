"""Benchmark: peak memory and wall time against problem size, one fresh process per size.

Issue 10, item 5 ("plots of time and memory vs size ... and the largest size that fits in
24 GB"). For every solver and size this script starts a new Python process
(``bench_memory.py --child SOLVER PARAMETER``) that

1. imports everything the solvers need (numpy, scipy, scikit-fem, pyamg, the gan_pde
   subpackages, the benchmark modules whose problems it reuses) and reads its peak resident
   set size ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (kB on Linux): the baseline;
2. builds the problem, times the solve (``time.perf_counter``) with BLAS on one thread
   (threadpoolctl) and reads ``ru_maxrss`` again: the peak;
3. prints one JSON line with both raw numbers, the wall times and the size.

A fresh process per size keeps the peak of one size from hiding the next, and keeps the
allocator's cached pages of an earlier solve out of the measurement.  The parent process
imports neither numpy nor gan_pde: on Linux a child started by ``subprocess`` (fork or vfork,
then exec) starts with the parent's peak as its own ``ru_maxrss`` (checked: a parent at
520 MB gives a fresh ``python -c`` 520 MB), so the parent stays far below the children's
baseline (its peak, about 12 MB, is recorded in ``meta``).

Solvers (the problems of the other benchmark scripts of this folder):

* ``spectrum_2d_p1`` / ``spectrum_2d_p2``: ``weighted_laplacian_spectrum(..., k=6,
  method="auto")`` on the density and rectangle of ``bench_spectrum.py``; size = dofs;
* ``spectrum_3d_p1``: the same on the density and box of ``bench_spectrum_3d.py``
  ("auto": LOBPCG + AMG above 2e4 dofs); size = dofs;
* ``jsd_flow_2d``: one backward-Euler step (Δt = 0.01, Newton included) of the 2D problem of
  ``bench_jsd_flow.py``; size = dofs; the time is that of the step, the flow's setup
  (assembly) is recorded separately and is part of the peak;
* ``meanfield_fv_3d``: :class:`WGANMeanField` of ``bench_meanfield.py`` with both laws 3D,
  solved to t = 0.5; size = cells per law; the time is the median per SSP-Heun step;
* ``meanfield_particles``: ``simulate_particles`` with batch 1, 20 clipped-SGD steps;
  size = N neurons; the time is per step, the setup (a first solve) subtracted as in
  ``bench_meanfield.py``.

Results go to ``benchmarks/results/memory.json`` (``--quick``: ``memory_quick.json``) and
are rendered with fitted exponents, plots and the extrapolated largest size in 24 GB by
``benchmarks/performance.py``.

    python benchmarks/bench_memory.py            # full sizes (~5 minutes on 2 cores)
    python benchmarks/bench_memory.py --quick    # the two smallest sizes of each (< 2 min)
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Solver key -> (label, size unit, what is timed, parameters in full mode).  The parameter
#: is the target number of dofs for the FEM solvers, the cells per axis for the finite
#: volumes and N for the particles.
SOLVERS = {
    "spectrum_2d_p1": (
        "2D spectrum P1",
        "dofs",
        "xi_min solve, assembly included",
        [1e4, 1e5, 3e5, 1e6],
    ),
    "spectrum_2d_p2": (
        "2D spectrum P2",
        "dofs",
        "xi_min solve, assembly included",
        [1e4, 1e5, 3e5],
    ),
    "spectrum_3d_p1": (
        "3D spectrum P1",
        "dofs",
        "xi_min solve, assembly included",
        [1e4, 3e4, 1e5, 3e5],
    ),
    "jsd_flow_2d": ("JSD flow 2D P1", "dofs", "one implicit step", [1e4, 1e5, 3e5]),
    "meanfield_fv_3d": ("mean field FV 3D", "cells per law", "one SSP-Heun step", [16, 32, 64]),
    "meanfield_particles": (
        "mean-field particles",
        "neurons",
        "one clipped-SGD step",
        [1e4, 1e5, 1e6],
    ),
}

#: Cells per axis of the 3D box of ``bench_spectrum_3d.py`` for about 1e4, 3e4, 1e5, 3e5 P1
#: dofs ((n + 1)³; the first three are its ``CELLS["P1"]``).
CELLS_3D = {1e4: 21, 3e4: 30, 1e5: 46, 3e5: 66}


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _import_everything() -> None:
    """Import every module a child may use, so that the baseline RSS is setup-free."""
    import numpy  # noqa: F401
    import pyamg  # noqa: F401
    import scipy.sparse.linalg  # noqa: F401
    import skfem  # noqa: F401
    from bench_jsd_flow import mesh  # noqa: F401
    from bench_meanfield import model  # noqa: F401
    from bench_spectrum import CELLS  # noqa: F401
    from bench_spectrum_3d import DOMAIN  # noqa: F401
    from threadpoolctl import threadpool_limits  # noqa: F401

    import gan_pde.flows
    import gan_pde.meanfield
    import gan_pde.provenance
    import gan_pde.spectral  # noqa: F401


def _cells_2d(element: str, target: float) -> int:
    """Cells per axis of ``bench_spectrum.py``'s rectangle for ``target`` dofs."""
    from bench_spectrum import CELLS

    if target in CELLS[element]:
        return CELLS[element][target]
    per_axis = round(target**0.5)  # (n + 1)² P1 dofs, (2n + 1)² P2 dofs
    return per_axis - 1 if element == "P1" else (per_axis - 1) // 2


def _spectrum(dim: int, element: str, target: float) -> dict:
    import bench_spectrum
    import bench_spectrum_3d

    import gan_pde as gp
    from gan_pde.fem import make_basis

    start = time.perf_counter()
    if dim == 2:
        cells = _cells_2d(element, target)
        density, mesh = (
            bench_spectrum.DENSITY,
            gp.mesh.rectangle(*bench_spectrum.DOMAIN, n=(cells, cells)),
        )
    else:
        cells = CELLS_3D[target]
        density = bench_spectrum_3d.DENSITY
        mesh = gp.mesh.box(*bench_spectrum_3d.DOMAIN, n=(cells, cells, cells))
    setup = time.perf_counter() - start
    start = time.perf_counter()
    spectrum = gp.weighted_laplacian_spectrum(
        density, mesh, k=bench_spectrum.K, element=element, method="auto"
    )
    seconds = time.perf_counter() - start
    return {
        "cells": cells,
        "size": int(make_basis(mesh, element).N),
        "time_s": seconds,
        "setup_s": setup,
        "xi_min": float(spectrum.poincare_constant),
        "method": spectrum.method,
    }


def _jsd_step(target: float) -> dict:
    import bench_jsd_flow

    from gan_pde.flows import JSDFlow

    cells = _cells_2d("P1", target)
    start = time.perf_counter()
    flow = JSDFlow(bench_jsd_flow.TARGET[2], bench_jsd_flow.START[2], bench_jsd_flow.mesh(2, cells))
    setup = time.perf_counter() - start
    start = time.perf_counter()
    trajectory = flow.solve(0.01, 0.01, save_times=[0.0, 0.01])
    seconds = time.perf_counter() - start
    return {
        "cells": cells,
        "size": int(flow.operator.n_dofs),
        "time_s": seconds,
        "setup_s": setup,
        "newton_iterations": int(trajectory.newton_iterations.sum()),
    }


def _meanfield_fv(cells: int) -> dict:
    import numpy as np
    from bench_meanfield import model

    start = time.perf_counter()
    mean_field = model(3, cells)
    setup = time.perf_counter() - start
    stamps: list[float] = []
    start = time.perf_counter()
    trajectory = mean_field.solve(
        0.5, save_times=[0.0, 0.5], callback=lambda _t: stamps.append(time.perf_counter())
    )
    return {
        "cells": cells,
        "size": cells**3,
        "time_s": statistics.median(np.diff([start, *stamps])),
        "setup_s": setup,
        "steps": int(trajectory.info["n_steps"]),
    }


def _particles(n: int) -> dict:
    from bench_meanfield import model

    from gan_pde.meanfield import simulate_particles

    steps, h = 20, 1.0
    mean_field = model(2, 16)
    start = time.perf_counter()
    simulate_particles(mean_field, n=n, h=h, t_final=steps * h / n, save_times=[0.0], seed=0)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    simulate_particles(mean_field, n=n, h=h, t_final=steps * h / n, seed=0)
    total = time.perf_counter() - start
    return {"size": n, "time_s": max(total - setup, 0.0) / steps, "setup_s": setup, "steps": steps}


def child(solver: str, parameter: float) -> dict:
    """Measure one solver at one size in this (fresh) process; returns the JSON row."""
    _import_everything()
    baseline_kb = _rss_kb()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        if solver == "spectrum_2d_p1":
            row = _spectrum(2, "P1", parameter)
        elif solver == "spectrum_2d_p2":
            row = _spectrum(2, "P2", parameter)
        elif solver == "spectrum_3d_p1":
            row = _spectrum(3, "P1", parameter)
        elif solver == "jsd_flow_2d":
            row = _jsd_step(parameter)
        elif solver == "meanfield_fv_3d":
            row = _meanfield_fv(int(parameter))
        else:
            row = _particles(int(parameter))
    peak_kb = _rss_kb()
    return {
        "parameter": parameter,
        **row,
        "baseline_rss_kb": baseline_kb,
        "peak_rss_kb": peak_kb,
        "net_peak_bytes": (peak_kb - baseline_kb) * 1024,
    }


def meta() -> dict:
    """Versions, BLAS libraries and date, measured in a child like the solves."""
    import os
    import platform

    from threadpoolctl import threadpool_info

    from gan_pde.provenance import versions

    _import_everything()
    return {
        "versions": versions(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "blas_threads": 1,
        "blas": [
            {k: info.get(k) for k in ("internal_api", "version")} for info in threadpool_info()
        ],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rss": "ru_maxrss of the child process, kB (Linux)",
    }


def _run_child(*arguments: str) -> dict:
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        msg = f"child {arguments} failed with code {result.returncode}:\n{result.stderr[-3000:]}"
        raise RuntimeError(msg)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the two smallest sizes of each")
    parser.add_argument("--repeat", type=int, default=1, help="fresh processes per size")
    parser.add_argument("--solvers", nargs="+", choices=sorted(SOLVERS), default=list(SOLVERS))
    parser.add_argument("--out", help="output JSON (default results/memory[_quick].json)")
    parser.add_argument("--child", nargs=2, metavar=("SOLVER", "PARAMETER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(HERE))
        solver, parameter = args.child
        row = meta() if solver == "meta" else child(solver, float(parameter))
        print(json.dumps(row), flush=True)
        return
    out = Path(
        args.out or HERE / "results" / ("memory_quick.json" if args.quick else "memory.json")
    )
    results = {
        "meta": _run_child("meta", "0"),
        "mode": "quick" if args.quick else "full",
        "repeat": args.repeat,
        "solvers": [],
    }
    for key in args.solvers:
        label, unit, timed, parameters = SOLVERS[key]
        rows = []
        for parameter in parameters[:2] if args.quick else parameters:
            runs = [_run_child(key, repr(parameter)) for _ in range(args.repeat)]
            row = dict(runs[0])
            row["time_s"] = statistics.median(r["time_s"] for r in runs)
            row["peak_rss_kb"] = statistics.median(r["peak_rss_kb"] for r in runs)
            row["baseline_rss_kb"] = statistics.median(r["baseline_rss_kb"] for r in runs)
            row["net_peak_bytes"] = statistics.median(r["net_peak_bytes"] for r in runs)
            row["runs"] = [
                {k: r[k] for k in ("time_s", "baseline_rss_kb", "peak_rss_kb")} for r in runs
            ]
            rows.append(row)
            print(
                json.dumps({"solver": key, **{k: v for k, v in row.items() if k != "runs"}}),
                flush=True,
            )
        results["solvers"].append(
            {"key": key, "label": label, "size_unit": unit, "timed": timed, "rows": rows}
        )
    results["meta"]["parent_peak_rss_kb"] = _rss_kb()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
