"""L-conv against a CNN and an MLP on rotated digits, with plain and scrambled pixels
(Dehmamy et al. 2021, table 1): L-conv and the MLP do not care about the pixel order, the
CNN does.

    symdisco downstream rotated-digits --out DIR [-D n_train=2000 ...]
    comparison = digits_comparison(datasets.load("rotated-digits"), epochs=30)

Writes DIR/table.json, table.md and details.json like the other downstream experiments
(rows: model, symmetry "discovered" for L-conv and "none" for the CNN and MLP, metric
`accuracy` or `accuracy_scrambled`).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from symdisco.datasets.base import SymmetryDataset
from symdisco.methods.lconv import LConvMethod, _lconv_classifier, train_classifier
from symdisco.models.baselines import MLP, SmallCNN
from symdisco.models.lconv import count_parameters
from symdisco.training import make_generator

LCONV_OPTIONS = ("layers", "channels", "structure", "rank", "lr", "batch_size", "n_generators")


def digits_comparison(plain: SymmetryDataset, scrambled: SymmetryDataset | None = None, *,
                      method: LConvMethod | None = None, epochs: int = 30, seed: int = 0,
                      mlp_hidden: int = 64, progress: bool = False) -> dict:
    """L-conv vs CNN vs MLP on rotated digits, plain and with scrambled pixels.

    `plain` is an image classification dataset (N, C, H, W); `scrambled` its pixel-permuted
    copy (default: a fixed random permutation of the plain pixels). Returns
    {"models": {name: {"parameters", "accuracy", "accuracy_scrambled"}}, "table": markdown}.
    """
    method = method or LConvMethod(epochs=epochs, seed=seed)
    shape = plain.metadata.get("image_shape") or list(plain.x.shape[-2:])
    x, x_test = plain.x.flatten(1), plain.x_test.flatten(1)
    if scrambled is None:
        permutation = torch.as_tensor(np.random.default_rng(seed + 7919).permutation(x.shape[1]))
        xs, xs_test = x[:, permutation], x_test[:, permutation]
    else:
        xs, xs_test = scrambled.x.flatten(1), scrambled.x_test.flatten(1)
    classes = int(max(plain.y.max(), plain.y_test.max())) + 1
    d = x.shape[1]
    builders = {  # name: (model, learning rate)
        "L-conv": (lambda g: _lconv_classifier(d, 1, classes, method, g, shape), method.lr),
        "CNN": (lambda g: SmallCNN(shape, 1, classes, blocks=3 if min(shape) >= 8 else 1), 3e-3),
        "MLP": (lambda g: MLP(d, classes, hidden=mlp_hidden, n_layers=2, activation=nn.ReLU), 1e-2),
    }
    rows = {}
    for name, (build, lr) in builders.items():
        row = {}
        for variant, (a, a_test) in (("accuracy", (x, x_test)), ("accuracy_scrambled", (xs, xs_test))):
            row["parameters"] = count_parameters(build(make_generator(seed, 0)))
            start = time.perf_counter()
            row[variant], row[variant.replace("accuracy", "train_accuracy")] = train_classifier(
                build, a, plain.y, a_test, plain.y_test, epochs=epochs, batch_size=method.batch_size,
                lr=lr, seed=seed, progress=progress, desc=f"{name} {variant}")
            row[variant.replace("accuracy", "seconds")] = round(time.perf_counter() - start, 2)
        rows[name] = row
    lines = ["| model | parameters | accuracy (rotated) | accuracy (rotated + scrambled) |",
             "|---|---:|---:|---:|"]
    lines += [f"| {name} | {row['parameters']} | {row['accuracy']:.3f} | {row['accuracy_scrambled']:.3f} |"
              for name, row in rows.items()]
    return {"models": rows, "table": "\n".join(lines)}


def run_rotated_digits(out: Path, *, epochs=None, seed=0, device="cpu", progress=True, result=None,
                       **options) -> tuple[list, dict]:
    """The downstream-experiment entry: `options` are L-conv knobs (LCONV_OPTIONS),
    `mlp_hidden`, and otherwise options of the rotated-digits loader."""
    from symdisco import datasets
    from symdisco.errors import UserInputError

    if result is not None:
        raise UserInputError("rotated-digits learns its symmetry inside L-conv; --result does not apply")
    method = LConvMethod(seed=seed, device=device,
                         **{k: options.pop(k) for k in LCONV_OPTIONS if k in options})
    mlp_hidden = int(options.pop("mlp_hidden", 64))
    dataset = datasets.load("rotated-digits", **options)
    epochs = 30 if epochs is None else int(epochs)
    comparison = digits_comparison(dataset, method=method, epochs=epochs, seed=seed,
                                   mlp_hidden=mlp_hidden, progress=progress)
    rows = [{"model": name, "symmetry": "discovered" if name == "L-conv" else "none",
             "metric": metric, "value": float(row[metric])}
            for name, row in comparison["models"].items()
            for metric in ("accuracy", "accuracy_scrambled")]
    details = {"experiment": "rotated-digits", "epochs": epochs, "seed": seed,
               "n_train": len(dataset.x), "n_test": len(dataset.x_test),
               "models": comparison["models"], "options": {**method.get_params(), "mlp_hidden": mlp_hidden}}
    return rows, details
