"""LieSD's network fits (the MLP derivatives and `verify`'s held-out predictor): time and quality.

Times, one CPU thread, per seed: LieSD on nbody2 with its default derivatives (a polynomial:
no network) and with the MLP, LieSD on the isotropic Lorentz jets (its default there is the
MLP), and `verify`'s held-out predictor fit on both (judge off). Quality: similarity to the
truth, chosen k, the last fit loss, and verify's worst violation ratio and flagged count.

Run it once per source tree to compare two versions of the code on one machine (alternate
the runs; the machine is shared, so say how loaded it was):
    PYTHONPATH=src python benchmarks/liesd_mlp_fit.py --label after
Results are merged by label into benchmarks/results/liesd_mlp_fit.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

import symdisco.datasets as datasets
from symdisco.io_utils import atomic_write_json
from symdisco.methods.liesd import LieSD
from symdisco.verify import verify


def one(dataset, seed: int, check: bool, **options) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    result = LieSD(seed=seed, **options).fit(dataset, progress=False)
    row = {"seed": seed, "seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu,
           "similarity": result.similarity, "chosen_k": result.extras["chosen_k"],
           "fit_loss": result.extras.get("fit_loss")}
    if check and result.algebra.k:
        wall, cpu = time.perf_counter(), time.process_time()
        report = verify(result, dataset, judge=False, seed=seed)
        row.update(verify_seconds=time.perf_counter() - wall, verify_cpu_seconds=time.process_time() - cpu,
                   verify_max_ratio=max(r["ratio"] for r in report["generators"]),
                   verify_flagged=len(report["flagged"]))
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="name of this tree's results (before, after, ...)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    nbody = datasets.load("nbody2")
    jets = datasets.load("lorentz-jets", frame="isotropic")
    one(nbody, 0, False)  # warm-up (imports, allocator), not counted
    cases = {"nbody2_default": (nbody, {}, False), "nbody2_mlp": (nbody, {"derivatives": "mlp"}, True),
             "jets_default": (jets, {}, True)}
    runs = {name: [one(data, s, check, **options) for s in range(args.seeds)]
            for name, (data, options, check) in cases.items()}
    summary = {}
    for name, rows in runs.items():
        summary[name] = {key: statistics.median(r[key] for r in rows) for key in rows[0]
                         if key != "seed" and all(r.get(key) is not None for r in rows)}
    load = os.getloadavg()[0]
    record_path = Path(args.out) / "liesd_mlp_fit.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {
        "benchmark": "liesd_mlp_fit", "threads": 1, "note": "medians over seeds; wall seconds on a shared "
        "2-core machine (load average given per label): compare CPU seconds", "labels": {}}
    record["labels"][args.label] = {"load_average": load, "torch": torch.__version__, "summary": summary,
                                    "runs": runs}
    atomic_write_json(record_path, record)
    print(json.dumps({args.label: summary, "load_average": load}, indent=1))


if __name__ == "__main__":
    main()
