"""Datasets with known symmetry, and user files.

    import symdisco as sd
    data = sd.datasets.load("nbody2")          # a built-in, see sd.datasets.names()
    data = sd.datasets.load("my.npz")          # a user file (.npz, .csv, .h5/.hdf5, .pt)

Every dataset is a `SymmetryDataset`; built-ins carry their ground-truth Lie algebra.
Dataset modules register themselves with `@register(name, description)`; the modules listed
in `DATASET_MODULES` are imported here when their file exists.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from .base import SymmetryDataset
from .io import load_file
from .registry import describe_all, load, names, register

DATASET_MODULES = ("nbody", "synthetic", "jets", "reaction_diffusion", "dynamics", "images", "blobs", "pde",
                   "lambda_omega")

for _module in DATASET_MODULES:
    if (Path(__file__).parent / f"{_module}.py").exists():
        importlib.import_module(f"{__name__}.{_module}")
del _module

__all__ = ["SymmetryDataset", "load", "load_file", "names", "describe_all", "register",
           "DATASET_MODULES"]
