"""The ``gan-pde`` command line.

Each subcommand lives in a module of :mod:`gan_pde.commands` (see there); e.g.
``gan-pde spectrum [CONFIG] [--json] [--plot FILE]`` and ``gan-pde config show NAME``.
What every command shares (``-v``, ``--quiet``, ``--json``, ``--out``, ``results.json``,
progress, Ctrl-C) is in :mod:`gan_pde.commands._common`; ``docs/cli.md`` documents it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from gan_pde import __version__
from gan_pde.commands import COMMANDS
from gan_pde.commands._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    RESULTS,
    interrupted_message,
    start_run,
)
from gan_pde.errors import GanPdeError, NotConvergedError, NumericalBreakdownError

__all__ = ["main"]

EPILOG = f"""\
every command takes -v/--verbose (also before the command), -q/--quiet, --json (the
results as JSON on stdout) and --out DIR (its {RESULTS} and files); progress shows as a
bar on a terminal and as lines on stderr otherwise.  Ctrl-C stops a command with one line
saying where it stopped (and the --resume command where there is one).

exit status:
  {EXIT_OK}    success
  {EXIT_FAILED}    the run failed: a verify check failed, an unstable lgan step, a solver broke
       down or did not converge
  {EXIT_USAGE}    usage or config error: a bad option, config key, --out or --plot, a missing
       dependency (the message names what to change)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)

docs/cli.md describes every command's options, outputs and messages."""


def _parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="gan-pde",
        description="Finite-element solvers for the PDEs of GAN training.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gan-pde {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name in COMMANDS:
        module = importlib.import_module(f"gan_pde.commands.{name}")
        module.add_arguments(
            commands.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        )
        modules[module.NAME] = module
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gan-pde``; returns the exit status (docs/cli.md, ``gan-pde --help``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), "")
    with _interrupts_reach_the_engine():
        return _main(argv, command)


class _interrupts_reach_the_engine:  # noqa: N801 (a context manager used like a function)
    """During a command, Ctrl-C also sets :func:`gan_pde.engine.request_interrupt`, so that
    a KeyboardInterrupt swallowed inside a finaliser still stops the run (at its next
    step, with its checkpoint written) instead of letting it finish with status 0."""

    def __enter__(self) -> None:
        from gan_pde import engine

        engine.clear_interrupt()
        self._installed = threading.current_thread() is threading.main_thread()
        if self._installed:
            previous = signal.getsignal(signal.SIGINT)
            # None: a handler not installed from Python; restore Python's default then
            self._previous = signal.default_int_handler if previous is None else previous
            signal.signal(signal.SIGINT, self._handler)

    @staticmethod
    def _handler(signum: int, frame: object) -> None:
        from gan_pde import engine

        engine.request_interrupt()
        raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        from gan_pde import engine

        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
        engine.clear_interrupt()


def _main(argv: list[str], command: str) -> int:
    try:
        parser, modules = _parser()
        args = parser.parse_args(argv)
        command = args.command
        verbose = args.verbose + getattr(args, "sub_verbose", 0)
        level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        if verbose:
            logging.getLogger("gan_pde").setLevel(level)
        start_run(command, argv)
        return modules[command].run(args)
    except KeyboardInterrupt:
        print(interrupted_message(command), file=sys.stderr)
        return EXIT_INTERRUPTED
    except (NumericalBreakdownError, NotConvergedError) as err:
        print(f"gan-pde {command}: failed: {err}", file=sys.stderr)
        return EXIT_FAILED
    except GanPdeError as err:
        print(
            f"gan-pde {command}: error: {err}".replace("gan-pde : ", "gan-pde: "), file=sys.stderr
        )
        return EXIT_USAGE
    except BrokenPipeError:
        # stdout closed early (gan-pde ... | head): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as err:
        # a file-system failure after the checks (disk full, a folder removed meanwhile)
        print(f"gan-pde {command}: error: {err}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
