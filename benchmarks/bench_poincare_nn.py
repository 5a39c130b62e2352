"""Benchmark: the neural Poincaré estimator (paper 004, (32)), time to 1 % of the FEM ξ_min.

For ½N(−1.5e₁, I) + ½N(1.5e₁, I) in 1D and 2D (FEM ξ_min = 0.25722, P2), the network of
:func:`gan_pde.nn.estimate_poincare_constant` (MLP 32×32, tanh, spectral normalisation,
full-batch Adam, lr 1e-2, 3000 samples) is trained until its Rayleigh quotient *with exact
expectations* (Gauss–Hermite per component, so no Monte-Carlo noise in the stopping test)
is within 1 % of the FEM value; it is checked every 10 steps and the checking time is
excluded.  Five seeds; medians of the wall time and of the steps are reported, with the
FEM computation of the same ξ_min (the baseline, median of 3 in the same run) and the ratio.
BLAS and torch on one thread (threadpoolctl, ``torch.set_num_threads``); on a machine with
CUDA the runs are repeated on the GPU.  Results go to ``benchmarks/results/poincare_nn.json``
(table in ``docs/compare.md``).

``--study`` instead runs :func:`gan_pde.nn.poincare_study` with its defaults (neural vs FEM
ξ_min on the mixtures M = 3, 4 in 1D and 2D, 3000 training and 20000 held-out samples, and
ξ_min of scikit-learn's digits under five augmentations at three strengths, in the spirit of
Figure 4), MLP 32×32, lr 1e-2, and writes ``benchmarks/results/poincare_study.json``;
on a GPU session this is the one script to run.

    python benchmarks/bench_poincare_nn.py          # ~2 minutes on 2 cores
    python benchmarks/bench_poincare_nn.py --study  # ~10 minutes on 2 cores, ~1 on a GPU
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

import torch
from threadpoolctl import threadpool_info, threadpool_limits

from gan_pde.nn.poincare import (
    _mixture,
    estimate_poincare_constant,
    fem_mixture_poincare,
    poincare_study,
)
from gan_pde.verify.checks_compare import _exact_quotient

SEPARATION = 3.0
N_SAMPLES = 3000
TARGET = 0.01
CHECK_EVERY = 10
MAX_STEPS = 3000
SEEDS = range(5)


def time_to_target(dim: int, fem: float, seed: int, device: str) -> dict:
    """Train until the exact-expectation quotient is within 1 % of ``fem``."""
    data = _mixture(dim, SEPARATION).sample(N_SAMPLES, rng=seed)
    stamps = {"checking": 0.0, "reached": None, "quotient": None}
    start = time.perf_counter()

    def callback(step, loss, function):
        if step % CHECK_EVERY:
            return False
        tic = time.perf_counter()
        q = _exact_quotient(function, dim, SEPARATION)
        stamps["checking"] += time.perf_counter() - tic
        if abs(q / fem - 1.0) <= TARGET:
            stamps["reached"] = step
            stamps["quotient"] = q
            stamps["seconds"] = time.perf_counter() - start - stamps["checking"]
            return True
        return False

    result = estimate_poincare_constant(
        data,
        seed=seed,
        hidden=(32, 32),
        steps=MAX_STEPS,
        lr=1e-2,
        holdout=0.1,
        device=device,
        callback=callback,
    )
    return {
        "seed": seed,
        "steps": stamps["reached"],
        "seconds": stamps.get("seconds"),
        "exact_quotient_rel": None if stamps["quotient"] is None else stamps["quotient"] / fem - 1,
        "held_out_rel": result.xi_min / fem - 1.0,
        "device": result.device,
    }


def study(dim: int, device: str) -> dict:
    fem_times = []
    for _ in range(3):
        tic = time.perf_counter()
        fem = fem_mixture_poincare(dim, SEPARATION)
        fem_times.append(time.perf_counter() - tic)
    fem_seconds = statistics.median(fem_times)
    runs = [time_to_target(dim, fem, seed, device) for seed in SEEDS]
    reached = [r for r in runs if r["steps"] is not None]
    median_seconds = statistics.median(r["seconds"] for r in reached) if reached else None
    return {
        "dim": dim,
        "separation": SEPARATION,
        "device": device,
        "fem_xi_min": fem,
        "fem_seconds": fem_seconds,
        "runs": runs,
        "reached": f"{len(reached)}/{len(runs)}",
        "median_seconds": median_seconds,
        "median_steps": statistics.median(r["steps"] for r in reached) if reached else None,
        "ratio_to_fem": None if median_seconds is None else median_seconds / fem_seconds,
    }


def run_study() -> None:
    out = Path(__file__).parent / "results" / "poincare_study.json"
    torch.set_num_threads(1)
    with threadpool_limits(1):
        tic = time.perf_counter()
        result = poincare_study(hidden=(32, 32), lr=1e-2)
        seconds = time.perf_counter() - tic
    print(result.table())
    payload = {
        "seconds": seconds,
        "device": result.device,
        "options": result.options,
        "mixtures": result.mixtures,
        "digits": result.digits,
        "table": result.table(),
    }
    out.write_text(json.dumps(payload, indent=1, default=float), encoding="utf-8")


def main() -> None:
    if "--study" in sys.argv:
        run_study()
        return
    out = Path(__file__).parent / "results" / "poincare_nn.json"
    torch.set_num_threads(1)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with threadpool_limits(1):
        results = {
            "machine": {
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "torch_threads": torch.get_num_threads(),
                "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                "blas": [
                    {k: info.get(k) for k in ("internal_api", "num_threads", "version")}
                    for info in threadpool_info()
                ],
            },
            "versions": {
                name: metadata.version(name) for name in ("numpy", "scipy", "scikit-fem", "torch")
            },
            "setup": {
                "n_samples": N_SAMPLES,
                "target": TARGET,
                "check_every": CHECK_EVERY,
                "max_steps": MAX_STEPS,
                "network": "MLP 32x32 tanh, spectral norm, full-batch Adam lr 1e-2, float64",
            },
            "studies": [study(dim, device) for device in devices for dim in (1, 2)],
        }
    for row in results["studies"]:
        print(
            row["device"],
            row["dim"],
            row["reached"],
            row["median_steps"],
            row["median_seconds"],
            row["fem_seconds"],
        )
    out.write_text(json.dumps(results, indent=1, default=float), encoding="utf-8")


if __name__ == "__main__":
    main()
