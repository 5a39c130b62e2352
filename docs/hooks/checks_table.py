"""MkDocs hook: replace ``<!-- verify-checks -->`` by the table of registered checks.

The table is built from :func:`gan_pde.verify.registry.available_checks` at build time, so
the page always lists exactly the checks that ``gan-pde verify`` runs.
"""

from __future__ import annotations

MARKER = "<!-- verify-checks -->"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 - the hook's signature
    if MARKER not in markdown:
        return markdown
    from gan_pde.verify.registry import available_checks

    rows = ["| check | paper | reference | level | claim |", "|---|---|---|---|---|"]
    for spec in available_checks():
        rows.append(
            f"| `{spec.name}` | `{spec.paper}` | {_cell(spec.reference)} | {spec.level} "
            f"| {_cell(spec.claim)} |"
        )
    return markdown.replace(MARKER, "\n".join(rows))
