"""MkDocs hook: tables generated at build time from the code they describe.

* ``<!-- verify-checks -->``: every check registered for ``gan-pde verify``
  (:func:`gan_pde.verify.registry.available_checks`);
* ``<!-- bad-inputs -->``: every bad-input case of ``tests/bad_input_cases.py``, which
  ``tests/test_bad_inputs.py`` runs, so the page shows exactly what is tested.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHECKS = "<!-- verify-checks -->"
BAD_INPUTS = "<!-- bad-inputs -->"
_TESTS = Path(__file__).resolve().parents[2] / "tests"


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _checks_table() -> str:
    from gan_pde.verify.controls import controls_for
    from gan_pde.verify.papers import citation
    from gan_pde.verify.registry import available_checks

    rows = [
        "| check | paper | reference | compared with | claim | negative controls |",
        "|---|---|---|---|---|---|",
    ]
    for spec in available_checks():
        controls = "<br>".join(_cell(c.description) for c in controls_for(spec.name))
        rows.append(
            f"| `{spec.name}` | {_cell(citation(spec.paper))} | {_cell(spec.reference)} "
            f"| {', '.join(spec.reference_kind) or '—'} | {_cell(spec.claim)} "
            f"| {controls or '—'} |"
        )
    return "\n".join(rows)


def _bad_inputs_table() -> str:
    if str(_TESTS) not in sys.path:
        sys.path.insert(0, str(_TESTS))
    from bad_input_cases import CASES

    rows = ["| entry point | bad input | error | the message says (pattern) |", "|---|---|---|---|"]
    for case in CASES:
        rows.append(
            f"| `{case.entry}` | {_cell(case.bad_input)} | `{case.error.__name__}` "
            f"| `{_cell(case.match)}` |"
        )
    return "\n".join(rows)


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 - the hook's signature
    if CHECKS in markdown:
        markdown = markdown.replace(CHECKS, _checks_table())
    if BAD_INPUTS in markdown:
        markdown = markdown.replace(BAD_INPUTS, _bad_inputs_table())
    return markdown
