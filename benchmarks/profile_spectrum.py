"""Where the time of a large ξ_min solve goes: the profile behind docs/performance.md.

Runs ``weighted_laplacian_spectrum`` once under :mod:`cProfile` on the 2D P1 problem of
``bench_spectrum.py`` at 1e6 dofs and on the 3D P1 problem of ``bench_spectrum_3d.py`` at
1e6 dofs (``--skip-3d`` leaves the ~2 minute 3D run out), BLAS on one thread, and groups the
main thread's time by what it is spent on (factorisation, triangular solves, sparse
products, ARPACK/LOBPCG internals, AMG cycles, assembly, waiting for the second core).
cProfile sees the main thread only: the ordering and the scikit-fem basis that run on the
second core appear as the main thread's wait for them.  Results go to
``benchmarks/results/profile_spectrum.json``.

    python benchmarks/profile_spectrum.py
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from pathlib import Path

import bench_spectrum
import bench_spectrum_3d
from threadpoolctl import threadpool_limits

import gan_pde as gp

#: (group, match on "file:function" of a profiled function, use cumulative time).
GROUPS = (
    ("assembly on the main thread", "forms.py:assemble_p1_simplex", True),
    ("waiting for the second core (ordering, basis)", "acquire", False),
    ("factorisation (SuperLU, one thread)", "gstrf", False),
    ("triangular solves (SuperLU)", "'solve' of 'SuperLU' objects", False),
    ("sparse matrix-vector products", "csr_matvec", False),
    ("ARPACK's own work (orthogonalisation)", "dsaupd_wrap", False),
    ("AMG setup (pyamg)", "smoothed_aggregation_solver", True),
    ("AMG V-cycles (pyamg, holds the GIL)", "multilevel.py:solve", True),
    ("LOBPCG's dense algebra", "lobpcg.py:lobpcg", False),
)


def profile(density, mesh) -> dict:
    """Solve once under cProfile; the grouped seconds and call counts."""
    profiler = cProfile.Profile()
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        profiler.enable()
        spectrum = gp.weighted_laplacian_spectrum(density, mesh, k=bench_spectrum.K, element="P1")
        profiler.disable()
        total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats
    groups = {}
    for name, pattern, cumulative in GROUPS:
        seconds, calls = 0.0, 0
        for (filename, _, function), (_, ncalls, tottime, cumtime, _) in stats.items():
            if pattern in f"{Path(filename).name}:{function}" or pattern in function:
                seconds += cumtime if cumulative else tottime
                calls += ncalls
        if calls:
            groups[name] = {"seconds": seconds, "calls": calls}
    return {
        "dofs": spectrum.n_dofs,
        "method": spectrum.method,
        "total_s": total,
        "assembly_s": spectrum.info["assembly_seconds"],
        "solve_s": spectrum.info["solve_seconds"],
        "relative_residual": bench_spectrum.relative_residual(spectrum),
        "groups": groups,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-3d", action="store_true")
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results/profile_spectrum.json")
    )
    args = parser.parse_args()
    runs = {"2d_p1_1e6": profile(bench_spectrum.DENSITY, _rectangle())}
    print(json.dumps(runs["2d_p1_1e6"]), flush=True)
    if not args.skip_3d:
        runs["3d_p1_1e6"] = profile(bench_spectrum_3d.DENSITY, _box())
        print(json.dumps(runs["3d_p1_1e6"]), flush=True)
    Path(args.out).write_text(json.dumps({"meta": bench_spectrum.meta(), "runs": runs}, indent=2))


def _rectangle():
    n = bench_spectrum.CELLS["P1"][1e6]
    return gp.mesh.rectangle(*bench_spectrum.DOMAIN, n=(n, n))


def _box():
    return gp.mesh.box(*bench_spectrum_3d.DOMAIN, n=(100, 100, 100))


if __name__ == "__main__":
    main()
