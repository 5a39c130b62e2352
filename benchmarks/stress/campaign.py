"""The randomized stress campaign: seeded random cases for every solver, one table.

Each solver has a module ``stress_<name>.py`` beside this file with

- ``SOLVER``: the name in the table (e.g. ``"jsd-1d"``);
- ``cases(rng, n, scale)``: ``n`` random cases drawn from ``rng`` (a
  ``numpy.random.Generator``), each a JSON-serialisable ``dict`` that fully describes the
  case (so a failing case can be re-run from the table alone); ``scale`` is ``"ci"``
  (cheap cases for the test suite) or ``"full"`` (the whole space);
- ``run(case)``: runs one case and returns an :class:`Outcome`.

A case ends in one of four ways:

``ok``
    it ran and every invariant or reference comparison the module checks held;
``refused``
    the package raised one of its documented errors (``GanPdeError``) for a reason that
    the module judges justified (``run`` says why in ``reason``); a refusal of a
    well-posed case is a bug, and the module then returns ``wrong`` instead;
``wrong``
    it ran, but an invariant or a reference comparison failed (``reason`` says which, by
    how much, against which tolerance);
``crash``
    any exception that ``run`` did not expect: recorded by :func:`run_case` with its type
    and message.

The bar is zero ``wrong`` and zero ``crash``.  ``python benchmarks/stress/run.py`` runs
the campaign from a seed and writes the results and the table in ``docs/robustness.md``.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
STATUSES = ("ok", "refused", "wrong", "crash")


@dataclass
class Outcome:
    """How one case ended (see the module documentation)."""

    status: str
    reason: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            msg = f"status must be one of {STATUSES}; got {self.status!r}"
            raise ValueError(msg)


def ok(**metrics: Any) -> Outcome:
    """A case that ran with every check passing."""
    return Outcome("ok", "", metrics)


def wrong(reason: str, **metrics: Any) -> Outcome:
    """A case whose result failed a check."""
    return Outcome("wrong", reason, metrics)


def refused(reason: str, **metrics: Any) -> Outcome:
    """A case the package refused with a documented error, for a justified reason."""
    return Outcome("refused", reason, metrics)


class Checks:
    """Collects failed checks of one case: ``checks.less(err, tol, "what")``."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.metrics: dict[str, Any] = {}

    def less(self, value: float, bound: float, what: str) -> bool:
        """Require ``value <= bound`` (NaN fails); records ``what`` as a metric."""
        self.metrics[what] = float(value)
        good = bool(value <= bound)
        if not good:
            self.failures.append(f"{what} = {value:.3e} > {bound:.3e}")
        return good

    def true(self, condition: bool, what: str) -> bool:
        """Require a condition; ``what`` describes it."""
        if not condition:
            self.failures.append(what)
        return bool(condition)

    def outcome(self, **metrics: Any) -> Outcome:
        """``ok`` if nothing failed, else ``wrong`` naming every failure."""
        metrics = {**self.metrics, **metrics}
        if self.failures:
            return wrong("; ".join(self.failures), **metrics)
        return ok(**metrics)


def modules() -> dict[str, Any]:
    """The solver modules ``stress_*.py`` beside this file, by their ``SOLVER`` name."""
    found = {}
    for path in sorted(HERE.glob("stress_*.py")):
        name = f"gan_pde_stress_{path.stem}"
        if name in sys.modules:
            module = sys.modules[name]
        else:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        found[module.SOLVER] = module
    return found


def run_case(module: Any, case: dict[str, Any]) -> dict[str, Any]:
    """Run one case; an exception ``run`` did not handle is a ``crash``."""
    start = time.perf_counter()
    try:
        outcome = module.run(case)
    except Exception as exc:  # noqa: BLE001 - the campaign records every crash
        last = traceback.extract_tb(exc.__traceback__)[-1]
        outcome = Outcome(
            "crash", f"{type(exc).__name__}: {exc} ({Path(last.filename).name}:{last.lineno})"
        )
    return {
        "case": case,
        "status": outcome.status,
        "reason": outcome.reason,
        "metrics": outcome.metrics,
        "seconds": time.perf_counter() - start,
    }


def draw(module: Any, seed: int, n: int, scale: str) -> list[dict[str, Any]]:
    """The ``n`` cases of ``module`` for ``seed`` (the generator is seeded per solver, so
    adding a solver does not change the others' cases)."""
    salt = sum(ord(c) for c in module.SOLVER)
    rng = np.random.default_rng([seed, salt])
    return module.cases(rng, n, scale)
