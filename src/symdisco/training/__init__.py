"""Shared training infrastructure: device, seeds, progress, loss logs, checkpoints."""
from .checkpoints import Checkpointer
from .progress import LossLog, Progress
from .setup import resolve_device, seed_everything

__all__ = ["Checkpointer", "LossLog", "Progress", "resolve_device", "seed_everything"]
