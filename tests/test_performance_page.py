"""benchmarks/performance.py (docs/performance.md): fitted laws, 24 GB extrapolation, figures.

Also the child of benchmarks/bench_memory.py, run once on a tiny problem.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[1]
BENCHMARKS = ROOT / "benchmarks"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def performance():
    name = "performance_page_under_test"
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / "performance.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]


def _results_without_memory(folder: Path) -> Path:
    """A copy of benchmarks/results/ without the bench_memory.py outputs."""
    for path in (BENCHMARKS / "results").glob("*.json"):
        if not path.name.startswith("memory"):
            shutil.copy(path, folder / path.name)
    return folder


#: A synthetic memory.json in bench_memory.py's format: (key, label, unit, time law
#: (c, p), memory law (c, p), sizes).  The particles' smallest net peak lies below the
#: fit's floor (10 % of the 90 MB baseline) and off its law, so the fit must leave it out.
BASELINE_KB = 90_000
LAWS = [
    ("spectrum_2d_p1", "2D spectrum P1", "dofs", (2e-6, 1.2), (3e3, 1.0), [1e4, 1e5, 1e6]),
    ("spectrum_3d_p1", "3D spectrum P1", "dofs", (1e-5, 1.1), (2e3, 1.15), [1e4, 3e4, 1e5]),
    ("meanfield_particles", "mean-field particles", "neurons", (1e-7, 1.0), (400.0, 0.9),
     [1e3, 1e5, 1e6]),
]  # fmt: skip


def _write_memory(folder: Path) -> None:
    solvers = []
    for key, label, unit, (ct, pt), (cm, pm), sizes in LAWS:
        rows = []
        for n in sizes:
            net = cm * n**pm if cm * n**pm >= 0.1 * BASELINE_KB * 1024 else 5e6
            rows.append(
                {
                    "size": n,
                    "time_s": ct * n**pt,
                    "baseline_rss_kb": BASELINE_KB,
                    "peak_rss_kb": BASELINE_KB + net / 1024,
                    "net_peak_bytes": net,
                }
            )
        solvers.append({"key": key, "label": label, "size_unit": unit, "timed": "t", "rows": rows})
    results = {"meta": {"date": "synthetic"}, "mode": "full", "repeat": 1, "solvers": solvers}
    (folder / "memory.json").write_text(json.dumps(results), encoding="utf-8")


def test_fit_recovers_a_known_exponent(performance):
    sizes = np.geomspace(1e3, 1e6, 7)
    p, c = performance.fit_power_law(sizes, 3e-4 * sizes**1.37)
    # exact power law: only rounding in log/polyfit
    assert p == pytest.approx(1.37, abs=1e-12)
    assert c == pytest.approx(3e-4, rel=1e-10)
    noise = np.exp(np.random.default_rng(0).normal(0.0, 0.02, sizes.size))
    p_noisy, _ = performance.fit_power_law(sizes, 3e-4 * sizes**1.37 * noise)
    # 2 % log-noise over 3 decades, 7 points: standard error of the slope 0.02/sqrt(Sxx)
    # ≈ 0.0033; 0.02 is six standard errors
    assert p_noisy == pytest.approx(1.37, abs=0.02)


def test_largest_size_consistent_with_the_fitted_law(performance):
    sizes = np.array([1e4, 1e5, 1e6])
    p, c = performance.fit_power_law(sizes, 2.5e3 * sizes**1.1)
    baseline = 9e7
    n_max = performance.largest_size(p, c, baseline_bytes=baseline)
    # the law at n_max uses the whole 24 GB (rounding only), and grows beyond it
    assert baseline + c * n_max**p == pytest.approx(24e9, rel=1e-10)
    assert baseline + c * (1.01 * n_max) ** p > 24e9
    assert n_max > sizes[-1]  # an extrapolation beyond the measured sizes


def test_memory_fit_leaves_out_sizes_near_the_baseline(performance, tmp_path, monkeypatch):
    _write_memory(tmp_path)
    monkeypatch.setattr(performance, "RESULTS", tmp_path)
    series = {s.label: s for s in performance.memory_series()}
    p, c, used = performance.memory_fit(series["mean-field particles"])
    assert used.tolist() == [False, True, True]
    # the two points above the floor lie exactly on 400 · N^0.9 (rounding only)
    assert p == pytest.approx(0.9, abs=1e-10)
    assert c == pytest.approx(400.0, rel=1e-8)


def test_figures_are_two_pngs_with_memory_results(performance, tmp_path, monkeypatch):
    _write_memory(tmp_path)
    monkeypatch.setattr(performance, "RESULTS", tmp_path)
    figures = performance.figures()
    assert set(figures) == {"img/scaling_time.png", "img/scaling_memory.png"}
    for content in figures.values():
        assert content.startswith(PNG_SIGNATURE)
        assert len(content) > 1000


def test_page_with_memory_results_states_the_extrapolation(performance, tmp_path, monkeypatch):
    _write_memory(_results_without_memory(tmp_path))
    monkeypatch.setattr(performance, "RESULTS", tmp_path)
    text = performance.render()
    assert "img/scaling_time.png" in text
    assert "img/scaling_memory.png" in text
    row = next(line for line in text.splitlines() if line.startswith("| 2D spectrum P1 (t)"))
    cells = [cell.strip() for cell in row.split("|")]
    assert cells[3] == "1.20"  # time exponent of 2e-6 · N^1.2
    assert cells[4].startswith("1.00 ")  # memory exponent of 3e3 · N
    n_max = (24e9 - BASELINE_KB * 1024) / 3e3
    assert cells[6] == f"≈ {performance._size(n_max)} dofs, extrapolated beyond 1.0e6"


def test_page_renders_without_memory_results(performance, tmp_path, monkeypatch):
    monkeypatch.setattr(performance, "RESULTS", _results_without_memory(tmp_path))
    text = performance.render()
    assert "img/scaling_time.png" in text
    assert "img/scaling_memory.png" not in text
    assert "BYTES_PER_DOF" in text
    figures = performance.figures()
    assert list(figures) == ["img/scaling_time.png"]
    assert figures["img/scaling_time.png"].startswith(PNG_SIGNATURE)


def test_memory_child_reports_raw_rss_numbers():
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_memory.py"), "--child", "meanfield_fv_3d", "8"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    row = json.loads(result.stdout.strip().splitlines()[-1])
    assert row["size"] == 8**3
    assert row["peak_rss_kb"] >= row["baseline_rss_kb"] > 0
    assert row["net_peak_bytes"] == (row["peak_rss_kb"] - row["baseline_rss_kb"]) * 1024
    assert row["time_s"] > 0.0
