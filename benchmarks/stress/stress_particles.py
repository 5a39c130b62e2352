"""Stress cases of the JSD-flow particles, ODE (16) of paper 002 (``gan_pde.flows.particles``).

Random target ρ_d (a Gaussian mixture of 1 to 3 components), initial density ρ_0 (a
Gaussian or a two-component mixture), mesh (interval, or a rectangle in 2D), time step,
scheme and particle sample.  References that are not the code under test:

1D
    the flow of a 1D velocity field is monotone, so it carries the CDF: a particle started
    at Y₀ sits at time t where F_{u(t)}(Y_t) = F_{u(0)}(Y₀), with the CDFs of the FE
    densities computed here (trapezoid on a fine grid).  This is per particle, free of
    sampling error; its defect is the discretisation error (FE velocity, Heun particles on
    the backward-Euler / TR-BDF2 / Crank–Nicolson flow), which must shrink when the mesh
    and the step are refined together (this also bounds any swap of the particles' order:
    only particles whose initial CDFs are within twice the defect can have crossed).
2D
    the mean displacement of the particles against the moving mean ∫x u(t) dx − ∫x u(0) dx
    (sampling error sd/√N of the displacements, plus a discretisation error that must
    shrink under refinement).
Both: every particle stays in the mesh (stops at the boundary, documented, are recorded).
"""

from __future__ import annotations

import math

import numpy as np
from campaign import Checks, refused, wrong

import gan_pde as gp
from gan_pde.errors import GanPdeError, InvalidDensityError
from gan_pde.fem import locate
from gan_pde.flows import JSDFlow
from gan_pde.flows.particles import simulate_particles

SOLVER = "jsd-particles"
DESCRIPTION = "particles of the JSD flow (ODE (16) of paper 002) driven by the FE solution"
CHECKS = (
    "1D: CDF carried per particle (sample-free), shrinking under refinement; "
    "2D: mean displacement vs ∫x u dx to sampling error"
)
FULL_COUNT = 160
CI_COUNT = 3

SCHEMES = ("backward-euler", "tr-bdf2", "crank-nicolson")


def cases(rng: np.random.Generator, n: int, scale: str) -> list[dict]:
    out = []
    for _ in range(n):
        dim = 1 if scale == "ci" or rng.random() < 0.9 else 2
        k = int(rng.integers(1, 4))
        target = {
            "means": rng.uniform(-2.5, 2.5, (k, dim)).tolist(),
            "stds": rng.uniform(0.5, 1.5, k).tolist(),
            "weights": rng.dirichlet(np.ones(k)).tolist(),
        }
        j = int(rng.integers(1, 3))
        initial = {
            "means": rng.uniform(-2.0, 2.0, (j, dim)).tolist(),
            "stds": rng.uniform(0.4, 1.3, j).tolist(),
            "weights": rng.dirichlet(np.ones(j)).tolist(),
        }
        out.append(
            {
                "dim": dim,
                "target": target,
                "initial": initial,
                "half_width": float(rng.uniform(7.0, 10.0)),
                "cells": int(rng.integers(100, 400)) if dim == 1 else int(rng.integers(12, 18)),
                "dt": float(rng.uniform(0.02, 0.1)),
                "t_final": float(rng.uniform(0.3, 1.5 if dim == 1 else 0.6)),
                "scheme": str(rng.choice(SCHEMES)),
                "n": int(rng.integers(200, 2000)),
                "seed": int(rng.integers(2**31)),
            }
        )
    return out


def _mixture(spec: dict):
    return gp.GaussianMixture(means=spec["means"], stds=spec["stds"], weights=spec["weights"])


def _solve(case: dict, refine: int):
    half = case["half_width"]
    if case["dim"] == 1:
        mesh = gp.mesh.interval(-half, half, n=case["cells"] * refine)
    else:
        cells = case["cells"] * refine
        mesh = gp.mesh.rectangle((-half, half), (-half, half), n=(cells, cells))
    initial = _mixture(case["initial"])
    flow = JSDFlow(_mixture(case["target"]), initial, mesh)
    y0 = initial.sample(case["n"], rng=np.random.default_rng(case["seed"]))
    t = case["t_final"]
    return simulate_particles(
        flow, y0, t, case["dt"] / refine, save_times=[0.0, 0.5 * t, t], scheme=case["scheme"]
    )


def run(case: dict):
    try:
        runs = [_solve(case, 1), _solve(case, 2)]
    except InvalidDensityError as exc:
        return refused(f"density not positive / bounded on the mesh (documented): {exc}")
    except GanPdeError as exc:
        return wrong(f"refused a well-posed case: {type(exc).__name__}: {exc}")
    checks = Checks()
    for r in runs:
        inside = locate(r.flow.densities[0].mesh, r.positions[-1].reshape(-1, case["dim"]))
        checks.true(bool(np.all(inside >= 0)), "every particle stays in the mesh")
    # a step that would leave the mesh is cut at the boundary and flagged (documented: the
    # discrete velocity is only approximately tangential there); wide initial laws put a
    # few particles near the boundary, so stops are recorded, not failed
    stopped = int(runs[0].stopped.sum())
    if case["dim"] == 1:
        defects = [_cdf_defect(r) for r in runs]
        depth = []
        for r in runs:
            order = np.argsort(r.positions[0, :, 0], kind="stable")
            gaps = np.diff(r.positions[:, order, 0], axis=1)
            depth.append(max(0.0, -float(gaps.min())))
        # the exact 1D flow keeps the order.  The P1 velocity -½∇v_h/(v_h(1+v_h)) jumps
        # at the nodes, so a Heun step can swap close neighbours; a swap of particles whose
        # initial CDFs differ by more than twice the CDF defect contradicts the CDF check,
        # so the order is covered by it (the crossing depth is recorded)
        # the per-particle defect is the discretisation error: the flow is first order in
        # dt with backward Euler (second with the others), the FE density second order in
        # h; refining both by 2 must cut it by 2 (backward Euler) or more; 0.75 allows
        # for the pre-asymptotic range; below 1e-4 the CDF quadrature and the particles'
        # boundary tails dominate and the ratio is exempt
        checks.less(defects[0], 0.05, "CDF defect (coarse)")
        if defects[0] > 1e-4:
            ratio = defects[1] / defects[0]
            if ratio > 0.75:
                # a coarse pair can be pre-asymptotic (measured 0.78 from 100 cells, then
                # 0.40, 0.41, 0.36): the next refinement must then show the decrease
                finer = _cdf_defect(_solve(case, 4))
                ratio = finer / defects[1]
            checks.less(ratio, 0.75, "CDF defect ratio (refined / coarse)")
        return checks.outcome(
            defect=defects[0], defect_fine=defects[1], depth=depth[0], stopped=stopped
        )
    errors, bounds = [], []
    for r in runs:
        err, bound = _mean_defect(r)
        errors.append(err)
        bounds.append(bound)
    # the displacement mean's sampling error is sd/√N (5 sd: a 1-in-3·10⁶ event per
    # coordinate); the discretisation error on top must shrink under refinement
    if errors[1] > bounds[1]:
        checks.less(errors[1], 0.75 * errors[0], "2D mean error beyond sampling, refined")
    return checks.outcome(mean_error=errors[0], sampling_bound=bounds[0], stopped=stopped)


def _cdf(density, x: np.ndarray) -> np.ndarray:
    """CDF of a 1D mesh density at x: trapezoid on 40001 points, linear in between."""
    mesh = density.mesh
    lo, hi = float(mesh.p.min()), float(mesh.p.max())
    grid = np.linspace(lo, hi, 40001)
    pdf = density.pdf(grid[:, None])
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    return np.interp(x, grid, cdf / cdf[-1])


def _cdf_defect(run) -> float:
    start = _cdf(run.flow.densities[0], run.positions[0, :, 0])
    worst = 0.0
    for k in range(1, run.times.size):
        now = _cdf(run.flow.densities[k], run.positions[k, :, 0])
        worst = max(worst, float(np.abs(now - start).max()))
    return worst


def _mean_defect(run) -> tuple[float, float]:
    worst, bound = 0.0, 0.0
    n = run.positions.shape[1]
    start = _moment(run.flow.densities[0])
    for k in range(1, run.times.size):
        shift = _moment(run.flow.densities[k]) - start
        disp = run.positions[k] - run.positions[0]
        worst = max(worst, float(np.abs(disp.mean(axis=0) - shift).max()))
        bound = max(bound, 5.0 * float(disp.std(axis=0).max()) / math.sqrt(n))
    return worst, bound


def _moment(density) -> np.ndarray:
    """∫ x u dx by a tensor midpoint rule on 400² points of the mesh box."""
    p = density.mesh.p
    xs = [np.linspace(p[d].min(), p[d].max(), 401) for d in range(2)]
    mid = [0.5 * (x[1:] + x[:-1]) for x in xs]
    mx, my = np.meshgrid(*mid, indexing="ij")
    pts = np.stack([mx.ravel(), my.ravel()], axis=1)
    w = density.pdf(pts) * (xs[0][1] - xs[0][0]) * (xs[1][1] - xs[1][0])
    return (w[:, None] * pts).sum(axis=0) / w.sum()
