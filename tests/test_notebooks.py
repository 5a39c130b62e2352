"""The notebooks run top to bottom (their code cells, executed in order)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    cells = json.loads(path.read_text())["cells"]
    source = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    if re.search(r"\bimport torch\b|gan_pde\.nn\b|\bgp\.nn\.", source):
        pytest.importorskip("torch")  # the optional extra the notebook trains networks with
    namespace: dict = {}
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code cells"
    for cell in code:
        exec(compile("".join(cell["source"]), f"{path.name}:{cell['id']}", "exec"), namespace)
    # every figure the notebook saves was written and is a real image
    figures = set(re.findall(r'"([\w.-]+\.png)"', "".join("".join(c["source"]) for c in code)))
    assert figures, f"{path.name} saves no figure"
    for name in figures:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / name).stat().st_size > 10_000
    import matplotlib.pyplot as plt

    plt.close("all")
