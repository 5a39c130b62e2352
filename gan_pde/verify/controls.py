"""Negative controls of ``gan-pde verify``: each check run against a deliberately wrong solver.

A check that no wrong solver can fail proves nothing.  Every built-in check therefore has at
least one *negative control*: a context manager that makes the code under test wrong in a
small, realistic way (a perturbed constant, a wrong sign, a halved step, a wrong density)
while the check runs; the control *detects* the fault when the check then fails.  The
controls live next to their checks and are registered with :func:`control`::

    @control("spectrum.hermite", "eigenvalues of the solver scaled by 1 + 1e-5")
    def _():
        return patch(
            "gan_pde.spectral.weighted_laplacian.weighted_laplacian_spectrum",
            wrap=lambda original: ...,
        )

:func:`run_controls` (``gan-pde verify --controls``) runs every selected check under each of
its controls and reports which faults were detected; the test suite asserts all of them are.
Caches made with :func:`gan_pde.verify.registry.cached` are emptied before and after each
control so that neither a correct nor a wrong result leaks into the other run.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from gan_pde.errors import InvalidInputError
from gan_pde.verify.registry import (
    Check,
    CheckSpec,
    available_checks,
    clear_caches,
    run_check,
    select_checks,
)

__all__ = [
    "Control",
    "ControlResult",
    "control",
    "controls_for",
    "patch",
    "run_control",
    "run_controls",
]


@dataclass(frozen=True)
class Control:
    """A deliberate fault for one check.

    Attributes
    ----------
    check
        The name of the check it targets.
    description
        The fault in words, e.g. ``"xi_min of the solver scaled by 1.01"``.
    factory
        A function of no argument returning the context manager that injects the fault.
    """

    check: str
    description: str
    factory: Callable[[], AbstractContextManager[Any]] = field(repr=False)


@dataclass(frozen=True)
class ControlResult:
    """A check run under one of its controls.

    Attributes
    ----------
    check, description
        The check and the fault.
    detected
        True when the check failed (by its criteria or by an error), i.e. it noticed.
    how
        ``"failed"`` (a criterion failed), ``"raised"`` (the wrong solver raised), ``"passed"``
        (NOT detected) or ``"skipped"`` (an optional dependency is missing).
    failing
        The labels of the criteria that failed.
    seconds
        Wall-clock time of the run.
    result
        The :class:`~gan_pde.verify.registry.Check` of the run.
    """

    check: str
    description: str
    detected: bool
    how: str
    failing: list[str]
    seconds: float
    result: Check | None = field(repr=False)


_CONTROLS: dict[str, list[Control]] = {}


def control(
    check: str, description: str
) -> Callable[[Callable[[], AbstractContextManager[Any]]], Callable[[], Any]]:
    """Decorator registering a negative control of ``check``.

    The decorated function takes no argument and returns a context manager (for example
    from :func:`patch`); a generator function is wrapped with
    :func:`contextlib.contextmanager`.
    """
    if not description:
        msg = f"the control of {check!r} needs a description of its fault"
        raise InvalidInputError(msg)

    def decorator(function: Callable[[], Any]) -> Callable[[], Any]:
        import inspect

        factory = (
            contextlib.contextmanager(function)
            if inspect.isgeneratorfunction(function)
            else function
        )
        known = _CONTROLS.setdefault(check, [])
        if any(c.description == description for c in known):
            return function  # a module imported twice (reload) registers once
        known.append(Control(check=check, description=description, factory=factory))
        return function

    return decorator


def patch(
    target: str,
    new: Any = None,
    *,
    wrap: Callable[[Any], Any] | None = None,
) -> AbstractContextManager[Any]:
    """Replace the attribute ``target`` (``"package.module.name"`` or
    ``"package.module.Class.attribute"``) while the context is open.

    Give either ``new`` (the replacement) or ``wrap`` (called with the original, returns the
    replacement, e.g. a function that perturbs the original's result).  The attribute is
    replaced where it is looked up: patch the module whose code reads the name.
    """
    if (new is None) == (wrap is None):
        msg = "patch needs exactly one of new= and wrap="
        raise InvalidInputError(msg)
    if wrap is None:
        return mock.patch(target, new)
    owner, _, attribute = target.rpartition(".")
    original = getattr(_resolve(owner), attribute)
    return mock.patch(target, wrap(original))


def _resolve(dotted: str) -> Any:
    """The object at a dotted path: the longest importable module prefix, then attributes."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            value = getattr(value, name)
        return value
    msg = f"cannot import any module of {dotted!r}"
    raise InvalidInputError(msg)


def controls_for(name: str) -> list[Control]:
    """The controls registered for the check ``name`` (built-in modules imported first)."""
    available_checks()
    return list(_CONTROLS.get(name, []))


@contextlib.contextmanager
def _fresh_caches() -> Iterator[None]:
    clear_caches()
    try:
        yield
    finally:
        clear_caches()


def run_controls(
    *,
    level: str = "quick",
    only: str | Sequence[str] | None = None,
    progress: Callable[[ControlResult], None] | None = None,
) -> list[ControlResult]:
    """Run each selected check under each of its negative controls.

    Parameters
    ----------
    level
        Run size of the checks (``"quick"`` by default: a control needs no precision).
    only
        Name pattern(s) of the checks, as in :func:`~gan_pde.verify.registry.select_checks`.
    progress
        Called with each :class:`ControlResult` as soon as it is done.

    Returns
    -------
    list of ControlResult
        One per (check, control); a check without a control gives one result with
        ``how == "no control"`` and ``detected`` False.
    """
    results = []
    for spec in select_checks(level=level, only=only):
        controls = controls_for(spec.name)
        if not controls:
            empty = ControlResult(
                spec.name, "(none registered)", False, "no control", [], 0.0, result=None
            )
            results.append(empty)
            if progress is not None:
                progress(empty)
            continue
        for fault in controls:
            outcome = run_control(spec, fault, level)
            results.append(outcome)
            if progress is not None:
                progress(outcome)
    return results


def run_control(spec: CheckSpec, fault: Control, level: str = "quick") -> ControlResult:
    """Run the check ``spec`` at ``level`` under the control ``fault`` (caches emptied)."""
    start = time.perf_counter()
    with _fresh_caches(), fault.factory():
        check = run_check(spec, level)
    failing = [c["label"] for c in check.criteria if not c["passed"]]
    if check.skipped:
        how = "skipped"
    elif "error" in check.details:
        how = "raised"
    else:
        how = "passed" if check.passed else "failed"
    return ControlResult(
        check=spec.name,
        description=fault.description,
        detected=how in ("failed", "raised"),
        how=how,
        failing=failing,
        seconds=time.perf_counter() - start,
        result=check,
    )
