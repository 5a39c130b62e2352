"""A small seeded sample of the stress campaign (``benchmarks/stress/``) in every run.

Each solver module draws ``CI_COUNT`` cheap cases (``scale="ci"``) from seed 0; every one
must end ``ok`` or ``refused`` (a justified, documented refusal), never ``wrong`` or
``crash``.  The full campaign is ``python benchmarks/stress/run.py`` (results in
``docs/robustness.md``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "stress"))

from campaign import draw, modules, run_case  # noqa: E402

MODULES = modules()


@pytest.mark.parametrize("solver", sorted(MODULES))
def test_seeded_sample_has_no_crash_and_no_wrong_answer(solver):
    module = MODULES[solver]
    cases = draw(module, seed=0, n=module.CI_COUNT, scale="ci")
    assert len(cases) == module.CI_COUNT
    records = [run_case(module, case) for case in cases]
    bad = [r for r in records if r["status"] in ("wrong", "crash")]
    assert not bad, "\n".join(f"{r['status']}: {r['reason']} | {r['case']}" for r in bad)
    # the sample exercises the solver: most cases run (refusals are the exception)
    assert sum(r["status"] == "ok" for r in records) >= len(records) // 2
