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
    """``[verify]``: run level, check selection and report folder."""

    level: str = option("str", "default", choices=("quick", "default", "full"))
    only: list = option("list[str]", factory=list)
    out: str = option("str", "report")


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
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gan_pde.verify import Check, run_checks, select_checks, write_report
    from gan_pde.verify.report import summary_line

    config = load_config(getattr(args, "config", None))
    level = "quick" if args.quick else "full" if args.full else config.level
    only = args.only or config.only or None
    out = Path(args.out if args.out is not None else config.out)
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
    index = write_report(checks, out)
    # the effective config next to the results (TOML basic strings are JSON strings)
    (out / "config.toml").write_text(
        f"[verify]\nlevel = {json.dumps(level)}\nonly = {json.dumps(list(only or []))}\n"
        f"out = {json.dumps(out.as_posix())}\n"
    )
    failed = [c for c in checks if not c.passed and not c.skipped]
    for check in checks:
        if check.skipped:
            print(f"skipped {check.name}: {check.skipped}", file=sys.stderr)
        elif not check.passed:
            reason = check.details.get("error", f"measured {check.measured!r}")
            print(f"FAILED {check.name}: {reason}", file=sys.stderr)
    print(f"{summary_line(checks)} in {seconds:.1f} s; report in {index}")
    return 1 if failed else 0
