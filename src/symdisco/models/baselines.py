"""Plain (non-equivariant) baselines for the downstream experiments and comparisons.

* `MLP(in_dim, out_dim, hidden, n_layers)`: the same depth and width budget as EquivariantMLP.
* `SmallCNN`: a few convolution + pooling blocks, the CNN of L-conv's digits comparison and
  the augmenter's image tasks (it assumes the pixel order; scrambled pixels defeat it).
* `PlainGNN`: LieGNN's message passing on the raw components of the points (node features
  x_i, edge features [x_i - x_j, x_i, x_j] instead of inner products), no coordinate update.
"""
from __future__ import annotations

import torch
from torch import nn

from symdisco.models.layers import mlp
from symdisco.models.liegnn import MessagePassing, point_mask


class MLP(nn.Module):
    """A plain MLP on flattened inputs: (B, ...) -> (B, out_dim)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, n_layers: int = 3, activation=nn.SiLU):
        super().__init__()
        self.net = mlp([in_dim] + [hidden] * n_layers + [out_dim], activation=activation)

    def forward(self, x):
        return self.net(x.flatten(1))


class SmallCNN(nn.Module):
    """``blocks`` x (3x3 convolution, ReLU, 2x2 max pooling), widths doubling, then a linear readout."""

    def __init__(self, image_shape, in_channels=1, classes=10, width=16, blocks=3):
        super().__init__()
        h, w = image_shape
        self.image_shape = (in_channels, h, w)
        parts, channels = [], in_channels
        for b in range(blocks):
            parts += [nn.Conv2d(channels, width * 2 ** b, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            channels = width * 2 ** b
        self.body = nn.Sequential(*parts)
        self.head = nn.Linear(channels * (h >> blocks) * (w >> blocks), classes)

    def forward(self, x):
        return self.head(self.body(x.reshape(len(x), *self.image_shape)).flatten(1))


class PlainGNN(nn.Module):
    """Message passing on raw four-vector components; not invariant to anything but
    permutations of the points."""

    def __init__(self, n_dim: int = 4, n_outputs: int = 2, hidden: int = 32, n_layers: int = 3,
                 node_features: int = 0):
        super().__init__()
        self.embed = nn.Linear(n_dim + node_features, hidden)
        self.edge = nn.Linear(3 * n_dim, 8)
        self.layers = nn.ModuleList(
            [MessagePassing(hidden, 8, update_points=False, c=0.0) for _ in range(n_layers)])
        self.readout = mlp([2 * hidden, hidden, n_outputs])

    def forward(self, x, mask=None, h=None):
        if mask is None:
            mask = point_mask(x)
        mask = mask.to(x.dtype)
        b, n, d = x.shape
        h0 = x if h is None else torch.cat([x, h.to(x.dtype)], dim=-1)
        h = self.embed(h0) * mask[..., None]
        xi = x[:, :, None, :].expand(b, n, n, d)
        xj = x[:, None, :, :].expand(b, n, n, d)
        edges = self.edge(torch.cat([xi - xj, xi, xj], dim=-1))
        for layer in self.layers:
            h, _ = layer(h, x, edges, mask)
        count = mask.sum(1, keepdim=True).clamp_min(1)
        pooled = torch.cat([h.sum(1) / count, h.sum(1) / 10.0], dim=-1)
        return self.readout(pooled)
