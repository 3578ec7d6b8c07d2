"""Name a found algebra from invariants that do not depend on its basis or on a change of
coordinates (conjugation L -> g L g^-1), with a confidence in [0, 1].

Names: "none" (no generators), "so(n)", "so(p,q)" (written with p <= q, e.g. "so(1,3)", "so(1,2)", "so(1,1)"),
"translations(k)", "scaling", "sl(2)", "gl(n)", "abelian(k)", "unknown", and any of these
followed by "+dilation" when the span holds the identity (see `dilation`).

How:
1. Orthonormalise the span (Frobenius); its rank is the dimension k.
2. Closure residual (see `algebra`): above 0.3 the span is not an algebra -> "unknown";
   below, it lowers the confidence smoothly (0.1 gives 1/2).
3. k = 1: nilpotent (spectral radius < 0.1 spectral norm: translations(1)), a multiple of a projector (scaling), purely
   imaginary spectrum (so(2)), real spectrum in +- pairs (so(1,1), a boost: the pairs'
   midpoints held to the same tolerance as so(2)'s real parts), else abelian(1).
4. Commuting generators: all nilpotent (radius < 0.2 norm: noise of size e moves the
   eigenvalues of a nilpotent matrix by about sqrt(e)) -> translations(k), else abelian(k).
5. Otherwise balance the representation (conjugate by the positive g minimising
   sum |g L_i g^-1|^2, which for reductive algebras undoes any earlier conjugation and
   makes the Killing form well scaled), then read the Killing form's signature:
   nondegenerate with k = m(m-1)/2 and p*q positive directions (p + q = m) -> so(p,q)
   (p = 0: so(m)); the split 3-dimensional one is "so(1,2)" when the generators preserve
   a symmetric form of signature (1,2) (decided by `nullspace`'s rule) and "sl(2)" otherwise; a one-dimensional kernel
   with the signature of sl(m) and k = m^2 -> gl(m).
6. A span that steps 4-5 call unknown or abelian but that holds the identity (it commutes with
   everything): name its traceless parts and append "+dilation" (so(1,3)+dilation is co(1,3),
   the maps keeping the light cone; so(2)+dilation the complex scalings).
The confidence multiplies the closure factor with how clearly each decision was made
(margins of eigenvalue ratios against their thresholds); "unknown" has confidence 0.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .brackets import as_basis, closure_residual, unit_span
from .dilation import DILATION_TOL, identity_distance, without_dilation
from .forms import FORM_MAX_DIM, invariant_form_spectrum
from .nullspace import NULL_GAP, gap_at, null_count

RANK_RTOL = 1e-2          # singular values of the (unit-norm) generators below this: dependent
MAX_CLOSURE = 0.3         # above: not an algebra
CLOSURE_HALF = 0.1        # closure residual that halves the confidence
ABELIAN_TOL = 0.1         # relative commutator size below which generators commute
NILPOTENT_TOL = 0.1       # spectral radius / spectral norm below which a generator is nilpotent
NILPOTENT_TOL_ABELIAN = 0.2   # the same for several commuting generators (no rotation to confuse)
ZERO_TOL = 0.1            # Killing eigenvalue / largest below which it counts as zero
SPECTRUM_TOL = 0.05       # relative size of parts of an eigenvalue that should vanish


def _ramp(value: float, start: float, full: float) -> float:
    """0 at `start`, 1 at `full` (either direction), linear between, clipped."""
    if full == start:
        return 1.0
    return float(min(1.0, max(0.0, (value - start) / (full - start))))


def _spectral_norm(matrix: np.ndarray) -> float:
    return float(np.linalg.norm(matrix, 2))


BALANCE_MAX_DIM = 64      # larger representations are read as given (each step is an n x n eigh)


def balance(basis: np.ndarray, steps: int = 200, tol: float = 1e-6) -> np.ndarray:
    """Conjugate by positive definite g to minimise sum |g L_i g^-1|_F^2 (moment map -> 0).

    Gradient descent along exp(-a M), M = sum L L^T - L^T L, with a backtracking step.
    Returned unchanged for n > BALANCE_MAX_DIM.
    """
    basis = basis.copy()
    if basis.shape[-1] > BALANCE_MAX_DIM:
        return basis
    size = float((basis ** 2).sum())
    step = 0.5
    for _ in range(steps):
        moment = np.einsum("kij,klj->il", basis, basis) - np.einsum("kji,kjl->il", basis, basis)
        if size == 0 or np.linalg.norm(moment) < tol * size:
            break
        w, v = np.linalg.eigh(moment / size)
        while step > 1e-12:
            g = (v * np.exp(-step * w)) @ v.T
            g_inv = (v * np.exp(step * w)) @ v.T
            candidate = g @ basis @ g_inv
            candidate_size = float((candidate ** 2).sum())
            if candidate_size < size:
                break
            step /= 2
        else:
            break
        basis, size, step = candidate, candidate_size, step * 1.5
    return basis


def _orthonormal_span(basis: np.ndarray) -> np.ndarray:
    return unit_span(basis, RANK_RTOL)


def _killing_eigenvalues(q: np.ndarray) -> np.ndarray:
    k = q.shape[0]
    comms = np.einsum("iab,jbc->ijac", q, q)
    comms = comms - comms.transpose(1, 0, 2, 3)
    c = comms.reshape(k * k, -1) @ np.linalg.pinv(q.reshape(k, -1))
    c = c.reshape(k, k, k)
    killing = np.einsum("iml,jlm->ij", c, c)
    eigenvalues = np.linalg.eigvalsh((killing + killing.T) / 2)
    return eigenvalues / max(np.abs(eigenvalues).max(), 1e-300)


def _one_generator(generator: np.ndarray) -> tuple[str, float]:
    eigenvalues = np.linalg.eigvals(generator)
    radius = np.abs(eigenvalues).max() / _spectral_norm(generator)
    if radius < NILPOTENT_TOL:
        return "translations(1)", _ramp(radius, NILPOTENT_TOL, NILPOTENT_TOL / 2)
    generator = balance(generator[None])[0]
    eigenvalues = np.linalg.eigvals(generator)
    eigenvalues = eigenvalues / np.abs(eigenvalues).max()
    imaginary = np.abs(eigenvalues.imag).max()
    real = np.abs(eigenvalues.real).max()
    if real < SPECTRUM_TOL:
        return "so(2)", _ramp(real, SPECTRUM_TOL, SPECTRUM_TOL / 2)
    if imaginary < SPECTRUM_TOL:
        real_values = np.sort(eigenvalues.real)
        nonzero = real_values[np.abs(real_values) > 0.3]
        zero_part = np.abs(real_values[np.abs(real_values) <= 0.3]).max(initial=0.0)
        clean = _ramp(max(imaginary, zero_part), SPECTRUM_TOL, SPECTRUM_TOL / 2)
        if np.all(nonzero > 0) or np.all(nonzero < 0):
            spread = (nonzero.max() - nonzero.min()) / np.abs(nonzero).max()
            if spread < SPECTRUM_TOL:
                return "scaling", clean * _ramp(spread, SPECTRUM_TOL, SPECTRUM_TOL / 2)
        elif nonzero.size % 2 == 0:  # +-pairs; the midpoint of a pair is off as so(2)'s real part
            mismatch = np.abs(nonzero + nonzero[::-1]).max() / 2
            if mismatch < SPECTRUM_TOL:
                return "so(1,1)", clean * _ramp(mismatch, SPECTRUM_TOL, SPECTRUM_TOL / 2)
    return "abelian(1)", 1.0


def _commutator_ratio(q: np.ndarray) -> float:
    """max over pairs of |[A,B]|_F / (|A|_2 |B|_F + |B|_2 |A|_F), in [0, 1]."""
    worst = 0.0
    norms2 = [_spectral_norm(m) for m in q]
    for i in range(len(q)):
        for j in range(i + 1, len(q)):
            comm = np.linalg.norm(q[i] @ q[j] - q[j] @ q[i])
            bound = norms2[i] * np.linalg.norm(q[j]) + norms2[j] * np.linalg.norm(q[i])
            worst = max(worst, comm / bound)
    return worst


def _abelian(q: np.ndarray) -> tuple[str, float]:
    k = q.shape[0]
    radius = max(np.abs(np.linalg.eigvals(m)).max() / _spectral_norm(m) for m in q)
    if radius < NILPOTENT_TOL_ABELIAN:
        return f"translations({k})", _ramp(radius, NILPOTENT_TOL_ABELIAN, NILPOTENT_TOL_ABELIAN / 2)
    return f"abelian({k})", 1.0


def _so_pq_from_killing(k: int, positive: int) -> tuple[int, int] | None:
    m = (1 + math.isqrt(1 + 8 * k)) // 2
    if m * (m - 1) // 2 != k or m < 3:
        return None
    for p in range(m // 2 + 1):
        if p * (m - p) == positive:
            return p, m - p
    return None


def _split_three(balanced: np.ndarray) -> tuple[str, float]:
    """so(1,2) if the generators preserve a symmetric form (the one rule of `nullspace`) and
    it has signature (1,2), else sl(2); the confidence grows with the gap that decided."""
    if balanced.shape[-1] > FORM_MAX_DIM or balanced.shape[-1] < 3:
        return "sl(2)", 0.5 if balanced.shape[-1] > FORM_MAX_DIM else 1.0
    forms, values = invariant_form_spectrum(torch.as_tensor(balanced))
    if float(values[-1]) == 0:
        return "sl(2)", 1.0
    relative = values / values[-1]
    kept = null_count(relative)
    if kept == 0:  # how clearly nothing was kept: the best form's gap against the rule's
        return "sl(2)", _ramp(gap_at(relative, 1), NULL_GAP, NULL_GAP / 2)
    eigenvalues = np.linalg.eigvalsh(forms[0].numpy())
    eigenvalues = eigenvalues / np.abs(eigenvalues).max()
    signs = sorted(((eigenvalues > 0.1).sum(), (eigenvalues < -0.1).sum()))
    if kept != 1 or signs != [1, 2]:
        return "sl(2)", 1.0
    return "so(1,2)", _ramp(gap_at(relative, kept), NULL_GAP, 2 * NULL_GAP)


def _semisimple_or_reductive(q: np.ndarray) -> tuple[str, float]:
    k = q.shape[0]
    balanced = _orthonormal_span(balance(q))
    if balanced.shape[0] != k:
        return "unknown", 0.0
    eigenvalues = _killing_eigenvalues(balanced)
    magnitude = np.abs(eigenvalues)
    is_zero = magnitude < ZERO_TOL
    positive, negative, zeros = int((eigenvalues >= ZERO_TOL).sum()), int((eigenvalues <= -ZERO_TOL).sum()), int(is_zero.sum())
    smallest_nonzero = magnitude[~is_zero].min(initial=1.0)
    largest_zero = magnitude[is_zero].max(initial=0.0)
    clear = _ramp(smallest_nonzero, ZERO_TOL, 2 * ZERO_TOL) * _ramp(largest_zero, ZERO_TOL, ZERO_TOL / 2)
    if zeros == 0:
        pq = _so_pq_from_killing(k, positive)
        if pq is None:
            return "unknown", 0.0
        p, q_ = pq
        if (p, q_) == (1, 2):
            name, sure = _split_three(balanced)
            return name, clear * sure
        return (f"so({q_})" if p == 0 else f"so({p},{q_})"), clear
    m = math.isqrt(k)
    if zeros == 1 and m * m == k and m >= 2 and positive == m * (m + 1) // 2 - 1 and negative == m * (m - 1) // 2:
        return f"gl({m})", clear
    return "unknown", 0.0


def identify(algebra) -> tuple[str, float]:
    """(name, confidence in [0, 1]) for a `LieAlgebra` or a basis (k, n, n); see module doc."""
    basis = as_basis(algebra).detach().cpu().to(torch.float64).numpy()
    if basis.shape[0] == 0:  # no generators: the trivial algebra, a valid answer ("no symmetry")
        return "none", 1.0
    if not np.all(np.isfinite(basis)) or not np.abs(basis).max() > 0:
        return "unknown", 0.0
    q = _orthonormal_span(basis)
    k = q.shape[0]
    dependent = k / basis.shape[0]       # duplicated generators lower the confidence
    residual = float(closure_residual(torch.as_tensor(q)))
    if residual > MAX_CLOSURE:
        return "unknown", 0.0
    closure = 1.0 / (1.0 + (residual / CLOSURE_HALF) ** 2)
    if k == 1:
        name, sure = _one_generator(q[0])
    else:
        ratio = _commutator_ratio(q)
        if ratio < ABELIAN_TOL:
            name, sure = _abelian(q)
            sure *= _ramp(ratio, ABELIAN_TOL, ABELIAN_TOL / 2)
        else:
            name, sure = _semisimple_or_reductive(q)
            sure *= _ramp(ratio, ABELIAN_TOL, 2 * ABELIAN_TOL)
    distance = identity_distance(q) if k >= 2 else 1.0
    if (name == "unknown" or name.startswith("abelian")) and distance < DILATION_TOL:
        rest, rest_sure = identify(without_dilation(q))
        if rest not in ("unknown", "none"):
            name, sure = f"{rest}+dilation", rest_sure * _ramp(distance, DILATION_TOL, DILATION_TOL / 2)
    if name == "unknown":
        return name, 0.0
    return name, float(min(1.0, max(0.0, closure * sure * dependent)))
