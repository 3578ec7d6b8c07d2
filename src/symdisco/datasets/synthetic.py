"""Small synthetic tasks whose symmetry is known exactly.

Each takes `n_train`, `n_test`, `noise` (std of Gaussian noise added to y) and `seed`, and is
deterministic given the seed. The target functions are public (`*_target`) so that tests and
users can evaluate them on transformed inputs.

| name              | x                          | y                        | truth       |
|-------------------|----------------------------|--------------------------|-------------|
| so2-invariant     | R^2, standard normal       | sin(2r) + r^2/4          | so(2)       |
| so3-invariant     | two 3-vectors, (a, b)      | a.b + sin|a| |b| / 2     | so(3) (blocks of 3) |
| so2-equivariant   | R^2, standard normal       | cos(r) x + (r/2) J x     | so(2)       |
| discrete-rotation | R^2, standard normal       | r^2 cos(k theta)         | so(2), angle 2 pi/k only |
| scale-invariant   | R^n, log-uniform radius    | u_1 + u_1 u_2, u = x/|x| | scaling(n)  |
"""
from __future__ import annotations

import math

import numpy as np

from .base import SymmetryDataset, check_float, check_int
from .registry import register

ROTATE_90 = np.array([[0.0, -1.0], [1.0, 0.0]])


def _known(name: str, *args):
    from symdisco.lie import known

    return getattr(known, name)(*args)


def _common(name, n_train, n_test, noise, seed):
    n_train = check_int(name, "n_train", n_train, 1)
    n_test = check_int(name, "n_test", n_test, 1)
    noise = check_float(name, "noise", noise, 0.0)
    seed = check_int(name, "seed", seed)
    return n_train, n_test, noise, seed


def _make(name, x, y, n_train, noise, rng, task, action, truth, description, metadata,
          action_options=None):
    y = y + noise * rng.standard_normal(y.shape) if noise > 0 else y
    return SymmetryDataset(name=name, x=x[:n_train], y=y[:n_train], x_test=x[n_train:],
                           y_test=y[n_train:], task=task, action=action,
                           action_options=action_options or {}, ground_truth=truth,
                           description=description, metadata=metadata)


# -- target functions ----------------------------------------------------------------------

def so2_invariant_target(x: np.ndarray) -> np.ndarray:
    """(N, 2) -> (N, 1): sin(2r) + r^2 / 4, r = |x|."""
    r = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.sin(2 * r) + r ** 2 / 4


def so3_invariant_target(x: np.ndarray) -> np.ndarray:
    """(N, 3m) stacked 3-vectors -> (N, 1): a.b + sin|a| |b| / 2 summed over consecutive pairs
    (a single vector a gives |a|^2 / 2 + sin|a|)."""
    vectors = x.reshape(len(x), -1, 3)
    if vectors.shape[1] == 1:
        a = np.linalg.norm(vectors[:, 0], axis=-1)
        return (a ** 2 / 2 + np.sin(a))[:, None]
    a, b = vectors[:, :-1], vectors[:, 1:]
    terms = np.sum(a * b, axis=-1) + np.sin(np.linalg.norm(a, axis=-1)) * np.linalg.norm(b, axis=-1) / 2
    return terms.sum(axis=1, keepdims=True)


def so2_equivariant_target(x: np.ndarray) -> np.ndarray:
    """(N, 2) -> (N, 2): cos(r) x + (r / 2) J x, J the rotation by 90 degrees."""
    r = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.cos(r) * x + (r / 2) * (x @ ROTATE_90.T)


def discrete_rotation_target(x: np.ndarray, k: int) -> np.ndarray:
    """(N, 2) -> (N, 1): r^2 cos(k theta); invariant under rotation by 2 pi / k only."""
    r2 = np.sum(x ** 2, axis=-1)
    theta = np.arctan2(x[:, 1], x[:, 0])
    return (r2 * np.cos(k * theta))[:, None]


def scale_invariant_target(x: np.ndarray) -> np.ndarray:
    """(N, n) -> (N, 1): u_1 + u_1 u_2 with u = x / |x| (depends on the direction only)."""
    u = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return (u[:, 0] + u[:, 0] * u[:, 1])[:, None]


# -- datasets ------------------------------------------------------------------------------

@register("so2-invariant", "x in R^2, y = sin(2|x|) + |x|^2/4: invariant under rotations")
def load_so2_invariant(n_train=2000, n_test=500, noise=0.0, seed=0) -> SymmetryDataset:
    """x (N, 2) standard normal, y (N, 1) = sin(2r) + r^2/4; truth so(2)."""
    name = "so2-invariant"
    n_train, n_test, noise, seed = _common(name, n_train, n_test, noise, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + n_test, 2))
    return _make(name, x, so2_invariant_target(x), n_train, noise, rng, "invariant", "vector",
                 _known("so", 2), "rotation-invariant regression in the plane",
                 {"target": "sin(2r) + r^2/4", "noise": noise, "seed": seed})


@register("so3-invariant", "two 3-vectors a, b; y = a.b + sin|a| |b|/2: invariant under "
                           "rotating both")
def load_so3_invariant(n_train=2000, n_test=500, noise=0.0, seed=0, n_vectors=2) -> SymmetryDataset:
    """x (N, 3 n_vectors): 3-vectors stacked as blocks, standard normal; y (N, 1) invariant
    under rotating all vectors together; truth so(3) as 3x3 (action "blocks", block_dim 3)."""
    name = "so3-invariant"
    n_train, n_test, noise, seed = _common(name, n_train, n_test, noise, seed)
    n_vectors = check_int(name, "n_vectors", n_vectors, 1, 16)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + n_test, 3 * n_vectors))
    return _make(name, x, so3_invariant_target(x), n_train, noise, rng, "invariant", "blocks",
                 _known("so", 3), "rotation-invariant regression on 3-vectors",
                 {"target": "sum over consecutive pairs of a.b + sin|a| |b|/2",
                  "n_vectors": n_vectors, "noise": noise, "seed": seed},
                 action_options={"block_dim": 3})


@register("so2-equivariant", "x in R^2, y = cos|x| x + (|x|/2) J x: a rotation-equivariant "
                             "vector field")
def load_so2_equivariant(n_train=2000, n_test=500, noise=0.0, seed=0) -> SymmetryDataset:
    """x (N, 2) standard normal, y (N, 2) = cos(r) x + (r/2) J x; y rotates with x."""
    name = "so2-equivariant"
    n_train, n_test, noise, seed = _common(name, n_train, n_test, noise, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + n_test, 2))
    return _make(name, x, so2_equivariant_target(x), n_train, noise, rng, "equivariant",
                 "vector", _known("so", 2), "rotation-equivariant vector field in the plane",
                 {"target": "cos(r) x + (r/2) J x", "noise": noise, "seed": seed})


@register("discrete-rotation", "x in R^2, y = r^2 cos(k theta): invariant under rotations "
                               "by 2 pi/k only")
def load_discrete_rotation(n_train=2000, n_test=500, noise=0.0, seed=0, k=4) -> SymmetryDataset:
    """x (N, 2) standard normal, y (N, 1) = r^2 cos(k theta); the symmetry is the cyclic group
    generated by exp(2 pi/k L), L the so(2) generator (metadata "k" and "angle")."""
    name = "discrete-rotation"
    n_train, n_test, noise, seed = _common(name, n_train, n_test, noise, seed)
    k = check_int(name, "k", k, 2, 64)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + n_test, 2))
    return _make(name, x, discrete_rotation_target(x, k), n_train, noise, rng, "invariant",
                 "vector", _known("so", 2), f"invariant under rotations by 2 pi/{k}",
                 {"k": k, "angle": 2 * math.pi / k, "discrete": True,
                  "target": f"r^2 cos({k} theta)", "noise": noise, "seed": seed})


@register("scale-invariant", "x in R^n with log-uniform radius, y = u1 + u1 u2 (u = x/|x|): "
                             "invariant under x -> s x")
def load_scale_invariant(n_train=2000, n_test=500, noise=0.0, seed=0, dim=2) -> SymmetryDataset:
    """x (N, dim): uniform direction, radius log-uniform in [0.2, 5]; y (N, 1) a function of
    the direction x/|x| only; truth scaling(dim) (multiples of the identity)."""
    name = "scale-invariant"
    n_train, n_test, noise, seed = _common(name, n_train, n_test, noise, seed)
    dim = check_int(name, "dim", dim, 2, 64)
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal((n_train + n_test, dim))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    radius = np.exp(rng.uniform(math.log(0.2), math.log(5.0), size=(n_train + n_test, 1)))
    x = direction * radius
    return _make(name, x, scale_invariant_target(x), n_train, noise, rng, "invariant", "vector",
                 _known("scaling", dim), "scale-invariant regression",
                 {"target": "u1 + u1 u2, u = x/|x|", "radius": [0.2, 5.0], "dim": dim,
                  "noise": noise, "seed": seed})
