"""One rule for what a checkpoint must match to be resumed: method, data contents, knobs.

Never the epoch budget (raising --epochs continues a run), the device or how often a
checkpoint is written: those do not change what one epoch computes.
"""
from __future__ import annotations

import hashlib
import inspect

import numpy as np
import torch

IGNORED = frozenset({"epochs", "device", "checkpoint_every", "plots", "start_epochs_budget"})


def data_hash(*arrays) -> str:
    """BLAKE2 of the arrays' dtypes, shapes and bytes (None entries count as absent)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        value = array.detach().cpu().contiguous().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
        digest.update(f"{value.dtype}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def _plain(value):
    """Knob values as JSON-like data: objects by their params, arrays by a hash."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        try:
            return data_hash(np.asarray(value, dtype=np.float64))
        except (ValueError, TypeError):
            return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return data_hash(value)
    if callable(getattr(value, "describe", None)) and not isinstance(value, type):  # laws, discriminators
        return {"class": type(value).__name__, **_plain(value.describe())}
    if hasattr(value, "get_params"):
        return {"class": type(value).__name__, **_plain(value.get_params())}
    if isinstance(value, torch.nn.Module):
        return {"class": type(value).__name__, "state": data_hash(*[v for v in value.state_dict().values()])}
    params = inspect.signature(type(value).__init__).parameters if hasattr(type(value), "__init__") else {}
    known = {p: getattr(value, p) for p in params if p != "self" and hasattr(value, p)}
    return {"class": type(value).__name__, **{k: _plain(v) for k, v in known.items()}} if known \
        else {"class": type(value).__name__}


def fingerprint(method, dataset, ignore=IGNORED, **extra) -> dict:
    """The fingerprint of `method` (an estimator with get_params) fitting `dataset`."""
    knobs = {k: _plain(v) for k, v in method.get_params().items() if k not in ignore}
    return {"method": method.name, "dataset": dataset.name,
            "data": data_hash(dataset.x, dataset.y, dataset.x_test, dataset.y_test),
            "knobs": knobs, **{k: _plain(v) for k, v in extra.items()}}
