"""Benchmark: adaptive vs uniform refinement for ξ_min of the L-shape (singular mode).

The first non-zero Neumann eigenvalue of the L-shape (-1, 1)² minus a quadrant,
1.4756218241, has an r^{2/3} eigenfunction: uniform refinement converges like N^{-2/3}
for every degree, adaptive P2 like N^{-2}.  For P1 and P2 it records dofs, error, η² and
wall time per step of the adaptive loop (target 1e-6 relative) and of uniform refinement
(up to a dof budget), the fitted rates, and the dofs uniform refinement would need for
1e-6 (extrapolated with its fitted rate).  BLAS on one thread.  Results go to
``benchmarks/results/adaptive.json``.

    python benchmarks/bench_adaptive.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import skfem
from threadpoolctl import threadpool_limits

import gan_pde as gp
from gan_pde.spectral.adaptive import adaptive_poincare, fitted_rate

REFERENCE = 1.4756218241
TOL = 1e-6
BUDGET = {"P1": 300_000, "P2": 300_000}


def case(element: str, uniform: bool) -> dict:
    start = time.perf_counter()
    result = adaptive_poincare(
        gp.Uniform([-1.0, -1.0], [1.0, 1.0]),
        skfem.MeshTri1.init_lshaped(),
        element=element,
        tol=TOL,
        uniform=uniform,
        max_dofs=BUDGET[element],
        max_iterations=80,
        lower_bound=False,
    )
    seconds = time.perf_counter() - start
    errors = result.history["xi_min"] - REFERENCE
    dofs = result.history["n_dofs"]
    rate = fitted_rate(dofs[-4:], errors[-4:])
    needed = float(dofs[-1] * (TOL * REFERENCE / errors[-1]) ** (1.0 / rate))
    return {
        "element": element,
        "refinement": "uniform" if uniform else "adaptive",
        "seconds": seconds,
        "reached_tol": bool(errors[-1] <= TOL * REFERENCE),
        "n_dofs": dofs.tolist(),
        "error": errors.tolist(),
        "estimator": result.history["estimator"].tolist(),
        "fitted_rate": rate,
        "dofs_for_tol": needed,
        "effectivity": float(errors[-1] / result.history["estimator"][-1]),
    }


def main() -> None:
    with threadpool_limits(limits=1):
        cases = [case(e, u) for e in ("P1", "P2") for u in (False, True)]
    out = Path(__file__).parent / "results" / "adaptive.json"
    out.write_text(json.dumps({"reference": REFERENCE, "tol": TOL, "cases": cases}, indent=2))
    for c in cases:
        print(
            f"{c['element']} {c['refinement']:8s} {c['n_dofs'][-1]:7d} dofs  "
            f"err {c['error'][-1]:.2e}  rate {c['fitted_rate']:.2f}  "
            f"dofs for 1e-6 {c['dofs_for_tol']:.2e}  {c['seconds']:.1f} s"
        )


if __name__ == "__main__":
    main()
