"""The check registry of ``gan-pde verify``: named checks, their selection and their runner.

A check is a function of the run size (``"quick"``, ``"default"`` or ``"full"``) that
computes its numbers with the package and returns an :class:`Outcome`; :func:`register`
adds it, with the paper, the reference and the claim, to the module-level registry.
:func:`run_checks` runs a selection, times each check and turns an exception inside a check
into a failed :class:`Check` that carries the message, so one broken check never stops a run.
"""

from __future__ import annotations

import fnmatch
import importlib
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gan_pde.errors import InvalidInputError, MissingDependencyError

__all__ = [
    "LEVELS",
    "Check",
    "CheckSpec",
    "Outcome",
    "available_checks",
    "register",
    "run_checks",
    "select_checks",
]

logger = logging.getLogger(__name__)

#: Run levels, smallest first: a check registered at a level runs at it and every later one.
LEVELS = ("quick", "default", "full")

#: Modules whose import registers the built-in checks.
_BUILTIN_MODULES = (
    "gan_pde.verify.checks",
    "gan_pde.verify.checks_dual",
    "gan_pde.verify.checks_compare",
    "gan_pde.verify.checks_sde",
    "gan_pde.verify.checks_nn",
    "gan_pde.verify.checks_meanfield",
)


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: its numbers, verdict, details and optional figure.

    Attributes
    ----------
    measured, expected, tolerance
        The measured value(s), the claimed value(s) and the tolerance (numbers, lists or
        dicts of numbers, or short strings such as a ranking).
    passed
        Whether the measurement agrees with the claim within the tolerance.
    details
        Further numbers and explanations shown in the report (e.g. why the tolerance).
    figure
        A PNG image as bytes, or None.
    """

    measured: Any
    expected: Any
    tolerance: Any
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    figure: bytes | None = None


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its metadata and the function that measures.

    Attributes
    ----------
    name
        Unique dotted name, e.g. ``"spectrum.hermite"``.
    paper
        The paper's file name in ``papers/``, e.g. ``"004_b60ab6f9ea7d1f5e.txt"``.
    reference
        Equation, theorem or figure of the paper.
    claim
        What the paper claims, in one sentence.
    level
        The smallest run level that includes the check (one of :data:`LEVELS`).
    function
        ``function(size) -> Outcome``, with ``size`` the run level.
    """

    name: str
    paper: str
    reference: str
    claim: str
    level: str
    function: Callable[[str], Outcome] = field(repr=False)


@dataclass
class Check:
    """The result of one check, as written to ``results.json`` and ``index.html``.

    Attributes
    ----------
    name, paper, reference, claim
        From the registration (:class:`CheckSpec`).
    measured, expected, tolerance, passed
        From the check's :class:`Outcome`; ``measured`` is None and ``passed`` False when
        the check raised.
    seconds
        Wall-clock time of the check.
    figure
        PNG bytes or None (not written to JSON; embedded in the HTML page).
    details
        Further numbers; ``details["error"]`` holds the exception when the check raised.
    skipped
        Why the check did not run (an optional dependency such as torch is missing), or
        None; a skipped check has ``passed`` False but is not counted as a failure.
    """

    name: str
    paper: str
    reference: str
    claim: str
    measured: Any
    expected: Any
    tolerance: Any
    passed: bool
    seconds: float
    figure: bytes | None = field(default=None, repr=False)
    details: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None


_REGISTRY: dict[str, CheckSpec] = {}

#: Optional dependencies whose absence skips a check instead of failing it.
_OPTIONAL = {"torch": "gan_pde[torch]", "sklearn": "gan_pde[data]"}


def _missing_optional(error: BaseException) -> str | None:
    """Why a check could not run for a missing optional dependency, or None."""
    if isinstance(error, MissingDependencyError):
        return str(error)
    if isinstance(error, ImportError) and error.name in _OPTIONAL:
        return f"needs {error.name}, which is not installed: pip install '{_OPTIONAL[error.name]}'"
    return None


def _record(spec: CheckSpec, outcome: Outcome, start: float) -> Check:
    return Check(
        name=spec.name,
        paper=spec.paper,
        reference=spec.reference,
        claim=spec.claim,
        measured=outcome.measured,
        expected=outcome.expected,
        tolerance=outcome.tolerance,
        passed=bool(outcome.passed),
        seconds=time.perf_counter() - start,
        figure=outcome.figure,
        details=dict(outcome.details),
        skipped=outcome.details.get("skipped"),
    )


def register(
    *, name: str, paper: str, reference: str, claim: str, level: str = "quick"
) -> Callable[[Callable[[str], Outcome]], Callable[[str], Outcome]]:
    """Decorator that adds a check function to the registry.

    Parameters
    ----------
    name
        Unique name of the check.
    paper, reference, claim
        Where the claim is (paper file name; equation, theorem or figure) and what it says.
    level
        Smallest run level that includes the check: ``"quick"`` (every run), ``"default"``
        or ``"full"``.

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.

    Examples
    --------
    >>> from gan_pde.verify.registry import Outcome, register
    >>> @register(name="demo.one", paper="004_b60ab6f9ea7d1f5e.txt", reference="(1)",
    ...           claim="1 = 1")
    ... def _demo(size):
    ...     return Outcome(measured=1.0, expected=1.0, tolerance=0.0, passed=True)
    >>> from gan_pde.verify import registry
    >>> _ = registry._REGISTRY.pop("demo.one")
    """
    if level not in LEVELS:
        msg = f"level must be one of {LEVELS}; got {level!r}"
        raise InvalidInputError(msg)
    if not name or not isinstance(name, str):
        msg = f"name must be a non-empty string; got {name!r}"
        raise InvalidInputError(msg)

    def decorator(function: Callable[[str], Outcome]) -> Callable[[str], Outcome]:
        if name in _REGISTRY and _REGISTRY[name].function is not function:
            msg = f"a check named {name!r} is already registered"
            raise InvalidInputError(msg)
        _REGISTRY[name] = CheckSpec(
            name=name,
            paper=paper,
            reference=reference,
            claim=claim,
            level=level,
            function=function,
        )
        return function

    return decorator


def available_checks() -> list[CheckSpec]:
    """Every registered check (built-in ones included), in registration order."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    return list(_REGISTRY.values())


def select_checks(
    *, level: str = "default", only: str | Sequence[str] | None = None
) -> list[CheckSpec]:
    """The checks a run at ``level`` includes, filtered by ``only``.

    Parameters
    ----------
    level
        ``"quick"``, ``"default"`` or ``"full"``.
    only
        Pattern(s) on the check names, case-insensitive: a check is kept if some pattern is
        a substring of its name or matches it as a shell pattern (:mod:`fnmatch`).

    Returns
    -------
    list of CheckSpec

    Raises
    ------
    InvalidInputError
        For an unknown level, or when ``only`` matches no check (the message lists the
        available names).
    """
    if level not in LEVELS:
        msg = f"level must be one of {LEVELS}; got {level!r}"
        raise InvalidInputError(msg)
    rank = LEVELS.index(level)
    specs = [spec for spec in available_checks() if LEVELS.index(spec.level) <= rank]
    if only is None:
        return specs
    patterns = [only] if isinstance(only, str) else list(only)
    lowered = [pattern.lower() for pattern in patterns]
    selected = [
        spec
        for spec in specs
        if any(p in spec.name.lower() or fnmatch.fnmatchcase(spec.name.lower(), p) for p in lowered)
    ]
    if not selected:
        names = ", ".join(spec.name for spec in specs)
        wanted = ", ".join(map(repr, patterns))
        msg = f"no check at level {level!r} matches {wanted}; available: {names}"
        raise InvalidInputError(msg)
    return selected


def run_checks(
    *,
    level: str = "default",
    only: str | Sequence[str] | None = None,
    progress: Callable[[Check], None] | None = None,
) -> list[Check]:
    """Run the selected checks, timing each.

    Parameters
    ----------
    level
        Run level, passed to each check as its size: ``"quick"`` (under a minute on two
        cores), ``"default"`` (a few minutes) or ``"full"`` (publication size).
    only
        Name pattern(s), see :func:`select_checks`.
    progress
        Called with each :class:`Check` as soon as it is done.

    Returns
    -------
    list of Check
        In the order of :func:`select_checks`.  A check that raised is a failed check whose
        ``details["error"]`` holds the exception's type and message.
    """
    results = []
    for spec in select_checks(level=level, only=only):
        logger.info("running check %s (%s)", spec.name, level)
        start = time.perf_counter()
        try:
            outcome = spec.function(level)
            if not isinstance(outcome, Outcome):
                msg = f"check {spec.name!r} returned {type(outcome).__name__}, not an Outcome"
                raise TypeError(msg)
        except Exception as error:  # a failing check is recorded, the run goes on
            reason = _missing_optional(error)
            if reason is not None:  # an optional dependency is missing: skipped, not failed
                details = {"skipped": reason}
            else:
                logger.warning("check %s raised %s: %s", spec.name, type(error).__name__, error)
                details = {
                    "error": f"{type(error).__name__}: {error}",
                    "traceback": traceback.format_exc(),
                }
            outcome = Outcome(None, None, None, passed=False, details=details)
        check = _record(spec, outcome, start)
        status = "skipped" if check.skipped else "passed" if check.passed else "FAILED"
        logger.info("check %s %s in %.2f s", spec.name, status, check.seconds)
        results.append(check)
        if progress is not None:
            progress(check)
    return results
