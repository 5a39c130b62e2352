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

from gan_pde._files import new_file_mode
from gan_pde.errors import InvalidInputError
from gan_pde.provenance import versions
from gan_pde.verify.registry import Check

__all__ = ["SCHEMA", "SCHEMA_VERSION", "check_to_dict", "results_document", "write_report"]

#: The name and version of the ``results.json`` layout (docs/checks.md documents it).
SCHEMA = "gan_pde.verify.results"
SCHEMA_VERSION = 2

#: The fields of every check in ``results.json``, in order.
FIELDS = (
    "name",
    "paper",
    "citation",
    "reference",
    "claim",
    "reference_kind",
    "size",
    "passed",
    "skipped",
    "criteria",
    "measured",
    "expected",
    "tolerance",
    "seconds",
    "has_figure",
    "details",
)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 76em; color: #222;
       padding: 0 1em; }
table { border-collapse: collapse; width: 100%; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.45em; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.criteria th, table.criteria td.pass, table.criteria td.fail { white-space: nowrap; }
table.criteria td:first-child { width: 30%; }
.pass { background: #d7f5dd; color: #115522; font-weight: bold; }
.fail { background: #fbd9d9; color: #881111; font-weight: bold; }
.skip { background: #eeeeee; color: #555555; font-weight: bold; }
.banner { padding: 0.8em 1em; border: 2px solid #b36b00; background: #fff3df; }
.banner.bad { border-color: #881111; background: #fbd9d9; }
.banner.good { border-color: #115522; background: #e9f8ec; }
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
    """The JSON record of a check: the fields of :data:`FIELDS` (figure bytes left out)."""
    from gan_pde.verify.papers import citation

    values = {
        "citation": citation(check.paper),
        "has_figure": check.figure is not None,
        "reference_kind": list(check.reference_kind),
    }
    return {
        name: _jsonable(values[name] if name in values else getattr(check, name)) for name in FIELDS
    }


def summary(checks: Sequence[Check]) -> dict[str, Any]:
    """Counts of a run: total, passed, failed, skipped, seconds, and ``complete`` (every
    selected check ran: nothing skipped)."""
    skipped = sum(bool(c.skipped) for c in checks)
    passed = sum(bool(c.passed) and not c.skipped for c in checks)
    return {
        "total": len(checks),
        "passed": passed,
        "failed": len(checks) - skipped - passed,
        "skipped": skipped,
        "complete": skipped == 0,
        "seconds": float(sum(c.seconds for c in checks)),
    }


def results_document(
    checks: Sequence[Check], *, command: str, level: str | None = None
) -> dict[str, Any]:
    """The content of ``results.json`` (schema :data:`SCHEMA`, version :data:`SCHEMA_VERSION`)."""
    from gan_pde.verify.papers import PAPERS, citation

    used = dict.fromkeys(c.paper for c in checks)
    papers = {
        key: {
            "citation": citation(key),
            "authors": list(PAPERS[key].authors),
            "title": PAPERS[key].title,
            "year": PAPERS[key].year,
            "venue": PAPERS[key].venue,
        }
        for key in used
        if key in PAPERS
    }
    sizes = sorted({c.size for c in checks})
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "level": level if level is not None else (sizes[0] if len(sizes) == 1 else sizes),
        "command": command,
        "versions": versions(),
        "summary": summary(checks),
        "papers": papers,
        "checks": [check_to_dict(check) for check in checks],
    }


def _atomic_write(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        # mkstemp makes it private; give it the mode a plain open() would (umask, old file)
        os.chmod(temporary, new_file_mode(path))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _format(value: Any, digits: int = 6) -> str:
    """Numbers with ``digits`` significant digits, containers recursively, the rest as text."""
    value = _jsonable(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_format(item, digits)}" for key, item in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_format(item, digits) for item in value) + "]"
    return "—" if value is None else str(value)


def _number(value: float) -> str:
    """An error or a tolerance: 3 significant digits (the digits that matter for a margin)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{value:.3g}"


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
    return text + (
        f", {skipped} SKIPPED (not run: a missing optional dependency)" if skipped else ""
    )


def _tightest(check: Check) -> dict[str, Any] | None:
    """The criterion with the smallest margin (the failing one first)."""
    if not check.criteria:
        return None
    failing = [c for c in check.criteria if not c["passed"]]
    pool = failing or check.criteria

    def key(c: dict[str, Any]) -> float:
        margin = c.get("margin")
        return math.inf if margin is None or math.isnan(margin) else margin

    return min(pool, key=key)


def _kinds(check: Check) -> str:
    return ", ".join(check.reference_kind) if check.reference_kind else "—"


def _summary_table(checks: Sequence[Check]) -> list[str]:
    from gan_pde.verify.papers import citation

    e = html.escape
    rows = [
        '<table class="summary">',
        "<tr><th>check</th><th>paper</th><th>compared with</th><th>result</th>"
        "<th>error</th><th>tolerance</th><th>seconds</th><th>figure</th></tr>",
    ]
    for check in checks:
        tight = _tightest(check)
        error = _number(tight["error"]) if tight else "—"
        tolerance = f"{tight['sense']} {_number(tight['tolerance'])}" if tight else "—"
        figure = f'<a href="#fig-{_anchor(check.name)}">figure</a>' if check.figure else ""
        rows.append(
            f'<tr><td><a href="#{_anchor(check.name)}">{e(check.name)}</a></td>'
            f"<td>{e(citation(check.paper))}</td><td>{e(_kinds(check))}</td>{_status(check)}"
            f'<td class="num">{e(error)}</td><td class="num">{e(tolerance)}</td>'
            f'<td class="num">{check.seconds:.2f}</td><td>{figure}</td></tr>'
        )
    rows.append("</table>")
    rows.append(
        "<p><small>error and tolerance: the check's tightest criterion (smallest margin); "
        "every criterion, with the reason for its tolerance, is in the check's section."
        "</small></p>"
    )
    return rows


def _criteria_table(check: Check) -> list[str]:
    e = html.escape
    rows = [
        '<table class="criteria">',
        "<tr><th>criterion</th><th>measured</th><th>tolerance</th><th>margin</th>"
        "<th>result</th><th>why this tolerance</th></tr>",
    ]
    for c in check.criteria:
        status = '<td class="pass">passed</td>' if c["passed"] else '<td class="fail">FAILED</td>'
        margin = c.get("margin")
        shown = "—" if margin is None or math.isnan(margin) else f"{_number(margin)}×"
        rows.append(
            f'<tr><td>{e(c["label"])}</td><td class="num">{e(_number(c["error"]))}</td>'
            f'<td class="num">{e(c["sense"])} {e(_number(c["tolerance"]))}</td>'
            f'<td class="num">{e(shown)}</td>{status}<td>{e(c["reason"])}</td></tr>'
        )
    rows.append("</table>")
    return rows


def _check_section(check: Check) -> list[str]:
    from gan_pde.verify.registry import REFERENCE_KINDS

    e = html.escape
    kinds = "; ".join(REFERENCE_KINDS.get(k, k) for k in check.reference_kind)
    parts = [
        f'<section class="check" id="{_anchor(check.name)}">',
        f"<h3>{e(check.name)} — {_word(check)}</h3>",
        f"<p><b>{e(check.reference)}.</b> {e(check.claim)}</p>",
    ]
    if kinds:
        parts.append(f"<p><b>Compared with:</b> {e(kinds)}.</p>")
    if check.skipped:
        parts.append(f'<p class="banner">Not run: {e(check.skipped)}</p>')
    if check.criteria:
        parts.extend(_criteria_table(check))
    parts += [
        "<table>",
        f"<tr><th>measured</th><td>{e(_format(check.measured))}</td></tr>",
        f"<tr><th>reference</th><td>{e(_format(check.expected))}</td></tr>",
    ]
    if not check.criteria:
        parts.append(f"<tr><th>tolerance</th><td>{e(_format(check.tolerance))}</td></tr>")
    parts += [
        f"<tr><th>result</th>{_status(check)}</tr>",
        f"<tr><th>size, seconds</th><td>{e(check.size)}, {check.seconds:.2f} s</td></tr>",
    ]
    for key, value in check.details.items():
        if key == "skipped":
            continue
        cell = f"<pre>{e(str(value))}</pre>" if key == "traceback" else e(_format(value))
        parts.append(f"<tr><th>{e(str(key))}</th><td>{cell}</td></tr>")
    parts.append("</table>")
    if check.figure:
        data = base64.b64encode(check.figure).decode("ascii")
        parts.append(
            f'<figure id="fig-{_anchor(check.name)}"><img src="data:image/png;base64,{data}" '
            f'alt="figure of {e(check.name)}"><figcaption>{e(check.name)}: '
            f"{e(check.reference)}</figcaption></figure>"
        )
    parts.append("</section>")
    return parts


def _banner(checks: Sequence[Check]) -> str:
    e = html.escape
    counts = summary(checks)
    if counts["skipped"]:
        names = ", ".join(c.name for c in checks if c.skipped)
        reasons = sorted({c.skipped for c in checks if c.skipped})
        return (
            f'<p class="banner"><b>Incomplete: {counts["skipped"]} of {counts["total"]} checks '
            f"did not run</b> ({e(names)}), so this page does not verify what they check. "
            f"Reason: {e('; '.join(reasons))}. <code>gan-pde verify --strict</code> fails in "
            "this case.</p>"
        )
    if counts["failed"]:
        names = ", ".join(c.name for c in checks if not c.passed and not c.skipped)
        return (
            f'<p class="banner bad"><b>{counts["failed"]} of {counts["total"]} checks '
            f"FAILED</b>: {e(names)}.</p>"
        )
    return (
        f'<p class="banner good">All {counts["total"]} selected checks ran and passed; each '
        "compares the package with a reference that is not the code under test, and each "
        "fails under a deliberately wrong solver (<code>gan-pde verify --controls</code>).</p>"
    )


def render_html(checks: Sequence[Check], *, command: str) -> str:
    """The report page: a banner, the summary table, one section per paper, provenance."""
    from gan_pde.verify.papers import citation, full_citation

    e = html.escape
    total_seconds = sum(check.seconds for check in checks)
    sizes = ", ".join(sorted({c.size for c in checks}))
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>gan_pde verify report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>gan_pde verify report</h1>",
        _banner(checks),
        f"<p>{e(summary_line(checks))} in {total_seconds:.1f} s (size: {e(sizes)}).</p>",
        *_summary_table(checks),
    ]
    for paper in dict.fromkeys(check.paper for check in checks):
        lines.append(f"<h2>{e(citation(paper))}</h2><p><i>{e(full_citation(paper))}</i></p>")
        for check in checks:
            if check.paper == paper:
                lines.extend(_check_section(check))
    lines.append("<footer><h2>Provenance</h2><table>")
    for name, version in versions().items():
        lines.append(f"<tr><th>{e(name)}</th><td>{e(version)}</td></tr>")
    lines.append(f"<tr><th>command</th><td><code>{e(command)}</code></td></tr>")
    lines.append(f"<tr><th>results.json</th><td>schema {SCHEMA} version {SCHEMA_VERSION}</td></tr>")
    lines.append("</table></footer></body></html>")
    return "\n".join(lines) + "\n"


def write_report(
    checks: Sequence[Check],
    out: str | os.PathLike[str],
    *,
    command: str | None = None,
    level: str | None = None,
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
    level
        The run size, recorded in ``results.json`` (default: from the checks).

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
        document = results_document(checks, command=command, level=level)
        _atomic_write(
            folder / "results.json", json.dumps(document, indent=2, allow_nan=False) + "\n"
        )
        _atomic_write(folder / "index.html", render_html(checks, command=command))
    except OSError as error:
        msg = f"cannot write the report into {str(folder)!r}: {error.strerror or error}"
        raise InvalidInputError(msg) from error
    return folder / "index.html"
