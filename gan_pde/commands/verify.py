"""``gan-pde verify``: run the registry of checks of the papers' claims and write a report."""

from __future__ import annotations

import argparse
import sys
import time

NAME = "verify"
HELP = "check the papers' theorems and figures numerically; write report/index.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
        "--out", metavar="DIR", default="report", help="report folder (default: report/)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gan_pde.verify import Check, run_checks, select_checks, write_report

    level = "quick" if args.quick else "full" if args.full else "default"
    selected = select_checks(level=level, only=args.only)
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

        checks = run_checks(level=level, only=args.only, progress=progress)
    seconds = time.perf_counter() - start
    index = write_report(checks, args.out)
    passed = sum(check.passed for check in checks)
    for check in checks:
        if not check.passed:
            reason = check.details.get("error", f"measured {check.measured!r}")
            print(f"FAILED {check.name}: {reason}", file=sys.stderr)
    print(f"{passed}/{len(checks)} checks passed in {seconds:.1f} s; report in {index}")
    return 0 if passed == len(checks) else 1
