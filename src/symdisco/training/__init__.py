"""The one training engine (Lightning Fabric) and what it is made of: hardware, checkpoints,
fingerprints, loss logs, progress and the lock on an output folder."""
from .checkpoints import Checkpointer, keep_aside
from .engine import CHECKPOINT_EVERY, DataTask, EarlyStopping, Engine, Run, TrainingTask, make_generator
from .fingerprint import data_hash, fingerprint
from .hardware import Hardware, default_hardware, resolve_device
from .lock import locked
from .progress import LossLog, Progress
from .supervised import SupervisedTask

__all__ = ["CHECKPOINT_EVERY", "Checkpointer", "DataTask", "EarlyStopping", "Engine", "Hardware", "LossLog", "Progress",
           "Run", "SupervisedTask", "TrainingTask", "data_hash", "default_hardware", "fingerprint", "keep_aside", "locked",
           "make_generator", "resolve_device", "set_aside_run"]


def set_aside_run(out) -> list:
    """`--restart`: keep every checkpoint and loss log in `out` aside; the run starts from scratch."""
    from pathlib import Path

    out = Path(out)
    if not out.is_dir():
        return []
    moved = [p for p in sorted(out.iterdir()) if p.is_file() and (p.name.endswith("checkpoint.pt")
                                                                  or p.name.endswith("losses.jsonl"))]
    return [keep_aside(p, "old") for p in moved]
