"""Symmetry found while a model learns a task: L-conv and the LieAugmenter; write JSON.

Experiments (fixed seeds, one CPU thread):
  lconv-translation   translation-1d: cosine of the learned L to the Shannon-Whittaker
                      generator; error of (I + z L / n)^n against a shift by z = 2 pixels
  lconv-rotation      rotation-2d: cosine of the learned L to x d_y - y d_x
  lconv-digits        rotated digits, plain and scrambled: L-conv vs CNN vs MLP accuracy and
                      parameter counts (the L-conv paper's figure 9 pattern)
  augmenter-digits    rotated digits, affine basis: cosine to the rotation generator; test error
                      of the base CNN without / with the augmenter, truth and LieGAN augmentation
  augmenter-nbody2    nbody2, so(2) on blocks: similarity; the same table for a residual MLP
Seeds: every experiment runs for each seed in --seeds; the JSON keeps every run and a summary.
Usage: python benchmarks/task_discovery.py [--seeds 0] [--only NAME ...] [--out benchmarks/results]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import symdisco.datasets as datasets
from symdisco.experiments.digits import digits_comparison
from symdisco.io_utils import atomic_write_json
from symdisco.methods.augmenter import LieAugmenter
from symdisco.methods.lconv import LConvMethod


def lconv_translation(seed):
    result = LConvMethod(seed=seed).fit(datasets.load("translation-1d", seed=seed), progress=False)
    finite = result.extras["finite_transformation"]
    return {"cosine_to_truth": result.extras["cosine_to_truth"][0], "similarity": result.similarity,
            "shift_z": finite["z"], "power_errors": finite["power_errors"],
            "true_generator_power_errors": finite["true_power_errors"], "exp_error": finite["exp_error"],
            "passes_cosine_0.9": result.extras["cosine_to_truth"][0] >= 0.9, "seconds": result.seconds}


def lconv_rotation(seed):
    result = LConvMethod(seed=seed).fit(datasets.load("rotation-2d", seed=seed), progress=False)
    return {"cosine_to_truth": result.extras["cosine_to_truth"][0], "similarity": result.similarity,
            "seconds": result.seconds}


def lconv_digits(seed):
    digits = datasets.load("rotated-digits", seed=seed)
    result = LConvMethod(seed=seed).fit(digits, progress=False)
    comparison = digits_comparison(digits, seed=seed)
    rows = comparison["models"]
    drop = {name: row["accuracy"] - row["accuracy_scrambled"] for name, row in rows.items()}
    return {"models": rows, "table": comparison["table"], "accuracy_drop": drop,
            "lconv_keeps_accuracy": abs(drop["L-conv"]) <= 0.03,
            "cnn_drops_more": drop["CNN"] >= drop["L-conv"] + 0.03,
            "lconv_cosine_to_rotation_field": result.extras["cosine_to_truth"][0],
            "seconds": result.seconds}


def _augmenter(name, seed, **options):
    result = LieAugmenter(seed=seed, **options).fit(datasets.load(name), progress=False)
    table = {k: {kk: vv for kk, vv in row.items() if kk != "liegan_basis"} for k, row in result.extras["table"].items()}
    return {"basis": result.generators.tolist(), "similarity": result.similarity,
            "cosine_to_truth": result.extras.get("cosine_to_truth"),
            "half_width": result.extras["half_width"], "table": table,
            "table_markdown": result.extras["table_markdown"], "seconds": result.seconds}


def augmenter_digits(seed):
    run = _augmenter("rotated-digits", seed)
    run["passes_cosine_0.9"] = run["cosine_to_truth"][0] >= 0.9
    return run


def augmenter_nbody2(seed):
    run = _augmenter("nbody2", seed)
    run["passes_similarity_0.95"] = run["similarity"] >= 0.95
    return run


EXPERIMENTS = {"lconv-translation": lconv_translation, "lconv-rotation": lconv_rotation,
               "lconv-digits": lconv_digits, "augmenter-digits": augmenter_digits,
               "augmenter-nbody2": augmenter_nbody2}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--only", nargs="+", choices=sorted(EXPERIMENTS), default=None)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    report = {"threads": 1, "seeds": args.seeds, "experiments": {}}
    for name in args.only or EXPERIMENTS:
        runs = []
        for seed in args.seeds:
            start = time.perf_counter()
            run = EXPERIMENTS[name](seed)
            run.update(seed=seed, wall_seconds=round(time.perf_counter() - start, 1))
            runs.append(run)
            print(f"{name} seed {seed}: " + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in run.items()
                if isinstance(v, (float, bool)) or k in ("cosine_to_truth",)), flush=True)
            for key in ("table", "table_markdown"):
                if isinstance(run.get(key), str):
                    print(run[key], flush=True)
        report["experiments"][name] = runs
    out = Path(args.out)
    path = out / "task_discovery.json"
    if args.only and path.is_file():  # keep the experiments not rerun
        previous = json.loads(path.read_text()).get("experiments", {})
        report["experiments"] = {**previous, **report["experiments"]}
    atomic_write_json(path, report)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
