"""The one tolerance rule: which directions of a linear constraint count as null.

Every question of the form "which bilinear forms (or equivariant maps) do these approximate
generators preserve?" ends in the singular values of a constraint, and is answered here and
nowhere else (the algebra's invariant forms and metric, identification, the representation
solver, LieGNN's metrics).

The rule (EMLP's: one tolerance, and a check that a gap separates kept from dropped). With
singular values relative to the largest, ascending, ``rel[0] <= rel[1] <= ...``, the null
directions are the first ``r``, for the largest ``r`` with

* ``rel[r - 1] <= tol`` (the one tolerance: how far from exact a kept direction may be), and
* ``rel[r] >= min_gap * rel[r - 1]`` (a gap separates it from the first dropped one),

or none. Exact generators give null values at rounding level, far below anything else;
discovered ones (a few percent off) give ~0.1 next to ~0.9, and a span that preserves
nothing gives values with no gap (0.2, 0.4, 0.45, ...): so a form that is only "fairly
small" is never kept unless it also stands apart from the rest.
"""
from __future__ import annotations

import torch

NULL_RTOL = 0.3
"""Largest relative singular value a null direction may have (discovered generators: ~0.1-0.25)."""

NULL_GAP = 4.0
"""Factor by which the first dropped singular value must exceed the last kept one."""

_FLOOR = 1e-12
"""Relative values below this are rounding: treated as equal to it when measuring gaps."""


def gap_at(relative: torch.Tensor, r: int) -> float:
    """The ratio rel[r] / rel[r - 1] of ascending relative singular values (inf at either end)."""
    if r <= 0 or r >= relative.shape[0]:
        return float("inf")
    floored = relative.clamp_min(_FLOOR)
    return float(floored[r] / floored[r - 1])


def null_count(relative: torch.Tensor, tol: float | None = None, min_gap: float = NULL_GAP) -> int:
    """How many of the relative singular values `relative` (any order) are null: the rule of
    the module doc with tolerance `tol` (None: NULL_RTOL)."""
    tol = NULL_RTOL if tol is None else float(tol)
    rel = torch.sort(torch.as_tensor(relative).detach().flatten().to(torch.float64)).values
    for r in range(int((rel <= tol).sum()), 0, -1):
        if gap_at(rel, r) >= min_gap:
            return r
    return 0


def nullspace(constraint: torch.Tensor, tol: float | None = None, min_gap: float = NULL_GAP,
              reference: float | None = None) -> torch.Tensor:
    """Orthonormal basis (r, N) of the null space of `constraint` (M, N) under `null_count`'s rule.

    Singular values are relative to the largest, or to `reference` when that is larger (for a
    constraint restricted to a subspace). An all-zero or empty constraint: everything is null.
    """
    c = constraint.to(torch.float64)
    n = c.shape[-1]
    if c.shape[0] == 0 or not torch.any(c != 0):
        return torch.eye(n, dtype=torch.float64, device=c.device)
    if c.shape[0] > n:  # Gram matrix: an N x N eigenproblem instead of an M x N SVD
        evals, evecs = torch.linalg.eigh(c.T @ c)
        values, vectors = evals.clamp_min(0).sqrt(), evecs.T
    else:
        _, sv, vh = torch.linalg.svd(c, full_matrices=True)
        values = torch.zeros(n, dtype=torch.float64, device=c.device)
        values[: sv.shape[0]] = sv
        order = torch.argsort(values)
        values, vectors = values[order], vh[order]
    unit = values.max() if reference is None else max(float(reference), float(values.max()))
    return vectors[: null_count(values / unit, tol, min_gap)]
