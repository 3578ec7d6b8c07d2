"""LieAlgebra: a basis of k matrices (k, n, n) and what the algebra computes from it.

The mathematics lives in small pure functions on tensors: `brackets` (commutators,
structure constants, closure residual, Killing form), `forms` (invariant bilinear forms and
metric, under the one tolerance rule of `nullspace`) and `identify` (names); the
`LieAlgebra` class is a thin, printable wrapper around one basis. Printing shows the
matrices, the given name and an identification already made; it computes nothing.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .brackets import (as_basis, closure_residual, commutator, killing_form,  # noqa: F401  (re-exported)
                       orthonormal_basis, pairwise_commutators, structure_constants)
from .forms import (FORM_MAX_DIM, informative_member, invariant_form_spectrum,  # noqa: F401  (re-exported)
                    invariant_forms, invariant_metric, normalise_metric, symmetric_basis)
from .dilation import holds_dilation, without_dilation
from .identify import identify
from .nullspace import NULL_GAP


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


def to_data_units(basis: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Generators (k, n, n) in the user's coordinates -> the data's units: D^-1 L D, D = diag(scales)."""
    s = scales.to(basis.dtype).to(basis.device)
    return (1.0 / s)[:, None] * basis * s[None, :]


def from_data_units(basis: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """The inverse of `to_data_units`: D L D^-1."""
    return to_data_units(basis, 1.0 / scales)


def form_from_data_units(forms: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Forms M kept by D^-1 L D -> the forms D^-1 M D^-1 kept by L."""
    s = scales.to(forms.dtype).to(forms.device)
    return (1.0 / s)[:, None] * forms * (1.0 / s)[None, :]


class LieAlgebra:
    """A Lie algebra given by a basis of n x n matrices, `basis` of shape (k, n, n).

    numpy input becomes float64; torch input keeps its dtype, device and autograd graph.
    `name` is an optional label (e.g. the ground truth's name); `identify()` names the
    algebra from its invariants.

    `scales` (n,), optional: the size of each coordinate on the data it was found from. Where
    coordinates differ in scale by orders of magnitude (positions ~100, velocities ~1), a
    found generator's estimation noise in the large-from-small entries L[a, b] (a large, b
    small) is multiplied by that ratio and swamps the matrix, although it moves the data by
    as little as before. Naming, closure, invariant and conformal metrics and the display
    basis are therefore computed in the data's units, on D^-1 L D with D = diag(scales):
    conjugation changes none of them, only how well they are conditioned.
    """

    def __init__(self, basis, name: str | None = None, scales=None):
        self.basis = as_basis(basis)
        self.name = name
        self.scales = None
        if scales is not None:
            scales = torch.as_tensor(np.asarray(scales, dtype=np.float64)).reshape(-1)
            if scales.numel() != self.n or not bool(torch.all(torch.isfinite(scales) & (scales > 0))):
                raise ValueError(f"scales must be {self.n} positive finite numbers, got {scales.tolist()}")
            self.scales = scales

    def balanced(self) -> torch.Tensor:
        """The basis in the data's units, D^-1 L D (the basis itself without `scales`)."""
        basis = self.basis.detach()
        return basis if self.scales is None else to_data_units(basis, self.scales)

    def _form_to_user(self, form: torch.Tensor | None) -> torch.Tensor | None:
        """A form kept by D^-1 L D, as the form D^-1 M D^-1 kept by L."""
        if form is None or self.scales is None:
            return form
        return normalise_metric(form_from_data_units(form, self.scales))

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
        return float(closure_residual(self.balanced()))

    def killing_form(self) -> torch.Tensor:
        """(k, k) Killing form tr(ad_i ad_j) in this basis."""
        return killing_form(self.basis)

    def invariant_forms(self, tol: float | None = None, min_gap: float = NULL_GAP) -> torch.Tensor:
        """(m, n, n) orthonormal basis of the symmetric forms every generator preserves, best
        first (the one rule of `nullspace`; ValueError for n > FORM_MAX_DIM)."""
        forms = invariant_forms(self.balanced(), tol, min_gap)
        if self.scales is None or len(forms) == 0:
            return forms
        mapped = form_from_data_units(forms, self.scales).reshape(len(forms), -1)
        return torch.linalg.qr(mapped.T)[0].T.reshape(forms.shape)  # orthonormal again, same order

    def invariant_metric(self, tol: float | None = None, min_gap: float = NULL_GAP) -> torch.Tensor | None:
        """The invariant symmetric form (n, n), normalised (of a family, `informative_member`),
        or None: None exactly when `invariant_forms` is empty, and for n > FORM_MAX_DIM."""
        return self.metric_and_family(tol, min_gap)[0]

    def metric_and_family(self, tol: float | None = None,
                          min_gap: float = NULL_GAP) -> tuple[torch.Tensor | None, int]:
        """`invariant_metric` and how many independent forms are kept (m > 1: the metric is one
        member of that family), from one solve."""
        if self.n > FORM_MAX_DIM or self.k == 0:  # no generators: no form is singled out
            return None, 0
        forms = invariant_forms(self.balanced(), tol, min_gap)
        if not len(forms):
            return None, 0
        return self._form_to_user(normalise_metric(informative_member(forms))), len(forms)

    def conformal_metric(self, tol: float | None = None, min_gap: float = NULL_GAP) -> torch.Tensor | None:
        """For a span holding the dilation (g + R I): the metric g preserves, which every
        generator preserves up to scale (L^T J + J L = 2c J); None otherwise."""
        if self.n > FORM_MAX_DIM or not holds_dilation(self.balanced()):
            return None
        return self._form_to_user(invariant_metric(without_dilation(self.balanced()), tol, min_gap))

    def identify(self) -> tuple[str, float]:
        """(name, confidence in [0, 1]) from basis-independent invariants; computed once per
        basis and remembered (printing shows it when known)."""
        known = self._known_identification()
        if known is None:
            known = identify(self.balanced())
            self._identified = (self.basis, self.basis._version, known)
        return known

    def _known_identification(self) -> tuple[str, float] | None:
        basis, version, known = getattr(self, "_identified", (None, None, None))
        return known if basis is self.basis and version == self.basis._version else None

    def canonical(self) -> "LieAlgebra":
        """The same span in a deterministic display basis (see `canonical_basis`)."""
        canon = canonical_basis(self.balanced()).to(self.basis.dtype)
        if self.scales is not None:
            canon = from_data_units(canon, self.scales)
        return LieAlgebra(canon, name=self.name, scales=self.scales)

    def numpy(self) -> np.ndarray:
        return self.basis.detach().cpu().numpy()

    def to(self, *args, **kwargs) -> "LieAlgebra":
        """Cast or move like `torch.Tensor.to` (dtype and/or device)."""
        return LieAlgebra(self.basis.to(*args, **kwargs), name=self.name, scales=self.scales)

    def __len__(self) -> int:
        return self.k

    def __repr__(self) -> str:
        label = f"'{self.name}', " if self.name else ""
        return f"LieAlgebra({label}k={self.k}, n={self.n}, dtype={self.dtype})"

    def __str__(self) -> str:
        """Name, size, the identification if already made, and the matrices (no numerics)."""
        header = f"{self.name + ': ' if self.name else ''}{self.k} generator(s) {self.n}x{self.n}"
        known = self._known_identification()
        if known is not None:
            header += f", identified {known[0]} ({known[1]:.2f})"
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
