"""Issue 10's table of targets against measurements: ``docs/performance.md`` from one command.

    python benchmarks/performance.py          # render the table from benchmarks/results/
    python benchmarks/performance.py --run    # re-run the measurements first (~20 minutes)

Every number comes from a JSON file written by a benchmark script of this folder, which
measures gan_pde and its baseline side by side in the same run (medians, BLAS on one
thread).  ``--run`` re-runs the parts the targets need:

* ``bench_spectrum.py --sizes 1e6 --elements P1 --no-lobpcg --repeat-1e6 3``,
* ``bench_jsd_flow.py --steps-1e6``,
* ``bench_meanfield.py``, ``bench_nn.py`` and ``bench_poincare_nn.py``.

The fitted exponents are least-squares slopes of log(time) against log(size).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
RESULTS = HERE / "results"
OUT = HERE.parent / "docs" / "performance.md"

RUNS = [
    ["bench_spectrum.py", "--sizes", "1e6", "--elements", "P1", "--no-lobpcg",
     "--repeat-1e6", "3", "--out", str(RESULTS / "spectrum_2d_1e6_p1.json")],
    ["bench_jsd_flow.py", "--steps-1e6"],
    ["bench_meanfield.py"],
    ["bench_nn.py"],
    ["bench_poincare_nn.py"],
]  # fmt: skip


def _load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


def _slope(sizes, times) -> float:
    return float(np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.asarray(times)), 1)[0])


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
    rows.append(_row("2D ξ_min, 1e6 P1 dofs, < 20 s", f"{ours:.1f} s (median of 3)",
                     f"scikit-fem + eigsh: {base:.1f} s", f"{base / ours:.2f}×", ours < 20,
                     "spectrum_2d_1e6_p1.json"))  # fmt: skip
    rows.append(_row("2D ξ_min, 1e6 P1: ≥ 3× the baseline", f"{base / ours:.2f}×", "", "",
                     base / ours >= 3, "spectrum_2d_1e6_p1.json"))  # fmt: skip
    full = {(r["element"], r["target_dofs"]): r for r in _load("spectrum_2d.json")["rows"]}
    p2 = full[("P2", 1e6)]
    rows.append(_row("2D ξ_min, 1e6 P2 dofs (no target)", f"{p2['gan_pde_s']:.1f} s",
                     f"{p2['baseline_s']:.1f} s", f"{p2['speedup']:.2f}×", None,
                     "spectrum_2d.json"))  # fmt: skip
    big3d = max(_load("spectrum_3d.json")["rows"], key=lambda r: r["dofs"])
    rows.append(_row("3D ξ_min at 1e6 dofs < 60 s", f"not measured; {big3d['dofs']:,} dofs "
                     f"in {big3d['lobpcg_s']:.1f} s (LOBPCG)", "", "", False,
                     "spectrum_3d.json"))  # fmt: skip
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


def exponents() -> list[str]:
    rows = ["| solver | sizes | fitted exponent (time ∝ size^p) |", "|---|---|---|"]
    full = _load("spectrum_2d.json")["rows"]
    for element in ("P1", "P2"):
        sel = [r for r in full if r["element"] == element]
        for key, name in (("gan_pde_s", "gan_pde"), ("baseline_s", "baseline")):
            p = _slope([r["dofs"] for r in sel], [r[key] for r in sel])
            rows.append(f"| 2D spectrum {element}, {name} | 1e4–1e6 dofs | {p:.2f} |")
    steps = [s for s in _load("jsd_flow.json")["steps"] if s["dim"] == 1]
    p = _slope([s["n_dofs"] for s in steps], [s["seconds_per_step_median"] for s in steps])
    rows.append(f"| JSD flow 1D, per step | 1e3–1e5 dofs | {p:.2f} |")
    mf = _load("meanfield.json")
    for key in ("fv_2d", "fv_3d"):
        sel = mf[key]
        p = _slope([r["cells_per_law"] for r in sel], [r["median_s_per_step"] for r in sel])
        span = f"{sel[0]['cells_per_law']:.0e}–{sel[-1]['cells_per_law']:.0e} cells"
        rows.append(f"| mean field {key[3:]}, per step | {span} | {p:.2f} |")
    part = mf["particles"]
    p = _slope([r["N"] for r in part], [r["batch_1_s_per_step"] for r in part])
    rows.append(f"| mean-field particles, per step | N = 1e3–1e6 | {p:.2f} |")
    return rows


def render() -> str:
    from gan_pde.resources import BYTES_PER_DOF

    memory = 24e9
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
        "## Scaling",
        "",
        *exponents(),
        "",
        "## Largest sizes on a 24 GB machine",
        "",
        "From the measured peak memory per dof of a spectrum or JSD-flow solve",
        "(`gan_pde.resources.BYTES_PER_DOF`; larger requests raise `InsufficientMemoryError`",
        "before allocating):",
        "",
        "| dimension | bytes per dof | largest size |",
        "|---|---|---|",
        *[
            f"| {dim}D | {b:.1e} | {memory / b:.1e} dofs |"
            for dim, b in sorted(BYTES_PER_DOF.items())
        ],
        "",
        "## Where the time goes, and what would close the gaps",
        "",
        "- 2D spectrum at 1e6 P1 (profile of one 17.4 s run): factorisation 5.1 s on the",
        "  nested-dissection ordering, 36 ARPACK solves 5.6 s (0.156 s each: memory-bound",
        "  on the 1.4 GB factor), assembly 4.1 s with the ordering overlapped on the second",
        "  core, basis 1.1 s.  The ≥3× over the baseline needs fewer triangular solves (a",
        "  block method that reuses each sweep of the factor for several vectors), a",
        "  supernodal Cholesky, or nested iteration from a coarse mesh.",
        "- 3D at 1e6 dofs: LOBPCG + AMG; not measured yet (the 1e5-dof P2 run takes ~20 s",
        "  and the memory estimate for 1e6 is 16 GB).",
        "- Ensembles: on one CPU core the batched ensemble is compute-bound beyond tiny",
        "  networks; the ≥10× at realistic sizes needs the GPU run.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    if "--run" in sys.argv:
        for command in RUNS:
            subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], check=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
