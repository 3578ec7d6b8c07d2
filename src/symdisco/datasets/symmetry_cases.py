"""Small tasks with a known symmetry and none of the built-in datasets' priors.

Each builder returns plain arrays (x, y) and the true algebra in the coordinates of x, as a
user's own file would hold them (see `save_npz`): a check that discovery works on data it was
not tuned for. Used by the closed-form tests and benchmarks/liesd_quality.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io_utils import atomic_save


def random_conjugation(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random well-conditioned change of coordinates P (singular values in [0.5, 2])."""
    u, _ = np.linalg.qr(rng.normal(size=(n, n)))
    v, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return u @ np.diag(np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))) @ v


def conjugate(basis: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The algebra seen in coordinates x = P u: L -> P L P^-1."""
    return np.einsum("ij,kjl,lm->kim", p, basis, np.linalg.inv(p))


def so_pq_basis(p: int, q: int) -> np.ndarray:
    """so(p, q) preserving diag(+1 x p, -1 x q) (q = 0: so(p))."""
    from ..lie.known import so_pq

    return so_pq(p, q).basis.numpy()


def quadratic_form_task(p: int, q: int, count: int, rng, conjugated: bool = True):
    """x = P u, u ~ N(0, I); y = tanh(u^T eta u / 2) + u^T eta u / 4: so(p, q) conjugated by P."""
    n = p + q
    eta = np.diag([1.0] * p + [-1.0] * q)
    u = rng.normal(size=(count, n))
    form = np.einsum("ni,ij,nj->n", u, eta, u)
    y = np.tanh(form / 2) + form / 4
    change = random_conjugation(n, rng) if conjugated else np.eye(n)
    return u @ change.T, y[:, None], conjugate(so_pq_basis(p, q), change)


def two_vectors_task(count: int, rng, n_vectors: int = 2):
    """a, b, ... ~ N(0, I_3) in one 6- (or 3m-) vector; y a function of |a|, |b| and a.b only.

    Truth: so(3) acting on every 3-vector by the same rotation, as 3m x 3m generators.
    """
    v = rng.normal(size=(count, n_vectors, 3))
    a, b = v[:, 0], v[:, 1]
    aa, bb, ab = (a * a).sum(1), (b * b).sum(1), (a * b).sum(1)
    y = 0.5 * aa - 0.25 * bb + np.tanh(ab) + 0.05 * aa * bb
    for extra in range(2, n_vectors):
        y = y + 0.2 * (a * v[:, extra]).sum(1)
    eye = np.eye(n_vectors)
    truth = np.stack([np.kron(eye, g) for g in so_pq_basis(3, 0)])
    return v.reshape(count, -1), y[:, None], truth


def rotation_in_disguise_task(count: int, rng):
    """u ~ N(0, I_3), y = tanh(u1^2 + u2^2) + u3 (rotations about the third axis), seen as x = P u."""
    u = rng.normal(size=(count, 3))
    y = np.tanh(u[:, 0] ** 2 + u[:, 1] ** 2) + u[:, 2]
    generator = np.zeros((1, 3, 3))
    generator[0, 0, 1], generator[0, 1, 0] = -1.0, 1.0
    change = random_conjugation(3, rng)
    return u @ change.T, y[:, None], conjugate(generator, change)


def boost_task(count: int, rng):
    """x ~ N(0, I_2), y = tanh(x0^2 - x1^2) + (x0^2 - x1^2) / 4: boosts of the plane, so(1,1)."""
    x = rng.normal(size=(count, 2))
    form = x[:, 0] ** 2 - x[:, 1] ** 2
    return x, (np.tanh(form) + form / 4)[:, None], so_pq_basis(1, 1)


def sl2_pairs_task(count: int, rng):
    """Pairs of plane vectors (a, b) as blocks of 2, y = tanh(det) + det / 2: sl(2) on each block, conjugated."""
    v = rng.normal(size=(count, 2, 2))
    det = v[:, 0, 0] * v[:, 1, 1] - v[:, 0, 1] * v[:, 1, 0]
    change = random_conjugation(2, rng)
    h = np.array([[1.0, 0.0], [0.0, -1.0]])
    e = np.array([[0.0, 1.0], [0.0, 0.0]])
    truth = conjugate(np.stack([h, e, e.T]), change)
    return (v @ change.T).reshape(count, 4), (np.tanh(det) + det / 2)[:, None], truth


def no_symmetry_task(count: int, rng, dim: int = 4, units: int = 8):
    """y = a small random tanh network of x (`units` > dim random directions): generically no
    linear vector field leaves it alone (a hand-written polynomial easily has one)."""
    x = rng.normal(size=(count, dim))
    weights, bias, out = rng.normal(size=(units, dim)), rng.normal(size=units), rng.normal(size=units)
    y = np.tanh(x @ weights.T + bias) @ out
    return x, y[:, None], np.zeros((0, dim, dim))


def translation_points_task(count: int, rng, n_points: int = 4):
    """Sets of plane points in homogeneous coordinates (u, 1); y = sum over pairs of phi(u_i - u_j)
    with phi(d) = cos(d_x) + d_y^2 / 2 + d_x^2 d_y^2 / 5: translations(2), searched in the affine span."""
    u = rng.normal(size=(count, n_points, 2))
    d = u[:, :, None, :] - u[:, None, :, :]
    y = pair_potential(d).sum((1, 2)) / n_points
    x = np.concatenate([u, np.ones((count, n_points, 1))], axis=2)
    truth = np.zeros((2, 3, 3))
    truth[0, 0, 2] = truth[1, 1, 2] = 1.0
    return x, y[:, None], truth


def pair_potential(d):
    """phi(d) = cos(d_x) + d_y^2 / 2 + d_x^2 d_y^2 / 5 (numpy or torch), even, not isotropic."""
    return _cos(d[..., 0]) + d[..., 1] ** 2 / 2 + d[..., 0] ** 2 * d[..., 1] ** 2 / 5


def _cos(v):
    return v.cos() if hasattr(v, "cos") else np.cos(v)


def affine_span(n: int = 2) -> np.ndarray:
    """Basis of the affine maps of R^n in homogeneous coordinates: every entry but the last row."""
    units = []
    for i in range(n):
        for j in range(n + 1):
            m = np.zeros((n + 1, n + 1))
            m[i, j] = 1.0
            units.append(m)
    return np.stack(units)


def noisy(y: np.ndarray, level: float, rng) -> np.ndarray:
    """y plus Gaussian noise of `level` times y's standard deviation."""
    return y + level * y.std() * rng.normal(size=y.shape)


def save_npz(path, x: np.ndarray, y: np.ndarray) -> Path:
    """Write x and y as a user would (float64 arrays "x" and "y", nothing else)."""
    path = Path(path)
    atomic_save(path, lambda tmp: np.savez(tmp, x=x, y=y))
    return path
