"""How close a found basis is to a ground truth, up to basis, scale and sign.

Matrices are compared as flattened vectors with the Frobenius inner product. With P_f and
P_t the orthogonal projections onto the two spans, sum of squared cosines of the principal
angles = tr(P_f P_t), and

    similarity = tr(P_f P_t) / max(k_found, k_truth)

which is 1 exactly when the spans agree, k_common / k_truth when generators are missing
(one of three: 1/3) and k_truth / (k_truth + extra) for spurious, orthogonal extra
generators (three plus one: 3/4). Computed from Gram matrices, so it is differentiable
with respect to either basis (also at degenerate principal angles).
"""
from __future__ import annotations

import torch

from .algebra import as_basis


def _pair(found, truth) -> tuple[torch.Tensor, torch.Tensor]:
    found, truth = as_basis(found), as_basis(truth)
    if found.shape[-1] != truth.shape[-1]:
        raise ValueError(f"cannot compare {found.shape[-1]}x{found.shape[-1]} generators (found, shape "
                         f"{tuple(found.shape)}) with {truth.shape[-1]}x{truth.shape[-1]} ones (truth, "
                         f"shape {tuple(truth.shape)})")
    dtype = torch.promote_types(found.dtype, truth.dtype)
    return found.to(dtype), truth.to(dtype=dtype, device=found.device)


def _normalised_rows(basis: torch.Tensor) -> torch.Tensor:
    flat = basis.reshape(basis.shape[0], basis.shape[-1] ** 2)
    return flat / flat.norm(dim=1, keepdim=True).clamp_min(torch.finfo(flat.dtype).tiny)


def cosine(a, b) -> torch.Tensor:
    """|cos| of the angle between two matrices (Frobenius), in [0, 1]; sign and scale invariant."""
    a, b = _pair(a, b)
    a, b = a.reshape(-1), b.reshape(-1)
    return (a @ b).abs() / (a.norm() * b.norm()).clamp_min(torch.finfo(a.dtype).tiny)


def overlap(found, truth) -> torch.Tensor:
    """tr(P_found P_truth): the sum of squared cosines of the principal angles."""
    found, truth = _pair(found, truth)
    f, t = _normalised_rows(found), _normalised_rows(truth)
    cross = f @ t.T                                              # (k_f, k_t)
    return torch.trace(torch.linalg.pinv(f @ f.T) @ cross @ torch.linalg.pinv(t @ t.T) @ cross.T)


def similarity(found, truth) -> torch.Tensor:
    """Basis-, scale- and sign-invariant agreement in [0, 1]; lowered by missing and by extra generators.

    Accepts `LieAlgebra`s, tensors or arrays (k, n, n). Returns a 0-d tensor (use float()).
    """
    found_basis, truth_basis = as_basis(found), as_basis(truth)
    k = max(found_basis.shape[0], truth_basis.shape[0])
    if min(found_basis.shape[0], truth_basis.shape[0]) == 0:  # no generators: nothing in common
        return found_basis.new_tensor(1.0 if k == 0 else 0.0)
    return (overlap(found_basis, truth_basis) / k).clamp(0.0, 1.0)


def principal_angles(found, truth) -> torch.Tensor:
    """The min(k_found, k_truth) principal angles (radians, ascending) between the spans."""
    found, truth = _pair(found, truth)
    q_f, _ = torch.linalg.qr(_normalised_rows(found).T)
    q_t, _ = torch.linalg.qr(_normalised_rows(truth).T)
    cosines = torch.linalg.svdvals(q_f.T @ q_t).clamp(-1.0, 1.0)
    return torch.arccos(cosines)
