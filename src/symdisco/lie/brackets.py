"""Commutators and what follows from them, as small pure functions on basis tensors
(k, n, n), batched over leading dimensions where that makes sense and differentiable.

* Inner product on matrices: Frobenius, <A, B> = sum_ab A_ab B_ab.
* Structure constants: [L_i, L_j] = sum_l c[i, j, l] L_l, fitted by least squares.
* Closure residual: for a Frobenius-orthonormal basis Q of the span, the root mean
  square over pairs i < j of the norm of the part of [Q_i, Q_j] outside the span.
  It does not depend on the basis or the scale of the generators, is 0 for a closed
  algebra (abelian ones included, also when noisy) and of order 1/sqrt(n) for random
  matrices.
"""
from __future__ import annotations

import numpy as np
import torch


def unit_span(basis: np.ndarray, rtol: float = 1e-2) -> np.ndarray:
    """An orthonormal basis (r, n, n) of the span of (k, n, n) matrices, each scaled to unit
    norm first so that a small generator counts as much as a large one; directions whose
    singular value is below `rtol` times the largest are dependent and dropped."""
    basis = np.asarray(basis, dtype=np.float64)
    k, n = basis.shape[0], basis.shape[-1]
    if k == 0:
        return basis.reshape(0, n, n)
    flat = basis.reshape(k, -1)
    flat = flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-300)
    _, singular, vt = np.linalg.svd(flat, full_matrices=False)
    rank = int((singular > rtol * singular[0]).sum()) if singular[0] > 0 else 0
    return vt[:rank].reshape(rank, n, n)


def as_basis(basis) -> torch.Tensor:
    """A basis as a torch tensor (k, n, n); accepts LieAlgebra, tensors, arrays, lists.

    numpy (and list) input becomes float64; a single (n, n) matrix becomes (1, n, n).
    """
    if isinstance(getattr(basis, "basis", None), torch.Tensor):  # a LieAlgebra
        return basis.basis
    if isinstance(basis, torch.Tensor):
        tensor = basis if basis.is_floating_point() else basis.to(torch.float64)
    else:
        tensor = torch.as_tensor(np.asarray(basis, dtype=np.float64))
    if tensor.numel() == 0 and tensor.ndim < 3:  # "no generators" as JSON writes it ([]): its size is unknown
        tensor = tensor.reshape(0, 0, 0)
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
