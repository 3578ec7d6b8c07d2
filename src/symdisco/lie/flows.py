"""The flow of a vector field on (t, x, u) and its action on sampled solutions.

    flow_points(components, coordinates, points, epsilon)   # exp(epsilon v) of points
    transform_solution(u, t, x, length, components, eps)    # a solution's image, on its grid

A point symmetry maps the graph {(t, x, u(t, x))} of a solution to the graph of another.
`transform_solution` flows every grid point of a sampled solution with RK4 and
re-interpolates the image on the original periodic x grid, row by row (each time row must
stay a single time: xi^t may depend on t only).  A uniform shift of a row is applied
spectrally (exact); otherwise periodic linear interpolation is used.
"""
from __future__ import annotations

import numpy as np
import sympy

__all__ = ["field_function", "flow_points", "transform_solution"]


def field_function(components, coordinates=("t", "x", "u")):
    """numpy function (..., d) -> (..., d) of the field with these sympy/str components."""
    symbols = [sympy.Symbol(c) for c in coordinates]
    exprs = [sympy.sympify(c) for c in components]
    functions = [sympy.lambdify(symbols, e, "numpy") for e in exprs]

    def field(z: np.ndarray) -> np.ndarray:
        args = [z[..., i] for i in range(z.shape[-1])]
        return np.stack([np.broadcast_to(np.asarray(f(*args), dtype=float), z.shape[:-1]) for f in functions], -1)

    return field


def flow_points(field, points: np.ndarray, epsilon, steps: int = 8) -> np.ndarray:
    """RK4 for dz/ds = epsilon v(z), s in [0, 1]; `epsilon` broadcasts against points[..., 0]."""
    z = np.array(points, dtype=float)
    eps = np.asarray(epsilon, dtype=float)[..., None]
    h = 1.0 / steps
    for _ in range(steps):
        k1 = eps * field(z)
        k2 = eps * field(z + 0.5 * h * k1)
        k3 = eps * field(z + 0.5 * h * k2)
        k4 = eps * field(z + h * k3)
        z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return z


def transform_solution(u: np.ndarray, t: np.ndarray, x: np.ndarray, length: float, field,
                       epsilon) -> np.ndarray:
    """Image of solutions u (B, T, N) at times t (T,) and grid x (N,) under exp(epsilon v),
    epsilon (B,), resampled on the same x grid.  The image's own times are t shifted by the
    flow of xi^t (the caller keeps them only when xi^t is constant)."""
    batch, steps, grid = u.shape
    points = np.stack(np.broadcast_arrays(t[None, :, None], x[None, None, :], u), axis=-1)
    moved = flow_points(field, points, np.asarray(epsilon, dtype=float)[:, None, None])
    new_x, new_u = moved[..., 1], moved[..., 2]
    shift = new_x - x
    out = np.empty_like(u)
    uniform = np.ptp(shift, axis=-1) < 1e-9 * length
    k = 2 * np.pi * np.fft.rfftfreq(grid, d=length / grid)
    for b in range(batch):
        for n in range(steps):
            if uniform[b, n]:                      # u'(x) = new_u(x - s): exact Fourier shift
                s = shift[b, n, 0]
                out[b, n] = np.fft.irfft(np.fft.rfft(new_u[b, n]) * np.exp(-1j * k * s), n=grid)
            else:
                xs = (new_x[b, n] - x[0]) % length
                order = np.argsort(xs)
                out[b, n] = np.interp((x - x[0]) % length, xs[order], new_u[b, n][order], period=length)
    return out
