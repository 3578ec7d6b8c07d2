"""Symmetric bilinear forms a set of generators preserves: J with L^T J + J L = 0 for every
generator L (the group preserves x^T J y).

Found as the near-null space of that linear map in J, decided by the one tolerance rule of
`nullspace` (so approximate, discovered generators keep their form, and spans that preserve
nothing keep none). The invariant metric is the best kept form, scaled to max |entry| = 1,
with its sign fixed so that the first diagonal entry whose magnitude is at least half the
largest diagonal magnitude is positive (so(1,3) on (E, px, py, pz) gives diag(1, -1, -1, -1),
so(3) the identity); it exists exactly when a form is kept.
"""
from __future__ import annotations

import math

import torch

from .nullspace import NULL_GAP, null_count

FORM_MAX_DIM = 32
"""Largest n for which invariant forms are computed (a dense SVD whose cost grows as n^6)."""


def symmetric_basis(n: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """Frobenius-orthonormal basis (n(n+1)/2, n, n) of the symmetric n x n matrices."""
    mats = []
    for a in range(n):
        for b in range(a, n):
            m = torch.zeros(n, n, dtype=dtype, device=device)
            if a == b:
                m[a, a] = 1.0
            else:
                m[a, b] = m[b, a] = 1.0 / math.sqrt(2.0)
            mats.append(m)
    return torch.stack(mats)


def span_basis(basis: torch.Tensor) -> torch.Tensor:
    """A Frobenius-orthonormal basis (r, n, n) of the span, r = its numerical rank (0 for zeros)."""
    if basis.shape[0] == 0:
        return basis
    flat = basis.reshape(basis.shape[0], -1)
    _, singular, vh = torch.linalg.svd(flat, full_matrices=False)
    rank = int((singular > 1e-12 * singular[0]).sum()) if singular[0] > 0 else 0
    return vh[:rank].reshape(rank, *basis.shape[1:])


def invariant_form_spectrum(basis: torch.Tensor, discrete: torch.Tensor | None = None
                            ) -> tuple[torch.Tensor, torch.Tensor]:
    """All candidate forms and how far each is from invariant, best first.

    Returns (forms (s, n, n), singular values (s,)), s = n(n+1)/2, singular values
    ascending, forms Frobenius-orthonormal and symmetric. The map J -> {Q_i^T J + J Q_i}
    uses an orthonormal basis Q of the span, so the values do not depend on the basis;
    `discrete` group elements h (d, n, n) add the constraints h^T J h - J.
    """
    n = basis.shape[-1]
    if n > FORM_MAX_DIM:
        raise ValueError(f"invariant forms are computed for n <= {FORM_MAX_DIM} only (dense SVD); "
                         f"these generators are {n}x{n}")
    q = span_basis(basis)
    sym = symmetric_basis(n, dtype=basis.dtype, device=basis.device)
    images = q.transpose(-1, -2).unsqueeze(0) @ sym.unsqueeze(1) + sym.unsqueeze(1) @ q.unsqueeze(0)
    if discrete is not None and discrete.shape[0]:
        h = discrete.to(basis.dtype)
        moved = h.transpose(-1, -2).unsqueeze(0) @ sym.unsqueeze(1) @ h.unsqueeze(0) - sym.unsqueeze(1)
        images = torch.cat([images, moved], dim=1)
    matrix = images.reshape(sym.shape[0], -1).transpose(0, 1)     # (k n^2, s)
    if matrix.shape[0] < matrix.shape[1]:  # too few constraints to fill the spectrum: pad with zeros
        matrix = torch.cat([matrix, matrix.new_zeros(matrix.shape[1] - matrix.shape[0], matrix.shape[1])])
    _, values, vh = torch.linalg.svd(matrix, full_matrices=False)
    forms = torch.einsum("as,sij->aij", vh, sym)
    return forms.flip(0), values.flip(0)


def invariant_forms(basis: torch.Tensor, tol: float | None = None, min_gap: float = NULL_GAP,
                    discrete: torch.Tensor | None = None) -> torch.Tensor:
    """(m, n, n) orthonormal basis of the symmetric J with L^T J + J L ~ 0 (m may be 0),
    best first; kept by the one rule of `nullspace.null_count`."""
    forms, values = invariant_form_spectrum(basis, discrete)
    largest = float(values[-1])
    if largest == 0:
        return forms
    return forms[: null_count(values / largest, tol, min_gap)]


def invariant_metric(basis: torch.Tensor, tol: float | None = None,
                     min_gap: float = NULL_GAP) -> torch.Tensor | None:
    """The best invariant symmetric form (n, n), normalised (`normalise_metric`), or None
    when `invariant_forms` keeps none: the metric exists exactly when a form is kept."""
    forms = invariant_forms(basis, tol, min_gap)
    return normalise_metric(forms[0]) if forms.shape[0] else None


def normalise_metric(form: torch.Tensor) -> torch.Tensor:
    """Scale to max |entry| = 1; sign: first diagonal entry with |d| >= max|d| / 2 positive.

    With a (near) zero diagonal the first entry with magnitude >= 1/2 decides instead.
    """
    form = form / form.abs().max()
    diag = form.diagonal()
    if diag.abs().max() > 1e-6:
        deciding = diag[int(torch.nonzero(diag.abs() >= 0.5 * diag.abs().max())[0])]
    else:
        flat = form.reshape(-1)
        deciding = flat[int(torch.nonzero(flat.abs() >= 0.5)[0])]
    return form if deciding > 0 else -form
