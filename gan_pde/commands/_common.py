"""What every ``gan-pde`` command shares: options, output folder, figure names, results,
progress and the report of an interruption.

* :func:`add_common_options` gives every command ``-v/--verbose``, ``-q/--quiet``,
  ``--json`` and ``--out DIR``;
* :func:`output_folder` and :func:`figure_path` check ``--out`` and ``--plot`` before any
  work starts, so that a run never fails at its end on a file name;
* :func:`write_results` writes ``OUT/results.json``, the one result file name of every
  command, and :func:`print_json` prints the same document for ``--json``;
* :class:`Progress` shows a tqdm bar on a terminal and periodic lines on stderr otherwise,
  and remembers where the run is, for the one-line report of a Ctrl-C
  (:func:`interrupted_message`).

Exit statuses (:data:`EXIT_OK` …) are documented in ``docs/cli.md`` and ``gan-pde --help``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gan_pde.errors import InvalidInputError, MissingDependencyError

#: The run finished and every check it makes passed.
EXIT_OK = 0
#: The run finished but failed: a verify check failed, an unstable lgan step, a solver
#: that broke down or did not converge.
EXIT_FAILED = 1
#: The command line or the config is wrong (also a missing dependency, a bad --out).
EXIT_USAGE = 2
#: Interrupted by Ctrl-C (SIGINT), as shells report it (128 + 2).
EXIT_INTERRUPTED = 130

#: The one result file that every command writes in its ``--out`` folder.
RESULTS = "results.json"

#: Seconds before progress is shown (bar or lines): quicker runs stay silent.
PROGRESS_DELAY = 1.0
#: Off a terminal, a progress line at least every this many seconds ...
LINE_INTERVAL = 5.0
#: ... and one each time another tenth of the work is done, at most one a second.
LINE_FRACTION = 0.1
LINE_GAP = 1.0


@dataclass
class RunState:
    """What :func:`interrupted_message` needs to know about the command running."""

    command: str = ""
    argv: list[str] = field(default_factory=list)
    progress: Progress | None = None
    #: Called on Ctrl-C: what was kept and how to go on (e.g. the --resume command).
    on_interrupt: Callable[[], str | None] | None = None


#: The command running now (reset by :func:`start_run`).
STATE = RunState()


def start_run(command: str, argv: Sequence[str]) -> None:
    """Forget the previous run; ``argv`` is the command line after ``gan-pde``."""
    global STATE
    STATE = RunState(command=command, argv=list(argv))


def resume_command(flag: str = "--resume") -> str:
    """The command line of the run now going, with ``flag`` added (``gan-pde ... --resume``)."""
    argv = [a for a in STATE.argv if a != "--fresh"]
    if flag and flag not in argv:
        argv.append(flag)
    return shlex.join(["gan-pde", *argv])


def set_interrupt_note(note: Callable[[], str | None]) -> None:
    """On Ctrl-C, ``note()`` says what was kept and how to go on (e.g. the --resume command)."""
    STATE.on_interrupt = note


def interrupted_message(command: str) -> str:
    """One line for a Ctrl-C: where the run stopped and, if it can, how to go on."""
    progress = STATE.progress
    where = progress.where() if progress is not None else ""
    text = f"gan-pde {command}: interrupted {where or 'before the computation started'}"
    note = None
    if STATE.on_interrupt is not None:
        try:
            note = STATE.on_interrupt()
        except Exception:  # noqa: BLE001 - the note is a courtesy; never mask the interrupt
            note = None
    return f"{text}; {note}" if note else text


# ----------------------------------------------------------------------------- options


def add_common_options(
    parser: argparse.ArgumentParser,
    *,
    out: str | None,
    out_help: str | None = None,
    json_help: str | None = None,
) -> None:
    """``-v/--verbose``, ``-q/--quiet``, ``--json`` and ``--out DIR`` (default ``out``)."""
    parser.add_argument(
        "-v",
        "--verbose",
        dest="sub_verbose",
        action="count",
        default=0,
        help="-v info, -vv debug (also accepted before the command)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no progress lines"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help=json_help or f"print the results as JSON on stdout (what {RESULTS} holds)",
    )
    default = f" (default: {out})" if out else ""
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=out,
        help=(out_help or f"output folder, created if missing; {RESULTS} goes there") + default,
    )


def with_defaults(args: argparse.Namespace, add_arguments: Callable) -> argparse.Namespace:
    """``args`` completed with the defaults of ``add_arguments`` (for callers of ``run``
    that build the namespace by hand)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    values = vars(args).copy()
    for action in parser._actions:  # noqa: SLF001 - the parser's own list of options
        if action.dest not in values and action.default is not argparse.SUPPRESS:
            values[action.dest] = action.default
    return argparse.Namespace(**values)


def size_level(args: argparse.Namespace) -> str:
    """``"quick"``, ``"full"`` or ``"default"`` from ``--quick``/``--full``."""
    if getattr(args, "quick", False):
        return "quick"
    if getattr(args, "full", False):
        return "full"
    return "default"


def add_size_options(parser: argparse.ArgumentParser, *, quick: str, full: str) -> None:
    """``--quick``/``--full`` (exclusive): the help strings say what each one changes."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help=quick)
    group.add_argument("--full", action="store_true", help=full)


def apply_sizes(config: Any, sizes: dict[str, dict[str, Any]]) -> Any:
    """``config`` (a frozen dataclass of sections) with ``{section: {key: value}}`` set."""
    import dataclasses

    changes = {
        section: dataclasses.replace(getattr(config, section), **values)
        for section, values in sizes.items()
    }
    return dataclasses.replace(config, **changes)


def describe_sizes(sizes: dict[str, dict[str, Any]]) -> str:
    """``"[jsd] steps = 10, ...; [wgan] widths = [20, 40]"`` for help texts and docs."""
    return "; ".join(
        f"[{section}] " + ", ".join(f"{k} = {v!r}" for k, v in values.items())
        for section, values in sizes.items()
    )


# ------------------------------------------------------------------- files and devices


def output_folder(path: str | os.PathLike[str], *, option: str = "--out") -> Path:
    """Create ``path`` if missing and check that files can be written in it.

    Raises
    ------
    InvalidInputError
        One line naming the option, the path and what to do: ``path`` (or a folder above
        it) is a file, or it cannot be created or written in.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        msg = f"{option} {folder}: is a file, not a folder; give a folder (created if missing)"
        raise InvalidInputError(msg)
    if not folder.exists():
        for parent in folder.absolute().parents:
            if parent.exists():
                if not parent.is_dir():
                    msg = (
                        f"{option} {folder}: {parent} is a file, not a folder; give a folder "
                        "path (created if missing)"
                    )
                    raise InvalidInputError(msg)
                break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        msg = f"{option} {folder}: cannot create the folder ({err.strerror}); choose another"
        raise InvalidInputError(msg) from err
    _check_writable(folder, option)
    return folder


def _check_writable(folder: Path, option: str) -> None:
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gan-pde-probe-"):
            pass
    except OSError as err:
        msg = f"{option} {folder}: cannot write in this folder ({err.strerror}); choose another"
        raise InvalidInputError(msg) from err


def figure_formats() -> list[str]:
    """File extensions that matplotlib writes (``FigureCanvasBase.get_supported_filetypes``)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def figure_path(path: str | None, *, option: str = "--plot") -> Path | None:
    """Check a figure file name before the work: a known extension, a writable folder."""
    if path is None:
        return None
    figure = Path(path)
    suffix = figure.suffix.lower().lstrip(".")
    formats = figure_formats()
    if suffix not in formats:
        problem = "has no extension" if not suffix else f"'.{suffix}' is not a figure format"
        msg = f"{option} {path}: {problem}; use one of " + ", ".join(f".{f}" for f in formats)
        raise InvalidInputError(msg)
    if figure.is_dir():
        msg = f"{option} {path}: is a folder; give a file name such as {figure / 'figure.png'}"
        raise InvalidInputError(msg)
    folder = figure.parent
    if not folder.is_dir():
        msg = f"{option} {path}: the folder {folder} does not exist; create it first"
        raise InvalidInputError(msg)
    _check_writable(folder, option)
    return figure


def check_device(device: str | None) -> None:
    """``--device``: torch must be installed, and ``cuda`` needs a CUDA GPU."""
    try:
        import torch
    except ImportError as err:
        msg = (
            "this command trains networks and needs torch: "
            "pip install torch (the CPU wheel is enough), then pip install -e '.[torch]'"
        )
        raise MissingDependencyError(msg) from err
    if device == "cuda" and not torch.cuda.is_available():
        msg = "--device cuda: no CUDA device is available on this machine; use --device cpu"
        raise InvalidInputError(msg)


# ----------------------------------------------------------------------------- results


def plain(value: Any) -> Any:
    """``value`` as JSON: numpy arrays and scalars as lists and numbers, non-finite floats
    as None, paths as strings, dataclasses as dictionaries."""
    import dataclasses

    import numpy as np

    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, complex):
        return [plain(value.real), plain(value.imag)]
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    return value


def write_results(folder: Path | None, document: dict[str, Any]) -> Path | None:
    """Write ``folder/results.json`` atomically (nothing if ``folder`` is None)."""
    if folder is None:
        return None
    from gan_pde._files import atomic_path

    path = Path(folder) / RESULTS
    with atomic_path(path, ".json") as temporary:
        temporary.write_text(json.dumps(plain(document), indent=2) + "\n", encoding="utf-8")
    return path


def print_json(document: dict[str, Any]) -> None:
    """``--json``: the document on stdout (progress and messages go to stderr)."""
    print(json.dumps(plain(document), indent=2))


def say(message: str) -> None:
    """A message for the user on stderr (stdout carries the results)."""
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- progress


def _number(value: float) -> str:
    return f"{value:.4g}"


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"


def bar_format(unit: str, *, staged: bool = False) -> str:
    """tqdm's ``bar_format`` with rounded positions: ``t = 0.235/30``, never
    ``0.23500000000000001/30.0`` (``unit="t"``), ``part 2/4``, ``23/50 steps``."""
    if unit == "t":
        counter = "t = {n:.4g}/{total:.4g}"
    elif staged:
        counter = "part {n:.0f}/{total:.0f}"
    else:
        counter = "{n:.0f}/{total:.0f} " + unit + "s"
    return "{desc}: {percentage:3.0f}%|{bar}| " + counter + " [{elapsed}<{remaining}{postfix}]"


class Progress:
    """Progress of one command, with where it stands for an interruption report.

    Parameters
    ----------
    total
        The end of the work: t_final (``unit="t"``), a number of steps, checks, points ...
    unit
        ``"t"`` for a time axis (shown as ``t = 3.2 of 10``), else a singular noun.
    quiet
        Show nothing (the position is still kept for an interruption).
    stages
        Names of the parts of a command whose solvers report no progress: the bar counts
        the parts, and :meth:`stage` starts one.
    poll
        Called every half second for the current position (e.g. finished points counted
        in a cache folder), for work that reports nothing itself.

    On a terminal (stderr a tty) a tqdm bar appears after :data:`PROGRESS_DELAY` seconds;
    otherwise a line on stderr after that delay, then at every tenth of the work and at
    least every :data:`LINE_INTERVAL` seconds, so that logs of batch jobs show the run
    advancing.
    """

    def __init__(
        self,
        total: float,
        *,
        unit: str,
        command: str = "",
        quiet: bool = False,
        stages: Sequence[str] = (),
        poll: Callable[[], float] | None = None,
        start: float = 0.0,
    ):
        self.stages = list(stages)
        self.total = float(len(self.stages)) if self.stages else float(total)
        self.unit = unit
        self.command = command or STATE.command
        self.quiet = quiet
        self.poll = poll
        self.n = float(start)
        self._first = float(start)
        self.current = ""
        self.detail = ""
        self._started = time.monotonic()
        self._last_line = -math.inf
        self._last_fraction = -1
        self._lines = 0
        self._bar = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- context
    def __enter__(self) -> Progress:
        STATE.progress = self
        self._started = time.monotonic()
        if not self.quiet:
            if sys.stderr.isatty():
                self._bar = self._make_bar()
            self._thread = threading.Thread(target=self._heartbeat, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is None and self.stages and self._bar is not None:
            self._bar.update(self.total - self._bar.n)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.close()
        elif kind is None and self._lines:
            self._line(f"done, {_seconds(time.monotonic() - self._started)}")

    def _make_bar(self) -> Any:
        from tqdm import tqdm

        return tqdm(
            total=self.total,
            initial=self.n,
            desc=f"gan-pde {self.command}".strip(),
            file=sys.stderr,
            delay=PROGRESS_DELAY,
            bar_format=bar_format(self.unit, staged=bool(self.stages)),
            dynamic_ncols=True,
        )

    # -- reporting
    def update(self, n: float, *, detail: str = "", postfix: str = "") -> None:
        """The work has reached ``n`` (a time, or a count of finished items).

        ``detail`` (e.g. the check just finished) is kept for an interruption report;
        ``postfix`` (e.g. losses) is only shown on the bar.
        """
        with self._lock:
            self.n = float(n)
            if detail:
                self.detail = detail
            if self._bar is not None:
                self._bar.update(self.n - self._bar.n)
                if detail or postfix:
                    self._bar.set_postfix_str(postfix or detail, refresh=False)
        self._maybe_line()

    def stage(self, name: str) -> None:
        """Start the part ``name`` (one of ``stages``, or a free-form label)."""
        with self._lock:
            self.current = name
            if name in self.stages:
                self.n = float(self.stages.index(name))
            if self._bar is not None:
                self._bar.update(self.n - self._bar.n)
                self._bar.set_postfix_str(name, refresh=False)
        self._maybe_line(force=bool(self._lines and name))

    def where(self) -> str:
        """Where the run is, for a Ctrl-C report: ``"at t = 3.2 of 10"``, ``"after 23 of 50
        steps"``, ``"in the weak-order study (part 1 of 3)"``."""
        if self.stages:
            return f"in {self._position()}" if self.current else "before the first part started"
        text = f"at {self._position()}" if self.unit == "t" else f"after {self._position()}"
        if self.current:
            text += f" ({self.current})"
        if self.detail:
            text += f" (last: {self.detail})"
        return text

    def _position(self) -> str:
        if self.stages:
            if self.current in self.stages and len(self.stages) > 1:
                index = self.stages.index(self.current) + 1
                return f"{self.current} (part {index} of {len(self.stages)})"
            return self.current or "starting"
        if self.unit == "t":
            return f"t = {_number(self.n)} of {_number(self.total)}"
        return f"{self.n:.0f} of {self.total:.0f} {self.unit}s"

    def _fraction(self) -> float:
        return min(max(self.n / self.total, 0.0), 1.0) if self.total > 0 else 0.0

    def _status(self) -> str:
        elapsed = time.monotonic() - self._started
        text = self._position()
        fraction = self._fraction()
        if not self.stages:
            text += f" ({100 * fraction:.0f} %)"
            if self.current:
                text += f", {self.current}"
        text += f", {_seconds(elapsed)} elapsed"
        done = self.n - self._first
        if not self.stages and 0.02 < fraction < 1.0 and done > 0.02 * self.total:
            text += f", about {_seconds(elapsed * (self.total - self.n) / done)} left"
        return text

    def _line(self, text: str) -> None:
        say(f"gan-pde {self.command}: {text}".replace("gan-pde : ", "gan-pde: "))
        self._lines += 1
        self._last_line = time.monotonic()

    def _maybe_line(self, *, force: bool = False) -> None:
        if self.quiet or self._bar is not None:
            return
        with self._lock:
            now = time.monotonic()
            if now - self._started < PROGRESS_DELAY:
                return
            tenth = int(self._fraction() / LINE_FRACTION)
            since = now - self._last_line
            if (
                force
                or (tenth > self._last_fraction and since >= LINE_GAP)
                or since >= LINE_INTERVAL
            ):
                self._last_fraction = tenth
                self._line(self._status())

    def _heartbeat(self) -> None:
        while not self._stop.wait(0.5):
            if self.poll is not None:
                try:
                    value = float(self.poll())
                except Exception:  # noqa: BLE001 - a failed poll only skips one update
                    value = self.n
                if value != self.n:
                    self.update(value)
            if self._bar is not None:
                if time.monotonic() - self._started >= PROGRESS_DELAY:
                    with self._lock:
                        self._bar.refresh()
            else:
                self._maybe_line()
