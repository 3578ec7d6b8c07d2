"""LieAlgebra: a basis of k matrices (k, n, n) and what the algebra computes from it.

The mathematics lives in small pure functions on tensors (`commutator`,
`structure_constants`, `closure_residual`, `killing_form`, `invariant_forms`), which
accept a leading batch where that makes sense and are differentiable with torch; the
`LieAlgebra` class is a thin, printable wrapper around one basis.

Conventions
-----------
* Inner product on matrices: Frobenius, <A, B> = sum_ab A_ab B_ab.
* Structure constants: [L_i, L_j] = sum_l c[i, j, l] L_l, fitted by least squares.
* Closure residual: for a Frobenius-orthonormal basis Q of the span, the root mean
  square over pairs i < j of the norm of the part of [Q_i, Q_j] outside the span.
  It does not depend on the basis or the scale of the generators, is 0 for a closed
  algebra (abelian ones included, also when noisy) and of order 1/sqrt(n) for random
  matrices.
* Invariant forms: symmetric J with L^T J + J L = 0 for every generator (the group
  preserves x^T J y). Found as the near-null space of that linear map in J; a form is
  kept when its singular value is at most `rtol` times the largest one, which suits
  approximate, discovered generators.
* Invariant metric: the best single form (smallest singular value), scaled to
  max |entry| = 1, with its sign fixed so that the first diagonal entry whose magnitude
  is at least half the largest diagonal magnitude is positive (so so(1,3) on
  (E, px, py, pz) gives diag(1, -1, -1, -1) and so(3) gives the identity).
"""
from __future__ import annotations

import math

import numpy as np
import torch

FORM_RTOL = 0.05
"""Default relative singular-value tolerance for `invariant_forms` and `invariant_metric`."""

FORM_GAP = 0.25
"""`invariant_metric` also accepts a form that is this many times better than the next one.

Discovered generators are only approximately closed: their best form is off by ~0.1-0.15 of
the largest singular value, yet stands far apart from the rest (the next is ~0.85), while a
random span has no such gap (0.6 next to 0.63)."""

FORM_MAX_DIM = 32
"""Largest n for which invariant forms are computed (a dense SVD whose cost grows as n^6)."""


def as_basis(basis) -> torch.Tensor:
    """A basis as a torch tensor (k, n, n); accepts LieAlgebra, tensors, arrays, lists.

    numpy (and list) input becomes float64; a single (n, n) matrix becomes (1, n, n).
    """
    if isinstance(basis, LieAlgebra):
        return basis.basis
    if isinstance(basis, torch.Tensor):
        tensor = basis if basis.is_floating_point() else basis.to(torch.float64)
    else:
        tensor = torch.as_tensor(np.asarray(basis, dtype=np.float64))
    if tensor.ndim == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 3 or tensor.shape[-1] != tensor.shape[-2]:
        raise ValueError(f"expected generators of shape (k, n, n), got shape {tuple(tensor.shape)}")
    return tensor


def commutator(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """[a, b] = ab - ba, broadcasting over leading dimensions."""
    return a @ b - b @ a


def pairwise_commutators(basis: torch.Tensor) -> torch.Tensor:
    """(..., k, n, n) -> (..., k, k, n, n) with entry [i, j] = [L_i, L_j]."""
    return commutator(basis.unsqueeze(-3), basis.unsqueeze(-4))


def _flat(basis: torch.Tensor) -> torch.Tensor:
    return basis.reshape(*basis.shape[:-2], basis.shape[-1] * basis.shape[-2])


def orthonormal_basis(basis: torch.Tensor) -> torch.Tensor:
    """A Frobenius-orthonormal basis of the span (QR; the generators must be independent)."""
    k, n = basis.shape[-3], basis.shape[-1]
    q, _ = torch.linalg.qr(_flat(basis).transpose(-1, -2))
    return q.transpose(-1, -2).reshape(*basis.shape[:-3], k, n, n)


def structure_constants(basis: torch.Tensor) -> torch.Tensor:
    """(..., k, n, n) -> (..., k, k, k): least-squares c with [L_i, L_j] = sum_l c[i, j, l] L_l."""
    k = basis.shape[-3]
    comms = _flat(pairwise_commutators(basis)).reshape(*basis.shape[:-3], k * k, -1)
    coefficients = comms @ torch.linalg.pinv(_flat(basis))
    return coefficients.reshape(*basis.shape[:-3], k, k, k)


def closure_residual(basis: torch.Tensor) -> torch.Tensor:
    """(..., k, n, n) -> (...): basis-independent size of the commutators outside the span.

    RMS over pairs i < j of |[Q_i, Q_j] - P[Q_i, Q_j]|_F for an orthonormal basis Q and
    P the projection onto the span; 0 for k = 1.
    """
    k = basis.shape[-3]
    if k < 2:
        return basis.new_zeros(basis.shape[:-3])
    q = orthonormal_basis(basis)
    flat_q = _flat(q)                                             # (..., k, n*n)
    comms = _flat(pairwise_commutators(q)).reshape(*basis.shape[:-3], k * k, -1)
    outside = comms - (comms @ flat_q.transpose(-1, -2)) @ flat_q
    return torch.sqrt(outside.pow(2).sum((-1, -2)) / (k * (k - 1)))


def killing_form(basis: torch.Tensor) -> torch.Tensor:
    """(..., k, n, n) -> (..., k, k): K_ij = tr(ad_i ad_j), with (ad_i)_{lj} = c[i, j, l]."""
    c = structure_constants(basis)
    return torch.einsum("...iml,...jlm->...ij", c, c)


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


def invariant_form_spectrum(basis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All candidate forms and how far each is from invariant, best first.

    Returns (forms (s, n, n), singular values (s,)), s = n(n+1)/2, singular values
    ascending, forms Frobenius-orthonormal and symmetric. The map J -> {Q_i^T J + J Q_i}
    uses an orthonormal basis Q of the span, so the values do not depend on the basis.
    """
    n = basis.shape[-1]
    if n > FORM_MAX_DIM:
        raise ValueError(f"invariant forms are computed for n <= {FORM_MAX_DIM} only (dense SVD); "
                         f"these generators are {n}x{n}")
    q = orthonormal_basis(basis)
    sym = symmetric_basis(n, dtype=basis.dtype, device=basis.device)
    images = q.transpose(-1, -2).unsqueeze(0) @ sym.unsqueeze(1) + sym.unsqueeze(1) @ q.unsqueeze(0)
    matrix = images.reshape(sym.shape[0], -1).transpose(0, 1)     # (k n^2, s)
    _, values, vh = torch.linalg.svd(matrix, full_matrices=False)
    forms = torch.einsum("as,sij->aij", vh, sym)
    return forms.flip(0), values.flip(0)


def invariant_forms(basis: torch.Tensor, rtol: float = FORM_RTOL) -> torch.Tensor:
    """(m, n, n) orthonormal basis of the symmetric J with L^T J + J L ~ 0 (m may be 0)."""
    forms, values = invariant_form_spectrum(basis)
    largest = values[-1]
    keep = values <= rtol * largest if largest > 0 else torch.ones_like(values, dtype=torch.bool)
    return forms[keep]


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


def canonical_basis(basis: torch.Tensor) -> torch.Tensor:
    """A display basis that depends only on the span (up to near-ties), not on the basis.

    Orthonormalise the span, choose pivot entries greedily (the entry carrying the most
    weight of what is left, earliest in row-major order among those within 10% of it),
    take the basis that is 1 at its own pivot and 0 at the others, order by pivot, scale
    each generator to max |entry| = 1 with its pivot entry positive.
    """
    k, n = basis.shape[0], basis.shape[-1]
    flat = basis.detach().cpu().to(torch.float64).reshape(k, n * n).numpy()
    _, singular, vt = np.linalg.svd(flat, full_matrices=False)
    if singular.size == 0 or singular[0] == 0:
        return basis.clone()
    span = vt[singular > 1e-10 * singular[0]]
    rest, pivots = span.copy(), []
    for _ in range(span.shape[0]):
        weight = np.linalg.norm(rest, axis=0)
        pivot = int(np.flatnonzero(weight >= 0.9 * weight.max())[0])
        pivots.append(pivot)
        direction = rest[:, pivot] / weight[pivot]
        rest = rest - np.outer(direction, direction @ rest)
    pivots = sorted(pivots)
    canon = np.linalg.solve(span[:, pivots], span)
    for row, pivot in zip(canon, pivots):
        row /= np.abs(row).max()
        if row[pivot] < 0:
            row *= -1
    return torch.as_tensor(canon.reshape(-1, n, n), dtype=basis.dtype, device=basis.device)


class LieAlgebra:
    """A Lie algebra given by a basis of n x n matrices, `basis` of shape (k, n, n).

    numpy input becomes float64; torch input keeps its dtype, device and autograd graph.
    `name` is an optional label (e.g. the ground truth's name); `identify()` names the
    algebra from its invariants.
    """

    def __init__(self, basis, name: str | None = None):
        self.basis = as_basis(basis)
        self.name = name

    @property
    def k(self) -> int:
        return self.basis.shape[0]

    @property
    def n(self) -> int:
        return self.basis.shape[-1]

    @property
    def dtype(self) -> torch.dtype:
        return self.basis.dtype

    commutator = staticmethod(commutator)

    def structure_constants(self) -> torch.Tensor:
        """(k, k, k) with [L_i, L_j] = sum_l c[i, j, l] L_l (least squares)."""
        return structure_constants(self.basis)

    def closure_residual(self) -> float:
        """How far the span is from closed under commutators (0 = closed); see module doc."""
        return float(closure_residual(self.basis.detach()))

    def killing_form(self) -> torch.Tensor:
        """(k, k) Killing form tr(ad_i ad_j) in this basis."""
        return killing_form(self.basis)

    def invariant_forms(self, rtol: float = FORM_RTOL) -> torch.Tensor:
        """(m, n, n) orthonormal basis of the symmetric forms every generator preserves."""
        return invariant_forms(self.basis, rtol)

    def invariant_metric(self, rtol: float = FORM_RTOL, gap: float = FORM_GAP) -> torch.Tensor | None:
        """The best single invariant symmetric form (n, n), or None (also for n > FORM_MAX_DIM).

        A form counts when its residual is below `rtol` of the largest singular value, or,
        for approximate (discovered) generators, below 0.3 of it and `gap` times the next one.
        """
        if self.n > FORM_MAX_DIM or self.k == 0:  # no generators: every form is invariant, none is singled out
            return None
        forms, values = invariant_form_spectrum(self.basis.detach())
        if values[-1] > 0 and values[0] > rtol * values[-1]:
            separated = len(values) > 1 and values[0] <= gap * values[1] and values[0] <= 0.3 * values[-1]
            if not separated:
                return None
        return normalise_metric(forms[0])

    def identify(self) -> tuple[str, float]:
        """(name, confidence in [0, 1]) from basis-independent invariants."""
        from .identify import identify

        return identify(self)

    def canonical(self) -> "LieAlgebra":
        """The same span in a deterministic display basis (see `canonical_basis`)."""
        return LieAlgebra(canonical_basis(self.basis), name=self.name)

    def numpy(self) -> np.ndarray:
        return self.basis.detach().cpu().numpy()

    def to(self, *args, **kwargs) -> "LieAlgebra":
        """Cast or move like `torch.Tensor.to` (dtype and/or device)."""
        return LieAlgebra(self.basis.to(*args, **kwargs), name=self.name)

    def __len__(self) -> int:
        return self.k

    def __repr__(self) -> str:
        label = f"'{self.name}', " if self.name else ""
        return f"LieAlgebra({label}k={self.k}, n={self.n}, dtype={self.dtype})"

    def __str__(self) -> str:
        name, confidence = self.identify()
        header = (f"{self.name + ': ' if self.name else ''}{self.k} generator(s) {self.n}x{self.n}, "
                  f"identified {name} ({confidence:.2f}), closure residual {self.closure_residual():.1e}")
        return header + "\n" + heat_map(self.numpy())


_SHADES = " ░▒▓█"


def heat_map(basis: np.ndarray, width: int = 100, max_dim: int = 48) -> str:
    """Generators side by side: rounded numbers for n <= 8, sign + shade blocks up to max_dim."""
    k, n = basis.shape[0], basis.shape[-1]
    if n > max_dim:
        return f"({k} generator(s) of {n}x{n}: too large for a terminal heat map)"
    scale = float(np.abs(basis).max()) if basis.size else 0.0
    note = ""
    if n <= 8:
        factor = 1.0
        if scale > 0 and not 0.05 <= scale < 99.5:
            exponent = int(math.floor(math.log10(scale)))
            factor, note = 10.0 ** -exponent, f"  (entries x 1e{exponent})"

        def cell(v):
            v = v * factor
            return "     ·" if abs(v) < 0.005 else f"{v:+6.2f}"
        cell_width = 6
    else:
        def cell(v):
            level = 0 if scale == 0 else int(round(abs(v) / scale * (len(_SHADES) - 1)))
            return " ·" if level == 0 else ("+" if v > 0 else "-") + _SHADES[level]
        cell_width = 2
        note = f"  (shade: |entry| / {scale:.2g})"
    block = cell_width * n + (n - 1 if n <= 8 else 0)
    per_row = max(1, (width + 3) // (block + 3))
    lines = []
    for start in range(0, k, per_row):
        group = range(start, min(k, start + per_row))
        lines.append("   ".join(f"L{i + 1}".ljust(block) for i in group).rstrip())
        for r in range(n):
            sep = " " if n <= 8 else ""
            lines.append("   ".join(sep.join(cell(v) for v in basis[i, r]) for i in group).rstrip())
    return "\n".join(lines) + note
