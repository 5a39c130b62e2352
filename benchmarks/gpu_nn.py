"""One short GPU session for gan_pde.nn: speed on the device and a larger JSD comparison.

Run on a machine with CUDA (it falls back to the CPU at tiny size, so it can be tried
anywhere)::

    python benchmarks/gpu_nn.py [--out DIR]      # DIR defaults to $OUT or benchmarks/results

It writes ``DIR/gpu_nn.json`` and figures ``DIR/gpu_nn_speed.png``,
``DIR/gpu_nn_jsd.png``:

1. steps per second of every trainer for a single run and for an ensemble of 64 runs in one
   vmapped call, at the sizes of ``bench_nn.py`` (tiny, small) plus a ``large`` size
   (1024-sample batches, two hidden layers of 128) where the device should pay off;
2. :func:`gan_pde.compare.experiments.jsd_comparison` with 4000 particles (1000 on CPU):
   W₁ of the particle generator, the GAN on the same table and Algorithm 2 to the JSD flow
   over time, and the particle-count / discriminator-step / ε study;
3. :func:`gan_pde.compare.experiments.wgan_comparison` at t ≤ 1 with N up to 12800 neurons
   (800 on CPU): the fitted slope of W₂(neuron laws, mean-field PDE) against N.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

import bench_nn  # noqa: E402

from gan_pde.compare.experiments import jsd_comparison, wgan_comparison  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.environ.get("OUT", ""))
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(__file__).parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    torch.set_num_threads(1 if not cuda else torch.get_num_threads())
    bench_nn.SIZES["large"] = {"batch": 1024, "hidden": (128, 128)}
    sizes = ["tiny", "small", "large"] if cuda else ["tiny"]
    if not cuda:
        bench_nn.RUNS, bench_nn.STEPS = 8, 5
    record: dict = {
        "device": torch.cuda.get_device_name(0) if cuda else "cpu (fallback, tiny size)",
        "torch": torch.__version__,
        "runs": bench_nn.RUNS,
        "steps": bench_nn.STEPS,
        "speed": {},
    }
    start = time.perf_counter()
    for size in sizes:
        record["speed"][size] = {}
        for name in ("gan", "algorithm2", "particles", "wgan", "lsgan"):
            row = bench_nn.measure(name, size, device)
            record["speed"][size][name] = row
            print(size, name, {k: round(v, 3) for k, v in row.items()}, flush=True)
    particles = 4000 if cuda else 300
    result = jsd_comparison(
        steps=50 if cuda else 10,
        n_particles=particles,
        particle_counts=(1000, 4000, 16000) if cuda else (100, 300),
        discriminator_step_counts=(1, 5, 20) if cuda else (1, 3),
        epsilons=(0.2, 0.1, 0.05) if cuda else (0.2, 0.1),
        device=device,
    )
    record["jsd"] = result.summary()
    widths = (200, 800, 3200, 12800) if cuda else (50, 200, 800)
    record["wgan"] = wgan_comparison(widths=widths, t_final=1.0, saves=3, device=device).summary()
    record["wall_s"] = time.perf_counter() - start
    (out / "gpu_nn.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    _figures(record, result, out)
    print(f"wrote {out / 'gpu_nn.json'} in {record['wall_s']:.1f} s")


def _figures(record: dict, result, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for size, rows in record["speed"].items():
        names = list(rows)
        ax.semilogy(
            names, [rows[n]["single_steps_per_s"] for n in names], "o-", label=f"{size}: single"
        )
        ax.semilogy(
            names,
            [rows[n]["ensemble_run_steps_per_s"] for n in names],
            "s--",
            label=f"{size}: ensemble (run-steps/s)",
        )
    ax.set_ylabel("steps per second")
    ax.set_title(record["device"])
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "gpu_nn_speed.png")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in result.w1.items():
        ax.plot(result.times, values, "o-", label=name)
    ax.set_xlabel("t = kε")
    ax.set_ylabel("W1 to the JSD flow")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "gpu_nn_jsd.png")
    plt.close(fig)


if __name__ == "__main__":
    main()
