"""Every bad input of ``tests/bad_input_cases.py`` raises its documented, named error."""

from __future__ import annotations

import warnings

import pytest
from bad_input_cases import CASES


@pytest.mark.parametrize("case", CASES, ids=[f"{c.entry}: {c.bad_input}" for c in CASES])
def test_bad_input_raises_a_clear_error(case):
    if case.entry.startswith("nn."):
        pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the error is the subject here, not warnings
        with pytest.raises(case.error, match=case.match) as info:
            case.call()
    assert isinstance(info.value, __import__("gan_pde").errors.GanPdeError)
