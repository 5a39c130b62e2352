"""``gan-pde verify``: run the registry of checks of the papers' claims and write a report."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from gan_pde.commands._common import (
    Progress,
    add_common_options,
    output_folder,
    print_json,
    say,
    set_interrupt_note,
    with_defaults,
)
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
        "--quick",
        action="store_true",
        help="every check at small problem sizes (fewer cells, steps, samples): about half a "
        "minute; a check registered only for larger sizes is left out and named",
    )
    size.add_argument(
        "--full",
        action="store_true",
        help="every check at publication problem sizes (minutes)",
    )
    parser.add_argument(
        "--only",
        metavar="PATTERN",
        action="append",
        help="run the checks whose name contains PATTERN or matches it as a shell pattern "
        "(case-insensitive; repeatable)",
    )
    add_common_options(
        parser,
        out=None,
        out_help="report folder: index.html, results.json, config.toml (default: report/, "
        "or [verify] out)",
        json_help="print results.json (the report's document) on stdout",
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


def left_out(level: str) -> dict[str, list[str]]:
    """The checks that a run at ``level`` leaves out, by the level that includes them."""
    from gan_pde.verify.registry import LEVELS, available_checks

    rank = LEVELS.index(level)
    missing: dict[str, list[str]] = {}
    for spec in available_checks():
        if LEVELS.index(spec.level) > rank:
            missing.setdefault(spec.level, []).append(spec.name)
    return missing


def run(args: argparse.Namespace) -> int:
    from gan_pde.verify import Check, run_checks, select_checks, write_report
    from gan_pde.verify.report import summary_line

    args = with_defaults(args, add_arguments)
    config = load_config(getattr(args, "config", None))
    level = "quick" if args.quick else "full" if args.full else config.level
    only = args.only or config.only or None
    out = output_folder(args.out if args.out is not None else config.out)
    if getattr(args, "controls", False):
        return _run_controls(args, level, only, out)
    selected = select_checks(level=level, only=only)
    set_interrupt_note(
        lambda: (
            "no report was written (it is written once every check has run); "
            "--only PATTERN runs a selection"
        )
    )
    start = time.perf_counter()
    with Progress(len(selected), unit="check", quiet=args.quiet) as bar:

        def progress(check: Check) -> None:
            bar.update(bar.n + 1, detail=check.name)

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
    if args.json:
        print_json(json.loads((out / "results.json").read_text(encoding="utf-8")))
    else:
        print(f"{summary_line(checks)} in {seconds:.1f} s; report in {index}")
    missing = left_out(level)
    if missing and not only:
        say(
            f"the {level} level leaves out "
            + "; ".join(
                f"{len(names)} {at}-level checks ({', '.join(names)})"
                for at, names in missing.items()
            )
            + (": run without --quick (or with --full) for them" if level == "quick" else "")
            + (": --full runs them" if level == "default" else "")
        )
    if skipped:
        print(
            f"warning: {len(skipped)} checks did not run, so this report is incomplete"
            + ("" if args.strict or config.strict else "; --strict makes this an error"),
            file=sys.stderr,
        )
    return 1 if failed or (skipped and strict) else 0


def _run_controls(args: argparse.Namespace, level: str, only: list | None, out: Path) -> int:
    """``--controls``: each check under each negative control; all must be detected."""
    from gan_pde.verify.controls import ControlResult, controls_for, run_controls
    from gan_pde.verify.registry import select_checks

    selected = select_checks(level=level, only=only)
    total = sum(max(1, len(controls_for(spec.name))) for spec in selected)
    start = time.perf_counter()
    with Progress(total, unit="control run", quiet=args.quiet) as bar:

        def progress(result: ControlResult) -> None:
            bar.update(bar.n + 1, detail=result.check)

        results = run_controls(level=level, only=only, progress=progress)
    seconds = time.perf_counter() - start
    missed = [r for r in results if not r.detected]
    for r in results:
        verdict = "detected" if r.detected else "NOT DETECTED"
        how = f" ({r.how}: {', '.join(r.failing)})" if r.failing else f" ({r.how})"
        # with --json, stdout carries only the JSON document
        print(
            f"{verdict:12} {r.check}: {r.description}{how}", file=sys.stderr if args.json else None
        )
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
    document = {"level": level, "controls": records}
    (out / "controls.json").write_text(json.dumps(document, indent=2) + "\n")
    if args.json:
        print_json(document)
        return 1 if missed else 0
    print(
        f"{len(results) - len(missed)}/{len(results)} negative controls detected in "
        f"{seconds:.1f} s; wrote {out / 'controls.json'}"
    )
    return 1 if missed else 0
