"""Lie algebra convolution (L-conv, Dehmamy et al. 2021) on a discretised space.

The space is a set of ``d`` nodes; a feature map has ``m`` channels per node and is
stored as ``(batch, channels, nodes)``. One layer computes

    Q[f] = (f + sum_i L_i f eps^i) W0

where ``L_i`` are ``d x d`` matrices on the nodes (the discretised vector fields of the
Lie algebra: learnable, or fixed e.g. from a discovered algebra) and ``eps^i``, ``W0``
mix channels. With ``L_i`` the generators of a symmetry the layer commutes with the
group; learned freely, the ``L_i`` recover the symmetry from the task.

For large ``d`` the ``L_i`` can be low rank (``L_i = U_i V_i^T``) or sparse on a fixed
pattern of node pairs (e.g. neighbours on a grid).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

STRUCTURES = ("dense", "low_rank", "sparse")


def _as_tensor(value, dtype=None) -> torch.Tensor:
    """Arrays, tensors, a `LieAlgebra` (its basis) or a `SymmetryResult` (its algebra's basis)."""
    value = getattr(value, "algebra", value)
    value = getattr(value, "basis", value)
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if dtype is not None else value
    array = np.asarray(value)
    return torch.as_tensor(array, dtype=dtype or torch.float32)


class NodeGenerators(nn.Module):
    """The matrices ``L_i`` (``k`` of them, each ``d x d``) acting on the nodes.

    ``structure`` is "dense" (``k d^2`` numbers), "low_rank" (``L_i = U_i V_i^T`` with
    ``rank`` columns, ``2 k d rank`` numbers) or "sparse" (values on the node pairs in
    ``pattern``, an integer array ``(2, nnz)`` of (row, column)). ``init`` gives starting
    (or, with ``learnable=False``, fixed) matrices ``(k, d, d)``; otherwise entries start
    at random with standard deviation ``init_scale / sqrt(d)``.
    """

    def __init__(self, nodes: int, n_generators: int = 1, *, structure: str = "dense",
                 rank: int = 8, pattern=None, init=None, learnable: bool = True,
                 init_scale: float = 1.0, generator: torch.Generator | None = None):
        super().__init__()
        if structure not in STRUCTURES:
            raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
        self.nodes, self.k, self.structure = int(nodes), int(n_generators), structure
        d, k = self.nodes, self.k
        if init is not None:
            init = _as_tensor(init)
            if init.ndim == 2:
                init = init[None]
            if init.shape[1:] != (d, d):
                raise ValueError(f"generators must have shape (k, {d}, {d}), got {tuple(init.shape)}")
            self.k = k = init.shape[0]
        std = init_scale / math.sqrt(d)

        def randn(*shape):
            return torch.randn(*shape, generator=generator) * std

        if structure == "dense":
            value = init.clone() if init is not None else randn(k, d, d)
            if learnable:
                self.weight = nn.Parameter(value)
            else:
                self.register_buffer("weight", value)
        elif structure == "low_rank":
            if init is not None:  # best rank-r approximation of the given matrices
                u, s, vh = torch.linalg.svd(init.double())
                root = s[:, :rank].sqrt()
                left = (u[:, :, :rank] * root[:, None]).float()
                right = (vh[:, :rank].transpose(1, 2) * root[:, None]).float()
            else:
                factor_std = math.sqrt(init_scale) / (d * rank) ** 0.25
                left = torch.randn(k, d, rank, generator=generator) * factor_std
                right = torch.randn(k, d, rank, generator=generator) * factor_std
            if learnable:
                self.left, self.right = nn.Parameter(left), nn.Parameter(right)
            else:
                self.register_buffer("left", left)
                self.register_buffer("right", right)
        else:
            if pattern is None:
                if init is None:
                    raise ValueError("structure='sparse' needs pattern (2, nnz) node pairs or init")
                pattern = (init.abs().sum(0) > 0).nonzero().T
            pattern = torch.as_tensor(np.asarray(pattern), dtype=torch.long)
            if pattern.ndim != 2 or pattern.shape[0] != 2:
                raise ValueError(f"pattern must be (2, nnz) (row, column) pairs, got {tuple(pattern.shape)}")
            if pattern.numel() and (pattern.min() < 0 or pattern.max() >= d):
                raise ValueError(f"pattern holds node indices outside 0..{d - 1}")
            self.register_buffer("pattern", pattern)
            if init is not None:
                values = init[:, pattern[0], pattern[1]].clone()
            else:
                per_row = max(1.0, pattern.shape[1] / d)
                values = torch.randn(k, pattern.shape[1], generator=generator) * init_scale / math.sqrt(per_row)
            if learnable:
                self.values = nn.Parameter(values)
            else:
                self.register_buffer("values", values)

    def matrices(self) -> torch.Tensor:
        """The dense ``(k, d, d)`` matrices."""
        if self.structure == "dense":
            return self.weight
        if self.structure == "low_rank":
            return self.left @ self.right.transpose(1, 2)
        dense = self.values.new_zeros(self.k, self.nodes, self.nodes)
        dense[:, self.pattern[0], self.pattern[1]] = self.values
        return dense

    def forward(self) -> torch.Tensor:
        return self.matrices()

    def apply(self, f: torch.Tensor) -> torch.Tensor:
        """``L_i f`` for every generator: ``f`` is ``(B, C, d)``, the result ``(B, k, C, d)``."""
        if self.structure == "dense":
            return torch.einsum("kde,bce->bkcd", self.weight.to(f.dtype), f)
        if self.structure == "low_rank":
            inner = torch.einsum("kdr,bcd->bkcr", self.right.to(f.dtype), f)
            return torch.einsum("kdr,bkcr->bkcd", self.left.to(f.dtype), inner)
        rows, cols = self.pattern
        gathered = f[:, None, :, cols] * self.values.to(f.dtype)[None, :, None, :]  # (B, k, C, nnz)
        out = f.new_zeros(f.shape[0], self.k, f.shape[1], self.nodes)
        return out.index_add_(3, rows, gathered)

    def extra_repr(self) -> str:
        return f"nodes={self.nodes}, n_generators={self.k}, structure={self.structure!r}"


class LConv(nn.Module):
    """One L-conv layer ``Q[f] = (f + sum_i L_i f eps^i) W0 (+ bias)``; f is ``(B, C, d)``.

    ``generators`` is a ``NodeGenerators`` (shared with other layers), a fixed
    ``(k, d, d)`` array/tensor, ``LieAlgebra`` or ``SymmetryResult`` (e.g. a known or
    discovered algebra on the nodes; not trained), or
    None: then a new learnable ``NodeGenerators(nodes, n_generators, structure=...,
    rank=..., pattern=...)`` is made. The bias is one number per output channel, the
    same on every node, so it does not break the symmetry.
    """

    def __init__(self, nodes: int, in_channels: int, out_channels: int | None = None,
                 n_generators: int = 1, generators=None, *, structure: str = "dense",
                 rank: int = 8, pattern=None, bias: bool = True, init_scale: float = 1.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        if isinstance(generators, NodeGenerators):
            self.generators = generators
        elif generators is not None:
            generators = _as_tensor(generators, torch.float32)
            self.generators = NodeGenerators(nodes, init=generators, learnable=False,
                                             structure=structure, rank=rank, pattern=pattern)
        else:
            self.generators = NodeGenerators(nodes, n_generators, structure=structure, rank=rank,
                                             pattern=pattern, init_scale=init_scale, generator=generator)
        if self.generators.nodes != nodes:
            raise ValueError(f"generators act on {self.generators.nodes} nodes, layer has {nodes}")
        k = self.generators.k
        self.nodes, self.in_channels, self.out_channels = nodes, in_channels, out_channels
        self.eps = nn.Parameter(torch.randn(k, in_channels, in_channels, generator=generator)
                                / math.sqrt(in_channels * k))
        self.W0 = nn.Parameter(torch.randn(in_channels, out_channels, generator=generator)
                               / math.sqrt(in_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        if f.ndim != 3 or f.shape[1] != self.in_channels or f.shape[2] != self.nodes:
            raise ValueError(f"LConv expects input (batch, {self.in_channels} channels, "
                             f"{self.nodes} nodes), got {tuple(f.shape)}")
        moved = torch.einsum("bkcd,kce->bed", self.generators.apply(f), self.eps.to(f.dtype))
        out = torch.einsum("bcd,co->bod", f + moved, self.W0.to(f.dtype))
        if self.bias is not None:
            out = out + self.bias.to(f.dtype)[:, None]
        return out

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}"


_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "silu": nn.SiLU}


class LConvNet(nn.Module):
    """Stacked L-conv layers with pointwise nonlinearities, then a readout.

    Input ``(B, in_channels, nodes)`` (or ``(B, nodes)`` for one channel, or images
    ``(B, C, H, W)`` flattened to nodes). ``readout``: "flatten" (a dense layer on all
    node features, for classification), "mean" (average over nodes: invariant when
    the ``L_i`` generate permutations), or "none" (return the ``(B, C, d)`` feature map,
    equivariant). With ``share_generators`` every layer uses the same ``L_i`` (one
    symmetry for the whole network), else each layer learns its own.
    """

    def __init__(self, nodes: int, in_channels: int = 1, hidden_channels: int = 16,
                 out_features: int = 10, n_layers: int = 2, n_generators: int = 1,
                 generators=None, *, structure: str = "dense", rank: int = 8, pattern=None,
                 share_generators: bool = True, activation: str = "relu",
                 readout: str = "flatten", hidden_features: int = 0,
                 generator: torch.Generator | None = None):
        super().__init__()
        if readout not in ("flatten", "mean", "none"):
            raise ValueError(f"readout must be 'flatten', 'mean' or 'none', got {readout!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        self.nodes, self.in_channels, self.readout = nodes, in_channels, readout
        shared = generators
        if share_generators and shared is None:
            shared = NodeGenerators(nodes, n_generators, structure=structure, rank=rank,
                                    pattern=pattern, generator=generator)
        layers = []
        channels = in_channels
        for _ in range(n_layers):
            layers.append(LConv(nodes, channels, hidden_channels, n_generators, shared,
                                structure=structure, rank=rank, pattern=pattern, generator=generator))
            channels = hidden_channels
        self.layers = nn.ModuleList(layers)
        self.activation = _ACTIVATIONS[activation]()
        if readout == "flatten":
            width = channels * nodes
            if hidden_features:
                self.head = nn.Sequential(nn.Linear(width, hidden_features), _ACTIVATIONS[activation](),
                                          nn.Linear(hidden_features, out_features))
            else:
                self.head = nn.Linear(width, out_features)
        elif readout == "mean":
            self.head = nn.Linear(channels, out_features)
        else:
            self.head = None

    def node_generators(self) -> list[NodeGenerators]:
        """The distinct ``NodeGenerators`` modules of the layers (one when shared)."""
        seen, found = set(), []
        for layer in self.layers:
            if id(layer.generators) not in seen:
                seen.add(id(layer.generators))
                found.append(layer.generators)
        return found

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            x = x[:, None]
        elif x.ndim == 4:
            x = x.flatten(2)
        for layer in self.layers:
            x = self.activation(layer(x))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        if self.readout == "flatten":
            return self.head(h.flatten(1))
        if self.readout == "mean":
            return self.head(h.mean(2))
        return h


def count_parameters(module: nn.Module) -> int:
    """Number of trainable numbers in a module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def grid_neighbours(height: int, width: int | None = None, radius: int = 1,
                    periodic: bool = False) -> np.ndarray:
    """Sparsity pattern ``(2, nnz)`` linking each pixel to the pixels within ``radius``
    (Chebyshev distance, the pixel itself included) on an ``H x W`` grid; for
    ``NodeGenerators(structure="sparse", pattern=...)`` on large images. ``height``
    alone with ``width=0`` gives a 1-D chain of ``height`` nodes."""
    width = height if width is None else width
    if width == 0:
        index = np.arange(height)
        pairs = [(i, (i + s) % height if periodic else i + s)
                 for i in index for s in range(-radius, radius + 1)
                 if periodic or 0 <= i + s < height]
        return np.array(sorted(set(pairs))).T
    rows, cols = [], []
    for r in range(height):
        for c in range(width):
            for dr in range(-radius, radius + 1):
                for dc in range(-radius, radius + 1):
                    rr, cc = r + dr, c + dc
                    if periodic:
                        rr, cc = rr % height, cc % width
                    elif not (0 <= rr < height and 0 <= cc < width):
                        continue
                    rows.append(r * width + c)
                    cols.append(rr * width + cc)
    return np.unique(np.array([rows, cols]), axis=1)
