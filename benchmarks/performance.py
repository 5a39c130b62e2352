"""Issue 10's table of targets against measurements: ``docs/performance.md`` from one command.

    python benchmarks/performance.py          # render the table from benchmarks/results/
    python benchmarks/performance.py --run    # re-run the measurements first (~25 minutes)

Every number comes from a JSON file written by a benchmark script of this folder, which
measures gan_pde and its baseline side by side in the same run (medians, BLAS on one
thread).  ``--run`` re-runs the parts the targets need:

* ``bench_spectrum.py --sizes 1e6 --elements P1 --no-lobpcg --repeat-1e6 3``,
* ``bench_jsd_flow.py --steps-1e6``,
* ``bench_meanfield.py``, ``bench_nn.py`` and ``bench_poincare_nn.py``,
* ``bench_memory.py`` (peak memory and time against size, one fresh process per size).

The fitted exponents are least-squares slopes of log(time) or log(memory) against
log(size) (:func:`fit_power_law`); the largest size that fits in 24 GB is extrapolated from
the fitted memory law (:func:`largest_size`).  The page shows two figures,
``img/scaling_time.png`` and ``img/scaling_memory.png``, which are not committed: the MkDocs
hook ``docs/hooks/performance_plots.py`` adds the PNG bytes of :func:`figures` to the site
at build time.  Without ``results/memory.json`` the page is rendered without the memory
figure and columns.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
RESULTS = HERE / "results"
OUT = HERE.parent / "docs" / "performance.md"

#: Memory of the machine the issue asks about (bytes).
MEMORY = 24e9
#: A size enters the memory fit when its net peak RSS (peak minus the RSS after imports) is
#: at least this fraction of that baseline (about 90 MB; it varies by < 1 % between
#: processes, so 10 % is far above the noise of the subtraction).
WELL_ABOVE = 0.1
TIME_FIGURE = "img/scaling_time.png"
MEMORY_FIGURE = "img/scaling_memory.png"

RUNS = [
    ["bench_spectrum.py", "--sizes", "1e6", "--elements", "P1", "--no-lobpcg",
     "--repeat-1e6", "3", "--out", str(RESULTS / "spectrum_2d_1e6_p1.json")],
    ["bench_jsd_flow.py", "--steps-1e6"],
    ["bench_meanfield.py"],
    ["bench_nn.py"],
    ["bench_poincare_nn.py"],
    ["bench_memory.py"],
    ["bench_spectrum_3d.py", "--large", "100"],
    ["profile_spectrum.py"],
]  # fmt: skip


@dataclass(frozen=True)
class Series:
    """One solver's measurements against size: times and, from bench_memory.py, memory."""

    label: str
    unit: str
    sizes: np.ndarray
    times: np.ndarray
    net_bytes: np.ndarray | None = None
    baseline_bytes: float = 0.0
    timed: str = ""
    methods: tuple[str, ...] = ()


def _load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


def fit_power_law(sizes, values) -> tuple[float, float]:
    """Least-squares fit of ``values ≈ c · sizes^p`` in log-log: returns ``(p, c)``.

    Examples
    --------
    >>> p, c = fit_power_law([1e3, 1e4, 1e5], [2e-3, 2e-2, 2e-1])
    >>> round(p, 12), round(c, 12)
    (1.0, 2e-06)
    """
    p, log_c = np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.asarray(values, float)), 1)
    return float(p), float(np.exp(log_c))


def largest_size(
    exponent: float, prefactor: float, *, baseline_bytes: float = 0.0, memory: float = MEMORY
) -> float:
    """Size N at which ``baseline_bytes + prefactor · N^exponent`` reaches ``memory``.

    Examples
    --------
    >>> largest_size(1.0, 1e3, baseline_bytes=1e9, memory=2e9)
    1000000.0
    """
    return float(((memory - baseline_bytes) / prefactor) ** (1.0 / exponent))


def memory_fit(series: Series) -> tuple[float, float, np.ndarray] | None:
    """``(p, c, used)``: the memory law ``net ≈ c · size^p`` fitted over the sizes ``used``
    whose net peak is at least :data:`WELL_ABOVE` times the baseline RSS; None below two."""
    if series.net_bytes is None:
        return None
    used = series.net_bytes >= WELL_ABOVE * series.baseline_bytes
    if used.sum() < 2:
        return None
    p, c = fit_power_law(series.sizes[used], series.net_bytes[used])
    return p, c, used


def memory_series() -> list[Series] | None:
    """The solvers of ``results/memory.json`` (bench_memory.py), None if it is missing."""
    if not (RESULTS / "memory.json").exists():
        return None
    out = []
    for solver in _load("memory.json")["solvers"]:
        rows = solver["rows"]
        out.append(
            Series(
                label=solver["label"],
                unit=solver["size_unit"],
                sizes=np.array([r["size"] for r in rows], float),
                times=np.array([r["time_s"] for r in rows], float),
                net_bytes=np.array([r["net_peak_bytes"] for r in rows], float),
                baseline_bytes=1024.0 * float(np.median([r["baseline_rss_kb"] for r in rows])),
                timed=solver["timed"],
                methods=tuple(r.get("method", "") for r in rows),
            )
        )
    return out


def _row(target: str, measured: str, baseline: str, ratio: str, met: bool | None, src: str):
    status = "—" if met is None else ("met" if met else "**not met**")
    return f"| {target} | {measured} | {baseline} | {ratio} | {status} | `{src}` |"


def targets() -> list[str]:
    rows = [
        "| target | measured | baseline (same run) | ratio | status | source |",
        "|---|---|---|---|---|---|",
    ]
    spec = _load("spectrum_2d_1e6_p1.json")["rows"][0]
    ours, base = spec["gan_pde_s"], spec["baseline_s"]
    rows.append(_row("2D ξ_min, 1e6 P1 dofs, < 20 s at 1e-8 relative eigen-residual",
                     f"{ours:.1f} s (median of 3; residual {spec['relative_residual']:.0e})",
                     f"scikit-fem + eigsh: {base:.1f} s", f"{base / ours:.2f}×",
                     ours < 20 and spec["relative_residual"] <= 1e-8,
                     "spectrum_2d_1e6_p1.json"))  # fmt: skip
    rows.append(_row("2D ξ_min, 1e6 P1: ≥ 3× the baseline", f"{base / ours:.2f}×", "", "",
                     base / ours >= 3, "spectrum_2d_1e6_p1.json"))  # fmt: skip
    full = {(r["element"], r["target_dofs"]): r for r in _load("spectrum_2d.json")["rows"]}
    p2 = full[("P2", 1e6)]
    rows.append(_row("2D ξ_min, 1e6 P2 dofs (no target)", f"{p2['gan_pde_s']:.1f} s",
                     f"{p2['baseline_s']:.1f} s", f"{p2['speedup']:.2f}×", None,
                     "spectrum_2d.json"))  # fmt: skip
    big3d = _load("spectrum_3d_1e6.json")["rows"][0]
    rows.append(_row("3D ξ_min at 1e6 dofs < 60 s",
                     f"{big3d['seconds']:.0f} s at {big3d['dofs']:,} P1 dofs ({big3d['method']}; "
                     f"residual {big3d['relative_residual']:.0e}, "
                     f"peak {big3d['peak_rss_gb']:.1f} GB)",
                     "", "", big3d["seconds"] < 60 and big3d["relative_residual"] <= 1e-8,
                     "spectrum_3d_1e6.json"))  # fmt: skip
    steps = _load("jsd_flow.json")["steps_1e6"]
    nd = next(s for s in steps if s["nested_dissection"])
    mmd = next(s for s in steps if not s["nested_dissection"])
    rows.append(_row("JSD flow, 2D 1e6 dofs, < 5 s per implicit step",
                     f"{nd['seconds_per_step_median']:.2f} s", "minimum-degree LU: "
                     f"{mmd['seconds_per_step_median']:.2f} s",
                     f"{mmd['seconds_per_step_median'] / nd['seconds_per_step_median']:.2f}×",
                     nd["seconds_per_step_median"] < 5, "jsd_flow.json"))  # fmt: skip
    for dim, acc in _load("jsd_flow.json")["accuracy"].items():
        rows.append(_row(f"JSD flow {dim}: time to 1e-3 accuracy ≥ 10× py-pde",
                         f"{acc['best_gan_pde']['seconds']:.3g} s",
                         f"py-pde: {acc['best_py_pde']['seconds']:.3g} s",
                         f"{acc['speedup']:.0f}×", acc["speedup"] >= 10,
                         "jsd_flow.json"))  # fmt: skip
    mf = _load("meanfield.json")
    fv = next(r for r in mf["fv_3d"] if r["cells_per_axis"] == 64)
    rows.append(_row("mean field, 3D 64³ cells, < 0.5 s per step",
                     f"{fv['median_s_per_step']:.3f} s", "", "", fv["median_s_per_step"] < 0.5,
                     "meanfield.json"))  # fmt: skip
    part = next(r for r in mf["particles"] if r["N"] == 1_000_000)
    rows.append(_row("mean-field particles, 1e6 neurons, < 0.1 s per step",
                     f"{part['batch_1_s_per_step']:.3f} s", "", "",
                     part["batch_1_s_per_step"] < 0.1, "meanfield.json"))  # fmt: skip
    nn = _load("nn.json")
    for size, results in nn["results"].items():
        worst = min(results.items(), key=lambda kv: kv[1]["speedup"])
        rows.append(_row(f"ensemble of 64 runs ≥ 10× a loop ({size}: batch "
                         f"{nn['sizes'][size]['batch']}, hidden {nn['sizes'][size]['hidden']})",
                         f"worst trainer {worst[0]}: {worst[1]['speedup']:.1f}×",
                         f"loop: {worst[1]['loop_s']:.2f} s", f"{worst[1]['speedup']:.1f}×",
                         worst[1]["speedup"] >= 10, "nn.json"))  # fmt: skip
    for study in _load("poincare_nn.json")["studies"]:
        rows.append(_row(f"neural ξ_min to 1% of FEM ({study['dim']}D, M = "
                         f"{study['separation']:g}, {study['device']})",
                         f"{study['median_seconds']:.2f} s", f"FEM: {study['fem_seconds']:.3f} s",
                         f"{study['ratio_to_fem']:.1f}× FEM", None,
                         "poincare_nn.json"))  # fmt: skip
    return rows


def _series(label: str, unit: str, rows: list[dict], size: str, seconds: str) -> Series:
    """A time series from benchmark rows: sizes under key ``size``, times under ``seconds``."""
    return Series(
        label,
        unit,
        np.array([r[size] for r in rows], float),
        np.array([r[seconds] for r in rows], float),
    )


def benchmark_series() -> list[tuple[Series, str, bool]]:
    """Time against size from the benchmark scripts: ``(series, sizes spanned, is baseline)``."""
    out = []
    full = _load("spectrum_2d.json")["rows"]
    for element in ("P1", "P2"):
        sel = [r for r in full if r["element"] == element]
        sizes = np.array([r["dofs"] for r in sel], float)
        for key, name in (("gan_pde_s", "gan_pde"), ("baseline_s", "baseline")):
            times = np.array([r[key] for r in sel], float)
            series = Series(f"2D spectrum {element}, {name}", "dofs", sizes, times)
            out.append((series, "1e4–1e6 dofs", name == "baseline"))
    steps = [s for s in _load("jsd_flow.json")["steps"] if s["dim"] == 1]
    series = _series("JSD flow 1D, per step", "dofs", steps, "n_dofs", "seconds_per_step_median")
    out.append((series, "1e3–1e5 dofs", False))
    mf = _load("meanfield.json")
    for key in ("fv_2d", "fv_3d"):
        sel = mf[key]
        label = f"mean field {key[3:]}, per step"
        series = _series(label, "cells per law", sel, "cells_per_law", "median_s_per_step")
        span = f"{sel[0]['cells_per_law']:.0e}–{sel[-1]['cells_per_law']:.0e} cells"
        out.append((series, span, False))
    label = "mean-field particles, per step"
    series = _series(label, "neurons", mf["particles"], "N", "batch_1_s_per_step")
    out.append((series, "N = 1e3–1e6", False))
    return out


def exponents() -> list[str]:
    rows = ["| solver | sizes | fitted exponent (time ∝ size^p) |", "|---|---|---|"]
    for series, span, _ in benchmark_series():
        p, _ = fit_power_law(series.sizes, series.times)
        rows.append(f"| {series.label} | {span} | {p:.2f} |")
    return rows


def _size(value: float) -> str:
    return f"{value:.1e}".replace("e+0", "e").replace("e+", "e")


def scaling(memory: list[Series]) -> list[str]:
    """Time and memory exponents and the extrapolated largest size of each solver."""
    rows = [
        "| solver (time of) | sizes | time exponent | memory exponent (sizes fitted) "
        "| net peak at the largest size | largest size in 24 GB |",
        "|---|---|---|---|---|---|",
    ]
    for series in memory:
        p_time, _ = fit_power_law(series.sizes, series.times)
        biggest = series.sizes[-1]
        span = f"{_size(series.sizes[0])}–{_size(biggest)} {series.unit}"
        net = series.net_bytes[-1]
        per = f"{net / 1e6:.0f} MB ({_size(net / biggest)} B per {series.unit.split()[0][:-1]})"
        fit = memory_fit(series)
        if fit is None:
            mem = f"— (fewer than 2 sizes above {WELL_ABOVE:.0%} of the baseline RSS)"
            largest = "—"
        else:
            p_mem, c_mem, used = fit
            fitted = ", ".join(_size(n) for n in series.sizes[used])
            mem = f"{p_mem:.2f} ({fitted})"
            n_max = largest_size(p_mem, c_mem, baseline_bytes=series.baseline_bytes)
            largest = f"≈ {_size(n_max)} {series.unit}, extrapolated beyond {_size(biggest)}"
        rows.append(
            f"| {series.label} ({series.timed}) | {span} | {p_time:.2f} | {mem} | {per} "
            f"| {largest} |"
        )
    return rows


def _plot(series: list[Series], values: list[np.ndarray], fits, ylabel: str, title: str) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 4.6), layout="constrained")
    ax = figure.add_subplot()
    for index, (s, y, fit) in enumerate(zip(series, values, fits, strict=True)):
        color = f"C{index % 10}"
        if fit is None:
            ax.loglog(s.sizes, y, "o", color=color, label=f"{s.label} (not fitted)")
            continue
        p, c, used = fit
        ax.loglog(s.sizes[used], y[used], "o", color=color)
        if not used.all():
            ax.loglog(s.sizes[~used], y[~used], "o", color=color, fillstyle="none")
        line = np.geomspace(s.sizes[used].min(), s.sizes[used].max(), 50)
        ax.loglog(line, c * line**p, "--", color=color, label=f"{s.label}: p = {p:.2f}")
    ax.set_xlabel("size (dofs, cells per law or neurons)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    figure.legend(fontsize="small", loc="outside right upper")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def figures() -> dict[str, bytes]:
    """PNG bytes of the scaling figures, keyed by their path on the docs site.

    Time against size (all solvers, fitted lines labelled with the exponent) from
    ``results/memory.json`` where it exists, else from the other benchmark results; memory
    against size only with ``results/memory.json`` (hollow points: below the fit's floor).
    """
    memory = memory_series()
    timed = memory or [s for s, _, baseline in benchmark_series() if not baseline]
    times = [s.times for s in timed]
    time_fits = [(*fit_power_law(s.sizes, s.times), np.ones(s.sizes.size, bool)) for s in timed]
    out = {TIME_FIGURE: _plot(timed, times, time_fits, "wall time (s)", "Time against size")}
    out.update(issue18_scaling()[1])
    if memory is not None:
        out[MEMORY_FIGURE] = _plot(
            memory,
            [s.net_bytes for s in memory],
            [memory_fit(s) for s in memory],
            "net peak RSS (bytes)",
            "Peak memory (above the RSS after imports) against size",
        )
    return out


def _memory_lines(memory: list[Series] | None) -> list[str]:
    from gan_pde.resources import BYTES_PER_DOF

    guard = ", ".join(f"{dim}D {b:.1e}" for dim, b in sorted(BYTES_PER_DOF.items()))
    if memory is None:
        return [
            "## Largest sizes on a 24 GB machine",
            "",
            "From the measured peak memory per dof of a spectrum or JSD-flow solve",
            "(`gan_pde.resources.BYTES_PER_DOF`; larger requests raise `InsufficientMemoryError`",
            "before allocating); `python benchmarks/bench_memory.py` measures memory against size",
            "for every solver and adds the fitted memory laws and a figure here:",
            "",
            "| dimension | bytes per dof | largest size |",
            "|---|---|---|",
            *[
                f"| {dim}D | {b:.1e} | {MEMORY / b:.1e} dofs |"
                for dim, b in sorted(BYTES_PER_DOF.items())
            ],
            "",
        ]
    results = _load("memory.json")
    meta, repeat = results["meta"], results["repeat"]
    baseline = float(np.median([s.baseline_bytes for s in memory]))
    runs = "one run" if repeat == 1 else f"the median of {repeat} processes"
    switches = [
        f'`method="auto"` of the {s.label}: '
        + ", ".join(f"{m} at {_size(n)} {s.unit}" for m, n in zip(s.methods, s.sizes, strict=True))
        + "."
        for s in memory
        if len(set(s.methods)) > 1
    ]
    return [
        "### Time and memory against size, one fresh process per size",
        "",
        f"From `benchmarks/results/memory.json` (`python benchmarks/bench_memory.py`, "
        f"{meta['date']}): each size is solved",
        "in a new process; the net peak is `ru_maxrss` after the solve minus `ru_maxrss` after",
        f"the imports (about {baseline / 1e6:.0f} MB); time and peak are {runs}.  "
        "The memory exponent is",
        f"fitted over the sizes whose net peak is at least {WELL_ABOVE:.0%} of that baseline.  "
        "The largest size in",
        f"{MEMORY / 1e9:.0f} GB solves baseline + c·size^p = {MEMORY / 1e9:.0f} GB with the "
        "fitted law: an **extrapolation** beyond",
        "the largest measured size (less what the system itself uses).",
        *switches,
        "",
        *scaling(memory),
        "",
        f"![Net peak memory against size]({MEMORY_FIGURE})",
        "",
        "The guard that raises `InsufficientMemoryError` before a large spectrum or JSD-flow",
        f"solve (`gan_pde.resources.BYTES_PER_DOF`) assumes linear memory: {guard} bytes per dof.",
        "",
    ]


def render() -> str:
    memory = memory_series()
    lines = [
        "# Performance: issue 10's targets against measurements",
        "",
        "Generated by `python benchmarks/performance.py` from the JSON results in",
        "`benchmarks/results/` (`--run` re-measures first).  Each benchmark times gan_pde and",
        "its baseline in the same run, BLAS on one thread, on the shared 2-core development",
        "machine: read the ratios rather than the absolute times.  No GPU was available to",
        "the sessions that measured these; `benchmarks/gpu_nn.py` is the script for one.",
        "",
        "## Targets",
        "",
        *targets(),
        "",
        *issue18_section(),
        *mpi_section(),
        "## Network training throughput",
        "",
        *throughput(),
        "",
        "## Scaling",
        "",
        "Least-squares slopes of log(time) against log(size), from the benchmark results:",
        "",
        *exponents(),
        "",
        f"![Wall time against size, fitted exponents]({TIME_FIGURE})",
        "",
        *_memory_lines(memory),
        "## Where the time goes, and what would close the gaps",
        "",
        *where_the_time_goes(),
        *ensemble_gap(),
        "",
    ]
    return "\n".join(lines)


def throughput() -> list[str]:
    """Training steps per second of each trainer, one run and batched ensembles (nn.json)."""
    nn = _load("nn.json")
    machine = nn["machine"]
    rows = [
        f"From `benchmarks/bench_nn.py` ({machine['device']}, torch {machine['torch']}, "
        f"{machine['torch_threads']} thread; {nn['runs']} runs of {nn['steps']} steps): "
        "steps per second of one run, and run-steps per second of the batched ensemble "
        "(`train_ensemble`) against a loop over the runs.",
        "",
        "| trainer | size | one run (steps/s) | ensemble of "
        f"{nn['runs']} (run-steps/s) | ensemble vs loop |",
        "|---|---|---|---|---|",
    ]
    for size, results in nn["results"].items():
        spec = nn["sizes"][size]
        for trainer, r in results.items():
            rows.append(
                f"| {trainer} | {size} (batch {spec['batch']}, hidden {spec['hidden']}) "
                f"| {r['single_steps_per_s']:.0f} | {r['ensemble_run_steps_per_s']:.0f} "
                f"| {r['speedup']:.1f}× |"
            )
    return rows


def ensemble_gap() -> list[str]:
    """Why the batched ensemble gains ≥ 10× only on tiny networks on one CPU core."""
    nn = _load("nn.json")
    tiny, small = nn["results"]["tiny"], nn["results"]["small"]
    worst = min(small, key=lambda t: small[t]["speedup"])
    return [
        "",
        "- **Ensembles** (`bench_nn.py`): a loop pays a fixed cost per step (Python,",
        "  autograd bookkeeping, one small kernel per layer), a batched ensemble pays it",
        "  once for all runs.  With tiny networks that fixed cost is nearly all of a step,",
        f"  so batching gains {min(r['speedup'] for r in tiny.values()):.0f}–"
        f"{max(r['speedup'] for r in tiny.values()):.0f}×.  At batch 256 with two hidden",
        "  layers of 32 the batched ensemble is compute-bound on the one core: "
        f"{worst} runs {small[worst]['single_steps_per_s']:.0f} steps/s alone and",
        f"  {small[worst]['ensemble_run_steps_per_s']:.0f} run-steps/s batched "
        f"({small[worst]['speedup']:.1f}×).  A cProfile of that lsgan ensemble (64 runs,",
        "  30 Heun steps, 8.1 s on 2026-11-30) spends 41% in autograd's backward pass, 33%",
        "  in `tanh` and 19% in the MLPs' forward products: elementwise and small-matrix",
        "  arithmetic over 64 runs × 256 points × 32 units that a loop does too, so",
        "  batching can only remove the fixed cost, and the arithmetic of 64 runs cannot",
        "  shrink on one core.  The ≥ 10× there needs more",
        "  arithmetic throughput, i.e. the GPU run of `benchmarks/gpu_nn.py`, which no",
        "  session has been lent a GPU for.",
    ]


def _profile_lines(run: dict) -> list[str]:
    lines = [
        f"  | {name} | {g['seconds']:.1f} s | {g['calls']} |" for name, g in run["groups"].items()
    ]
    return ["  | part (main thread) | seconds | calls |", "  |---|---|---|", *lines]


def where_the_time_goes() -> list[str]:
    """The profiles of ``profile_spectrum.py`` and what would close each gap."""
    runs = _load("profile_spectrum.json")["runs"]
    two, three = runs["2d_p1_1e6"], runs.get("3d_p1_1e6")
    spec = _load("spectrum_2d_1e6_p1.json")["rows"][0]
    needed = spec["baseline_s"] / 3
    lines = [
        "Profiles from `python benchmarks/profile_spectrum.py` (cProfile on the main",
        "thread, BLAS on one thread; cumulative groups such as the AMG cycles include their",
        "own sparse products).",
        "",
        f"- **2D spectrum, 1e6 P1 dofs** ({two['total_s']:.1f} s profiled; relative",
        f"  eigen-residual {two['relative_residual']:.0e}):",
        "",
        *_profile_lines(two),
        "",
        f"  The ≥ 3× needs {needed:.1f} s, {spec['gan_pde_s'] - needed:.1f} s less than the",
        "  median.  What is left is one SuperLU factorisation and 36 triangular solves, each",
        "  on one core (SuperLU releases the GIL, so the ordering and the basis already run",
        "  on the second core, but it cannot split one factorisation or one solve; the",
        "  solves are memory-bound on the 1.4 GB factor).  Tried without gain: a two-",
        "  subdomain Schur split of the factorisation over both cores (each half refactors",
        "  the dense top separator: 0.99 s against 0.93 s at 2.5e5 dofs), LOBPCG with the",
        "  exact factor as preconditioner (96 solves instead of 36), exact eigenvectors as",
        "  ARPACK's start (27 solves at best, before paying for a coarse solve), ARPACK",
        "  tolerance 1e-8 (31 solves, but the baseline saves as many), SuperLU's `relax` and",
        "  `panel_size`, and two BLAS threads.  What would close it: a multithreaded",
        "  supernodal Cholesky (CHOLMOD, PARDISO or MUMPS: half SuperLU's memory traffic per",
        "  solve, and both cores in the factorisation), none of which is among the",
        "  project's dependencies, or a block shift-invert Lanczos that solves two vectors",
        "  per sweep, one per core (estimated 1.5 s; not written: a block of b vectors",
        "  resolves near-repeated eigenvalues of multiplicity above b only slowly, and",
        "  symmetric densities have them, e.g. ξ = 2 three times for N(0, I₂), so it would",
        "  need a block as large as k and a careful restart to be as safe as ARPACK).",
    ]
    if three is not None:
        lines += [
            "",
            f"- **3D spectrum, {three['dofs']:,} P1 dofs** ({three['total_s']:.0f} s profiled;",
            f"  {three['method']}; relative eigen-residual {three['relative_residual']:.0e}):",
            "",
            *_profile_lines(three),
            "",
            "  A sparse LU is out of reach in 3D at this size (fill grows like N^{4/3}), so",
            "  the solver is LOBPCG preconditioned by smoothed-aggregation AMG.  Its V-cycles",
            "  run on one core: pyamg holds the GIL (8 V-cycles on two threads took as long",
            "  as on one, measured), and LOBPCG's dense block algebra on 1e6 × 24 blocks is",
            "  as large (two BLAS threads did not help beside pyamg).  The assembly is",
            "  memory-bound (COO → CSR of 9.6e7 entries, 4.6 s).  Nested iteration from a",
            "  coarse mesh would cut the iterations, but scikit-fem's point location cannot",
            "  interpolate onto a 3D mesh of this size (its element finder asked for 169 GiB",
            "  at 1e5 points).  Closing the gap needs an AMG whose cycles run on both cores",
            "  and on blocks, or a threaded sparse Cholesky; and the residual target needs a",
            "  tighter LOBPCG tolerance than the backward-error check it uses now.",
        ]
    return lines


# =============================================================================== issue 18
# Fast sparse backends (gan_pde.fem.solvers): the 2D/3D spectrum, JSD and P2 targets, each
# measured with its baselines in the same run (``--measure NAME``), rendered into the page.

#: Results of ``--measure``: one file per measurement, so a partial run keeps the others.
ISSUE18 = {
    "spectrum2d": "issue18_spectrum2d.json",
    "spectrum3d": "issue18_spectrum3d.json",
    "jsd": "issue18_jsd.json",
    "p2": "issue18_p2.json",
    "scaling": "memory_issue18.json",
}
#: The weight of the spectrum targets (the DOLFINx script uses the same numbers).
MIXTURE = [(0.4, (-1.5, 0.0), 1.0), (0.3, (1.5, 0.5), 0.8), (0.3, (0.0, -2.0), 0.9)]
#: The python of the DOLFINx venv (benchmarks/dolfinx_baseline.py).
DOLFINX_PYTHON = "/work/dolfinx-venv/bin/python"


def _mixture():
    import gan_pde as gp

    return gp.GaussianMixture(
        means=[list(m) for _, m, _ in MIXTURE],
        stds=[s for *_, s in MIXTURE],
        weights=[w for w, *_ in MIXTURE],
    )


def _machine() -> dict:
    """Load, thread counts and versions recorded beside every issue-18 timing."""
    import os
    import platform
    import time

    from threadpoolctl import threadpool_info

    from gan_pde.fem.solvers import _version, available_backends

    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "loadavg": list(os.getloadavg()),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "threadpools": [
            {"api": i.get("internal_api"), "threads": i.get("num_threads")}
            for i in threadpool_info()
        ],
        "backends": {b: _version(b) for b in available_backends()},
    }


def relative_residual(system, values: np.ndarray, vectors: np.ndarray) -> float:
    r"""Largest :math:`\|Kx - \xi Mx\|_{M^{-1}}/\xi` over the non-zero eigenpairs (x
    M-normalised, the norm with diag M): the accuracy the targets are stated at."""
    keep = values > 1e-8 * values.max()
    x, xi = vectors[:, keep], values[keep]
    x = x / np.sqrt(np.einsum("ij,ij->j", x, system.mass @ x))
    r = system.stiffness @ x - (system.mass @ x) * xi
    return float(np.max(np.sqrt(np.sum(r**2 / system.mass.diagonal()[:, None], axis=0)) / xi))


def _skfem_eigsh(mesh, k: int, tol: float) -> tuple[float, float]:
    """The scikit-fem + eigsh baseline: plain assembly, scipy's shift-invert (SuperLU with
    its default ordering), the same shift and tolerance: (seconds, relative residual)."""
    import time
    from types import SimpleNamespace

    import scipy.sparse.linalg as spla

    from gan_pde.fem import make_basis, quadrature_points, weighted_mass, weighted_stiffness

    start = time.perf_counter()
    basis = make_basis(mesh, "P1")
    rho = _mixture().pdf(quadrature_points(basis)).reshape(basis.nelems, -1)
    stiffness = weighted_stiffness.assemble(basis, rho=rho)
    mass = weighted_mass.assemble(basis, rho=rho)
    sigma = 1e-6 * float(np.mean(stiffness.diagonal() / mass.diagonal()))
    values, vectors = spla.eigsh(stiffness, k=k, M=mass, sigma=-sigma, which="LM", tol=tol)
    seconds = time.perf_counter() - start
    system = SimpleNamespace(stiffness=stiffness, mass=mass)
    return seconds, relative_residual(system, values, vectors)


def _dolfinx(*args: str, timeout: float = 3000.0) -> dict | None:
    """One run of benchmarks/dolfinx_baseline.py in its venv (None where it is missing)."""
    import os

    python = os.environ.get("GAN_PDE_DOLFINX_PYTHON", DOLFINX_PYTHON)
    if not Path(python).exists():
        return None
    venv = Path(python).parents[1]
    # the wheel's own libraries and the MPICH that mpich installs into the venv's lib/
    lib = f"{venv / 'lib/python3.12/site-packages/dolfinx_solver/lib'}:{venv / 'lib'}"
    env = {**os.environ, "LD_LIBRARY_PATH": lib, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [python, str(HERE / "dolfinx_baseline.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        print("DOLFINx failed:", result.stderr[-2000:])
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def _save(name: str, data: dict) -> None:
    path = RESULTS / ISSUE18[name]
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    print(f"wrote {path}")


def _spectrum2d_child(which: str, cells: int, k: int, tol: float) -> dict:
    """One contender of :func:`measure_spectrum2d` in this (fresh) process."""
    import time

    from threadpoolctl import threadpool_limits

    import gan_pde as gp

    mesh = gp.mesh.rectangle((-8.0, 8.0), (-8.0, 8.0), n=(cells, cells))
    if which == "skfem_eigsh":
        with threadpool_limits(limits=1):
            seconds, residual = _skfem_eigsh(mesh, k, tol)
        return {"seconds": seconds, "residual": residual}
    with threadpool_limits(limits=2):
        start = time.perf_counter()
        spec = gp.weighted_laplacian_spectrum(_mixture(), mesh, k=k, tol=tol, solver="auto")
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "assembly_s": spec.info["assembly_seconds"],
        "solve_s": spec.info["solve_seconds"],
        "residual": relative_residual(spec.system, spec.eigenvalues, spec.scaled_eigenvectors),
        "xi_min": spec.poincare_constant,
        "linear_solver": spec.info["linear_solver"],
    }


def measure_spectrum2d(cells: int = 999, repeat: int = 3, k: int = 4, tol: float = 1e-8):
    """ξ_min of the 2D P1 weighted Laplacian at ``cells``² triangles (1e6 dofs at 999):
    gan_pde ("auto": CHOLMOD/PARDISO on both cores), scikit-fem + eigsh (one thread) and
    DOLFINx + SLEPc + MUMPS, interleaved, ``repeat`` times each, every run in a fresh
    process (so that none inherits another's heap: run in one process after the
    baselines, gan_pde measured 13.7–14.7 s against 11.6–12.0 s in a fresh one)."""
    import statistics

    runs: dict[str, list] = {"gan_pde": [], "skfem_eigsh": [], "dolfinx": []}
    for _ in range(repeat):
        for which in ("gan_pde", "skfem_eigsh"):
            command = [sys.executable, __file__, "--child", f"spectrum2d:{which}", str(cells),
                       str(k), str(tol)]  # fmt: skip
            result = subprocess.run(command, capture_output=True, text=True, timeout=3000)
            if result.returncode != 0:
                print(which, "failed:", result.stderr[-2000:])
                continue
            runs[which].append(json.loads(result.stdout.strip().splitlines()[-1]))
        peer = _dolfinx("spectrum", "--cells", str(cells), "--nev", str(k), "--tol", str(tol))
        if peer is not None:
            runs["dolfinx"].append({**peer, "seconds": peer["total_s"],
                                    "residual": peer["relative_residual"]})  # fmt: skip
        print({key: [round(r["seconds"], 2) for r in value] for key, value in runs.items()})
    medians = {key: statistics.median(r["seconds"] for r in value)
               for key, value in runs.items() if value}  # fmt: skip
    _save("spectrum2d", {"meta": _machine(), "cells": cells, "dofs": (cells + 1) ** 2, "k": k,
                         "tol": tol, "repeat": repeat, "fresh_processes": True, "runs": runs,
                         "median_s": medians})  # fmt: skip


def measure_spectrum3d(cells: int = 100, cholmod_cells: int = 67, k: int = 4, tol: float = 1e-8):
    """ξ_min of the 3D P1 weighted Laplacian (Gaussian weight) at ``cells``³ cells:
    gan_pde's "auto" (AMG-preconditioned LOBPCG above AMG_MIN_3D_FAST dofs) and, where
    memory allows, CHOLMOD shift-invert; time, residual, peak RSS."""
    import resource
    import time

    from threadpoolctl import threadpool_limits

    import gan_pde as gp

    rho = gp.GaussianMixture(means=[[-1.0, 0.0, 0.0], [1.5, 0.5, 0.0]], stds=[1.0, 0.8],
                             weights=[0.6, 0.4])  # fmt: skip
    from gan_pde import resources

    rows = []
    # the largest box the memory guard admits for "auto" (LOBPCG + AMG) with 5 % spare:
    # "the largest 3D problem that fits", measured rather than extrapolated
    room = 0.95 * resources.available_memory()
    largest = cells
    while resources.solve_memory((largest + 2) ** 3, 3, iterative=True, basis=False) <= room:
        largest += 1
    # CHOLMOD's 3D fill grows like N^{4/3}: its shift-invert is run on a smaller mesh
    cases = (("auto", "auto", cells, "target"), ("shift-invert", "cholmod", cholmod_cells, ""),
             ("auto", "auto", largest, "largest"))  # fmt: skip
    for method, solver, n, role in cases:
        mesh = gp.mesh.box((-6.0, 6.0), (-6.0, 6.0), (-6.0, 6.0), n=(n, n, n))
        _reset_peak_memory()
        with threadpool_limits(limits=2):
            start = time.perf_counter()
            try:
                spec = gp.weighted_laplacian_spectrum(rho, mesh, k=k, tol=tol, method=method,
                                                      solver=solver)  # fmt: skip
            except MemoryError as err:
                rows.append({"method": method, "solver": solver, "error": str(err)})
                continue
            seconds = time.perf_counter() - start
        rows.append({
            "method": spec.method, "solver": solver, "seconds": seconds,
            "dofs": spec.n_dofs, "assembly_s": spec.info["assembly_seconds"],
            "residual": relative_residual(spec.system, spec.eigenvalues,
                                          spec.scaled_eigenvectors),
            "xi_min": spec.poincare_constant,
            "peak_rss_gb": (_vm_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            / 1e6,
            "linear_solver": spec.info["linear_solver"],
            "eigensolver": spec.info.get("eigensolver"),
            "role": role,
            "available_gb": resources.available_memory() / 1e9,
        })  # fmt: skip
        print(rows[-1]["method"], rows[-1]["dofs"], rows[-1]["seconds"], rows[-1]["residual"],
              rows[-1]["peak_rss_gb"])  # fmt: skip
        del spec, mesh
        gc.collect()
    _save("spectrum3d", {"meta": _machine(), "cells": cells, "rows": rows})


def _stamp(stamps: list[float], *_: object) -> None:
    stamps.append(time.perf_counter())


def measure_jsd(cells: int = 999, steps: int = 100, peer_steps: int = 3):
    """The JSD flow at 1e6 2D P1 dofs: set-up (JSDFlow with the fast path) and ``steps``
    backward-Euler steps of Δt = 0.01 with CHOLMOD/PARDISO; the reference SuperLU path's
    set-up; DOLFINx + SNES (CG + GAMG and MUMPS) for ``peer_steps`` steps."""
    import time

    from threadpoolctl import threadpool_limits

    import gan_pde as gp
    from gan_pde.flows import JSDFlow

    target = gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.5]], stds=[1.0, 0.8],
                                weights=[0.6, 0.4])  # fmt: skip
    start_density = gp.Gaussian(mean=[0.5, -0.5], cov=[[0.7, 0.2], [0.2, 0.9]])
    mesh = gp.mesh.rectangle((-8.0, 8.0), (-8.0, 8.0), n=(cells, cells))
    out: dict = {"meta": _machine(), "cells": cells, "dofs": (cells + 1) ** 2, "dt": 0.01}
    for label, solver in (("reference", None), ("fast", "auto")):
        with threadpool_limits(limits=2):
            begin = time.perf_counter()
            flow = JSDFlow(target, start_density, mesh, solver=solver)
            setup = time.perf_counter() - begin
            entry = {"setup_s": setup, "assembly": flow.operator.assembly}
            if label == "fast":
                stamps = [time.perf_counter()]
                flow.solve(steps * 0.01, 0.01, callback=partial(_stamp, stamps))
                entry.update(steps=steps, step_s=np.diff(stamps).tolist(),
                             total_s=setup + stamps[-1] - stamps[0],
                             linear_solver=flow.operator.solver_provenance())  # fmt: skip
        out[label] = entry
        print(label, {k: v for k, v in entry.items() if k != "step_s"})
        del flow
    out["dolfinx"] = {}
    for linear in ("gamg", "mumps"):
        peer = _dolfinx("jsd", "--cells", str(cells), "--steps", str(peer_steps),
                        "--linear", linear)  # fmt: skip
        if peer is not None:
            peer["hundred_steps_s"] = peer["setup_s"] + 100 * peer["median_step_s"]
            out["dolfinx"][linear] = peer
            print(linear, peer["setup_s"], peer["median_step_s"])
    _save("jsd", out)


def measure_p2(p1_cells: int = 999, p2_cells: int = 499, jsd_steps: int = 5):
    """P2 against P1 at equal dofs (1e6): the spectrum (auto solver) and JSD steps
    (consistent P2 mass, the fast solver)."""
    import time

    from threadpoolctl import threadpool_limits

    import gan_pde as gp
    from gan_pde.flows.operator import LogDiffusionOperator

    rho = _mixture()
    target = gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.5]], stds=[1.0, 0.8],
                                weights=[0.6, 0.4])  # fmt: skip
    rows = []
    for element, cells in (("P1", p1_cells), ("P2", p2_cells)):
        mesh = gp.mesh.rectangle((-8.0, 8.0), (-8.0, 8.0), n=(cells, cells))
        with threadpool_limits(limits=2):
            begin = time.perf_counter()
            spec = gp.weighted_laplacian_spectrum(rho, mesh, k=4, tol=1e-8, element=element)
            spectrum_s = time.perf_counter() - begin
            residual = relative_residual(spec.system, spec.eigenvalues, spec.scaled_eigenvectors)
            dofs, record = spec.n_dofs, spec.info["linear_solver"]
            del spec
            op = LogDiffusionOperator(target, mesh, element=element, solver="auto")
            v = np.exp(-0.5 * np.sum((op.dof_points - 0.5) ** 2, axis=1))
            s, times = None, []
            for _ in range(jsd_steps):
                begin = time.perf_counter()
                step = op.advance(v, 0.01, initial_guess=s)
                times.append(time.perf_counter() - begin)
                v, s = step.v, step.s
        rows.append({"element": element, "dofs": dofs, "spectrum_s": spectrum_s,
                     "residual": residual, "linear_solver": record,
                     "jsd_step_s": times, "jsd_step_median_s": float(np.median(times[1:])),
                     "assembly": op.assembly})  # fmt: skip
        print(rows[-1]["element"], spectrum_s, rows[-1]["jsd_step_median_s"])
        del op
    _save("p2", {"meta": _machine(), "rows": rows})


#: Operations of the scaling study: (key, label, sizes (cells per side)).
SCALING = [
    ("spectrum_2d_p1", "2D spectrum P1 (ξ_min, assembly included)", [99, 315, 547, 999]),
    ("jsd_2d_p1", "JSD flow 2D P1 (set-up + one backward-Euler step)", [99, 315, 547, 999]),
    ("spectrum_3d_p1", "3D spectrum P1 (ξ_min, assembly included)", [21, 31, 46, 67]),
]


def _reset_peak_memory() -> None:
    """Reset this process's VmHWM to its current RSS (Linux: ``5`` to clear_refs), so that
    each row of a measurement reports its own peak, not an earlier row's."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def _vm_kb(field: str) -> int | None:
    """A field of /proc/self/status in kB (None where there is no /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _scaling_child(key: str, cells: int) -> dict:
    """One size of one operation in this (fresh) process: time and net peak RSS."""
    import resource
    import time

    from threadpoolctl import threadpool_limits

    import gan_pde as gp
    from gan_pde.flows.operator import LogDiffusionOperator

    # /proc's high-water mark, not getrusage's ru_maxrss: Linux carries ru_maxrss across
    # exec, so every child of a parent that once held 8.6 GB reported 8.6 GB (run of
    # 2026-12-07); VmHWM belongs to this process image alone
    baseline = _vm_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with threadpool_limits(limits=2):
        begin = time.perf_counter()
        if key == "spectrum_2d_p1":
            mesh = gp.mesh.rectangle((-8.0, 8.0), (-8.0, 8.0), n=(cells, cells))
            result = gp.weighted_laplacian_spectrum(_mixture(), mesh, k=4, tol=1e-8)
            size, record = result.n_dofs, result.info["linear_solver"]
        elif key == "spectrum_3d_p1":
            mesh = gp.mesh.box((-6.0, 6.0), (-6.0, 6.0), (-6.0, 6.0), n=(cells,) * 3)
            rho = gp.Gaussian(mean=[0.0, 0.0, 0.0], cov=np.eye(3))
            result = gp.weighted_laplacian_spectrum(rho, mesh, k=4, tol=1e-8)
            size, record = result.n_dofs, result.info["linear_solver"]
        else:
            mesh = gp.mesh.rectangle((-8.0, 8.0), (-8.0, 8.0), n=(cells, cells))
            target = gp.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.5]], stds=[1.0, 0.8],
                                        weights=[0.6, 0.4])  # fmt: skip
            op = LogDiffusionOperator(target, mesh, solver="auto")
            v = np.exp(-0.5 * np.sum((op.dof_points - 0.5) ** 2, axis=1))
            op.advance(v, 0.01)
            size, record = op.n_dofs, op.solver_provenance()
        seconds = time.perf_counter() - begin
    peak = _vm_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"size": size, "time_s": seconds, "baseline_rss_kb": baseline,
            "peak_rss_kb": peak, "net_peak_bytes": (peak - baseline) * 1024,
            "backend": (record or {}).get("backend"),
            "factor_memory_bytes": (record or {}).get("memory_bytes")}  # fmt: skip


def measure_scaling() -> None:
    """Time and memory against size, one fresh process per size (``--child``)."""
    solvers = []
    for key, label, sizes in SCALING:
        rows = []
        for cells in sizes:
            result = subprocess.run([sys.executable, __file__, "--child", key, str(cells)],
                                    capture_output=True, text=True, timeout=3000)  # fmt: skip
            if result.returncode != 0:
                print(key, cells, "failed:", result.stderr[-500:])
                break
            rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(key, rows[-1]["size"], rows[-1]["time_s"], rows[-1]["net_peak_bytes"] / 1e9)
        solvers.append({"key": key, "label": label, "size_unit": "dofs", "rows": rows})
    _save("scaling", {"meta": _machine(), "solvers": solvers})


def _issue18(name: str) -> dict | None:
    path = RESULTS / ISSUE18[name]
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _load_text(meta: dict) -> str:
    load = ", ".join(f"{x:.1f}" for x in meta["loadavg"])
    pools = ", ".join(f"{p['api']} {p['threads']}" for p in meta["threadpools"])
    return f"{meta['date']}, load averages {load} on {meta['cpus']} cores, threads: {pools}"


EXTRAS = [
    ("cholmod", "scikit-sparse ≥ 0.4.16 (CHOLMOD, SuiteSparse)",
     "`pip install 'gan_pde[cholmod]'`; no wheel: builds against SuiteSparse "
     "(`apt-get install libsuitesparse-dev`; 0.4.x for SuiteSparse 5, 0.5 needs 7)",
     "scikit-sparse BSD-2; CHOLMOD's Supernodal module GPL-2+ (the rest LGPL-2.1+): a "
     "program that uses it is subject to the GPL when distributed"),
    ("pardiso", "pypardiso ≥ 0.4 (MKL PARDISO)",
     "`pip install 'gan_pde[pardiso]'`; wheels (mkl: ~230 MB, with intel-openmp and tbb)",
     "pypardiso BSD-3; mkl and tbb Intel Simplified Software License (redistributable, "
     "not open source); intel-openmp Intel EULA for Developer Tools"),
    ("superlu", "scipy (SuperLU) with the package's nested dissection", "always", "BSD-3"),
    ("amg", "pyamg (smoothed aggregation, CG)", "always", "MIT"),
]  # fmt: skip


def extras_lines() -> list[str]:
    rows = [
        "| backend | library | install | licence |",
        "|---|---|---|---|",
        *[f"| `{name}` | {lib} | {how} | {lic} |" for name, lib, how, lic in EXTRAS],
    ]
    return [
        "`gan_pde.fem.solvers.linear_solver(name)` makes the solver of every SPD solve and",
        "shift-invert (spectrum, adaptive ξ_min, JSD Newton, stationary Fokker–Planck;",
        '`solver=` on each); `"auto"` takes CHOLMOD, then PARDISO, then SuperLU, and AMG for',
        "3D systems beyond `AMG_MIN_3D` dofs.  `pip install 'gan_pde[fast]'` installs both",
        "fast backends; the default install is unchanged.  The MIT package does not depend",
        "on the GPL or Intel-licensed code: it imports them only when asked to.",
        "",
        *rows,
        "",
    ]


def _status(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "**not met**")


def issue18_targets() -> list[str]:
    """The rows of issue 18's targets from the ``--measure`` results present."""
    rows = ["| target | measured | baseline (same run) | ratio | status |", "|---|---|---|---|---|"]
    spec = _issue18("spectrum2d")
    if spec is not None:
        med = spec["median_s"]
        ours = med["gan_pde"]
        residual = max(r["residual"] for r in spec["runs"]["gan_pde"])
        backend = spec["runs"]["gan_pde"][0]["linear_solver"]["backend"]
        n = len(spec["runs"]["gan_pde"])
        base = med["skfem_eigsh"]
        rows.append(f"| 2D ξ_min, {spec['dofs']:,} P1 dofs, assembly included, ≥ 4× scikit-fem "
                    f"+ eigsh | {ours:.1f} s (median of {n}; {backend}; residual "
                    f"{residual:.0e}) | {base:.1f} s | {base / ours:.2f}× | "
                    f"{_status(base / ours >= 4 and residual <= 1e-8)} |")  # fmt: skip
        if "dolfinx" in med:
            peer = med["dolfinx"]
            found = [r["residual"] for r in spec["runs"]["dolfinx"] if r["residual"] is not None]
            # (runs before the script's fix of 2026-12-07 did not record it)
            peer_res = f"residual {max(found):.0e}" if found else "residual not recorded"
            rows.append(f"| 2D ξ_min, same problem, ≥ 1.5× DOLFINx + SLEPc + MUMPS | "
                        f"{ours:.1f} s | {peer:.1f} s ({peer_res}) | "
                        f"{peer / ours:.2f}× | {_status(peer / ours >= 1.5)} |")  # fmt: skip
    three = _issue18("spectrum3d")
    if three is not None:
        for row in three["rows"]:
            if "error" in row:
                rows.append(f"| 3D ξ_min, {row['solver']} | failed: {row['error']} |  |  | — |")
                continue
            role = row.get("role", "target" if row["dofs"] >= 9e5 else "")
            target = role == "target"
            label = "3D ξ_min at 1e6 P1 dofs < 45 s, residual ≤ 1e-8" if target else (
                f"3D ξ_min, {row['dofs']:,} P1 dofs (no target)")  # fmt: skip
            if role == "largest":
                label = (
                    "3D ξ_min, the largest problem that fits in 24 GB (the memory guard's "
                    f"limit with 5 % spare; {row['available_gb']:.1f} GB were free)"
                )
            met = (row["seconds"] < 45 and row["residual"] <= 1e-8) if target else None
            rows.append(f"| {label} | {row['seconds']:.0f} s at {row['dofs']:,} dofs "
                        f"({row['method']}, {row['linear_solver']['backend']}; residual "
                        f"{row['residual']:.0e}, peak {row['peak_rss_gb']:.1f} GB) |  |  | "
                        f"{_status(met)} |")  # fmt: skip
    jsd = _issue18("jsd")
    if jsd is not None:
        fast, ref = jsd["fast"], jsd["reference"]
        rows.append(f"| JSD flow, {jsd['dofs']:,} 2D dofs: set-up before the first step ≤ 5 s "
                    f"| {fast['setup_s']:.1f} s ({fast['assembly']}) | reference set-up: "
                    f"{ref['setup_s']:.1f} s | {ref['setup_s'] / fast['setup_s']:.1f}× | "
                    f"{_status(fast['setup_s'] <= 5)} |")  # fmt: skip
        peers = jsd.get("dolfinx", {})
        if peers and "total_s" in fast:
            best = min(peers.values(), key=lambda p: p["hundred_steps_s"])
            ours = fast["total_s"] * 100 / fast["steps"]
            rows.append(f"| JSD flow, 100 steps with set-up ≥ 5× DOLFINx + SNES | "
                        f"{ours:.0f} s ({fast['steps']} steps measured; median step "
                        f"{np.median(fast['step_s']):.2f} s) | {best['hundred_steps_s']:.0f} s "
                        f"({best['linear']}: set-up {best['setup_s']:.1f} s + 100 × "
                        f"{best['median_step_s']:.1f} s, {best['steps']} steps measured) | "
                        f"{best['hundred_steps_s'] / ours:.1f}× | "
                        f"{_status(best['hundred_steps_s'] / ours >= 5)} |")  # fmt: skip
    p2 = _issue18("p2")
    if p2 is not None:
        p1_row, p2_row = p2["rows"]
        ratio = p2_row["spectrum_s"] / p1_row["spectrum_s"]
        rows.append(f"| P2 spectrum within 2× of P1 at equal dofs | P2 "
                    f"{p2_row['spectrum_s']:.1f} s ({p2_row['dofs']:,} dofs) | P1 "
                    f"{p1_row['spectrum_s']:.1f} s ({p1_row['dofs']:,}) | {ratio:.2f} | "
                    f"{_status(ratio <= 2)} |")  # fmt: skip
        ratio = p2_row["jsd_step_median_s"] / p1_row["jsd_step_median_s"]
        rows.append(f"| P2 JSD step within 2× of P1 at equal dofs | P2 "
                    f"{p2_row['jsd_step_median_s']:.2f} s | P1 {p1_row['jsd_step_median_s']:.2f} s"
                    f" | {ratio:.2f} | {_status(ratio <= 2)} |")  # fmt: skip
    return rows


def issue18_scaling() -> tuple[list[str], dict[str, bytes]]:
    """Fitted time and memory exponents per operation and one figure per operation."""
    data = _issue18("scaling")
    if data is None:
        return [], {}
    rows = [
        "| operation | sizes | time exponent | memory exponent | net peak at the largest | "
        "largest in 24 GB (memory law) |",
        "|---|---|---|---|---|---|",
    ]
    figures = {}
    for solver in data["solvers"]:
        measured = solver["rows"]
        if len(measured) < 2:
            continue
        sizes = np.array([r["size"] for r in measured], float)
        times = np.array([r["time_s"] for r in measured], float)
        memory = np.array([max(r["net_peak_bytes"], 1.0) for r in measured], float)
        p_t, c_t = fit_power_law(sizes, times)
        used = memory >= WELL_ABOVE * 1024.0 * measured[0]["baseline_rss_kb"]
        if used.sum() >= 2:
            p_m, c_m = fit_power_law(sizes[used], memory[used])
            largest = f"≈ {_size(largest_size(p_m, c_m))} dofs (extrapolated)"
            mem = f"{p_m:.2f}"
        else:
            p_m = c_m = None
            largest, mem = "—", "—"
        rows.append(f"| {solver['label']} | {_size(sizes[0])}–{_size(sizes[-1])} dofs | "
                    f"{p_t:.2f} | {mem} | {memory[-1] / 1e9:.2f} GB | {largest} |")  # fmt: skip
        figures[f"img/issue18_{solver['key']}.png"] = _scaling_figure(
            solver["label"], sizes, times, memory, (p_t, c_t), (p_m, c_m), used
        )
    lines = [
        f"One fresh process per size ({_load_text(data['meta'])}); time of the whole",
        "operation, net peak RSS above the RSS after the imports; exponents are",
        "least-squares slopes in log–log.",
        "",
        *rows,
        "",
        *[f"![{path}]({path})" for path in figures],
        "",
    ]
    return lines, figures


def _scaling_figure(label, sizes, times, memory, time_fit, memory_fit_, used) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 3.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    line = np.geomspace(sizes.min(), sizes.max(), 50)
    left.loglog(sizes, times, "o", color="C0")
    left.loglog(line, time_fit[1] * line ** time_fit[0], "--", color="C0",
                label=f"p = {time_fit[0]:.2f}")  # fmt: skip
    left.set(xlabel="dofs", ylabel="wall time (s)", title="time")
    right.loglog(sizes, memory, "o", color="C1")
    if memory_fit_[0] is not None:
        right.loglog(line, memory_fit_[1] * line ** memory_fit_[0], "--", color="C1",
                     label=f"p = {memory_fit_[0]:.2f}")  # fmt: skip
    right.set(xlabel="dofs", ylabel="net peak RSS (bytes)", title="memory")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    figure.suptitle(label)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def issue18_section() -> list[str]:
    """Issue 18: the solver interface, its extras and licences, the targets, the scaling
    and what is left (empty parts where a ``--measure`` result is missing)."""
    lines = ["## Fast sparse backends (issue 18)", "", *extras_lines()]
    measured = [name for name in ISSUE18 if _issue18(name) is not None]
    if measured:
        lines += [
            "### Targets",
            "",
            "Measured by `python benchmarks/performance.py --measure spectrum2d spectrum3d jsd "
            "p2 scaling`; every gan_pde number beside its baselines from the same run "
            "(DOLFINx 0.11 from the `dolfinx-solver-real` wheel in its own venv, "
            "`benchmarks/dolfinx_baseline.py`, one MPI rank).",
            "",
            *issue18_targets(),
            "",
            *[f"- `{ISSUE18[name]}`: {_load_text(_issue18(name)['meta'])}" for name in measured],
            "",
        ]
    scaling_lines, _ = issue18_scaling()
    if scaling_lines:
        lines += ["### Time and memory against size", "", *scaling_lines]
    lines += issue18_gaps()
    return lines


def issue18_gaps() -> list[str]:
    """Where a target is missed: the profile, the physical lower bound, what would close it."""
    path = HERE / "results" / "issue18_gaps.md"
    if not path.exists():
        return []
    return ["### Where the targets are missed, and why", "", *path.read_text().splitlines(), ""]


def mpi_section() -> list[str]:
    """Issue 19: the MPI backend's largest runs on 1 and 2 ranks and its projection, read
    from ``mpi_scaling.json`` (written by ``benchmarks/mpi_scaling.py``)."""
    path = HERE / "results" / "mpi_scaling.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        "## Beyond one machine: MPI and Dask (issue 19)",
        "",
        "The PETSc/SLEPc backend (`gan_pde.mpi`, [MPI backend](mpi.md)) on the 3D problem of "
        "`bench_spectrum_3d.py`, one thread per rank, measured on this 2-core machine while "
        f"it was shared with other jobs ({data['meta']['note']}):",
        "",
        "| job | dofs | ranks | total s | assembly s | peak RSS per rank (GB) |",
        "|---|---|---|---|---|---|",
    ]
    for job in ("spectrum", "jsd"):
        rows = [r for r in data["rows"] if r["job"] == job]
        largest = max(r["dofs"] for r in rows)
        for r in sorted((r for r in rows if r["dofs"] == largest), key=lambda r: r["ranks"]):
            rss = " / ".join(f"{x:.2f}" for x in r["peak_rss_gb_per_rank"])
            lines.append(
                f"| {job} | {r['dofs']:,} | {r['ranks']} | {r['total_seconds']:.0f} | "
                f"{r['assembly_seconds']:.1f} | {rss} |"
            )
    projection = data.get("projection", {})
    lines += [
        "",
        "Memory per rank halves from 1 to 2 ranks; time does not here (two ranks time-sliced "
        "with other jobs wait in every global reduction), so these rows measure the "
        "machine's contention, not the method.  The cost model fitted to the measured "
        "per-dof costs projects, on nodes of 64 cores and 256 GB:",
        "",
        "| job / dofs | nodes | time s (ideal – measured efficiency) | GB per rank | rank 0 GB "
        "| rank 0 fits |",
        "|---|---|---|---|---|---|",
    ]
    for key, entries in projection.items():
        for e in entries:
            if e["nodes"] in (1, 16):
                lines.append(
                    f"| {key} | {e['nodes']} | {e['seconds_ideal']:.0f} – "
                    f"{e['seconds_measured_efficiency']:.0f} | {e['memory_gb_per_rank']:.2f} | "
                    f"{e['memory_gb_rank0']:.0f} | {'yes' if e['node0_fits'] else '**no**'} |"
                )
    lines += [
        "",
        "1e8 dofs are blocked by rank 0 building and partitioning the whole mesh (3.5 kB per "
        "dof); the model and the full tables are in "
        "[MPI backend](mpi.md#strong-scaling-and-a-cost-model).  Parameter sweeps and "
        "network ensembles run on a Dask cluster ([Sweeps on a Dask cluster](sweeps.md)).",
        "",
    ]
    return lines


MEASURES = {
    "spectrum2d": measure_spectrum2d,
    "spectrum3d": measure_spectrum3d,
    "jsd": measure_jsd,
    "p2": measure_p2,
    "scaling": measure_scaling,
}


USAGE = """usage: python benchmarks/performance.py [--run] [--measure NAME ...]

Rewrites docs/performance.md from the JSON results in benchmarks/results/.
  --run            re-run the benchmark scripts first
  --measure NAME   re-measure issue 18's targets first: spectrum2d spectrum3d jsd p2 scaling
"""


def main() -> None:
    if "-h" in sys.argv or "--help" in sys.argv:
        print(USAGE, end="")
        return
    unknown = [
        a for a in sys.argv[1:] if a.startswith("-") and a not in ("--run", "--measure", "--child")
    ]
    if unknown:
        sys.exit(f"performance.py: unknown option {unknown[0]}\n{USAGE}")
    if "--child" in sys.argv:
        key, cells, *extra = sys.argv[sys.argv.index("--child") + 1 :]
        if key.startswith("spectrum2d:"):
            k, tol = extra
            print(json.dumps(_spectrum2d_child(key.split(":")[1], int(cells), int(k), float(tol))))
        else:
            print(json.dumps(_scaling_child(key, int(cells))))
        return
    if "--measure" in sys.argv:
        for name in sys.argv[sys.argv.index("--measure") + 1 :]:
            MEASURES[name]()
    if "--run" in sys.argv:
        for command in RUNS:
            subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], check=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
