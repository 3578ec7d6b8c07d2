"""The catalogue of built-in datasets: `register`, `load`, `names`, `describe_all`.

A dataset module registers a loader function whose keyword arguments are its options:

    @register("nbody2", "two-body orbits ...")
    def load_nbody2(input_timesteps=1, output_timesteps=1) -> SymmetryDataset: ...

`load(name, **options)` checks the options against the loader's signature, so a typo gives
a `UserInputError` that lists the options the dataset takes. A path to a file (.npz, .csv,
.h5, .hdf5, .pt) goes to `symdisco.datasets.io.load_file` instead.
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from typing import Callable

from symdisco.errors import UserInputError

from .base import SymmetryDataset

FILE_SUFFIXES = (".npz", ".csv", ".h5", ".hdf5", ".pt")


@dataclass(frozen=True)
class Entry:
    name: str
    loader: Callable[..., SymmetryDataset]
    description: str

    def options(self) -> dict:
        """Option name -> default value, from the loader's signature."""
        return {p.name: p.default for p in inspect.signature(self.loader).parameters.values()
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


_REGISTRY: dict[str, Entry] = {}


def register(name: str, loader_or_description=None, description: str | None = None):
    """Add a built-in dataset.

    Decorator form: `@register("nbody2", "description")` above the loader. Direct form:
    `register("nbody2", loader, "description")`. Registering the same function again (a
    module reload) is allowed; a different loader under a taken name is a programming error.
    """
    if callable(loader_or_description):
        _add(name, loader_or_description, description or "")
        return loader_or_description
    text = loader_or_description if description is None else description

    def decorator(loader):
        _add(name, loader, text or (inspect.getdoc(loader) or "").split("\n")[0])
        return loader

    return decorator


def _add(name: str, loader: Callable, description: str) -> None:
    old = _REGISTRY.get(name)
    if old is not None and (old.loader.__module__, old.loader.__qualname__) != (
            loader.__module__, loader.__qualname__):
        raise ValueError(f"dataset name {name!r} is already registered by {old.loader.__module__}")
    _REGISTRY[name] = Entry(name, loader, description)


def names() -> list[str]:
    """The names of the built-in datasets, sorted."""
    return sorted(_REGISTRY)


def _looks_like_path(name) -> bool:
    if isinstance(name, os.PathLike):
        return True
    return isinstance(name, str) and (name.lower().endswith(FILE_SUFFIXES) or os.sep in name
                                      or (name not in _REGISTRY and os.path.isfile(name)))


def load(name_or_path, **options) -> SymmetryDataset:
    """A built-in dataset by name (options as keywords), or a user file by path."""
    if _looks_like_path(name_or_path) and str(name_or_path) not in _REGISTRY:
        from .io import load_file

        accepted = [p.name for p in inspect.signature(load_file).parameters.values()][1:]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise UserInputError(f"{name_or_path}: no file option {', '.join(unknown)}; "
                                 f"files take: {', '.join(accepted)}")
        return load_file(name_or_path, **options)
    entry = _REGISTRY.get(name_or_path)
    if entry is None:
        raise UserInputError(
            f"unknown dataset {name_or_path!r}; built-in datasets: {', '.join(names())} "
            f"(or give a file path ending in {', '.join(FILE_SUFFIXES)})")
    accepted = entry.options()
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = ", ".join(f"{k}={v!r}" for k, v in accepted.items()) or "no options"
        raise UserInputError(f"dataset {entry.name!r} has no option {', '.join(unknown)}; "
                             f"it takes: {takes}")
    dataset = entry.loader(**options)
    if not dataset.description:
        dataset.description = entry.description
    return dataset


def describe_all() -> list[dict]:
    """One dict per built-in dataset (default options): name, description, sizes, task,
    action, action_options, ground_truth (the algebra's name or None), options."""
    rows = []
    for name in names():
        entry = _REGISTRY[name]
        dataset = load(name)
        row = dataset.describe()
        row["description"] = entry.description or row["description"]
        row["options"] = {k: v for k, v in entry.options().items()
                          if isinstance(v, (int, float, str, bool, type(None), tuple, list))}
        row.pop("metadata", None)
        rows.append(row)
    return rows
