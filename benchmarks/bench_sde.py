"""Benchmark: the ALT-SDE correction b1 (paper 000, eq. (10)) by Hessian–vector products vs
the dense Hessian, for one-hidden-layer tanh GANs with 1e2–1e5 parameters.

b1 = ½R(∇²Φ)b0 needs the Hessian only through two products with b0: two forward-over-reverse
HVPs cost a few gradients, O(d) memory; the baseline forms ∇²Φ with ``torch.func.hessian``
(O(d²) memory, d HVP-like passes) and runs only where it fits (d ≤ 5 000: ≤ 200 MB).
Also timed: the full drift b0 + ηb1, the per-sample gradients behind σ (11) and one
Euler–Maruyama step of a 64-path ensemble.  torch on one thread (``torch.set_num_threads``),
BLAS on one thread (threadpoolctl); medians of repeated runs; the two b1 values are compared
(relative difference recorded).  Results to ``benchmarks/results/sde.json`` (table in
``docs/sde.md``).

    python benchmarks/bench_sde.py          # ~3 minutes on 2 cores
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from importlib import metadata
from pathlib import Path

import torch
from threadpoolctl import threadpool_info, threadpool_limits

from gan_pde.sde.coefficients import mlp_gan

#: Hidden widths giving d = 9h + 3 parameters: ~1e2, 1e3, 1e4, 1e5.
WIDTHS = (11, 111, 1111, 11111)
#: Largest d for the dense-Hessian baseline.
DENSE_LIMIT = 5000


def median_time(function, repeats: int) -> float:
    function()  # warm-up (torch.func tracing, allocations)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def case(hidden: int) -> dict:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(8, 2, generator=generator, dtype=torch.float64)
    z = torch.randn(8, 2, generator=generator, dtype=torch.float64)
    sde = mlp_gan(x, z, hidden=hidden, weight_decay=0.01)
    gamma = 0.1 * torch.randn(sde.dimension, generator=generator, dtype=torch.float64)
    repeats = 20 if sde.dimension < 20000 else 5
    row = {"parameters": sde.dimension, "pairs": sde.n_samples}
    row["gradient_s"] = median_time(lambda: sde.gradient(gamma), repeats)
    row["b1_hvp_s"] = median_time(lambda: sde.correction(gamma), repeats)
    row["hvp_over_gradient"] = row["b1_hvp_s"] / row["gradient_s"]
    row["per_sample_gradients_s"] = median_time(lambda: sde.per_sample_gradients(gamma), repeats)
    if sde.dimension <= DENSE_LIMIT:
        row["b1_dense_s"] = median_time(lambda: sde.dense_correction(gamma), max(3, repeats // 4))
        row["dense_over_hvp"] = row["b1_dense_s"] / row["b1_hvp_s"]
        hvp, dense = sde.correction(gamma), sde.dense_correction(gamma)
        row["relative_difference"] = float((hvp - dense).abs().max() / dense.abs().max())
    else:
        row["b1_dense_s"] = None
        row["dense_hessian_bytes"] = 8 * sde.dimension**2
    print(row, flush=True)
    return row


def main() -> None:
    out = Path(__file__).parent / "results" / "sde.json"
    torch.set_num_threads(1)
    with threadpool_limits(1):
        results = {
            "machine": {
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "torch_threads": torch.get_num_threads(),
                "blas": [
                    {k: info.get(k) for k in ("internal_api", "num_threads", "version")}
                    for info in threadpool_info()
                ],
            },
            "versions": {name: metadata.version(name) for name in ("numpy", "torch")},
            "b1": [case(h) for h in WIDTHS],
        }
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
