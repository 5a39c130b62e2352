"""The verify suite: a registry of named checks, one per theorem or published figure.

Each check states what a paper claims, where (paper file, equation, theorem or figure), what
the package measured, the expected value, the tolerance and whether it passed; some carry a
figure.  :func:`run_checks` runs a selection and :func:`write_report` writes ``results.json``
and one self-contained ``index.html``::

    from gan_pde.verify import run_checks, write_report
    checks = run_checks(level="quick", only="hermite")
    write_report(checks, "report")
"""

from __future__ import annotations

from gan_pde.verify.registry import (
    LEVELS,
    Check,
    CheckSpec,
    Outcome,
    available_checks,
    register,
    run_checks,
    select_checks,
)
from gan_pde.verify.report import write_report

__all__ = [
    "LEVELS",
    "Check",
    "CheckSpec",
    "Outcome",
    "available_checks",
    "register",
    "run_checks",
    "select_checks",
    "write_report",
]
