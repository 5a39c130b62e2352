"""Benchmark: training steps per second of the gan_pde.nn trainers, single vs ensemble.

For each trainer (GAN, Algorithm 2, particle generator, WGAN with clipping, LSGAN with
Heun) on a tiny 1D problem, measured in the same run:

* ``single``: steps per second of one run (median of 3 repeats);
* ``loop``: wall time of 64 single runs one after the other (seeds 0..63);
* ``ensemble``: wall time of the same 64 runs as one vmapped call
  (:func:`gan_pde.nn.train_ensemble`), and the speed-up ``loop / ensemble`` (the issue asks
  for at least 10x).

Two sizes: ``tiny`` (the size of the tests: 64-sample batches, one hidden layer of 16; WGAN
with N = 16 neurons) and ``small`` (256-sample batches, two hidden layers of 32; N = 32),
where the arithmetic starts to count.  torch and BLAS on one thread; results to
``benchmarks/results/nn.json`` (table in ``docs/nn.md``).  On a machine with CUDA,
``--device cuda`` measures there (``benchmarks/results/nn_cuda.json``).

    python benchmarks/bench_nn.py                 # ~4 minutes on one core
    python benchmarks/bench_nn.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from threadpoolctl import threadpool_info, threadpool_limits

import gan_pde as gp
from gan_pde.nn import MLP, train_ensemble

TARGET = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
START = gp.Gaussian(mean=[0.0], cov=[[1.0]])
RUNS = 64
STEPS = 30
SIZES = {"tiny": {"batch": 64, "hidden": (16,)}, "small": {"batch": 256, "hidden": (32, 32)}}


def problem(name: str, size: str, device: str) -> tuple[tuple, dict]:
    """(args, options) of a trainer at a size."""
    batch, hidden = SIZES[size]["batch"], SIZES[size]["hidden"]
    common = dict(steps=STEPS, n_data=4000, device=device, save_steps=2)
    if name in ("gan", "algorithm2", "particles"):
        common.update(batch_size=batch, discriminator=MLP(1, 1, hidden=hidden))
    if name == "gan":
        return (TARGET,), dict(generator=MLP(1, 1, hidden=hidden), n_eval=batch, **common)
    if name == "algorithm2":
        return (TARGET,), dict(
            epsilon=0.1, generator=MLP(1, 1, hidden=hidden), n_eval=batch, **common
        )
    if name == "particles":
        return (TARGET, START), dict(epsilon=0.1, n_particles=batch, **common)
    if name == "wgan":
        return (TARGET,), dict(width=hidden[0], batch_size=batch, n_eval=batch, **common)
    return (TARGET,), dict(
        alpha=0.25,
        beta=-0.5,
        gamma=1.0,
        integrator="heun",
        lr=0.01,
        discriminator=MLP(1, 1, hidden=hidden),
        generator=MLP(1, 1, hidden=hidden),
        batch_size=batch,
        n_eval=batch,
        **common,
    )


def trainer(name: str):
    from gan_pde.nn import train_algorithm2, train_gan, train_lsgan, train_particles, train_wgan

    return {
        "gan": train_gan,
        "algorithm2": train_algorithm2,
        "particles": train_particles,
        "wgan": train_wgan,
        "lsgan": train_lsgan,
    }[name]


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(name: str, size: str, device: str) -> dict:
    args, options = problem(name, size, device)
    train = trainer(name)
    train(*args, **{**options, "steps": 2})  # warm-up (first-call costs)
    singles = []
    for seed in range(3):
        synchronize(device)
        start = time.perf_counter()
        train(*args, **options, seed=seed, data_seed=0)
        synchronize(device)
        singles.append(time.perf_counter() - start)
    synchronize(device)
    start = time.perf_counter()
    for seed in range(RUNS):
        train(*args, **options, seed=seed, data_seed=0)
    synchronize(device)
    loop = time.perf_counter() - start
    train_ensemble(name, 2, *args, **{**options, "steps": 2})
    batched = []
    for _ in range(3):
        synchronize(device)
        start = time.perf_counter()
        train_ensemble(name, RUNS, *args, **options, seed=0)
        synchronize(device)
        batched.append(time.perf_counter() - start)
    ensemble = statistics.median(batched)
    return {
        "single_steps_per_s": STEPS / statistics.median(singles),
        "loop_s": loop,
        "ensemble_s": ensemble,
        "ensemble_run_steps_per_s": RUNS * STEPS / ensemble,
        "speedup": loop / ensemble,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES))
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "device": args.device,
            "cpu": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
        },
        "runs": RUNS,
        "steps": STEPS,
        "sizes": {k: {"batch": v["batch"], "hidden": list(v["hidden"])} for k, v in SIZES.items()},
        "results": {},
    }
    with threadpool_limits(1):
        results["machine"]["blas"] = [
            {k: info[k] for k in ("internal_api", "num_threads")} for info in threadpool_info()
        ]
        for size in args.sizes:
            results["results"][size] = {}
            for name in ("gan", "algorithm2", "particles", "wgan", "lsgan"):
                row = measure(name, size, args.device)
                results["results"][size][name] = row
                print(
                    f"{size:5s} {name:10s} single {row['single_steps_per_s']:8.1f} steps/s  "
                    f"loop of {RUNS} {row['loop_s']:7.2f} s  ensemble {row['ensemble_s']:6.2f} s"
                    f"  speed-up {row['speedup']:5.1f}x",
                    flush=True,
                )
    suffix = "" if args.device == "cpu" else f"_{args.device.split(':')[0]}"
    out = Path(__file__).parent / "results" / f"nn{suffix}.json"
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    speedups = [r["speedup"] for s in results["results"].values() for r in s.values()]
    print(f"wrote {out}; speed-ups {min(speedups):.1f}x to {max(speedups):.1f}x")


if __name__ == "__main__":
    main()
