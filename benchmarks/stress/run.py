"""Run the randomized stress campaign from a seed and write its table.

    python benchmarks/stress/run.py                       # the full campaign, seed 0
    python benchmarks/stress/run.py --solver jsd-1d --n 20 --scale ci
    python benchmarks/stress/run.py --table-only          # re-render docs from results

Results go to ``benchmarks/results/stress.json`` (every case with its status, reason,
metrics and time) and the table between the ``<!-- stress -->`` markers of
``docs/robustness.md``.  The counts per solver come from :data:`FULL_COUNTS`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from campaign import STATUSES, draw, modules, run_case  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "stress.json"
DOCS = ROOT / "docs" / "robustness.md"
MARKER = "<!-- stress -->"


def _run_chunk(args: tuple[str, list[dict]]) -> list[dict]:
    solver, cases = args
    module = modules()[solver]
    return [run_case(module, case) for case in cases]


def campaign(seed: int, solvers: list[str], n: int | None, scale: str, jobs: int) -> dict:
    found = modules()
    unknown = [s for s in solvers if s not in found]
    if unknown:
        raise SystemExit(f"unknown solver(s) {unknown}; known: {sorted(found)}")
    report = {"seed": seed, "scale": scale, "solvers": {}}
    for solver in solvers:
        module = found[solver]
        count = n if n is not None else module.FULL_COUNT
        cases = draw(module, seed, count, scale)
        start = time.perf_counter()
        chunks = [(solver, cases[i::jobs]) for i in range(jobs)]
        if jobs > 1:
            with ProcessPoolExecutor(jobs) as pool:
                parts = list(pool.map(_run_chunk, chunks))
        else:
            parts = [_run_chunk(chunks[0])]
        # restore the drawing order
        records = [None] * len(cases)
        for i, part in enumerate(parts):
            records[i::jobs] = part
        counts = Counter(r["status"] for r in records)
        print(
            f"{solver:>14}: {len(records)} cases in {time.perf_counter() - start:.0f} s: "
            + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES),
            flush=True,
        )
        for r in records:
            if r["status"] in ("wrong", "crash"):
                print(f"    {r['status']}: {r['reason']}\n      case {r['case']}", flush=True)
        report["solvers"][solver] = {
            "description": getattr(module, "DESCRIPTION", ""),
            "checks": getattr(module, "CHECKS", ""),
            "seconds": time.perf_counter() - start,
            "cases": records,
        }
    return report


def compact(report: dict) -> dict:
    """The recorded results: every case that did not end ``ok`` in full (to re-run it), the
    ``ok`` ones as their status and time only (the whole record is megabytes)."""
    out = {**report, "solvers": {}}
    for solver, entry in report["solvers"].items():
        cases = [
            r if r["status"] != "ok" else {"status": "ok", "seconds": round(r["seconds"], 3)}
            for r in entry["cases"]
        ]
        out["solvers"][solver] = {**entry, "cases": cases}
    return out


def table(report: dict) -> str:
    lines = [
        f"Seed {report['seed']}, scale `{report['scale']}`, "
        f"{report.get('machine', '')}; produced by `python benchmarks/stress/run.py`.",
        "",
        "| solver | cases | ok | refused | wrong | crash | checked against | time |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    refusals = []
    found = modules()
    for solver, entry in report["solvers"].items():
        counts = Counter(r["status"] for r in entry["cases"])
        checks = getattr(found.get(solver), "CHECKS", entry["checks"])
        lines.append(
            f"| {solver} | {len(entry['cases'])} | "
            + " | ".join(str(counts.get(s, 0)) for s in STATUSES)
            + f" | {checks} | {entry['seconds']:.0f} s |"
        )
        # refusals grouped by their kind (the reason up to its first colon), one example each
        kinds: dict[str, list[str]] = {}
        for r in entry["cases"]:
            if r["status"] == "refused":
                kinds.setdefault(r["reason"].split(":")[0], []).append(r["reason"])
        for kind, reasons in sorted(kinds.items(), key=lambda item: -len(item[1])):
            example = reasons[0] if len(reasons[0]) <= 400 else reasons[0][:397] + "..."
            refusals.append(f"- {solver}, {len(reasons)}×: {kind}. Example: {example}")
        bad = [r for r in entry["cases"] if r["status"] in ("wrong", "crash")]
        refusals += [f"- **{solver} {r['status']}**: {r['reason']}" for r in bad]
    if refusals:
        lines += ["", "Every kind of refusal (and every failure) with its reason:", "", *refusals]
    return "\n".join(lines)


def render(report: dict) -> None:
    text = DOCS.read_text()
    block = f"{MARKER}\n{table(report)}\n{MARKER}"
    pattern = re.compile(re.escape(MARKER) + r".*?" + re.escape(MARKER), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOCS} has no pair of {MARKER} markers")
    DOCS.write_text(pattern.sub(lambda _m: block, text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solver", action="append", help="solver(s) to run (default: all)")
    parser.add_argument("--n", type=int, help="cases per solver (default: each FULL_COUNT)")
    parser.add_argument("--scale", choices=("ci", "full"), default="full")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table-only", action="store_true", help="re-render the docs table")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/")
    args = parser.parse_args()
    if args.table_only:
        render(json.loads(args.out.read_text()))
        return
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    solvers = args.solver or list(modules())
    report = campaign(args.seed, solvers, args.n, args.scale, args.jobs)
    report["machine"] = (
        f"{os.cpu_count()} cores, {args.jobs} processes, {platform.python_version()}"
    )
    if args.out.exists() and args.solver:
        # a partial run updates its solvers in the recorded results
        old = json.loads(args.out.read_text())
        if old.get("seed") == args.seed and old.get("scale") == args.scale:
            old["solvers"].update(report["solvers"])
            report["solvers"] = old["solvers"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(compact(report), indent=0, default=float))
    if not args.no_docs:
        render(report)
    bad = sum(
        r["status"] in ("wrong", "crash") for e in report["solvers"].values() for r in e["cases"]
    )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
