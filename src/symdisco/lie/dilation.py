"""Algebras that contain the dilation x -> (1 + eps) x, and what they preserve up to scale.

Why: a task that depends only on ratios (angles, mass ratios, a classifier whose classes sit
far apart in scale) is invariant under dilations as well as its "real" group, so closed-form
discovery finds g + R·I, e.g. so(1,3) + dilation = co(1,3), the linear maps that keep the light
cone. The identity commutes with everything, so g + R·I is an algebra exactly when g is;
naming g and reporting the form g preserves (which g + R·I preserves up to scale) says more
than "unknown" and no metric. The test is basis- and conjugation-free: g I g^-1 = I.
"""
from __future__ import annotations

import torch

from .brackets import as_basis, unit_span

DILATION_TOL = 0.1
"""Distance (in [0, 1]) of the unit identity from the span below which the span holds it."""


def _orthonormal(basis) -> torch.Tensor:
    return torch.as_tensor(unit_span(as_basis(basis).detach().double().cpu().numpy()))


def identity_distance(basis) -> float:
    """Frobenius distance of I / |I| from the span of `basis` (0: the span holds the dilation)."""
    q = _orthonormal(basis)
    if q.shape[0] == 0:
        return 1.0
    n = q.shape[-1]
    unit = torch.eye(n, dtype=q.dtype) / n ** 0.5
    inside = torch.einsum("kab,ab->k", q, unit)
    return float((1.0 - inside.pow(2).sum()).clamp_min(0.0).sqrt())


def without_dilation(basis) -> torch.Tensor:
    """The traceless parts of the span, orthonormal: its k - 1 best directions (projecting the
    identity out leaves k vectors in a (k - 1)-dimensional space, up to noise)."""
    q = _orthonormal(basis)
    n = q.shape[-1]
    traces = q.diagonal(dim1=-2, dim2=-1).sum(-1)
    traceless = q - traces[:, None, None] * torch.eye(n, dtype=q.dtype) / n
    _, _, vh = torch.linalg.svd(traceless.reshape(len(q), -1), full_matrices=False)  # no row scaling:
    return vh[:max(len(q) - 1, 0)].reshape(-1, n, n)                               # the lost row is ~0


def holds_dilation(basis, tol: float = DILATION_TOL) -> bool:
    """Whether the span (of at least two generators) holds the dilation."""
    return as_basis(basis).shape[0] >= 2 and identity_distance(basis) < tol
