"""Benchmark: the dual-flow schemes of paper 003, cost per step.

Two parts, BLAS on one thread (threadpoolctl), medians of repeated timings, results to
``benchmarks/results/dual.json`` (table in ``docs/dual.md``):

* ``euclidean``: wall time per step of the implicit scheme (8)–(9) with its inner solves
  (trust-region Newton with the Hessian, BFGS without it; optimality residual 1e-12) and
  of the bilinear closed form, against the alternating explicit scheme (1) measured in the
  same run, on the tanh game in dimension 1 and 10 and on the oscillating game;
* ``particles``: wall time per step of the exact W2 JKO step (global scan + Newton) of
  the particle scheme against its explicit counterpart, for 1e2–1e4 particles.

    python benchmarks/bench_dual.py          # ~1 minute on 2 cores
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from gan_pde.dual import (
    EuclideanGame,
    ParticleGame,
    bimodal_target,
    oscillating_game,
    simulate,
    tanh_game,
)

REPEATS = 5


def per_step(function, steps: int) -> float:
    """Median over REPEATS of the wall time of ``function()`` divided by ``steps``."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def without_hessian(game: EuclideanGame) -> EuclideanGame:
    return EuclideanGame(
        cost_x=game.cost_x,
        cost_y=game.cost_y,
        grad_x=game.grad_x,
        grad_y=game.grad_y,
        dim_x=game.dim_x,
        dim_y=game.dim_y,
        name=game.name + " (no Hessian)",
    )


def euclidean() -> list[dict]:
    rows = []
    steps = 200
    for label, game in [
        ("tanh d=1, Hessian", tanh_game([0.5])),
        ("tanh d=1, BFGS", without_hessian(tanh_game([0.5]))),
        ("tanh d=10, Hessian", tanh_game(np.linspace(-1, 1, 10))),
        ("tanh d=10, BFGS", without_hessian(tanh_game(np.linspace(-1, 1, 10)))),
        ("bilinear d=2, closed form", oscillating_game([1.0, -0.5])),
    ]:
        x0 = np.ones(game.dim_x)
        y0 = -0.5 * np.ones(game.dim_y)
        timings = {
            scheme: per_step(
                lambda scheme=scheme, game=game, x0=x0, y0=y0: simulate(
                    game, x0, y0, tau=0.02, n_steps=steps, scheme=scheme
                ),
                steps,
            )
            for scheme in ("implicit", "alternating", "joint-implicit")
        }
        path = simulate(game, x0, y0, tau=0.02, n_steps=steps)
        rows.append(
            {
                "game": label,
                "seconds_per_step": timings,
                "implicit_over_explicit": timings["implicit"] / timings["alternating"],
                "inner_iterations_per_step": float(path.inner_iterations.mean()),
            }
        )
        print(rows[-1])
    return rows


def particles() -> list[dict]:
    rows = []
    game = ParticleGame(
        target=bimodal_target(64), centers=np.linspace(-3, 3, 13), width=0.5, weight_decay=0.2
    )
    y0 = np.random.default_rng(0).normal(size=13)
    for n in (100, 1000, 10000):
        x0 = np.linspace(-2.0, 2.0, n)
        steps = 20
        timings = {
            scheme: per_step(
                lambda scheme=scheme, x0=x0, steps=steps: game.simulate(
                    x0, y0, tau=0.4, n_steps=steps, scheme=scheme
                ),
                steps,
            )
            for scheme in ("implicit", "alternating")
        }
        rows.append(
            {
                "particles": n,
                "seconds_per_step": timings,
                "implicit_over_explicit": timings["implicit"] / timings["alternating"],
                "microseconds_per_particle_implicit": 1e6 * timings["implicit"] / n,
            }
        )
        print(rows[-1])
    return rows


def main() -> None:
    out = Path(__file__).parent / "results" / "dual.json"
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
            "versions": {name: metadata.version(name) for name in ("numpy", "scipy")},
            "repeats": REPEATS,
            "euclidean": euclidean(),
            "particles": particles(),
        }
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
