"""Time LieGAN's nbody2 discovery to similarity 0.99 on one CPU thread; write JSON.

Two configurations run in the same process, so their ratio is meaningful on any machine:
  ours      - the defaults (64-wide discriminator, batch 256, generator lr 2e-2,
              normalised block-factorised generator, early stopping);
  reference - the public implementation's regime (512-wide discriminator, batch 64,
              learning rates 2e-4 / 1e-3, no early stopping, 10 epochs).
Usage: python benchmarks/liegan_speed.py [--seeds 5] [--reference-seeds 2] [--out benchmarks/results]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

import symdisco.datasets as datasets
from symdisco.io_utils import atomic_write_json
from symdisco.lie.compare import similarity
from symdisco.methods.liegan import LieGAN

REFERENCE = dict(hidden=512, layers=3, batch_size=64, lr_generator=1e-3, lr_discriminator=2e-4,
                 early_stopping=False, epochs=10)
OURS = dict(epochs=30)


def time_to_target(dataset, options: dict, seed: int, target: float = 0.99) -> dict:
    """Seconds until the generators first reach `target` similarity, and the run's final quality."""
    hit = {}
    start = time.perf_counter()

    def watch(step, basis):
        if "seconds" not in hit and step % 10 == 0 and float(similarity(basis, dataset.ground_truth)) >= target:
            hit.update(seconds=time.perf_counter() - start, step=step)
        return False

    result = LieGAN(seed=seed, **options).fit(dataset, progress=False, callback=watch)
    return {"seed": seed, "seconds_to_target": hit.get("seconds"), "steps_to_target": hit.get("step"),
            "total_seconds": result.seconds, "final_similarity": result.similarity, "steps": result.extras["steps"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--reference-seeds", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = datasets.load("nbody2")
    runs = {"ours": [time_to_target(dataset, OURS, s) for s in range(args.seeds)],
            "reference": [time_to_target(dataset, REFERENCE, s) for s in range(args.reference_seeds)]}

    def median(name, key):
        values = [r[key] for r in runs[name] if r[key] is not None]
        return statistics.median(values) if values else None

    summary = {name: {"median_seconds_to_0.99": median(name, "seconds_to_target"),
                      "median_total_seconds": median(name, "total_seconds"),
                      "median_final_similarity": median(name, "final_similarity"),
                      "reached": sum(r["seconds_to_target"] is not None for r in runs[name]),
                      "runs": len(runs[name])} for name in runs}
    ours, ref = summary["ours"]["median_seconds_to_0.99"], summary["reference"]["median_seconds_to_0.99"]
    summary["speedup_to_0.99"] = ref / ours if ours and ref else None
    record = {"benchmark": "liegan_nbody2_time_to_0.99", "threads": 1, "torch": torch.__version__,
              "configs": {"ours": OURS, "reference": REFERENCE}, "summary": summary, "runs": runs}
    atomic_write_json(Path(args.out) / "liegan_speed.json", record)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
