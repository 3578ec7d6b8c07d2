"""Checkpoints a run can resume from: model, optimiser and RNG states, written atomically."""
from __future__ import annotations

from pathlib import Path

import torch

from ..io_utils import atomic_save


class Checkpointer:
    """`save(epoch, **states)` every `every` epochs; `load()` -> (epoch, states) or None.

    States are whatever `state_dict()`s the method needs (generator, discriminator,
    optimisers, RNG); models stay plain modules, so DDP can wrap them later.
    """

    def __init__(self, directory=None, every: int = 1, name: str = "checkpoint.pt", fingerprint=None):
        self.path = Path(directory) / name if directory is not None else None
        self.every = max(1, int(every))
        self.fingerprint = fingerprint  # what a checkpoint must match to be resumed (data, knobs)

    def due(self, epoch: int) -> bool:
        return self.path is not None and (epoch + 1) % self.every == 0

    def save(self, epoch: int, **states) -> None:
        if self.path is None:
            return
        payload = {"epoch": epoch, "states": states, "fingerprint": self.fingerprint}
        atomic_save(self.path, lambda tmp: torch.save(payload, tmp))

    def load(self):
        if self.path is None or not self.path.is_file():
            return None
        payload = torch.load(self.path, map_location="cpu", weights_only=True)
        if payload.get("fingerprint") != self.fingerprint:
            return None  # another dataset or other knobs wrote it: start afresh rather than mix
        return payload["epoch"], payload["states"]

    def clear(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
