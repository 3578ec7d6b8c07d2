"""Time and memory of the reaction-diffusion simulator (issue: 100 x 100, >= 5000 steps, <= 60 s).

    python benchmarks/bench_reaction_diffusion.py [--size 100] [--steps 5000] [--out FILE]

Writes JSON (default benchmarks/results/reaction_diffusion.json): seconds, snapshots per
second, bytes of the float32 output, peak resident memory, the spiral's period and the share
of variance in the two leading principal components.  Single-threaded on purpose.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from symdisco.datasets.reaction_diffusion import simulate_reaction_diffusion  # noqa: E402
from symdisco.io_utils import atomic_write_json


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--substeps", type=int, default=1)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "reaction_diffusion.json"))
    args = parser.parse_args(argv)

    start = time.perf_counter()
    sim = simulate_reaction_diffusion(size=args.size, steps=args.steps, substeps=args.substeps)
    seconds = time.perf_counter() - start

    x = sim["x"]
    u = x[:, 0, args.size // 3, args.size // 3].astype(np.float64)
    up = np.where((u[:-1] < 0) & (u[1:] >= 0))[0]
    periods = np.diff(up + u[up] / (u[up] - u[up + 1])) * 0.05
    flat = x[::10].reshape(len(x[::10]), -1)
    singular = np.linalg.svd(flat - flat.mean(0), compute_uv=False)
    share = float((singular[:2] ** 2).sum() / (singular ** 2).sum())
    report = {
        "benchmark": "reaction_diffusion_simulation",
        "size": args.size, "steps": args.steps, "substeps": args.substeps,
        "seconds": round(seconds, 3), "limit_seconds": 60, "passes": seconds <= 60,
        "snapshots_per_second": round(args.steps / seconds, 1),
        "output_bytes": int(x.nbytes + sim["dx"].nbytes), "dtype": str(x.dtype),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "max_amplitude": float(np.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2).max()),
        "period_mean": float(periods.mean()), "period_relative_std": float(periods.std() / periods.mean()),
        "variance_share_two_components": round(share, 5),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average": os.getloadavg()[0]},
    }
    atomic_write_json(args.out, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
