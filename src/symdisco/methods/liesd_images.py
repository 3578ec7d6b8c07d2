"""Closed-form discovery on images: the search space is affine vector fields on the pixel plane.

An image predictor f is invariant under the flow of v(p) = A p + b exactly when
grad_I f(I) . (v . grad I) = 0 (LieGG, Moskalev et al. 2022): linear in (A, b), so each sample
and output gives one row over the fields of the search space, and the rows go through the
same Gram matrix, spectrum and dimension rule as the matrix case (`closed_form.solve`).
The generators are 3 x 3 homogeneous matrices in `ImageAction`'s normalised coordinates,
as LieGAN and the LieAugmenter report image symmetries (`lie.affine_fields`).
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import UserInputError
from ..lie import affine_fields as af

IMAGE_TASKS = ("invariant", "classification")
FIELD_RTOL = 1e-8
"""Fields of a given span whose metric eigenvalue is below this (relative) are dependent: dropped."""


def search_basis(kind: str, span, height: int, width: int) -> torch.Tensor:
    """(p, 3, 3) generators orthonormal in the field metric (mean over pixels of v_i . v_j), so
    that a singular value measures the violation per unit of average pixel motion.

    kind "affine": all six affine fields; "subspace": the span of `span` (m, 3, 3), whose last
    rows must be zero (an affine field has no homogeneous part)."""
    if kind == "affine":
        generators = af.named_affine_basis()
    else:
        if span is None:
            raise UserInputError("parameterization 'subspace' needs a span (m, 3, 3) of affine generators")
        generators = torch.as_tensor(np.asarray(span, dtype=np.float64))
        if generators.ndim != 3 or generators.shape[1:] != (3, 3):
            raise UserInputError(f"on images the span must have shape (m, 3, 3) (homogeneous affine generators); "
                                 f"got {tuple(generators.shape)}")
        if generators[:, 2].abs().max() > 0:
            raise UserInputError("on images every generator of the span must have a zero last row "
                                 "(homogeneous affine form [[A, b], [0, 0]])")
    values, vectors = torch.linalg.eigh(af.field_metric(generators, height, width))
    keep = values > FIELD_RTOL * values.max().clamp_min(1e-300)
    if not keep.any():
        raise UserInputError("the span holds no nonzero affine field")
    weights = vectors[:, keep] / values[keep].sqrt()                   # (m, p)
    return torch.einsum("mp,mij->pij", weights, generators)


def constraint_rows(jacobian: torch.Tensor, images: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Rows (N, O, p): grad_I f_o . (-(v_j . grad I)) for Jacobians (N, O, C*H*W) at images (N, C, H, W)."""
    directions = af.field_directions(images, basis).flatten(2)         # (N, p, D)
    return torch.einsum("nod,npd->nop", jacobian.double(), directions)


def grams(fits: list, images: torch.Tensor, basis: torch.Tensor, chunk: int = 256):
    """A^T A of the mean rows over independent fits and, with several fits, the Gram matrix of
    their spread (the noise floor), accumulated over chunks of samples."""
    p = basis.shape[0]
    gram = torch.zeros(p, p, dtype=torch.float64)
    spread = torch.zeros_like(gram) if len(fits) > 1 else None
    for start in range(0, len(images), chunk):
        part = slice(start, start + chunk)
        each = [constraint_rows(jac[part], images[part], basis).reshape(-1, p) for _, jac in fits]
        mean = sum(each) / len(each)
        gram += mean.T @ mean
        if spread is not None:
            spread += sum((r - mean).T @ (r - mean) for r in each) / (len(each) * (len(each) - 1))
    return gram, spread


def oriented(generators: torch.Tensor) -> torch.Tensor:
    """Each generator signed so that its largest named part (rotation, translation x, ...) is positive."""
    out = generators.clone()
    for i, g in enumerate(generators):
        coefficients = af.named_coefficients(g)
        if coefficients[coefficients.abs().argmax()] < 0:
            out[i] = -g
    return out
