"""The linear algebra of closed-form symmetry discovery: constraints linear in L, one solve.

Data live as blocks: x (N, M, n), M blocks of the base space R^n that one generator L (n x n)
acts on alike (a plain vector is one block; "blocks" and "points" actions have many). Every
task turns into per-sample constraint matrices C (N, R, n, n) with <C_r, L>_F = 0 for each
symmetry L:

    invariant      grad f_o(x) . (L x) = 0            C[o, a, b] = sum_m G[o, m, a] X[m, b]
    equivariant    J_f(x) L x - L f(x) = 0             C[(m', r), a, b] = sum_m J[m', r, m, a] X[m, b]
                                                                         - delta_ra F[m', b]
    distribution   s(x) . (L x) + tr(rho(L)) = 0       C[a, b] = sum_m S[m, a] X[m, b] + M delta_ab

(s = grad log p, the score). Restricted to a search space with orthonormal basis B (p, n, n),
the rows A = <C, B_j> are stacked over samples; the right singular vectors of A with small
singular values span the symmetries, and the gap in the normalised spectrum says how many.

Features on different scales are balanced first: x[m, a] = t_m s_a z[m, a] with a scalar t_m
per block (it commutes with L) and a scale s_a per component, and L = S L_z S^-1 maps the
solution back to the user's coordinates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..lie.algebra import from_data_units, to_data_units

NULL_TOLERANCE = 0.2
"""A normalised singular value (sigma / sigma_max) above this is never a symmetry. (0.1 cut off
clear gaps: six so(2,2) values at 0.046-0.104 below 0.46; C7's smallest, no symmetry, is 0.29.)"""

EXACT_ZERO = 1e-9
"""Normalised singular values below this are equal (exact derivatives give zeros ~1e-16)."""

MIN_GAP = 3.0
"""The chosen gap must separate kept from dropped singular values by at least this factor."""


@dataclass
class Scales:
    """x[m, a] = block[m] * component[a] * z[m, a]: per-block scalars and per-component scales."""

    block: torch.Tensor       # (M,)
    component: torch.Tensor   # (n,)

    @classmethod
    def of(cls, blocks: torch.Tensor) -> "Scales":
        """RMS scales of blocks (N, M, n): first each block's, then each component's of what is left."""
        blocks = blocks.double()
        block = blocks.pow(2).mean(dim=(0, 2)).sqrt()
        block = torch.where(block > 0, block, torch.ones_like(block))
        rest = blocks / block[None, :, None]
        component = rest.pow(2).mean(dim=(0, 1)).sqrt()
        component = torch.where(component > 0, component, torch.ones_like(component))
        return cls(block, component)

    def standardise(self, blocks: torch.Tensor) -> torch.Tensor:
        return blocks.double() / (self.block[None, :, None] * self.component[None, None, :])

    def to_user(self, basis_z: torch.Tensor) -> torch.Tensor:
        """Generators in standardised coordinates (k, n, n) -> the user's: S L_z S^-1."""
        return from_data_units(basis_z, self.component)

    def to_standard(self, basis: torch.Tensor) -> torch.Tensor:
        """Generators in the user's coordinates -> standardised ones: S^-1 L S."""
        return to_data_units(basis, self.component)


def invariant_constraints(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """grad (N, O, M, n) of O invariant outputs, x (N, M, n) -> C (N, O, n, n)."""
    return torch.einsum("noma,nmb->noab", grad, x)


def equivariant_constraints(jacobian: torch.Tensor, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """jacobian (N, M', n, M, n), x (N, M, n), f (N, M', n) -> C (N, M' n, n, n)."""
    n = x.shape[-1]
    first = torch.einsum("nprma,nmb->nprab", jacobian, x)
    eye = torch.eye(n, dtype=x.dtype, device=x.device)
    second = torch.einsum("ra,npb->nprab", eye, f)
    c = first - second
    return c.reshape(c.shape[0], -1, n, n)


def score_constraints(score: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """score (N, M, n) = grad log p, x (N, M, n) -> C (N, 1, n, n) for div(p L x) = 0."""
    n, blocks = x.shape[-1], x.shape[-2]
    c = torch.einsum("nma,nmb->nab", score, x) + blocks * torch.eye(n, dtype=x.dtype, device=x.device)
    return c[:, None]


def search_basis(kind: str, n: int, span=None, dtype=torch.float64) -> torch.Tensor:
    """Frobenius-orthonormal basis (p, n, n) of the search space: "full" gl(n) or a given span."""
    if kind == "full":
        return torch.eye(n * n, dtype=dtype).reshape(n * n, n, n)
    if kind == "span":
        span = torch.as_tensor(np.asarray(span, dtype=np.float64), dtype=dtype)
        return orthonormal_span(span)
    raise ValueError(f"unknown search space {kind!r}")


def orthonormal_span(basis: torch.Tensor, rtol: float = 1e-10) -> torch.Tensor:
    """An orthonormal basis of the span of (k, n, n) matrices (dependent ones dropped)."""
    n = basis.shape[-1]
    flat = basis.reshape(basis.shape[0], -1)
    if flat.shape[0] == 0:
        return basis
    _, values, vt = torch.linalg.svd(flat, full_matrices=False)
    keep = values > rtol * values[0]
    return vt[keep].reshape(-1, n, n)


def gram(constraints: torch.Tensor, basis: torch.Tensor, per_sample: bool = False) -> torch.Tensor:
    """A^T A (p, p) for the rows A = <C, B_j> of constraints C (N, R, n, n).

    With `per_sample`, each sample's constraints are scaled to unit norm first, so that the few
    samples far out in the tails (large x, where a fitted predictor is least sure) do not
    outweigh the bulk of the data.
    """
    if per_sample:
        norms = constraints.reshape(len(constraints), -1).norm(dim=1).clamp_min(1e-300)
        constraints = constraints / norms[:, None, None, None]
    flat = rows(constraints, basis).reshape(-1, basis.shape[0])
    return flat.T @ flat


def rows(constraints: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """The rows A = <C, B_j> (N, R, p) of constraints C (N, R, n, n) on the search basis B (p, n, n)."""
    n = basis.shape[-1]
    return constraints.reshape(*constraints.shape[:2], n * n) @ basis.reshape(basis.shape[0], -1).T


@dataclass
class Spectrum:
    """Normalised singular values (ascending, sigma / sigma_max), the right singular vectors
    (coefficients on the search basis, as columns, same order), the noise floor along each
    (None without independent fits) and the chosen dimension."""

    values: np.ndarray
    vectors: np.ndarray
    k: int
    gap: float | None           # sigma_{k+1} / sigma_k of the chosen gap (None: no candidate)
    forced: bool = False
    noise: np.ndarray | None = None


def solve(gram_matrix: torch.Tensor, n_generators: int | None = None, tolerance: float = NULL_TOLERANCE,
          min_gap: float = MIN_GAP, spread: torch.Tensor | None = None) -> Spectrum:
    """Singular values of A from A^T A, and how many generators they show.

    The rule: a singular value can be zero when it is at most `tolerance` times the largest.
    Among those candidates the largest ratio sigma_{i+1} / sigma_i between consecutive values
    (ascending) sets k = i; no candidate, or a best ratio under `min_gap`, means no symmetry
    (k = 0). `n_generators` forces k. `spread` (the Gram matrix of the disagreement between
    independent fits) gives the noise floor along each singular direction, reported with the
    spectrum; it does not decide: fits that share the data share their bias, so a direction
    can sit well above that floor and still be a symmetry (boosts under a Gaussian law), or
    close to it and not be one.
    """
    eigenvalues, vectors = torch.linalg.eigh(gram_matrix.double())
    singular = eigenvalues.clamp(min=0).sqrt().cpu().numpy()
    top = singular[-1] if singular.size and singular[-1] > 0 else 1.0
    values = singular / top
    noise = None
    if spread is not None:
        noise = torch.einsum("pi,pq,qi->i", vectors, spread.double(), vectors).clamp(min=0).sqrt().cpu().numpy()
        noise = noise / top
    vectors = vectors.cpu().numpy()
    floor = EXACT_ZERO  # below this, values are rounding noise: no gap among them
    ratios = np.maximum(values[1:], floor) / np.maximum(values[:-1], floor)
    if n_generators is not None:
        k = int(n_generators)
        gap = float(ratios[k - 1]) if 0 < k <= len(ratios) else None
        return Spectrum(values, vectors, k, gap, forced=True, noise=noise)
    small = values <= tolerance
    candidates = [i for i in range(len(ratios)) if small[i]]
    if not candidates:
        return Spectrum(values, vectors, 0, None, noise=noise)
    best = max(candidates, key=lambda i: ratios[i])
    if ratios[best] < min_gap:
        return Spectrum(values, vectors, 0, float(ratios[best]), noise=noise)
    return Spectrum(values, vectors, best + 1, float(ratios[best]), noise=noise)


def varimax(loadings: np.ndarray, steps: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Orthogonal rotation (k, k) making the columns of loadings (p, k) sparse (Kaiser's varimax)."""
    p, k = loadings.shape
    rotation = np.eye(k)
    objective = 0.0
    for _ in range(steps):
        rotated = loadings @ rotation
        u, s, vt = np.linalg.svd(loadings.T @ (rotated ** 3 - rotated @ np.diag((rotated ** 2).sum(0)) / p))
        rotation = u @ vt
        if s.sum() < objective * (1 + tol):
            break
        objective = s.sum()
    return rotation


def readable_basis(basis: torch.Tensor, norm: float = math.sqrt(2.0)) -> torch.Tensor:
    """The same span, Frobenius-orthogonal, each generator of norm `norm` (so(2)'s J has sqrt 2),
    rotated within the span to be sparse (varimax), signed so that its largest entry is positive
    and ordered by where that entry is (row-major)."""
    k, n = basis.shape[0], basis.shape[-1]
    if k == 0:
        return basis
    q = orthonormal_span(basis.double()).reshape(-1, n * n).numpy()
    if q.shape[0] > 1:
        q = (q.T @ varimax(q.T)).T
    pivots = np.abs(q).argmax(axis=1)
    signs = np.sign(q[np.arange(len(q)), pivots])
    q = q * signs[:, None]
    q = q[np.argsort(pivots, kind="stable")]
    return torch.as_tensor(norm * q.reshape(-1, n, n), dtype=basis.dtype)
