"""Put data on a unit scale before a method sees it, and map what it finds back.

Discovery must not depend on the units of the data: nbody2 in metres or in micrometres has
the same symmetry. Methods train well near unit scale, so every dataset is divided by
scales chosen so that the true generator stays in the search space:

* a diagonal rescaling S of the action's base space (x -> S^-1 x) turns a generator L into
  S^-1 L S, so a result L found on the rescaled data is L_user = S L S^-1 in the user's
  coordinates (`Standardization.to_user`);
* a positive scalar per copy of the base space (per 2-D block of a stacked state, per
  sample set of four-vectors) commutes with every g and changes nothing.

Per action: "vector" -> one scale per feature (S); "blocks" -> one scalar per block (so
positions and velocities may differ) and one scale per component position shared by all
blocks (S); "points" -> a single scalar (the Minkowski form keeps its shape); "image" ->
untouched. Scales are root mean squares, never means subtracted: a linear group acts about
the origin, and centring would move it. A scale already between 0.1 and 10 is left at 1
(`COMFORT`): data of order one train as they always did, and only magnitudes that break the
methods' defaults are rescaled. Targets follow their task: equivariant targets and
rates (dynamics) share S with x, invariant targets get their own per-column scale, labels
are never touched.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import torch

from symdisco.errors import UserInputError

from .base import SymmetryDataset

MODES = ("action", "global", "none")
"""How a method standardises: "action" (as above), "global" (one scalar for x, one for y: the
safe choice for methods whose generators act on something other than the action's base
space), "none"."""


def _rms(values: np.ndarray, axes) -> np.ndarray:
    """Root mean square over `axes`, in float64 (1e30 squared does not overflow)."""
    return np.sqrt(np.mean(np.square(values.astype(np.float64)), axis=axes))


@dataclasses.dataclass(frozen=True)
class Standardization:
    """Scales that map user data to standardised data, x_std = x / x_scale (broadcast)."""

    x_scale: np.ndarray          # broadcastable to one sample of x
    y_scale: np.ndarray | None   # broadcastable to one sample of y, or None (y untouched)
    base: np.ndarray             # (n,) the diagonal of S in the action's base space
    mode: str = "action"

    def to_user(self, basis: torch.Tensor) -> torch.Tensor:
        """L_user = S L S^-1 for a basis (k, n, n) found on standardised data."""
        s = torch.as_tensor(self.base, dtype=basis.dtype, device=basis.device)
        if basis.shape[-1] != s.numel():
            return basis
        return basis * s[:, None] / s[None, :]

    def to_standard(self, basis: torch.Tensor) -> torch.Tensor:
        """L_std = S^-1 L S: a user-coordinate basis (e.g. the ground truth) on standardised data."""
        s = torch.as_tensor(self.base, dtype=basis.dtype, device=basis.device)
        if basis.shape[-1] != s.numel():
            return basis
        return basis / s[:, None] * s[None, :]

    def apply(self, dataset: SymmetryDataset) -> SymmetryDataset:
        """A copy of `dataset` on the standardised scale (truth conjugated, metadata noted)."""
        x_scale = torch.as_tensor(self.x_scale, dtype=torch.float32)
        y_scale = None if self.y_scale is None else torch.as_tensor(self.y_scale, dtype=torch.float32)

        def scale(tensor, by):
            return tensor if tensor is None or by is None else tensor / by

        truth = dataset.ground_truth
        if truth is not None:
            from symdisco.lie.algebra import LieAlgebra

            truth = LieAlgebra(self.to_standard(truth.basis.double()), name=truth.name)
        return dataclasses.replace(
            dataset, x=scale(dataset.x, x_scale), x_test=scale(dataset.x_test, x_scale),
            y=scale(dataset.y, y_scale), y_test=scale(dataset.y_test, y_scale), ground_truth=truth,
            metadata={**dataset.metadata, "standardized": self.describe()})

    def describe(self) -> dict:
        """JSON-serialisable summary: the base scales S and the range of the other scales."""
        x = np.asarray(self.x_scale, dtype=np.float64)
        return {"mode": self.mode, "base_scale": [float(v) for v in self.base],
                "x_scale_range": [float(x.min()), float(x.max())],
                "y_scale_range": None if self.y_scale is None else
                [float(np.min(self.y_scale)), float(np.max(self.y_scale))]}


def is_standardized(dataset: SymmetryDataset) -> bool:
    return "standardized" in dataset.metadata


def check_not_degenerate(dataset: SymmetryDataset) -> None:
    """All-zero or single-point data teach nothing: say so instead of returning noise."""
    _check_not_degenerate(dataset.name, dataset.x.detach().cpu().numpy())


def _check_not_degenerate(name: str, x: np.ndarray) -> None:
    flat = x.reshape(len(x), -1)
    if not np.any(flat):
        raise UserInputError(f"{name}: x is zero in every sample; there is nothing to learn a symmetry "
                             f"from (wrong --x-key or an empty export?)")
    if len(flat) > 1 and not np.any(flat != flat[:1]):
        raise UserInputError(f"{name}: all {len(flat)} samples of x are identical; a symmetry cannot be "
                             f"seen from one point (check the file and --x-key)")


def _warn_flat_features(name: str, x: np.ndarray, action: str) -> None:
    if action in ("image", "points"):
        return  # blank pixels and zero padding are normal
    flat = x.reshape(len(x), -1)
    zero = np.flatnonzero(~np.any(flat, axis=0))
    constant = np.flatnonzero(np.all(flat == flat[:1], axis=0) & np.any(flat, axis=0))
    if len(zero):
        warnings.warn(f"{name}: feature(s) {zero.tolist()[:10]} are zero in every sample; they are left "
                      f"unscaled and no symmetry can be seen along them (drop them if they carry nothing)",
                      UserWarning, stacklevel=3)
    if len(constant):
        warnings.warn(f"{name}: feature(s) {constant.tolist()[:10]} are constant; a linear symmetry can only "
                      f"fix or mix them (drop them unless they are homogeneous coordinates)",
                      UserWarning, stacklevel=3)


COMFORT = (0.1, 10.0)
"""Scales inside this band are left at 1: the methods' defaults were tuned on data of order one,
and relative scales of that size (velocities smaller than positions) carry information. Only
magnitudes outside it (1e-6, 1e6, 1e30...) are rescaled, which is what changed the answers."""


def _positive(scale: np.ndarray) -> np.ndarray:
    """Zero scales (features that are zero everywhere) and scales inside `COMFORT` become 1."""
    scale = np.asarray(scale, dtype=np.float64)
    inside = (scale >= COMFORT[0]) & (scale <= COMFORT[1])
    return np.where((scale > 0) & ~inside, scale, 1.0)


def _x_scales(x: np.ndarray, dataset: SymmetryDataset, mode: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(x_scale for one sample, base S, number of blocks) for the dataset's action."""
    n_base = dataset.x_action().base_dim(dataset.x[:1]) if dataset.action != "image" else 3
    if mode == "global" or dataset.action == "points":
        return _positive(_rms(x, None)) * np.ones(x.shape[1:]), np.ones(n_base), 1
    if dataset.action == "vector":
        base = _positive(_rms(x, 0))
        return base, base, 1
    # blocks: x (N, m*b) -> (N, m, b); one scalar per block, then one scale per component
    b = n_base
    if x.ndim != 2 or x.shape[1] % b:
        raise UserInputError(f"{dataset.name}: action 'blocks' with block_dim={b} needs x of shape "
                             f"(samples, a multiple of {b}); got {list(x.shape)}")
    blocks = x.reshape(len(x), -1, b)
    per_block = _positive(_rms(blocks, (0, 2)))                 # (m,)
    base = _positive(_rms(blocks / per_block[None, :, None], (0, 1)))  # (b,)
    return (per_block[:, None] * base[None, :]).reshape(-1), base, blocks.shape[1]


def _y_scale(y: np.ndarray, dataset: SymmetryDataset, base: np.ndarray, x_scale: np.ndarray,
             mode: str) -> np.ndarray | None:
    if dataset.task in ("classification", "unsupervised") or y is None:
        return None
    if dataset.task == "dynamics":
        return x_scale if y.shape[1:] == x_scale.shape else _positive(_rms(y, None)) * np.ones(y.shape[1:])
    if dataset.task == "invariant" or mode == "global":
        columns = _rms(y, 0) if mode != "global" else _rms(y, None) * np.ones(y.shape[1:])
        return _positive(columns)
    # equivariant: y moves with g, so it shares S; free scalars per block / overall
    if dataset.action == "vector" and y.shape[1:] == base.shape:
        return _positive(_rms(y / base, None)) * base
    if dataset.action == "blocks":
        blocks = y.reshape(len(y), -1, len(base)) / base
        return (_positive(_rms(blocks, (0, 2)))[:, None] * base[None, :]).reshape(-1)
    return _positive(_rms(y, None)) * np.ones(y.shape[1:])


def fit_standardization(dataset: SymmetryDataset, mode: str = "action") -> Standardization | None:
    """The scales for `dataset` (None for images or mode "none"); raises `UserInputError` on
    degenerate data and warns about features that are zero or constant throughout."""
    if mode not in MODES:
        raise ValueError(f"unknown standardisation mode {mode!r}; choose from {', '.join(MODES)}")
    x = dataset.x.detach().cpu().numpy()
    _check_not_degenerate(dataset.name, x)
    if mode == "none" or dataset.action == "image":
        return None
    _warn_flat_features(dataset.name, x, dataset.action)
    x_scale, base, _ = _x_scales(x, dataset, mode)
    y = None if dataset.y is None else dataset.y.detach().cpu().numpy()
    y_scale = _y_scale(y, dataset, base, x_scale, mode)
    return Standardization(x_scale=x_scale, y_scale=y_scale, base=base, mode=mode)


def standardize(dataset: SymmetryDataset, mode: str = "action"):
    """(standardised dataset, `Standardization` or None); a dataset already standardised is kept."""
    if is_standardized(dataset):
        return dataset, None
    scales = fit_standardization(dataset, mode)
    return (dataset, None) if scales is None else (scales.apply(dataset), scales)
