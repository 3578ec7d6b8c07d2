"""Checkpoints a run resumes from, written atomically; ones that cannot be used are kept aside.

A checkpoint is resumed only when its fingerprint (method, data, knobs) matches the run's.
A changed option or new data, or a truncated/garbled file, each cost one line on stderr:
the old file is renamed `*.stale-<time>` or `*.corrupt-<time>` and the run starts afresh.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from ..io_utils import atomic_save


def keep_aside(path: Path, why: str) -> Path:
    """Rename `path` to `path.<why>-<UTC time>` (never overwriting an earlier one)."""
    path = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    aside = path.with_name(f"{path.name}.{why}-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.{why}-{stamp}-{n}")
        n += 1
    path.rename(aside)
    return aside


def _differences(saved: dict, wanted: dict) -> list[str]:
    """Human-readable keys that differ between two fingerprints."""
    if not isinstance(saved, dict):
        return ["format"]
    changed = []
    for key in sorted(set(saved) | set(wanted)):
        a, b = saved.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changed += [f"{key}.{k}" if key != "knobs" else k for k in _differences(a, b)]
        elif a != b:
            changed.append(key)
    return changed


class Checkpointer:
    """`save(epoch, **states)` every `every` epochs; `load()` -> (epoch, states) or None."""

    def __init__(self, directory=None, every: int = 1, name: str = "checkpoint.pt", fingerprint=None,
                 companions=()):
        self.path = Path(directory) / name if directory is not None else None
        self.every = max(1, int(every))
        self.fingerprint = fingerprint  # what a checkpoint must match to be resumed
        self.companions = [Path(directory) / c for c in companions] if directory is not None else []

    def due(self, epoch: int) -> bool:
        return self.path is not None and (epoch + 1) % self.every == 0

    def save(self, epoch: int, **states) -> None:
        if self.path is None:
            return
        payload = {"epoch": epoch, "states": states, "fingerprint": self.fingerprint}
        atomic_save(self.path, lambda tmp: torch.save(payload, tmp))

    def load(self, quiet: bool = False):
        """The saved (epoch, states), or None: no file, another run's, or unreadable (kept aside)."""
        if self.path is None or not self.path.is_file():
            return None
        try:
            payload = torch.load(self.path, map_location="cpu", weights_only=True)
            epoch, states, fingerprint = int(payload["epoch"]), payload["states"], payload["fingerprint"]
        except Exception as exc:  # noqa: BLE001 - truncated, empty or garbage: all mean unusable
            self._set_aside("corrupt", f"unreadable ({type(exc).__name__})", quiet)
            return None
        if fingerprint != self.fingerprint:
            changed = ", ".join(_differences(fingerprint, self.fingerprint)[:4]) or "fingerprint"
            self._set_aside("stale", f"written with other data or options ({changed} changed)", quiet)
            return None
        return epoch, states

    def _set_aside(self, why: str, reason: str, quiet: bool) -> None:
        aside = keep_aside(self.path, why)
        for companion in self.companions:  # the loss log of the run that checkpoint belonged to
            if companion.is_file():
                keep_aside(companion, why)
        if not quiet:
            print(f"symdisco: {self.path} is {reason}; starting afresh (old file kept as {aside.name})",
                  file=sys.stderr)

    def clear(self) -> None:
        """Keep the current checkpoint aside (`--restart`): the next run starts from scratch."""
        if self.path is not None and self.path.is_file():
            self._set_aside("old", "set aside by --restart", quiet=True)
