"""The catalogue of reference algebras, in their standard bases, as `LieAlgebra`s.

Every function takes `dtype` (default float64). Matrix units: E_ij has a 1 at row i,
column j. Index pairs run in lexicographic order i < j.
"""
from __future__ import annotations

import numpy as np
import torch

from .algebra import LieAlgebra, as_basis


def _unit(n: int, i: int, j: int, dtype) -> torch.Tensor:
    m = torch.zeros(n, n, dtype=dtype)
    m[i, j] = 1.0
    return m


def so(n: int, dtype=torch.float64) -> LieAlgebra:
    """so(n): E_ij - E_ji for i < j (n(n-1)/2 generators); its Killing form is -2(n-2) I."""
    if n < 2:
        raise ValueError(f"so(n) needs n >= 2, got {n}")
    basis = [_unit(n, i, j, dtype) - _unit(n, j, i, dtype) for i in range(n) for j in range(i + 1, n)]
    return LieAlgebra(torch.stack(basis), name=f"so({n})")


def so_pq(p: int, q: int, dtype=torch.float64) -> LieAlgebra:
    """so(p, q): generators preserving eta = diag(+1 x p, -1 x q), i.e. L^T eta + eta L = 0.

    For i < j: rotations E_ij - E_ji when i, j have the same sign in eta, boosts
    E_ij + E_ji when they differ.
    """
    n = p + q
    if p < 0 or q < 0 or n < 2:
        raise ValueError(f"so(p, q) needs p, q >= 0 and p + q >= 2, got ({p}, {q})")
    basis = []
    for i in range(n):
        for j in range(i + 1, n):
            sign = 1.0 if (i < p) == (j < p) else -1.0
            basis.append(_unit(n, i, j, dtype) - sign * _unit(n, j, i, dtype))
    return LieAlgebra(torch.stack(basis), name=f"so({p},{q})")


def minkowski_metric(dtype=torch.float64) -> torch.Tensor:
    """diag(1, -1, -1, -1) on (E, px, py, pz)."""
    return torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=dtype))


def lorentz(dtype=torch.float64) -> LieAlgebra:
    """so(1,3) on (E, px, py, pz), metric diag(1,-1,-1,-1): rotations J_x, J_y, J_z, boosts K_x, K_y, K_z.

    J_x = E_32 - E_23 (rotates py, pz), cyclically; K_i = E_0i + E_i0.
    """
    rotations = [_unit(4, c, b, dtype) - _unit(4, b, c, dtype) for b, c in ((2, 3), (3, 1), (1, 2))]
    boosts = [_unit(4, 0, i, dtype) + _unit(4, i, 0, dtype) for i in (1, 2, 3)]
    return LieAlgebra(torch.stack(rotations + boosts), name="so(1,3)")


def translations(n: int = 2, dtype=torch.float64) -> LieAlgebra:
    """Translations of R^n as homogeneous (n+1) x (n+1) affine matrices: E_{i,n}, i < n."""
    return LieAlgebra(torch.stack([_unit(n + 1, i, n, dtype) for i in range(n)]), name=f"translations({n})")


def rotation_affine(n: int = 2, dtype=torch.float64) -> LieAlgebra:
    """Rotations of R^n about the origin as homogeneous affine matrices (n = 2: one generator).

    For n = 2 the generator is E_10 - E_01 (counter-clockwise: d(x, y) = (-y, x)).
    """
    basis = [_unit(n + 1, j, i, dtype) - _unit(n + 1, i, j, dtype) for i in range(n) for j in range(i + 1, n)]
    return LieAlgebra(torch.stack(basis), name=f"so({n})")


def scaling_affine(n: int = 2, dtype=torch.float64) -> LieAlgebra:
    """Uniform scaling of R^n about the origin as a homogeneous affine matrix: diag(1, ..., 1, 0)."""
    generator = torch.diag(torch.cat([torch.ones(n, dtype=dtype), torch.zeros(1, dtype=dtype)]))
    return LieAlgebra(generator.unsqueeze(0), name="scaling")


def scaling(n: int, dtype=torch.float64) -> LieAlgebra:
    """Multiples of the identity on R^n (one generator)."""
    return LieAlgebra(torch.eye(n, dtype=dtype).unsqueeze(0), name="scaling")


def sl2(dtype=torch.float64) -> LieAlgebra:
    """sl(2): traceless 2 x 2, basis H = diag(1, -1), E = E_01, F = E_10."""
    h = torch.diag(torch.tensor([1.0, -1.0], dtype=dtype))
    return LieAlgebra(torch.stack([h, _unit(2, 0, 1, dtype), _unit(2, 1, 0, dtype)]), name="sl(2)")


def gl(n: int, dtype=torch.float64) -> LieAlgebra:
    """gl(n): all matrix units E_ij in row-major order (n^2 generators)."""
    return LieAlgebra(torch.stack([_unit(n, i, j, dtype) for i in range(n) for j in range(n)]), name=f"gl({n})")


def block_repeat(algebra, n_blocks: int) -> LieAlgebra:
    """Each generator L acting on every block of a stacked state: kron(I_m, L), m = n_blocks."""
    basis = as_basis(algebra)
    eye = torch.eye(n_blocks, dtype=basis.dtype, device=basis.device)
    repeated = torch.stack([torch.kron(eye, generator) for generator in basis])
    return LieAlgebra(repeated, name=getattr(algebra, "name", None))


# -- reference generators on grids (ground truth of the image datasets) --------------------


def shannon_whittaker_generator(d: int) -> np.ndarray:
    """The ``d x d`` generator of continuous translations of a periodic 1-D signal.

    ``L[rho, nu] = sum_p (2 pi p / d^2) sin(2 pi p (rho - nu) / d)``, ``p`` from ``-d//2``
    to ``d//2`` (Shannon-Whittaker interpolation); ``expm(z L)`` shifts a band-limited
    signal by ``z`` pixels towards higher index (``f(x) -> f(x - z)``).
    """
    diff = np.subtract.outer(np.arange(d), np.arange(d)).astype(np.float64)
    p = np.arange(-(d // 2), d // 2 + 1, dtype=np.float64)
    return np.einsum("p,prn->rn", 2 * np.pi * p / d**2,
                     np.sin(2 * np.pi * p[:, None, None] * diff[None] / d))


def derivative_matrix(d: int) -> np.ndarray:
    """Spectral ``d/dx`` on ``d`` periodic samples (unit spacing): ``-shannon_whittaker_generator``."""
    return -shannon_whittaker_generator(d)


def rotation_field_generator(height: int, width: int | None = None) -> np.ndarray:
    """The pixel-space rotation generator ``x d_y - y d_x`` on an ``H x W`` image grid.

    Pixels are flattened row-major (``index = row * W + col``); ``x`` is the column and
    ``y`` the row coordinate, both centred on the image centre, and ``d_x``, ``d_y`` the
    spectral derivatives along rows and columns. Returns ``(H W, H W)``.
    """
    width = height if width is None else width
    dx = np.kron(np.eye(height), derivative_matrix(width))    # along columns (x)
    dy = np.kron(derivative_matrix(height), np.eye(width))    # along rows (y)
    rows, cols = np.meshgrid(np.arange(height) - (height - 1) / 2,
                             np.arange(width) - (width - 1) / 2, indexing="ij")
    x, y = cols.ravel(), rows.ravel()
    return x[:, None] * dy - y[:, None] * dx
