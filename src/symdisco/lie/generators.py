"""Learnable parameterisations of a Lie algebra basis, one per structure the papers use.

Each module's `forward()` returns the basis that acts on the data's base space, so the
rest of a method never needs to know how the generators were parameterised.
"""
from __future__ import annotations

import torch
from torch import nn


class FullGenerators(nn.Module):
    """k unconstrained n x n generators: a subspace of gl(n)."""

    def __init__(self, k: int, n: int, init_scale: float = 1.0, generator: torch.Generator | None = None):
        super().__init__()
        self.k, self.n = k, n
        self.weight = nn.Parameter(init_scale * torch.randn(k, n, n, generator=generator) / n ** 0.5)

    def forward(self) -> torch.Tensor:
        return self.weight


class BlockGenerators(FullGenerators):
    """One small b x b generator repeated over every block of a stacked state.

    Pair with `BlockAction(b)`: positions and velocities of several bodies share one
    rotation, so learning the b x b block is both cheaper and identifiable.
    """

    def __init__(self, k: int, block_dim: int, **kw):
        super().__init__(k, block_dim, **kw)
        self.block_dim = block_dim


class SubspaceGenerators(nn.Module):
    """k generators constrained to the span of a given basis (m, n, n): L_i = sum_j c_ij B_j."""

    def __init__(self, k: int, span: torch.Tensor, generator: torch.Generator | None = None):
        super().__init__()
        span = torch.as_tensor(span, dtype=torch.get_default_dtype())
        self.k, self.n = k, span.shape[-1]
        self.register_buffer("span", span)
        self.coefficients = nn.Parameter(torch.randn(k, span.shape[0], generator=generator))

    def forward(self) -> torch.Tensor:
        return torch.einsum("km,mij->kij", self.coefficients, self.span)


class AffineGenerators(nn.Module):
    """k affine generators for images: a learnable 2x3 block in a 3x3 homogeneous matrix."""

    def __init__(self, k: int, init_scale: float = 1.0, generator: torch.Generator | None = None):
        super().__init__()
        self.k, self.n = k, 3
        self.weight = nn.Parameter(init_scale * torch.randn(k, 2, 3, generator=generator) / 3 ** 0.5)

    def forward(self) -> torch.Tensor:
        bottom = self.weight.new_zeros(self.k, 1, 3)
        return torch.cat([self.weight, bottom], dim=1)


def make_generators(kind: str, k: int, n: int, *, span=None, generator=None, init_scale=1.0) -> nn.Module:
    """Build a parameterisation by name: "full", "blocks", "subspace" (needs span), "affine"."""
    if kind == "full":
        return FullGenerators(k, n, init_scale=init_scale, generator=generator)
    if kind == "blocks":
        return BlockGenerators(k, n, init_scale=init_scale, generator=generator)
    if kind == "subspace":
        if span is None:
            raise ValueError("subspace generators need a span (m, n, n)")
        return SubspaceGenerators(k, span, generator=generator)
    if kind == "affine":
        return AffineGenerators(k, init_scale=init_scale, generator=generator)
    raise ValueError(f"unknown generator parameterisation {kind!r}")
