"""Stress cases of the JSD flow in 2D: random anisotropic Gaussians and mixtures."""

from __future__ import annotations

import numpy as np
from _jsd_common import SCHEMES, domain, random_initial, random_mixture, run_flow

SOLVER = "jsd-2d"
DESCRIPTION = (
    "JSD flow in 2D: rotated anisotropic Gaussian / 2-4 component targets, initial narrower, "
    "wider, shifted, heavier-tailed or a mixture, 10²-80² right-triangle P1 meshes (P2 on a "
    "sample), every scheme, Δt from 1e-3 to 0.5"
)
CHECKS = "mass to 1e-12; v ≥ 0, v ≤ β, monotone JSD and L¹ (backward Euler); Newton's accuracy"
FULL_COUNT = 100
CI_COUNT = 10


def cases(rng: np.random.Generator, n: int, scale: str) -> list[dict]:
    out = []
    for _ in range(n):
        target = random_mixture(rng, 2, int(rng.integers(1, 5)))
        initial = random_initial(rng, 2, target)
        fine = scale == "full"
        cells = int(rng.integers(10, 81 if fine else 30))
        out.append(
            {
                "target": target,
                "initial": initial,
                "domain": domain(target, initial),
                "cells": cells,
                "element": "P2" if rng.uniform() < 0.15 else "P1",
                "scheme": str(rng.choice(SCHEMES)),
                "dt": float(np.exp(rng.uniform(np.log(1e-3), np.log(0.5)))),
                "steps": int(rng.integers(2, 12 if fine else 5)),
                "order_check": False,
            }
        )
    return out


def run(case: dict):
    return run_flow(case)
