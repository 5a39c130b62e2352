"""``gan-pde verify``: run the registry of checks of the papers' claims and write a report."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from gan_pde.config import option, parse_config, read_config_text

NAME = "verify"
HELP = "check the papers' theorems and figures numerically; write report/index.html"


@dataclass(frozen=True)
class VerifyConfig:
    """``[verify]``: run level, check selection, report folder and strictness."""

    level: str = option("str", "default", choices=("quick", "default", "full"))
    only: list = option("list[str]", factory=list)
    out: str = option("str", "report")
    strict: bool = option("bool", False)


def load_config(path: str | Path | None = None) -> VerifyConfig:
    """Read and validate a verify config (the bundled ``verify.toml`` if None)."""
    text, name = read_config_text(path, "verify")
    return parse_config(text, name, {"verify": VerifyConfig})["verify"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="TOML config (default: bundled verify.toml)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="small sizes: every check in under a minute"
    )
    size.add_argument("--full", action="store_true", help="publication-size studies")
    parser.add_argument(
        "--only",
        metavar="PATTERN",
        action="append",
        help="run the checks whose name contains PATTERN or matches it as a shell pattern "
        "(case-insensitive; repeatable)",
    )
    parser.add_argument(
        "--out", metavar="DIR", default=None, help="report folder (default: report/)"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when any check is skipped (an optional dependency such as torch is "
        "missing), not only when one fails",
    )
    parser.add_argument(
        "--controls",
        action="store_true",
        help="run the negative controls instead: every selected check under each of its "
        "deliberately wrong solvers; exit 1 unless every one of them fails the check "
        "(writes controls.json)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gan_pde.verify import Check, run_checks, select_checks, write_report
    from gan_pde.verify.report import summary_line

    config = load_config(getattr(args, "config", None))
    level = "quick" if args.quick else "full" if args.full else config.level
    only = args.only or config.only or None
    out = Path(args.out if args.out is not None else config.out)
    if getattr(args, "controls", False):
        return _run_controls(args, level, only, out)
    selected = select_checks(level=level, only=only)
    start = time.perf_counter()
    with tqdm(
        total=len(selected),
        desc="verify",
        unit="check",
        file=sys.stderr,
        disable=args.quiet or not sys.stderr.isatty(),
    ) as bar:

        def progress(check: Check) -> None:
            bar.set_postfix_str(check.name)
            bar.update(1)

        checks = run_checks(level=level, only=only, progress=progress)
    seconds = time.perf_counter() - start
    index = write_report(checks, out, level=level)
    # the effective config next to the results (TOML basic strings are JSON strings)
    strict = bool(getattr(args, "strict", False) or config.strict)
    (out / "config.toml").write_text(
        f"[verify]\nlevel = {json.dumps(level)}\nonly = {json.dumps(list(only or []))}\n"
        f"out = {json.dumps(out.as_posix())}\nstrict = {json.dumps(strict)}\n"
    )
    failed = [c for c in checks if not c.passed and not c.skipped]
    skipped = [c for c in checks if c.skipped]
    for check in checks:
        if check.skipped:
            print(f"skipped {check.name}: {check.skipped}", file=sys.stderr)
        elif not check.passed:
            failing = [c["label"] for c in check.criteria if not c["passed"]]
            reason = check.details.get("error") or (
                "failing: " + "; ".join(failing) if failing else f"measured {check.measured!r}"
            )
            print(f"FAILED {check.name}: {reason}", file=sys.stderr)
    print(f"{summary_line(checks)} in {seconds:.1f} s; report in {index}")
    if skipped:
        print(
            f"warning: {len(skipped)} checks did not run, so this report is incomplete"
            + ("" if args.strict or config.strict else "; --strict makes this an error"),
            file=sys.stderr,
        )
    return 1 if failed or (skipped and strict) else 0


def _run_controls(args: argparse.Namespace, level: str, only: list | None, out: Path) -> int:
    """``--controls``: each check under each negative control; all must be detected."""
    from tqdm import tqdm

    from gan_pde.verify.controls import ControlResult, controls_for, run_controls
    from gan_pde.verify.registry import select_checks

    selected = select_checks(level=level, only=only)
    total = sum(max(1, len(controls_for(spec.name))) for spec in selected)
    start = time.perf_counter()
    with tqdm(
        total=total,
        desc="controls",
        unit="run",
        file=sys.stderr,
        disable=args.quiet or not sys.stderr.isatty(),
    ) as bar:

        def progress(result: ControlResult) -> None:
            bar.set_postfix_str(result.check)
            bar.update(1)

        results = run_controls(level=level, only=only, progress=progress)
    seconds = time.perf_counter() - start
    missed = [r for r in results if not r.detected]
    for r in results:
        verdict = "detected" if r.detected else "NOT DETECTED"
        how = f" ({r.how}: {', '.join(r.failing)})" if r.failing else f" ({r.how})"
        print(f"{verdict:12} {r.check}: {r.description}{how}")
    records = [
        {
            "check": r.check,
            "control": r.description,
            "detected": r.detected,
            "how": r.how,
            "failing": r.failing,
            "seconds": r.seconds,
        }
        for r in results
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "controls.json").write_text(
        json.dumps({"level": level, "controls": records}, indent=2) + "\n"
    )
    print(
        f"{len(results) - len(missed)}/{len(results)} negative controls detected in "
        f"{seconds:.1f} s; wrote {out / 'controls.json'}"
    )
    return 1 if missed else 0
