"""Every built-in verify check passes at the quick size, and fails under each negative control.

The checks are evidence only if they can fail: each has at least one registered control (a
deliberately wrong solver, constant, sign, step or density; :mod:`gan_pde.verify.controls`)
and the check must then fail *by its criteria*, not by an exception.
"""

from __future__ import annotations

import pytest

from gan_pde.verify import available_checks, registry
from gan_pde.verify.controls import controls_for, run_control

_SPECS = available_checks()
_BY_NAME = {spec.name: spec for spec in _SPECS}
_NAMES = [spec.name for spec in _SPECS]
_CONTROLS = [(name, c.description) for name in _NAMES for c in controls_for(name)]


def test_every_check_states_its_reference_and_has_a_control():
    for spec in _SPECS:
        assert spec.reference_kind, f"{spec.name} does not say what it compares with"
        assert set(spec.reference_kind) <= set(registry.REFERENCE_KINDS)
        assert controls_for(spec.name), f"{spec.name} has no negative control"
        assert spec.level == "quick", f"{spec.name} must run at every size (level quick)"


@pytest.mark.parametrize("name", _NAMES)
def test_check_passes_at_the_quick_size(name):
    registry.clear_caches()
    check = registry.run_check(_BY_NAME[name], "quick")
    assert check.skipped is None, check.skipped
    assert "error" not in check.details, check.details.get("traceback")
    assert check.criteria, f"{name} returns no Criterion"
    failing = [c for c in check.criteria if not c["passed"]]
    assert check.passed, failing


@pytest.mark.parametrize(("name", "description"), _CONTROLS)
def test_negative_control_fails_the_check(name, description):
    (fault,) = [c for c in controls_for(name) if c.description == description]
    result = run_control(_BY_NAME[name], fault, "quick")
    assert result.how == "failed", f"{name} under '{description}': {result.how}" + (
        f" ({result.result.details.get('error')})" if result.result is not None else ""
    )
    assert result.failing
