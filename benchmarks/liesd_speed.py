"""Time LieSD and LieGAN on nbody2, one CPU thread, in the same process; write JSON.

LieSD: seconds to its answer (fit of its small networks included), the chosen k and the
similarity, per seed. LieGAN (its defaults): seconds until its generators first reach
similarity 0.99, watched with a callback as in benchmarks/liegan_speed.py. The ratio of the
medians is the speed-up; both run here, so it holds on any machine (absolute seconds do not:
a loaded machine makes both slower).
Usage: python benchmarks/liesd_speed.py [--seeds 5] [--liegan-seeds 3] [--out benchmarks/results]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

import symdisco.datasets as datasets
from symdisco.io_utils import atomic_write_json
from symdisco.methods.liesd import LieSD

sys.path.insert(0, str(Path(__file__).parent))
from liegan_speed import OURS, time_to_target  # noqa: E402


def liesd_run(dataset, seed: int, **options) -> dict:
    cpu = time.process_time()
    result = LieSD(seed=seed, **options).fit(dataset, progress=False)
    return {"seed": seed, "seconds": result.seconds, "cpu_seconds": time.process_time() - cpu,
            "chosen_k": result.extras["chosen_k"],
            "similarity": result.similarity, "singular_values": result.extras["singular_values"],
            "gap": result.extras["gap"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--liegan-seeds", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = datasets.load("nbody2")
    liesd_run(dataset, 0)  # warm-up (imports, allocator), not counted
    variants = {"mlp": {}, "neighbours": {"derivatives": "neighbours", "max_samples": 1000}}
    liesd = {name: [liesd_run(dataset, s, **options) for s in range(args.seeds)] for name, options in variants.items()}
    liegan = [time_to_target(dataset, OURS, s) for s in range(args.liegan_seeds)]
    reached = [r["seconds_to_target"] for r in liegan if r["seconds_to_target"] is not None]
    liegan_median = statistics.median(reached) if reached else None
    liegan_total = statistics.median(r["total_seconds"] for r in liegan)
    summary = {"liegan_median_seconds_to_0.99": liegan_median, "liegan_median_total_seconds": liegan_total,
               "liegan_reached": len(reached), "liegan_runs": len(liegan)}
    for name, runs in liesd.items():
        wall = statistics.median(r["seconds"] for r in runs)
        summary[f"liesd_{name}"] = {
            "median_seconds": wall, "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
            "k1_and_0.999": sum(r["chosen_k"] == 1 and (r["similarity"] or 0) >= 0.999 for r in runs),
            "runs": len(runs), "min_similarity": min(r["similarity"] or 0.0 for r in runs),
            "speedup_vs_liegan_to_0.99": liegan_median / wall if liegan_median else None,
            "speedup_vs_liegan_total": liegan_total / wall}
    record = {"benchmark": "liesd_vs_liegan_nbody2", "threads": 1, "torch": torch.__version__,
              "note": "same process; absolute seconds depend on machine load, the ratio much less",
              "summary": summary, "liesd": liesd, "liegan": liegan}
    atomic_write_json(Path(args.out) / "liesd_speed.json", record)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
