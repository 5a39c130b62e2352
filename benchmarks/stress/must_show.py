"""Issue 16's grid of Gaussian pairs, every scheme: N(0, s0²) → N(m, s1²).

    python benchmarks/stress/must_show.py

s0, s1 ∈ {0.3, 1, 3} and m ∈ {0, 1.5, 3} (27 pairs) on ±(m + 8 max(s0, s1)) with 2000 P1
cells, Δt = 0.01 to t = 2, with backward Euler, Crank–Nicolson and TR-BDF2 (81 runs).  Each
run reports ln β, the mass error, the smallest v, whether JSD and L¹ decreased, the most
Newton iterations of a step, the largest attained backward error and the sub-steps.
Results: ``benchmarks/results/jsd_must_show.json`` and the table between the
``<!-- must-show -->`` markers of ``docs/robustness.md``.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

import gan_pde as gp

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "results" / "jsd_must_show.json"
DOCS = ROOT / "docs" / "robustness.md"
MARKER = "<!-- must-show -->"
SCHEMES = ("backward-euler", "crank-nicolson", "tr-bdf2")


def one(s0: float, s1: float, m: float, scheme: str) -> dict:
    half = m + 8.0 * max(s0, s1)
    start = time.perf_counter()
    row = {"s0": s0, "s1": s1, "m": m, "scheme": scheme}
    try:
        flow = gp.JSDFlow(
            target=gp.Gaussian(mean=[m], cov=[[s1**2]]),
            initial=gp.Gaussian(mean=[0.0], cov=[[s0**2]]),
            mesh=gp.mesh.interval(-half, half, n=2000),
        )
        traj = flow.solve(2.0, 0.01, scheme=scheme, save_times=np.linspace(0.0, 2.0, 21))
    except Exception as exc:  # noqa: BLE001 - the table records every failure
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        return row
    row.update(
        status="ok",
        log_beta=flow.log_beta,
        mass_error=float(np.max(np.abs(traj.mass - 1.0))),
        v_min=float(traj.v_min.min()),
        jsd_decreasing=bool(np.all(np.diff(traj.jsd) <= 1e-12)),
        l1_decreasing=bool(np.all(np.diff(traj.l1) <= 1e-12)),
        jsd_final=float(traj.jsd[-1]),
        newton_max=int(traj.newton_iterations.max()),
        newton_mean=float(traj.newton_iterations.mean()),
        residual_max=float(traj.newton_residuals.max()),
        substeps_max=int(traj.substeps.max()),
        seconds=time.perf_counter() - start,
    )
    return row


def table(rows: list[dict]) -> str:
    ok = sum(r["status"] == "ok" for r in rows)
    lines = [
        f"{ok} of {len(rows)} runs complete (produced by `python benchmarks/stress/must_show.py`).",
        "",
        "| s0 → s1, m | scheme | ln β | mass error | min v | JSD, L¹ ↓ | Newton max (mean) "
        "| backward error | sub-steps | time |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        head = f"| {r['s0']:g} → {r['s1']:g}, {r['m']:g} | {r['scheme']} "
        if r["status"] != "ok":
            lines.append(head + f"| failed: {r['error']} ||||||||")
            continue
        mono = "yes" if r["jsd_decreasing"] and r["l1_decreasing"] else "no"
        lines.append(
            head + f"| {r['log_beta']:.0f} | {r['mass_error']:.0e} | {r['v_min']:.1e} | {mono} "
            f"| {r['newton_max']} ({r['newton_mean']:.1f}) | {r['residual_max']:.0e} "
            f"| {r['substeps_max']} | {r['seconds']:.1f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    rows = []
    for s0, s1, m in itertools.product((0.3, 1.0, 3.0), (0.3, 1.0, 3.0), (0.0, 1.5, 3.0)):
        for scheme in SCHEMES:
            rows.append(one(s0, s1, m, scheme))
            r = rows[-1]
            print(f"{s0:g} -> {s1:g}, m = {m:g}, {scheme}: {r['status']}", flush=True)
    OUT.write_text(json.dumps(rows, indent=1))
    text = DOCS.read_text()
    block = f"{MARKER}\n{table(rows)}\n{MARKER}"
    pattern = re.compile(re.escape(MARKER) + r".*?" + re.escape(MARKER), re.S)
    DOCS.write_text(pattern.sub(lambda _m: block, text))
    sys.exit(0 if all(r["status"] == "ok" for r in rows) else 1)


if __name__ == "__main__":
    main()
