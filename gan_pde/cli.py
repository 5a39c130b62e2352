"""The ``gan-pde`` command line.

Each subcommand lives in a module of :mod:`gan_pde.commands` (see there); e.g.
``gan-pde spectrum [CONFIG] [--json] [--plot FILE]`` and ``gan-pde config show NAME``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from gan_pde import __version__
from gan_pde.commands import COMMANDS
from gan_pde.errors import GanPdeError

__all__ = ["main"]


def _parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="gan-pde", description="Finite-element solvers for the PDEs of GAN training."
    )
    parser.add_argument("--version", action="version", version=f"gan-pde {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")
    commands = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name in COMMANDS:
        module = importlib.import_module(f"gan_pde.commands.{name}")
        module.add_arguments(commands.add_parser(module.NAME, help=module.HELP))
        modules[module.NAME] = module
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gan-pde``; returns the exit status (2 for a gan_pde error)."""
    parser, modules = _parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return modules[args.command].run(args)
    except GanPdeError as err:
        print(f"gan-pde: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
