"""Time LieSD and LieGAN on nbody2, one CPU thread, in the same process; write JSON.

LieSD (default MLP derivatives, and neighbour fits): seconds to its answer (fit of its small
networks included), the chosen k and the similarity, per seed. LieGAN (its defaults): seconds
until its generators first reach similarity 0.99 (an oracle watching the truth through a
callback, as in benchmarks/liegan_speed.py) and to its own answer. Wall and CPU seconds
(process_time; one thread, so CPU ~ wall on an idle core); ratios of CPU medians.
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
from liegan_speed import OURS  # noqa: E402

from symdisco.lie.compare import similarity  # noqa: E402
from symdisco.methods.liegan import LieGAN  # noqa: E402


def liegan_to_target(dataset, seed: int, target: float = 0.99) -> dict:
    """LieGAN (its defaults) watched by a callback, as in liegan_speed.py: wall and CPU seconds
    until its generators first reach `target` similarity, and in all."""
    hit = {}
    wall, cpu = time.perf_counter(), time.process_time()

    def watch(step, basis):
        if "seconds" not in hit and step % 10 == 0 and float(similarity(basis, dataset.ground_truth)) >= target:
            hit.update(seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu, step=step)
        return False

    result = LieGAN(seed=seed, **OURS).fit(dataset, progress=False, callback=watch)
    return {"seed": seed, "seconds_to_target": hit.get("seconds"), "cpu_seconds_to_target": hit.get("cpu_seconds"),
            "steps_to_target": hit.get("step"), "total_seconds": result.seconds,
            "total_cpu_seconds": time.process_time() - cpu, "final_similarity": result.similarity}


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
    liegan = [liegan_to_target(dataset, s) for s in range(args.liegan_seeds)]

    def median(runs, key):
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median(values) if values else None
    summary = {"liegan": {key: median(liegan, key) for key in
                          ("seconds_to_target", "cpu_seconds_to_target", "total_seconds", "total_cpu_seconds")},
               "liegan_reached_0.99": sum(r["seconds_to_target"] is not None for r in liegan),
               "liegan_runs": len(liegan)}
    for name, runs in liesd.items():
        cpu_median = median(runs, "cpu_seconds")
        summary[f"liesd_{name}"] = {
            "median_seconds": median(runs, "seconds"), "median_cpu_seconds": cpu_median,
            "k1_and_0.999": sum(r["chosen_k"] == 1 and (r["similarity"] or 0) >= 0.999 for r in runs),
            "runs": len(runs), "min_similarity": min(r["similarity"] or 0.0 for r in runs),
            "cpu_speedup_vs_liegan_to_0.99": (summary["liegan"]["cpu_seconds_to_target"] or 0) / cpu_median,
            "cpu_speedup_vs_liegan_total": summary["liegan"]["total_cpu_seconds"] / cpu_median}
    record = {"benchmark": "liesd_vs_liegan_nbody2", "threads": 1, "torch": torch.__version__,
              "note": "same process, one thread; wall seconds depend on machine load (a shared 2-core machine "
                      "here), CPU seconds (process_time) much less: compare those",
              "summary": summary, "liesd": liesd, "liegan": liegan}
    atomic_write_json(Path(args.out) / "liesd_speed.json", record)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
