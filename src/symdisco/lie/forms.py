"""Symmetric bilinear forms a set of generators preserves: J with L^T J + J L = 0 for every
generator L (the group preserves x^T J y).

Found as the near-null space of that linear map in J, decided by the one tolerance rule of
`nullspace` (so approximate, discovered generators keep their form, and spans that preserve
nothing keep none). The invariant metric is the kept form when one is kept; when a family is
kept (so(2) turning (x1, x2) and leaving x3 alone keeps a (x1^2 + x2^2) + b x3^2), it is the
member furthest from degenerate (`informative_member`), since the best-conditioned single
form may be b x3^2 alone, which says nothing of the symmetry. It is scaled to max |entry| = 1,
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
    """The invariant symmetric form (n, n), normalised (`normalise_metric`), or None when
    `invariant_forms` keeps none: the metric exists exactly when a form is kept. Of a family
    of kept forms, the `informative_member`."""
    forms = invariant_forms(basis, tol, min_gap)
    return normalise_metric(informative_member(forms)) if forms.shape[0] else None


ASCENT_STEPS = 300
"""Most steps of `informative_member`'s search for a definite member (each one n x n eigh)."""


def informative_member(forms: torch.Tensor) -> torch.Tensor:
    """The member of span(forms) (Frobenius-orthonormal, (m, n, n)) furthest from degenerate.

    A definite one if the span holds one (a compact group's family always does): found by
    ascent on a smoothed smallest eigenvalue (concave in the coefficients), then the one of
    largest determinant at unit norm (Newton on log det, concave). Where none is definite
    (so(1,1) beside a fixed axis keeps a (t^2 - x^2) + b y^2), alternating projections between
    the span and the matrices with eigenvalues +-1, from each kept form, give a
    nondegenerate one: diag(1, -1, 1). One form is returned as it is.
    """
    m, n = forms.shape[0], forms.shape[-1]
    if m == 1:
        return forms[0]
    flat = forms.reshape(m, -1)
    start = _a_definite_member(flat, n)
    if start is not None:
        return _largest_determinant(flat, n, start)
    return max((_nondegenerate_from(flat, f, n) for f in forms),
               key=lambda j: float(torch.linalg.eigvalsh(j).abs().min()))


def _a_definite_member(flat: torch.Tensor, n: int) -> torch.Tensor | None:
    """Coefficients c (unit norm) of a positive definite member, or None if ascent finds none."""
    c = flat @ torch.eye(n, dtype=flat.dtype, device=flat.device).reshape(-1)
    c = c / c.norm() if c.norm() > 0 else torch.eye(flat.shape[0], dtype=flat.dtype, device=flat.device)[0]
    for step in range(ASCENT_STEPS):
        values, vectors = torch.linalg.eigh((c @ flat).reshape(n, n))
        if float(values[0]) > 1e-6 * float(values.abs().max()):
            return c
        smooth = torch.softmax(-values / (0.05 / (1 + 0.05 * step)), 0)  # sharper as it goes
        c = c + 0.3 / math.sqrt(1 + step) * (flat @ ((vectors * smooth) @ vectors.T).reshape(-1))
        c = c / c.norm()
    return None


def _largest_determinant(flat: torch.Tensor, n: int, c: torch.Tensor, steps: int = 50) -> torch.Tensor:
    """Maximise log det J(c) - n |c|^2 / 2 (strictly concave; its maximiser has |c| = 1, so it is
    the unit-norm member of largest determinant) by damped Newton from a definite J(c)."""
    def objective(coefficients):
        values = torch.linalg.eigvalsh((coefficients @ flat).reshape(n, n))
        if values[0] <= 0:
            return -float("inf")
        return float(values.log().sum() - n * coefficients.dot(coefficients) / 2)

    value = objective(c)
    for _ in range(steps):
        inverse = torch.linalg.inv((c @ flat).reshape(n, n))
        a = inverse @ flat.reshape(-1, n, n)                   # (m, n, n): J^-1 F_i
        gradient = a.diagonal(dim1=-2, dim2=-1).sum(-1) - n * c
        hessian = -torch.einsum("iab,jba->ij", a, a) - n * torch.eye(len(c), dtype=c.dtype, device=c.device)
        step = -torch.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6:
            candidate = c + scale * step
            new_value = objective(candidate)
            if new_value >= value:
                break
            scale /= 2
        else:
            break
        improved = new_value - value
        c, value = candidate, new_value
        if improved < 1e-12:
            break
    return (c / c.norm() @ flat).reshape(n, n)


def _nondegenerate_from(flat: torch.Tensor, start: torch.Tensor, n: int, steps: int = 25) -> torch.Tensor:
    """Alternate: J -> the span's projection of V sign(D) V^T (J = V D V^T); unit norm."""
    member = start
    for _ in range(steps):
        values, vectors = torch.linalg.eigh(member)
        signs = (vectors * torch.where(values >= 0, 1.0, -1.0).to(member.dtype)) @ vectors.T
        projected = ((flat @ signs.reshape(-1)) @ flat).reshape(n, n)
        if projected.norm() == 0:
            break
        member = projected / projected.norm()
    return member


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
