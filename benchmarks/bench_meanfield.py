"""Benchmark: WGAN mean-field solvers (paper 001), time per step at increasing resolution.

BLAS on one thread (threadpoolctl), results to ``benchmarks/results/meanfield.json``
(table in ``docs/meanfield.md``):

* ``fv_2d`` / ``fv_3d``: median wall time per SSP-Heun step of :class:`WGANMeanField` with
  both laws 2D ((α, γ) and (a, b)) / 3D ((α, β, γ) and (a, b, c)), cells per axis growing,
  and the total time of the run to t = 0.5 (CFL-chosen steps); the ratio to the smallest
  grid against the ratio of cell counts shows the linear cost in cells;
* ``particles``: median time per clipped-SGD step of :func:`simulate_particles` for
  N = 1e3 … 1e6 neurons with batch 1 (the paper's SGD) and, as the baseline measured in the
  same run, with the deterministic quadrature (56 nodes) up to N = 1e5.

    python benchmarks/bench_meanfield.py          # ~3 minutes on 2 cores
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import gan_pde as gp
from gan_pde.meanfield import WGANMeanField, simulate_particles

DATA = gp.GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3])


def model(dim: int, cells: int) -> WGANMeanField:
    if dim == 2:
        gen = {"alpha": (-3.0, 3.0, cells), "beta": 1.0, "gamma": (-3.0, 3.0, cells)}
        dis = {"a": (-1.0, 1.0, cells), "b": (-1.0, 1.0, cells), "c": 0.0}
        return WGANMeanField(
            data=DATA,
            generator=gen,
            discriminator=dis,
            gamma_c=5.0,
            mu_in=lambda a, c: np.exp(-((a - 1.0) ** 2 + c**2) / 0.2),
            nu_in=lambda a, b: np.exp(-((a - 0.3) ** 2 + (b - 0.2) ** 2) / 0.05),
        )
    gen = {name: (-3.0, 3.0, cells) for name in ("alpha", "beta", "gamma")}
    dis = {name: (-1.0, 1.0, cells) for name in ("a", "b", "c")}
    return WGANMeanField(
        data=DATA,
        generator=gen,
        discriminator=dis,
        gamma_c=5.0,
        mu_in=lambda a, b, c: np.exp(-((a - 1.0) ** 2 + (b - 1.0) ** 2 + c**2) / 0.2),
        nu_in=lambda a, b, c: np.exp(-((a - 0.3) ** 2 + (b - 0.2) ** 2 + c**2) / 0.05),
    )


def _stamper(stamps: list[float]):
    def stamp(_t: float) -> None:
        stamps.append(time.perf_counter())

    return stamp


def fv(dim: int, sizes: list[int]) -> list[dict]:
    rows = []
    for cells in sizes:
        m = model(dim, cells)
        stamps: list[float] = []
        start = time.perf_counter()
        traj = m.solve(0.5, save_times=[0.0, 0.5], callback=_stamper(stamps))
        total = time.perf_counter() - start
        per_step = statistics.median(np.diff([start, *stamps]))
        rows.append(
            {
                "cells_per_axis": cells,
                "cells_per_law": cells**dim,
                "steps": traj.info["n_steps"],
                "median_s_per_step": per_step,
                "total_s": total,
                "mass_drift": float(abs(traj.nu[-1].sum() - 1.0) + abs(traj.mu[-1].sum() - 1.0)),
            }
        )
        print(rows[-1], flush=True)
    base = rows[0]
    for row in rows:
        row["time_ratio"] = row["median_s_per_step"] / base["median_s_per_step"]
        row["cells_ratio"] = row["cells_per_law"] / base["cells_per_law"]
    return rows


def particles(sizes: list[int]) -> list[dict]:
    m = model(2, 16)
    rows = []
    for n in sizes:
        row = {"N": n}
        for label, batch in (("batch_1", 1), ("quadrature", None)):
            if batch is None and n > 100_000:
                continue
            steps = 20
            h = 1.0
            start = time.perf_counter()
            simulate_particles(
                m, n=n, h=h, t_final=steps * h / n, batch=batch, save_times=[0.0], seed=0
            )
            setup = time.perf_counter() - start
            start = time.perf_counter()
            simulate_particles(m, n=n, h=h, t_final=steps * h / n, batch=batch, seed=0)
            row[f"{label}_s_per_step"] = max(time.perf_counter() - start - setup, 0.0) / steps
        print(row, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    out = Path(__file__).parent / "results" / "meanfield.json"
    with threadpool_limits(1):
        results = {
            "environment": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "threads": [
                    {k: info[k] for k in ("internal_api", "num_threads")}
                    for info in threadpool_info()
                ],
            },
            "fv_2d": fv(2, [32, 64, 128, 256]),
            "fv_3d": fv(3, [16, 32, 48, 64]),
            "particles": particles([1_000, 10_000, 100_000, 1_000_000]),
        }
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
