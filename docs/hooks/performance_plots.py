"""MkDocs hook: the scaling figures of ``docs/performance.md``, generated at build time.

``benchmarks/performance.py`` renders the page and draws the figures from the JSON results
in ``benchmarks/results/``; the PNGs are not committed.  This hook imports that script by
path and adds each figure of :func:`figures` (``img/scaling_time.png`` and, once
``benchmarks/results/memory.json`` exists, ``img/scaling_memory.png``) to the site as a
generated file, so that the page's image links resolve under ``mkdocs build --strict``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from mkdocs.structure.files import File

_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "performance.py"
_MODULE = "gan_pde_benchmarks_performance"


def _performance():
    """``benchmarks/performance.py`` (not a package: imported by path), fresh each build."""
    spec = importlib.util.spec_from_file_location(_MODULE, _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def on_files(files, config):
    for path, content in _performance().figures().items():
        files.append(File.generated(config, path, content=content))
    return files
