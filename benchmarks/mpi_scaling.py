"""Strong scaling of the MPI backend (gan_pde.mpi), 1 → 2 ranks, and a cost model.

Two jobs on the 3D problem of ``bench_spectrum_3d.py`` (the mixture
½N((−1.5, 0, 0), I) + ½N((1.5, 0.5, 0), 0.64 I) on [−7, 7] × [−6.5, 7] × [−6, 6], P1 on the
structured tetrahedral box with n³ cubes, (n + 1)³ dofs):

- ``spectrum``: k = 6 smallest eigenpairs, SLEPc LOBPCG preconditioned by hypre BoomerAMG
  (the MPI backend's choice in 3D above 2e4 dofs), tol 1e-10, ``gather=False``;
- ``jsd``: the JSD flow to that mixture from N((0.3, 0, 0), 1.5 I), two backward-Euler
  steps of Δt = 0.05, Newton's systems by GMRES + BoomerAMG (``linear_solver="iterative"``).

Each (job, size, ranks) is one ``mpiexec -n P`` run of this file in ``--worker`` mode, which
times the phases (rank 0 builds the mesh; partition + scatter; assembly; solve), records
every rank's peak RSS (``getrusage``) and the threads (OMP/OpenBLAS = 1 per rank), and
appends one JSON line.  The orchestrator then fits the per-dof costs and projects time and
memory to 1e7 and 1e8 dofs on clusters of nodes (the model is written out in the JSON and in
docs/mpi.md).  Run with the MPI interpreter (``.venv-mpi``, see docs/mpi.md)::

    .venv-mpi/bin/python benchmarks/mpi_scaling.py --cells 20 40 60 100 \
        --out benchmarks/results/mpi_scaling.json

(2 cores shared with other jobs: give it a generous ``--timeout`` per run.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

BOUNDS = [(-7.0, 7.0), (-6.5, 7.0), (-6.0, 6.0)]
K = 6
TOL = 1e-10
JSD_STEPS, JSD_DT = 2, 0.05


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB → GB


def worker(job: str, cells: int, out: str) -> None:
    import gan_pde as gp
    from gan_pde import mpi
    from gan_pde.mpi._petsc import load

    comm = load().MPI.COMM_WORLD
    root = comm.rank == 0
    rho = gp.GaussianMixture(
        means=[[-1.5, 0.0, 0.0], [1.5, 0.5, 0.0]], stds=[1.0, 0.8], weights=[0.5, 0.5]
    )
    comm.Barrier()
    start = time.perf_counter()
    mesh = gp.mesh.box(*BOUNDS, n=cells) if root else None
    comm.Barrier()
    mesh_s = time.perf_counter() - start
    rss_before = _rss_gb()
    record: dict = {"job": job, "cells": cells, "ranks": comm.size, "mesh_seconds": mesh_s}
    if job == "spectrum":
        t0 = time.perf_counter()
        spec = mpi.weighted_laplacian_spectrum(
            rho, mesh, k=K, method="lobpcg", tol=TOL, gather=False
        )
        comm.Barrier()
        info = spec.info
        record.update(
            dofs=info["n_dofs"],
            partition_seconds=info["partition_seconds"],
            scatter_seconds=info["scatter_seconds"],
            assembly_seconds=info["assembly_seconds"]
            - info["partition_seconds"]
            - info["scatter_seconds"],
            solve_seconds=info["solve_seconds"],
            total_seconds=time.perf_counter() - t0,
            xi_min=spec.poincare_constant,
            backward_error_max=float(spec.residuals.max()),
            iterations=info["slepc"]["iterations"],
            preconditioner=info["slepc"]["solver"],
        )
    else:
        start_density = gp.Gaussian(mean=[0.3, 0.0, 0.0], cov=(1.5 * np.eye(3)).tolist())
        t0 = time.perf_counter()
        flow = mpi.JSDFlow(rho, start_density, mesh, linear_solver="iterative")
        comm.Barrier()
        t1 = time.perf_counter()
        result = flow.solve(JSD_STEPS * JSD_DT, JSD_DT, gather=False)
        comm.Barrier()
        t2 = time.perf_counter()
        record.update(
            dofs=flow.part.n_dofs,
            partition_seconds=flow.part.info["partition_seconds"],
            scatter_seconds=flow.part.info["scatter_seconds"],
            assembly_seconds=t1
            - t0
            - flow.part.info["partition_seconds"]
            - flow.part.info["scatter_seconds"],
            solve_seconds=t2 - t1,
            total_seconds=t2 - t0,
            steps=JSD_STEPS,
            newton_iterations=int(result["newton_iterations"].sum()),
            jsd_final=float(result["jsd"][-1]),
            mass_drift=float(np.ptp(result["mass"])),
        )
    rss = comm.gather(_rss_gb(), root=0)
    rss_mesh = comm.gather(rss_before, root=0)
    if root:
        record.update(
            peak_rss_gb_per_rank=rss,
            rss_after_mesh_gb_per_rank=rss_mesh,
            threads={k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
        )
        with open(out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def _mpi_command(ranks: int) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    command = [shutil.which("mpiexec") or "mpiexec"]
    version = subprocess.run([command[0], "--version"], capture_output=True, text=True)
    if "Open MPI" in version.stdout or "OpenRTE" in version.stdout:
        env.update(
            OMPI_ALLOW_RUN_AS_ROOT="1",
            OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
            OMPI_MCA_btl_vader_single_copy_mechanism="none",
            # ranks that wait yield the core (on shared cores spinning starves the others)
            OMPI_MCA_mpi_yield_when_idle="1",
        )
        command.append("--oversubscribe")
    return [*command, "-n", str(ranks)], env


def _baseline_gb(rows: list[dict]) -> float:
    """Resident memory of an idle rank (Python, numpy, PETSc, SLEPc, MPI), subtracted from
    the peaks to get the memory that grows with the problem: rank 1's memory before its part
    arrives (``rss_after_mesh_gb_per_rank[1]``, ~0.11 GB)."""
    values = [r["rss_after_mesh_gb_per_rank"][1] for r in rows if r["ranks"] > 1]
    return float(np.median(values)) if values else 0.11


def _fit(rows: list[dict]) -> dict:
    """Measured per-dof costs of each job (the model of docs/mpi.md).

    - ``serial_us_per_dof``: what rank 0 does alone whatever the ranks (building the mesh,
      partitioning it, scattering the parts), at the largest size;
    - ``parallel``: assembly + solve on 1 rank fitted as ``a · N^(1+b)`` over the sizes
      (b > 0: the per-dof cost grows slowly, more LOBPCG/AMG iterations and cache misses);
    - ``memory``: bytes per dof of the peak above an idle rank's, on 1 rank and per rank on
      2; the whole mesh on rank 0 (peak while building it);
    - ``efficiency_2_ranks``: (1-rank time) / (2 × 2-rank time) of the parallel part at the
      largest size with both.
    """
    baseline = _baseline_gb(rows)
    model: dict = {"baseline_gb": baseline}
    for job in sorted({r["job"] for r in rows}):
        mine = [r for r in rows if r["job"] == job]
        ones = sorted((r for r in mine if r["ranks"] == 1), key=lambda r: r["dofs"])
        if not ones:
            continue
        largest = ones[-1]
        # the fit ignores sizes below 5e4 dofs (fixed costs dominate there) when it can
        large = [r for r in ones if r["dofs"] >= 5e4]
        fitted = large if len(large) >= 2 else ones
        n = np.array([r["dofs"] for r in fitted], dtype=float)
        work = np.array([r["assembly_seconds"] + r["solve_seconds"] for r in fitted])
        slope, intercept = np.polyfit(np.log(n), np.log(work), 1) if n.size > 1 else (1.0, 0.0)
        dofs = largest["dofs"]
        entry = {
            "dofs": dofs,
            "fitted_sizes": n.astype(int).tolist(),
            "serial_us_per_dof": 1e6
            * (largest["mesh_seconds"] + largest["partition_seconds"] + largest["scatter_seconds"])
            / dofs,
            "parallel_us_per_dof_at_largest": 1e6 * work[-1] / dofs,
            "parallel_fit": {"a_seconds": float(np.exp(intercept)), "exponent": float(slope)},
            "memory_bytes_per_dof_1_rank": 1e9
            * (largest["peak_rss_gb_per_rank"][0] - baseline)
            / dofs,
            "mesh_bytes_per_dof_rank0": 1e9
            * (largest["rss_after_mesh_gb_per_rank"][0] - baseline)
            / dofs,
        }
        pairs = [r for r in mine if r["ranks"] == 2 and r["dofs"] in {o["dofs"] for o in ones}]
        if pairs:
            two = max(pairs, key=lambda r: r["dofs"])
            one = next(r for r in ones if r["dofs"] == two["dofs"])
            work1 = one["assembly_seconds"] + one["solve_seconds"]
            work2 = two["assembly_seconds"] + two["solve_seconds"]
            entry.update(
                dofs_2_ranks=two["dofs"],
                speedup_1_to_2_parallel_part=work1 / work2,
                speedup_1_to_2_total=one["total_seconds"] / two["total_seconds"],
                efficiency_2_ranks=work1 / (2 * work2),
                memory_bytes_per_dof_per_rank_2_ranks=[
                    1e9 * (x - baseline) / two["dofs"] for x in two["peak_rss_gb_per_rank"]
                ],
            )
        model[job] = entry
    return model


#: The cluster the projection assumes (a typical CPU node, InfiniBand between nodes).
NODE = {"cores": 64, "memory_gb": 256}


def _project(model: dict) -> dict:
    """Time and memory for 1e7 and 1e8 dofs on clusters of nodes (see docs/mpi.md).

    time = serial · N  +  a · N^(1+b) / (P · e): e = 1 (ideal) and e = the measured 2-rank
    efficiency (on 2 cores shared with other jobs: a pessimistic bound); memory per rank =
    m₁ · N / P + the baseline, rank 0 also the whole mesh (mesh_bytes_per_dof · N).
    """
    out: dict = {}
    baseline = model.get("baseline_gb", 0.11)
    for job, m in model.items():
        if not isinstance(m, dict) or "parallel_fit" not in m:
            continue
        fit = m["parallel_fit"]
        measured = min(1.0, m.get("efficiency_2_ranks", 1.0))
        for dofs in (1e7, 1e8):
            rows = []
            for nodes in (1, 4, 16, 64):
                ranks = nodes * NODE["cores"]
                serial = m["serial_us_per_dof"] * 1e-6 * dofs
                work = fit["a_seconds"] * dofs ** fit["exponent"]
                per_rank_gb = m["memory_bytes_per_dof_1_rank"] * dofs / ranks / 1e9 + baseline
                mesh_gb = m["mesh_bytes_per_dof_rank0"] * dofs / 1e9
                rows.append(
                    {
                        "nodes": nodes,
                        "ranks": ranks,
                        "seconds_ideal": serial + work / ranks,
                        "seconds_measured_efficiency": serial + work / (ranks * measured),
                        "seconds_rank0_serial": serial,
                        "memory_gb_per_rank": per_rank_gb,
                        "memory_gb_rank0": per_rank_gb + mesh_gb,
                        "node0_fits": (NODE["cores"] - 1) * per_rank_gb + per_rank_gb + mesh_gb
                        <= NODE["memory_gb"],
                    }
                )
            out[f"{job}/{dofs:.0e}"] = rows
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("spectrum", "jsd"))
    parser.add_argument("--cells", type=int, nargs="+", default=[20, 40])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--jobs", nargs="+", default=["spectrum", "jsd"])
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--lines", default="benchmarks/results/mpi_scaling.jsonl.tmp")
    parser.add_argument("--out", default="benchmarks/results/mpi_scaling.json")
    parser.add_argument(
        "--model-only", action="store_true", help="no runs: rebuild --out from --lines"
    )
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.cells[0], args.lines)
        return 0
    lines = Path(args.lines)
    for cells in [] if args.model_only else args.cells:
        for job in args.jobs:
            for ranks in args.ranks:
                command, env = _mpi_command(ranks)
                call = [
                    *command,
                    sys.executable,
                    __file__,
                    "--worker",
                    job,
                    "--cells",
                    str(cells),
                    "--lines",
                    str(lines),
                ]
                started = time.perf_counter()
                try:
                    done = subprocess.run(
                        call, env=env, capture_output=True, text=True, timeout=args.timeout
                    )
                    status = done.returncode
                    tail = done.stderr[-2000:]
                except subprocess.TimeoutExpired:
                    status, tail = "timeout", ""
                seconds = time.perf_counter() - started
                print(f"{job} n={cells} ranks={ranks}: {status} in {seconds:.1f} s", flush=True)
                if status != 0:
                    failed = {
                        "job": job,
                        "cells": cells,
                        "ranks": ranks,
                        "failed": True,
                        "status": status,
                        "seconds": seconds,
                        "stderr": tail,
                    }
                    with lines.open("a", encoding="utf-8") as handle:
                        handle.write(json.dumps(failed) + "\n")
    records = [json.loads(x) for x in lines.read_text().splitlines()] if lines.exists() else []
    rows = [r for r in records if not r.get("failed")]
    failures = [r for r in records if r.get("failed")]
    model = _fit(rows)
    from gan_pde.mpi._petsc import availability

    document = {
        "meta": {
            "date": date.today().isoformat(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "backend": availability()[1],
            "threads_per_rank": 1,
            "note": "2 cores shared with other jobs: timings are upper bounds",
            "k": K,
            "tol": TOL,
        },
        "rows": rows,
        "failures": failures,
        "model": model,
        "node": NODE,
        "projection": _project(model),
    }
    Path(args.out).write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(model, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
