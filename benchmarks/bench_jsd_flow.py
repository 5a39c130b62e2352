"""Benchmark: the JSD gradient flow (paper 002), per-step cost and time to accuracy vs py-pde.

Three parts, BLAS on one thread (threadpoolctl), results to
``benchmarks/results/jsd_flow.json`` (table in ``docs/jsd_flow.md``):

* ``steps``: median wall time per backward-Euler step (Δt = 0.01) and Newton iterations per
  step for P1 in 1D (1e3, 1e4, 1e5 dofs) and 2D (1e4, 1e5 dofs), with the reused
  factorisation of :mod:`gan_pde.flows.operator` and, for 2D 1e5, with a fresh
  factorisation per Newton iteration (the previous solver) for comparison;
* ``run_2d``: the issue's target, 100 backward-Euler steps of a 2D 1e5-dof problem;
* ``accuracy``: the wall time each solver needs to reach 1e-3 relative accuracy in
  JSD(t = 1) against a converged reference (gan_pde TR-BDF2 on a fine mesh): gan_pde over
  a sweep of (cells, Δt), py-pde (``v_t = ½(Δ ln(1+v) + ∇ln ρ_d·∇ln(1+v))`` on a
  cell-centred grid with Neumann conditions, its implicit and explicit solvers, numba
  compilation excluded by a first short solve of the same PDE object) over a sweep of
  grid sizes.  Each solver's best
  (fastest configuration within tolerance) is reported.

    python benchmarks/bench_jsd_flow.py                  # ~8 minutes on 2 cores
    python benchmarks/bench_jsd_flow.py --accuracy-2d    # only the 2D comparison
    python benchmarks/bench_jsd_flow.py --steps-1e6      # only 2D 1e6 dofs: ND vs MMD
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import gan_pde as gp
from gan_pde.flows import JSDFlow
from gan_pde.flows import operator as operator_module
from gan_pde.flows.jsd import _jsd_density

TARGET = {
    1: gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5]),
    2: gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.5]], stds=[1.0, 0.8], weights=[0.6, 0.4]),
}
START = {
    1: gp.Gaussian(mean=[0.0], cov=[[1.0]]),
    2: gp.Gaussian(mean=[0.5, -0.5], cov=[[0.7, 0.2], [0.2, 0.9]]),
}
BOUNDS = {1: (-10.0, 10.0), 2: (-8.0, 8.0)}
TOLERANCE = 1e-3
#: py-pde solvers with their step as a multiple of h²/d.
SOLVERS = (("euler", 0.9), ("implicit", 0.45))


def mesh(dim: int, cells: int):
    a, b = BOUNDS[dim]
    if dim == 1:
        return gp.mesh.interval(a, b, n=cells)
    return gp.mesh.rectangle((a, b), (a, b), n=(cells, cells))


def timed_steps(
    dim: int, cells: int, steps: int, *, fresh: bool = False, dissection: bool = True
) -> dict:
    flow = JSDFlow(TARGET[dim], START[dim], mesh(dim, cells))
    if fresh:
        flow.operator._linear_solver = operator_module._solve
    elif not dissection:  # the minimum-degree ordering of SuperLU instead (baseline)
        flow.operator._linear_solver.coordinates = None
    stamps = [time.perf_counter()]
    traj = flow.solve(steps * 0.01, 0.01, callback=lambda *_: stamps.append(time.perf_counter()))
    per_step = np.diff(stamps)
    return {
        "dim": dim,
        "cells": cells,
        "n_dofs": flow.operator.n_dofs,
        "steps": steps,
        "fresh_factorisation": fresh,
        "nested_dissection": dissection and not fresh,
        "seconds_per_step_median": statistics.median(per_step),
        "newton_per_step_mean": float(traj.newton_iterations.mean()),
        "newton_per_step_max": int(traj.newton_iterations.max()),
        "factorisations": None if fresh else flow.operator._linear_solver.factorizations,
    }


def run_2d() -> dict:
    flow = JSDFlow(TARGET[2], START[2], mesh(2, 315))
    start = time.perf_counter()
    traj = flow.solve(1.0, 0.01, save_times=[0.0, 1.0])
    return {
        "n_dofs": flow.operator.n_dofs,
        "steps": int(traj.step_times.size),
        "seconds": time.perf_counter() - start,
        "newton_total": int(traj.newton_iterations.sum()),
        "factorisations": flow.operator._linear_solver.factorizations,
        "mass_drift": float(np.ptp(traj.mass)),
    }


def ours(
    dim: int, cells: int, dt: float, scheme: str = "tr-bdf2", element: str = "P1"
) -> tuple[float, float]:
    """(JSD(1), seconds) for gan_pde, setup included."""
    start = time.perf_counter()
    flow = JSDFlow(TARGET[dim], START[dim], mesh(dim, cells), element=element)
    traj = flow.solve(1.0, dt, save_times=[0.0, 1.0], scheme=scheme)
    return float(traj.jsd[-1]), time.perf_counter() - start


def py_pde(dim: int, n: int, solver: str, dt: float) -> tuple[float, float]:
    """(JSD(1), seconds) for py-pde on an n^dim cell-centred grid.

    py-pde compiles the right-hand side with numba for each PDE object (the ρ_d field is a
    compiled constant), so the equation is first solved for a short time and the second,
    timed solve reuses the compiled code; the setup is excluded.
    """
    import pde

    a, b = BOUNDS[dim]
    grid = pde.CartesianGrid([[a, b]] * dim, [n] * dim, periodic=False)
    x = grid.cell_coords.reshape(-1, dim)
    volume = ((b - a) / n) ** dim
    rho = TARGET[dim].pdf(x)
    rho0 = START[dim].pdf(x)
    rho /= rho.sum() * volume
    rho0 /= rho0.sum() * volume
    shape = (n,) * dim
    logrho = pde.ScalarField(grid, np.log(rho).reshape(shape))
    equation = pde.PDE(
        {"v": "0.5 * (laplace(log(1 + v)) + dot(gradient(logrho), gradient(log(1 + v))))"},
        bc={"derivative": 0},
        consts={"logrho": logrho},
    )
    state = pde.ScalarField(grid, (rho0 / rho).reshape(shape))
    equation.solve(state, t_range=2 * dt, dt=dt, solver=solver, tracker=None)
    start = time.perf_counter()
    result = equation.solve(state, t_range=1.0, dt=dt, solver=solver, tracker=None)
    seconds = time.perf_counter() - start
    v = result.data.reshape(-1)
    jsd = float(np.sum(_jsd_density(np.maximum(v, 0.0)) * rho) * volume)
    return jsd, seconds


def _median_run(dim: int, cells: int, dt: float, element: str) -> tuple[float, float]:
    """(JSD(1), median seconds of three runs) for gan_pde."""
    runs = [ours(dim, cells, dt, element=element) for _ in range(3)]
    return runs[0][0], statistics.median(seconds for _, seconds in runs)


def best_time(runs: list[dict], reference: float) -> dict | None:
    for run in runs:
        run["relative_error"] = abs(run["jsd"] - reference) / reference
    ok = [r for r in runs if r["relative_error"] <= TOLERANCE]
    return min(ok, key=lambda r: r["seconds"]) if ok else None


def accuracy(dim: int) -> dict:
    if dim == 1:
        reference, _ = ours(1, 16000, 0.002)
        check, _ = ours(1, 8000, 0.004)
        our_grid = [(c, dt, "P1") for c in (50, 100, 200, 400) for dt in (0.25, 0.1, 0.05)]
        pde_grid = [(n, s) for n in (64, 128, 256, 512) for s in SOLVERS]
    else:
        # P1 converges with order 2 in h (docs/jsd_flow.md): Richardson-extrapolate
        fine, _ = ours(2, 320, 0.02)
        coarse, _ = ours(2, 160, 0.02)
        reference = fine + (fine - coarse) / 3.0
        check = fine
        our_grid = [(c, dt, "P1") for c in (80, 120, 160) for dt in (0.25, 0.1)]
        # P2 (consistent mass, third order in L2) reaches the tolerance on far coarser meshes
        our_grid += [(c, dt, "P2") for c in (20, 24, 30, 40) for dt in (1.0, 0.5, 0.25)]
        pde_grid = [(n, s) for n in (64, 128, 256) for s in SOLVERS]
    runs_ours = []
    for cells, dt, element in our_grid:
        jsd, seconds = _median_run(dim, cells, dt, element)
        runs_ours.append(
            {"cells": cells, "dt": dt, "element": element, "jsd": jsd, "seconds": seconds}
        )
    runs_pde = []
    for n, (solver, factor) in pde_grid:
        h = (BOUNDS[dim][1] - BOUNDS[dim][0]) / n
        # explicit stability: D = 1/(2(1+v)) <= 1/2, dt <= h²/(2 d D) = h²/d; py-pde's
        # implicit Euler solves each step by fixed-point iteration, which contracts only
        # under a restriction of the same kind, so it is tried with larger steps as well
        dt = factor * h * h / dim
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                jsd, seconds = py_pde(dim, n, solver, dt)
        except Exception as err:  # noqa: BLE001 - a failed configuration is a result
            runs_pde.append({"n": n, "solver": solver, "dt": dt, "error": str(err)[:200]})
            continue
        runs_pde.append({"n": n, "solver": solver, "dt": dt, "jsd": jsd, "seconds": seconds})
    done = [r for r in runs_pde if "jsd" in r]
    best_ours, best_pde = best_time(runs_ours, reference), best_time(done, reference)
    return {
        "reference": "1D: 16000 cells, dt 0.002; 2D: Richardson from 160 and 320 cells",
        "reference_jsd": reference,
        "reference_check_relative_difference": abs(check - reference) / reference,
        "gan_pde": runs_ours,
        "py_pde": runs_pde,
        "best_gan_pde": best_ours,
        "best_py_pde": best_pde,
        "speedup": (best_pde["seconds"] / best_ours["seconds"] if best_ours and best_pde else None),
    }


def main() -> None:
    out = Path(__file__).parent / "results" / "jsd_flow.json"
    if "--steps-1e6" in sys.argv:
        # re-run only the 2D 1e6-dof step timing, nested dissection against minimum degree
        results = json.loads(out.read_text(encoding="utf-8"))
        with threadpool_limits(1):
            results["steps_1e6"] = [
                timed_steps(2, 999, 3),
                timed_steps(2, 999, 3, dissection=False),
            ]
        print(json.dumps(results["steps_1e6"], indent=1))
        out.write_text(json.dumps(results, indent=1), encoding="utf-8")
        return
    if "--accuracy-2d" in sys.argv:
        # re-run only the 2D time-to-accuracy comparison, keeping the other parts
        results = json.loads(out.read_text(encoding="utf-8"))
        with threadpool_limits(1):
            results["accuracy"]["2d"] = accuracy(2)
        acc = results["accuracy"]["2d"]
        print(acc["best_gan_pde"], acc["best_py_pde"], acc["speedup"])
        out.write_text(json.dumps(results, indent=1), encoding="utf-8")
        return
    with threadpool_limits(1):
        results = {
            "machine": {
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "blas": [
                    {k: info.get(k) for k in ("internal_api", "num_threads", "version")}
                    for info in threadpool_info()
                ],
            },
            "versions": {
                name: metadata.version(name)
                for name in ("numpy", "scipy", "scikit-fem", "py-pde", "numba")
            },
        }
        steps = [
            timed_steps(1, 1000, 20),
            timed_steps(1, 10000, 20),
            timed_steps(1, 100000, 10),
            timed_steps(2, 99, 10),
            timed_steps(2, 315, 10),
            timed_steps(2, 315, 5, fresh=True),
        ]
        results["steps"] = steps
        print(json.dumps(steps, indent=1))
        results["run_2d"] = run_2d()
        print(results["run_2d"])
        results["accuracy"] = {f"{d}d": accuracy(d) for d in (1, 2)}
    for dim, acc in results["accuracy"].items():
        print(dim, acc["best_gan_pde"], acc["best_py_pde"], acc["speedup"])
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
