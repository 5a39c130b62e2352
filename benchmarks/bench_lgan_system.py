"""Benchmark: the slowest lGAN eigenvalues of the mixed FEM system on 2D meshes.

For the stable pair (u in P1, v in discontinuous P0) the discrete lGAN spectrum is exactly
λ±(ξ_h) plus −α (paper 004, Theorems 2–3; tested to 1e-14), so
``LGANSystem.eigenvalues(k)`` computes the k slowest modes from the k smallest ξ_h of the
same matrices.  This script times that (``fast``, system assembly included) against ARPACK
shift-invert on the reduced lGAN operator itself (``arnoldi``, the generic path that the
equal-order pair needs), which is run only up to ``--arnoldi-max`` u-dofs because it is two
to three orders of magnitude slower.  Medians of ``--repeat`` runs, BLAS on one thread;
results to ``benchmarks/results/lgan_system.json``.

    python benchmarks/bench_lgan_system.py
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

import numpy as np
from bench_spectrum import DENSITY, DOMAIN, meta, timed
from threadpoolctl import threadpool_limits

import gan_pde as gp
from gan_pde.spectral.lgan_system import LGANSystem

K = 6
PARAMETERS = {"alpha": 0.25, "beta": -0.5, "gamma": 0.0}  # paper 004, Section 7 (LSGAN)
CELLS = (99, 315, 999)  # ~1e4, 1e5, 1e6 u-dofs (P1)


def solve(mesh, method):
    system = LGANSystem(DENSITY, mesh, **PARAMETERS)
    return system.eigenvalues(k=K - 1, method=method), system.n_u, system.n_v


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--arnoldi-max", type=int, default=12_000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results/lgan_system.json"))
    args = parser.parse_args()
    rows = []
    with threadpool_limits(limits=1, user_api="blas"):
        for n in CELLS:
            mesh = gp.mesh.rectangle(*DOMAIN, n=(n, n))
            repeat = args.repeat if n < 999 else 1
            median, runs, (lam, n_u, n_v) = timed(partial(solve, mesh, "auto"), repeat)
            row = {
                "cells": n,
                "n_u": n_u,
                "n_v": n_v,
                "fast_s": median,
                "fast_runs": runs,
                "slowest": [[z.real, z.imag] for z in lam],
            }
            if n_u <= args.arnoldi_max:
                median, runs, (lam_a, _, _) = timed(partial(solve, mesh, "arnoldi"), 1)
                row.update(
                    arnoldi_s=median,
                    max_abs_difference=float(
                        np.max(np.abs(np.sort(np.abs(lam)) - np.sort(np.abs(lam_a))))
                    ),
                )
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "fast_runs"}), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
