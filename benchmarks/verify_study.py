"""Every verify check at every size, and every negative control: the table of docs/checks.md.

    python benchmarks/verify_study.py                 # quick + default + controls (~4 min)
    python benchmarks/verify_study.py --sizes quick default full
    python benchmarks/verify_study.py --table-only    # re-render docs from the results

For each check it records, per size, every criterion (measured error, tolerance, margin, the
reason for the tolerance) and the seconds; then it runs each negative control at the quick
size and records whether it failed the check, and by which criterion.  Results go to
``benchmarks/results/verify_checks.json``; the table goes between the two
``<!-- verify-table -->`` markers of ``docs/checks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "verify_checks.json"
DOCS = ROOT / "docs" / "checks.md"
MARKER = "<!-- verify-table -->"


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _g(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2g}"


def study(sizes: list[str]) -> dict:
    from gan_pde.provenance import versions
    from gan_pde.verify.controls import run_controls
    from gan_pde.verify.registry import available_checks, clear_caches, run_check

    specs = available_checks()
    checks: dict[str, dict] = {
        spec.name: {
            "paper": spec.paper,
            "reference": spec.reference,
            "claim": spec.claim,
            "reference_kind": list(spec.reference_kind),
            "runs": {},
            "controls": [],
        }
        for spec in specs
    }
    for size in sizes:
        clear_caches()
        for spec in specs:
            check = run_check(spec, size)
            print(
                f"{size:8} {'pass' if check.passed else 'FAIL':4} {check.seconds:7.2f} s "
                f"{spec.name}",
                flush=True,
            )
            checks[spec.name]["runs"][size] = {
                "passed": bool(check.passed),
                "skipped": check.skipped,
                "seconds": check.seconds,
                "criteria": check.criteria,
                "error": check.details.get("error"),
            }
    for result in run_controls(level="quick"):
        print(
            f"control  {'detected' if result.detected else 'MISSED':8} {result.check}: "
            f"{result.description}",
            flush=True,
        )
        checks[result.check]["controls"].append(
            {
                "control": result.description,
                "detected": result.detected,
                "how": result.how,
                "failing": result.failing,
                "seconds": result.seconds,
            }
        )
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "versions": versions(),
        "sizes": sizes,
        "checks": checks,
    }


def table(report: dict) -> str:
    from gan_pde.verify.papers import citation

    size = "default" if "default" in report["sizes"] else report["sizes"][0]
    lines = [
        f"Recorded {report['date']} on {report['machine']} "
        f"(`python benchmarks/verify_study.py`); measured errors at the {size} size, controls "
        "at the quick size.",
        "",
        "| check | claim (paper) | compared with | criterion: measured error vs tolerance — "
        "why this tolerance | negative control → failing criterion |",
        "|---|---|---|---|---|",
    ]
    for name, record in report["checks"].items():
        run = record["runs"].get(size, {})
        criteria = "<br>".join(
            f"{_cell(c['label'])}: **{_g(c['error'])}** {c['sense']} {_g(c['tolerance'])} — "
            f"{_cell(c['reason'])}"
            for c in run.get("criteria", [])
        ) or ("skipped: " + _cell(run.get("skipped")) if run.get("skipped") else "—")
        controls = (
            "<br>".join(
                f"{_cell(c['control'])} → "
                + (
                    f"fails ({_cell('; '.join(c['failing']))})"
                    if c["detected"]
                    else f"**not detected** ({c['how']})"
                )
                for c in record["controls"]
            )
            or "**none**"
        )
        lines.append(
            f"| `{name}` | {_cell(record['claim'])} ({_cell(citation(record['paper']))}, "
            f"{_cell(record['reference'])}) | {', '.join(record['reference_kind']) or '—'} "
            f"| {criteria} | {controls} |"
        )
    totals = {
        s: (
            sum(r["runs"].get(s, {}).get("passed", False) for r in report["checks"].values()),
            sum(r["runs"].get(s, {}).get("seconds", 0.0) for r in report["checks"].values()),
        )
        for s in report["sizes"]
    }
    detected = sum(c["detected"] for r in report["checks"].values() for c in r["controls"])
    n_controls = sum(len(r["controls"]) for r in report["checks"].values())
    lines.append("")
    lines.append(
        "Totals: "
        + "; ".join(
            f"{s}: {p}/{len(report['checks'])} passed in {sec:.0f} s"
            for s, (p, sec) in totals.items()
        )
        + f"; negative controls: {detected}/{n_controls} detected."
    )
    return "\n".join(lines)


def write_docs(report: dict) -> None:
    text = DOCS.read_text()
    pattern = re.compile(re.escape(MARKER) + r".*?" + re.escape(MARKER), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOCS} has no pair of {MARKER} markers")
    block = f"{MARKER}\n{table(report)}\n{MARKER}"
    DOCS.write_text(pattern.sub(lambda _m: block, text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["quick", "default"], choices=["quick", "default", "full"]
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table-only", action="store_true", help="re-render the docs table")
    args = parser.parse_args()
    if args.table_only:
        report = json.loads(args.out.read_text())
    else:
        report = study(args.sizes)
        args.out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    write_docs(report)
    print(f"wrote {args.out} and the table in {DOCS}")
    sys.exit(0)


if __name__ == "__main__":
    main()
