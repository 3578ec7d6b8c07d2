"""How a group element g (an n x n matrix) acts on each kind of data.

Every action takes g as (B, n, n) (one element per sample) or (n, n) (shared), and
returns data of the same shape as it was given.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _batched(g: torch.Tensor, batch: int) -> torch.Tensor:
    return g.expand(batch, *g.shape[-2:]) if g.dim() == 2 else g


class Action:
    """Base class: `apply(g, x)`; `base_dim(x)` is the n the generators must have."""

    name = "action"

    def apply(self, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def base_dim(self, x: torch.Tensor) -> int:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"action": self.name}


class VectorAction(Action):
    """x (B, n) -> g x."""

    name = "vector"

    def apply(self, g, x):
        g = _batched(g, x.shape[0]).to(x.dtype)
        return torch.einsum("bij,bj->bi", g, x)

    def base_dim(self, x):
        return x.shape[-1]


class BlockAction(Action):
    """x (B, m*b): every consecutive block of b entries is transformed by the same g (b x b)."""

    name = "blocks"

    def __init__(self, block_dim: int):
        self.block_dim = block_dim

    def apply(self, g, x):
        b = self.block_dim
        if x.shape[-1] % b:
            raise ValueError(f"feature size {x.shape[-1]} is not a multiple of block size {b}")
        g = _batched(g, x.shape[0]).to(x.dtype)
        blocks = x.reshape(x.shape[0], -1, b)
        return torch.einsum("bij,bmj->bmi", g, blocks).reshape(x.shape)

    def base_dim(self, x):
        return self.block_dim

    def describe(self):
        return {"action": self.name, "block_dim": self.block_dim}


class PointAction(Action):
    """x (B, N, n): a set of N points (e.g. four-vectors), each transformed by g."""

    name = "points"

    def apply(self, g, x):
        g = _batched(g, x.shape[0]).to(x.dtype)
        return torch.einsum("bij,bnj->bni", g, x)

    def base_dim(self, x):
        return x.shape[-1]


class ImageAction(Action):
    """x (B, C, H, W); g a 3x3 homogeneous affine map of normalised coordinates in [-1, 1].

    The image is resampled so that (g . f)(p) = f(g^{-1} p): the content moves by g.
    """

    name = "image"

    def __init__(self, padding_mode: str = "zeros"):
        self.padding_mode = padding_mode

    def apply(self, g, x):
        g = _batched(g, x.shape[0]).to(x.dtype)
        inverse = torch.linalg.inv(g)[:, :2, :]
        grid = F.affine_grid(inverse, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, padding_mode=self.padding_mode, align_corners=False)

    def base_dim(self, x):
        return 3


class TaskAction:
    """Acts on the (x, y) pairs of a task: y is transformed too when the task is equivariant."""

    def __init__(self, x_action: Action, y_action: Action | None = None):
        self.x_action, self.y_action = x_action, y_action

    def apply(self, g, x, y=None):
        gx = self.x_action.apply(g, x)
        if y is None or self.y_action is None:
            return gx, y
        return gx, self.y_action.apply(g, y)


ACTIONS = {"vector": VectorAction, "blocks": BlockAction, "points": PointAction, "image": ImageAction}


def get_action(name: str, **options) -> Action:
    """Build an action by name: "vector", "blocks" (block_dim=), "points", "image"."""
    try:
        cls = ACTIONS[name]
    except KeyError:
        raise ValueError(f"unknown action {name!r}; choose from {sorted(ACTIONS)}") from None
    return cls(**options)
