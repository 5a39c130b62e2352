"""The check registry of ``gan-pde verify``: named checks, their selection and their runner.

A check is a function of the run size (``"quick"``, ``"default"`` or ``"full"``) that
computes its numbers with the package and returns an :class:`Outcome`; :func:`register`
adds it, with the paper, the reference and the claim, to the module-level registry.
:func:`run_checks` runs a selection, times each check and turns an exception inside a check
into a failed :class:`Check` that carries the message, so one broken check never stops a run.
"""

from __future__ import annotations

import fnmatch
import functools
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
    "REFERENCE_KINDS",
    "Check",
    "CheckSpec",
    "Criterion",
    "Outcome",
    "cached",
    "clear_caches",
    "available_checks",
    "register",
    "run_check",
    "run_checks",
    "select_checks",
]

logger = logging.getLogger(__name__)

#: Run levels, smallest first: a check registered at a level runs at it and every later one.
LEVELS = ("quick", "default", "full")

#: What a check compares the package with: never the code under test itself.
REFERENCE_KINDS = {
    "exact": "an exact solution or exact eigenvalues of the continuous problem",
    "closed form": "a closed-form expression of the discrete or continuous quantity",
    "independent": "an independent discretisation (another method, written separately)",
    "paper": "a number printed in the paper",
    "invariant": "a conserved quantity, identity or inequality the mathematics guarantees",
    "statistical": "a Monte-Carlo estimate judged with its standard error",
}

#: Modules whose import registers the built-in checks.
_BUILTIN_MODULES = (
    "gan_pde.verify.checks",
    "gan_pde.verify.checks_jsd",
    "gan_pde.verify.checks_dual",
    "gan_pde.verify.checks_compare",
    "gan_pde.verify.checks_sde",
    "gan_pde.verify.checks_nn",
    "gan_pde.verify.checks_meanfield",
)


@dataclass(frozen=True)
class Criterion:
    """One pass/fail comparison of a check: a measured error against its derived tolerance.

    Attributes
    ----------
    label
        What is compared, e.g. ``"|xi_4,h - 4| / 4"``.
    error
        The measured number (an error, a drift, a slope deviation, a z-score...).
    tolerance
        The limit it is compared with.
    reason
        Why this tolerance: the order, conditioning or standard error it comes from.
    sense
        ``"<="`` (passes when ``error <= tolerance``, the usual case) or ``">="`` (passes
        when ``error >= tolerance``, e.g. a positive margin that must stay above a floor).

    Examples
    --------
    >>> Criterion("drift", 1e-14, 1e-12, "round-off over 1000 steps").passed
    True
    >>> Criterion("gap", 0.3, 0.5, "separation", sense=">=").passed
    False
    """

    label: str
    error: float
    tolerance: float
    reason: str
    sense: str = "<="

    def __post_init__(self) -> None:
        if self.sense not in ("<=", ">="):
            msg = f"sense must be '<=' or '>='; got {self.sense!r}"
            raise InvalidInputError(msg)
        if not self.reason:
            msg = f"criterion {self.label!r} needs the reason for its tolerance"
            raise InvalidInputError(msg)
        object.__setattr__(self, "error", float(self.error))
        object.__setattr__(self, "tolerance", float(self.tolerance))

    @property
    def passed(self) -> bool:
        """Whether the error is on the right side of the tolerance (NaN never passes)."""
        if self.sense == "<=":
            return bool(self.error <= self.tolerance)
        return bool(self.error >= self.tolerance)

    @property
    def margin(self) -> float:
        """How far inside the tolerance, as a factor (> 1 passes): tolerance/error for
        ``"<="``, error/tolerance for ``">="``; inf for an exact zero error."""
        num, den = (
            (self.tolerance, self.error) if self.sense == "<=" else (self.error, self.tolerance)
        )
        if den == 0.0:
            return float("inf") if num > 0 else float("nan")
        return num / den if (num >= 0 and den > 0) else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """The JSON record: label, error, tolerance, sense, passed, margin, reason."""
        return {
            "label": self.label,
            "error": self.error,
            "tolerance": self.tolerance,
            "sense": self.sense,
            "passed": self.passed,
            "margin": self.margin,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: its numbers, criteria, details and optional figure.

    A built-in check states its verdict as :class:`Criterion` objects (measured error,
    tolerance, the reason for the tolerance); ``passed`` is then all of them passing and
    ``tolerance`` defaults to their tolerances.  A check without criteria (a user's own)
    gives ``passed`` and ``tolerance`` itself.

    Attributes
    ----------
    measured, expected
        The measured value(s) and the reference value(s) (numbers, lists or dicts of
        numbers, or short strings such as a ranking).
    tolerance
        The tolerance(s); default ``{label: tolerance}`` of the criteria.
    passed
        Whether the measurement agrees with the reference; computed from the criteria
        when there are any (a contradicting explicit value is an error).
    details
        Further numbers and explanations shown in the report.
    figure
        A PNG image as bytes, or None.
    criteria
        The pass/fail comparisons.
    """

    measured: Any
    expected: Any
    tolerance: Any = None
    passed: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)
    figure: bytes | None = None
    criteria: tuple[Criterion, ...] = ()

    def __post_init__(self) -> None:
        criteria = tuple(self.criteria)
        object.__setattr__(self, "criteria", criteria)
        if criteria:
            verdict = all(c.passed for c in criteria)
            if self.passed is not None and bool(self.passed) != verdict:
                msg = (
                    f"Outcome.passed={self.passed} contradicts its criteria "
                    f"({[c.label for c in criteria if not c.passed]} failing)"
                )
                raise InvalidInputError(msg)
            object.__setattr__(self, "passed", verdict)
            if self.tolerance is None:
                tolerance = {c.label: c.tolerance for c in criteria}
                object.__setattr__(self, "tolerance", tolerance)
        elif self.passed is None and "skipped" not in self.details:
            msg = "an Outcome needs criteria or an explicit passed"
            raise InvalidInputError(msg)
        else:
            object.__setattr__(self, "passed", bool(self.passed))


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
    reference_kind
        What the package is compared with: one or more keys of :data:`REFERENCE_KINDS`
        (``"exact"``, ``"closed form"``, ``"independent"``, ``"paper"``, ``"invariant"``,
        ``"statistical"``), or None for a user's check that does not say.
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
    reference_kind: tuple[str, ...] = ()


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
    criteria
        The :class:`Criterion` records (measured error, tolerance, reason) as dicts.
    reference_kind
        What the package was compared with (keys of :data:`REFERENCE_KINDS`).
    size
        The run size the check ran at.
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
    criteria: list[dict[str, Any]] = field(default_factory=list)
    reference_kind: tuple[str, ...] = ()
    size: str = "default"


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


def _record(spec: CheckSpec, outcome: Outcome, start: float, size: str) -> Check:
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
        criteria=[criterion.as_dict() for criterion in outcome.criteria],
        reference_kind=spec.reference_kind,
        size=size,
    )


_CACHES: list[Any] = []


def cached(function: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`functools.cache` for a computation shared by several checks, registered so
    that :func:`clear_caches` (called around every negative control) empties it."""
    wrapped = functools.cache(function)
    _CACHES.append(wrapped)
    return wrapped


def clear_caches() -> None:
    """Empty every cache made by :func:`cached`."""
    for wrapped in _CACHES:
        wrapped.cache_clear()


def register(
    *,
    name: str,
    paper: str,
    reference: str,
    claim: str,
    level: str = "quick",
    reference_kind: str | Sequence[str] | None = None,
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
    reference_kind
        What the check compares with, one or more keys of :data:`REFERENCE_KINDS`.

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
    kinds: tuple[str, ...] = ()
    if reference_kind is not None:
        kinds = (reference_kind,) if isinstance(reference_kind, str) else tuple(reference_kind)
        unknown = [kind for kind in kinds if kind not in REFERENCE_KINDS]
        if unknown or not kinds:
            msg = f"reference_kind must be among {sorted(REFERENCE_KINDS)}; got {reference_kind!r}"
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
            reference_kind=kinds,
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
        check = run_check(spec, level)
        results.append(check)
        if progress is not None:
            progress(check)
    return results


def run_check(spec: CheckSpec, size: str) -> Check:
    """Run one check at ``size``, timed; an exception becomes a failed (or, for a missing
    optional dependency, skipped) :class:`Check` that carries the message."""
    logger.info("running check %s (%s)", spec.name, size)
    start = time.perf_counter()
    try:
        outcome = spec.function(size)
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
    check = _record(spec, outcome, start, size)
    status = "skipped" if check.skipped else "passed" if check.passed else "FAILED"
    logger.info("check %s %s in %.2f s", spec.name, status, check.seconds)
    return check
