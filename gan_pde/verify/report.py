"""The verify report: ``results.json`` and one self-contained ``index.html``.

The page has inline CSS, figures embedded as ``data:image/png;base64`` URIs and no scripts
or external assets, so it opens from disk or as a mail attachment.  Both files are written
atomically (a temporary file in the same folder, then :func:`os.replace`).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde.errors import InvalidInputError
from gan_pde.provenance import versions
from gan_pde.verify.registry import Check

__all__ = ["check_to_dict", "write_report"]

#: The fields of every check in ``results.json``, in order.
FIELDS = (
    "name",
    "paper",
    "reference",
    "claim",
    "measured",
    "expected",
    "tolerance",
    "passed",
    "skipped",
    "seconds",
    "details",
)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.pass { background: #d7f5dd; color: #115522; font-weight: bold; }
.fail { background: #fbd9d9; color: #881111; font-weight: bold; }
.skip { background: #eeeeee; color: #555555; font-weight: bold; }
section.check { border-top: 1px solid #ddd; margin-top: 1.5em; }
code, pre { font-size: 0.85em; white-space: pre-wrap; word-break: break-word; }
img { max-width: 100%; }
footer { margin-top: 3em; font-size: 0.85em; color: #555; }
"""


def _jsonable(value: Any) -> Any:
    """``value`` with numpy types, tuples and non-finite floats made JSON-safe."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, complex):
        return {"real": _jsonable(value.real), "imag": _jsonable(value.imag)}
    return str(value)


def check_to_dict(check: Check) -> dict[str, Any]:
    """The JSON record of a check: the fields of :data:`FIELDS`, figure bytes left out."""
    return {name: _jsonable(getattr(check, name)) for name in FIELDS}


def _atomic_write(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _format(value: Any) -> str:
    """Numbers with 10 significant digits, containers recursively, the rest as text."""
    value = _jsonable(value)
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_format(item)}" for key, item in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_format(item) for item in value) + "]"
    return "—" if value is None else str(value)


def _anchor(name: str) -> str:
    return "check-" + "".join(c if c.isalnum() else "-" for c in name)


def _status(check: Check) -> str:
    if check.skipped:
        return '<td class="skip">skipped</td>'
    return '<td class="pass">passed</td>' if check.passed else '<td class="fail">FAILED</td>'


def _word(check: Check) -> str:
    return "skipped" if check.skipped else "passed" if check.passed else "FAILED"


def summary_line(checks: Sequence[Check]) -> str:
    """``"P/N checks passed"`` (N excludes skipped checks) plus the skipped count."""
    ran = [c for c in checks if not c.skipped]
    text = f"{sum(c.passed for c in ran)}/{len(ran)} checks passed"
    skipped = len(checks) - len(ran)
    return text + (f", {skipped} skipped (a missing optional dependency)" if skipped else "")


def _summary_table(checks: Sequence[Check]) -> list[str]:
    rows = [
        '<table class="summary">',
        "<tr><th>check</th><th>paper</th><th>reference</th><th>result</th>"
        "<th>measured</th><th>expected</th><th>tolerance</th><th>seconds</th></tr>",
    ]
    for check in checks:
        e = html.escape
        rows.append(
            f'<tr><td><a href="#{_anchor(check.name)}">{e(check.name)}</a></td>'
            f"<td>{e(check.paper)}</td><td>{e(check.reference)}</td>{_status(check)}"
            f"<td>{e(_format(check.measured))}</td><td>{e(_format(check.expected))}</td>"
            f"<td>{e(_format(check.tolerance))}</td><td>{check.seconds:.2f}</td></tr>"
        )
    rows.append("</table>")
    return rows


def _check_section(check: Check) -> list[str]:
    e = html.escape
    parts = [
        f'<section class="check" id="{_anchor(check.name)}">',
        f"<h3>{e(check.name)} — {_word(check)}</h3>",
        f"<p><b>{e(check.reference)}.</b> {e(check.claim)}</p>",
        "<table>",
        f"<tr><th>measured</th><td>{e(_format(check.measured))}</td></tr>",
        f"<tr><th>expected</th><td>{e(_format(check.expected))}</td></tr>",
        f"<tr><th>tolerance</th><td>{e(_format(check.tolerance))}</td></tr>",
        f"<tr><th>result</th>{_status(check)}</tr>",
        f"<tr><th>seconds</th><td>{check.seconds:.2f}</td></tr>",
    ]
    for key, value in check.details.items():
        cell = f"<pre>{e(str(value))}</pre>" if key == "traceback" else e(_format(value))
        parts.append(f"<tr><th>{e(str(key))}</th><td>{cell}</td></tr>")
    parts.append("</table>")
    if check.figure:
        data = base64.b64encode(check.figure).decode("ascii")
        parts.append(f'<p><img src="data:image/png;base64,{data}" alt="{e(check.name)}"></p>')
    parts.append("</section>")
    return parts


def render_html(checks: Sequence[Check], *, command: str) -> str:
    """The report page: summary table, one section per paper, versions and command line."""
    total_seconds = sum(check.seconds for check in checks)
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>gan_pde verify report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>gan_pde verify report</h1>",
        f"<p>{summary_line(checks)} in {total_seconds:.1f} s.</p>",
        *_summary_table(checks),
    ]
    for paper in dict.fromkeys(check.paper for check in checks):
        lines.append(f"<h2>Paper {html.escape(paper)}</h2>")
        for check in checks:
            if check.paper == paper:
                lines.extend(_check_section(check))
    lines.append("<footer><h2>Provenance</h2><table>")
    for name, version in versions().items():
        lines.append(f"<tr><th>{html.escape(name)}</th><td>{html.escape(version)}</td></tr>")
    lines.append(f"<tr><th>command</th><td><code>{html.escape(command)}</code></td></tr>")
    lines.append("</table></footer></body></html>")
    return "\n".join(lines) + "\n"


def write_report(
    checks: Sequence[Check], out: str | os.PathLike[str], *, command: str | None = None
) -> Path:
    """Write ``results.json`` and ``index.html`` into ``out`` (created if missing).

    Parameters
    ----------
    checks
        The results of :func:`~gan_pde.verify.registry.run_checks`.
    out
        The report folder.
    command
        The command line shown at the bottom of the page; default ``sys.argv``.

    Returns
    -------
    Path
        The path of ``index.html``.

    Raises
    ------
    InvalidInputError
        When ``out`` cannot be created or written (the message names it).
    """
    folder = Path(out)
    if command is None:
        command = " ".join(sys.argv)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        records = [check_to_dict(check) for check in checks]
        _atomic_write(
            folder / "results.json", json.dumps(records, indent=2, allow_nan=False) + "\n"
        )
        _atomic_write(folder / "index.html", render_html(checks, command=command))
    except OSError as error:
        msg = f"cannot write the report into {str(folder)!r}: {error.strerror or error}"
        raise InvalidInputError(msg) from error
    return folder / "index.html"
