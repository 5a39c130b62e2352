"""Stress cases of the JSD flow in 1D: random pairs of densities, meshes, schemes, steps."""

from __future__ import annotations

import numpy as np
from _jsd_common import SCHEMES, domain, random_initial, random_mixture, run_flow

SOLVER = "jsd-1d"
DESCRIPTION = (
    "JSD flow in 1D: Gaussian / 2-4 component targets, initial narrower, wider, shifted, "
    "heavier-tailed (Student t) or a mixture, separations up to 8σ, 40-3000 P1/P2 cells, "
    "every scheme, Δt from 1e-3 to 0.5"
)
CHECKS = (
    "mass to 1e-12; v ≥ 0, v ≤ β, monotone JSD and L¹ (backward Euler); Newton's attained "
    "accuracy; on a sample, the observed order of the final JSD under Δt/2, Δt/4 (1 or 2)"
)
FULL_COUNT = 500
CI_COUNT = 30


def cases(rng: np.random.Generator, n: int, scale: str) -> list[dict]:
    out = []
    for _ in range(n):
        target = random_mixture(rng, 1, int(rng.integers(1, 5)))
        initial = random_initial(rng, 1, target)
        fine = scale == "full"
        cells = int(np.exp(rng.uniform(np.log(40), np.log(3000 if fine else 400))))
        dt = float(np.exp(rng.uniform(np.log(1e-3), np.log(0.5))))
        steps = int(rng.integers(3, 40 if fine else 10))
        element = "P2" if rng.uniform() < 0.2 else "P1"
        order = bool(dt <= 0.05 and cells <= 600 and rng.uniform() < 0.3)
        out.append(
            {
                "target": target,
                "initial": initial,
                "domain": domain(target, initial),
                "cells": cells,
                "element": element,
                "scheme": str(rng.choice(SCHEMES)),
                "dt": dt,
                "steps": steps,
                "order_check": order,
            }
        )
    return out


def run(case: dict):
    return run_flow(case)
