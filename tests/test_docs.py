"""The documentation site builds with warnings as errors (mkdocs ``strict``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    checks = (tmp_path / "site" / "checks" / "index.html").read_text()
    from gan_pde.verify.registry import available_checks

    for spec in available_checks():  # the generated table lists every registered check
        assert spec.name in checks, spec.name
    assert "weighted_laplacian_spectrum" in (tmp_path / "site" / "api" / "index.html").read_text()
    assert not (tmp_path / "site" / "hooks").exists()
