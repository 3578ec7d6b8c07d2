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
from pathlib import Path

import torch

import symdisco.datasets as datasets
from symdisco.io_utils import atomic_write_json
from symdisco.methods.liesd import LieSD

sys.path.insert(0, str(Path(__file__).parent))
from liegan_speed import OURS, time_to_target  # noqa: E402


def liesd_run(dataset, seed: int) -> dict:
    result = LieSD(seed=seed).fit(dataset, progress=False)
    return {"seed": seed, "seconds": result.seconds, "chosen_k": result.extras["chosen_k"],
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
    liesd = [liesd_run(dataset, s) for s in range(args.seeds)]
    liegan = [time_to_target(dataset, OURS, s) for s in range(args.liegan_seeds)]
    liesd_median = statistics.median(r["seconds"] for r in liesd)
    reached = [r["seconds_to_target"] for r in liegan if r["seconds_to_target"] is not None]
    liegan_median = statistics.median(reached) if reached else None
    summary = {
        "liesd_median_seconds": liesd_median,
        "liesd_k1_and_0.999": sum(r["chosen_k"] == 1 and r["similarity"] >= 0.999 for r in liesd),
        "liesd_runs": len(liesd),
        "liesd_min_similarity": min(r["similarity"] or 0.0 for r in liesd),
        "liegan_median_seconds_to_0.99": liegan_median,
        "liegan_reached": len(reached), "liegan_runs": len(liegan),
        "speedup": liegan_median / liesd_median if liegan_median else None,
    }
    record = {"benchmark": "liesd_vs_liegan_nbody2", "threads": 1, "torch": torch.__version__,
              "note": "same process; absolute seconds depend on machine load, the ratio much less",
              "summary": summary, "liesd": liesd, "liegan": liegan}
    atomic_write_json(Path(args.out) / "liesd_speed.json", record)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
