"""Regularisers on a learned basis and on the transformations it makes.

Shared by LieGAN, the LieAugmenter and the latent method, so that "non-trivial",
"orthogonal" and "sparse" mean the same thing everywhere.
"""
from __future__ import annotations

import torch


def _flat_unit(basis: torch.Tensor) -> torch.Tensor:
    flat = basis.reshape(basis.shape[0], -1)
    return flat / flat.norm(dim=1, keepdim=True).clamp(min=1e-12)


def nontrivial_penalty(x: torch.Tensor, gx: torch.Tensor, basis: torch.Tensor, kind: str = "cosine") -> torch.Tensor:
    """Small when the transformation really moves the data (so the identity is not a solution).

    cosine: mean cosine similarity between x and g.x (pushes towards large moves);
    relative: minus the relative change |g.x - x| / |x|, capped at 0.5 (about a 30 degree
    rotation), so it only keeps g away from the identity and does not bias a discrete
    angle; norm: minus the mean generator norm (capped at 1).
    """
    x, gx = x.reshape(x.shape[0], -1), gx.reshape(gx.shape[0], -1)
    if kind == "cosine":
        return torch.nn.functional.cosine_similarity(x, gx, dim=1, eps=1e-8).mean()
    if kind == "relative":
        change = (gx - x).norm(dim=1) / x.norm(dim=1).clamp(min=1e-8)
        return -change.clamp(max=0.5).mean()
    if kind == "norm":
        return -basis.reshape(basis.shape[0], -1).norm(dim=1).clamp(max=1.0).mean()
    if kind == "none":
        return x.new_zeros(())
    raise ValueError(f"unknown non-triviality regulariser {kind!r}; choose cosine, relative, norm, none")


def orthogonality_penalty(basis: torch.Tensor, kind: str = "cosine") -> torch.Tensor:
    """Mean squared overlap between different generators (Frobenius cosine or Killing form)."""
    k = basis.shape[0]
    if k < 2:
        return basis.new_zeros(())
    if kind == "cosine":
        unit = _flat_unit(basis)
        gram = unit @ unit.T
    elif kind == "killing":
        # B(X, Y) = tr(ad_X ad_Y) ~ 2n tr(XY) - 2 tr X tr Y for gl(n); normalise like a cosine.
        n = basis.shape[-1]
        traces = torch.einsum("iab,jba->ij", basis, basis)
        tr = torch.einsum("iaa->i", basis)
        killing = 2 * n * traces - 2 * tr[:, None] * tr[None, :]
        scale = killing.diagonal().abs().clamp(min=1e-12).sqrt()
        gram = killing / (scale[:, None] * scale[None, :])
    elif kind == "none":
        return basis.new_zeros(())
    else:
        raise ValueError(f"unknown orthogonality regulariser {kind!r}; choose cosine, killing, none")
    off_diagonal = gram - torch.diag(gram.diagonal())
    return (off_diagonal ** 2).sum() / (k * (k - 1))


def sparsity_penalty(basis: torch.Tensor, p: float = 1.0) -> torch.Tensor:
    """Lp penalty on the entries of the unit-normalised generators (scale-free)."""
    unit = _flat_unit(basis)
    return unit.abs().pow(p).sum(dim=1).mean()


def threshold_basis(basis: torch.Tensor, relative: float) -> torch.Tensor:
    """Zero the entries smaller than `relative` times each generator's largest entry."""
    if relative <= 0:
        return basis
    peak = basis.abs().amax(dim=(-2, -1), keepdim=True)
    return torch.where(basis.abs() < relative * peak, torch.zeros_like(basis), basis)
