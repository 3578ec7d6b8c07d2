"""Discovery methods, one module each, one interface: `Method(**knobs).fit(dataset)` -> SymmetryResult.

Classes are imported on first use, so `import symdisco` stays fast and a method's
heavy dependencies load only when that method runs.
"""
from __future__ import annotations

import importlib

from ..errors import UserInputError

_REGISTRY = {
    "liegan": ("symdisco.methods.liegan", "LieGAN"),
    "symmetrygan": ("symdisco.methods.baselines", "SymmetryGAN"),
    "augerino": ("symdisco.methods.baselines", "AugerinoPlus"),
    "latent": ("symdisco.methods.latent", "LatentLieGAN"),
    "lconv": ("symdisco.methods.lconv", "LConvMethod"),
    "augmenter": ("symdisco.methods.augmenter", "LieAugmenter"),
    "liesd": ("symdisco.methods.liesd", "LieSD"),
    "auto": ("symdisco.methods.auto", "AutoMethod"),
    "lienlsd": ("symdisco.methods.lienlsd", "LieNLSD"),
}
_CLASS_NAMES = {cls: (module, cls) for module, cls in _REGISTRY.values()}


def names() -> list[str]:
    return list(_REGISTRY)


def get(name: str):
    """The method class registered under `name`."""
    try:
        module, cls = _REGISTRY[name]
    except KeyError:
        raise UserInputError(f"unknown method {name!r}; choose from {', '.join(_REGISTRY)}") from None
    return getattr(importlib.import_module(module), cls)


def __getattr__(attr):
    if attr in _CLASS_NAMES:
        module, cls = _CLASS_NAMES[attr]
        return getattr(importlib.import_module(module), cls)
    raise AttributeError(f"module 'symdisco.methods' has no attribute {attr!r}")
