"""The lambda-omega reaction-diffusion system (Champion et al. 2019; latent LieGAN, seed 002).

    u_t = (1 - r^2) u + beta r^2 v + d1 lap u        r^2 = u^2 + v^2
    v_t = -beta r^2 u + (1 - r^2) v + d2 lap v

on a periodic square [-L/2, L/2]^2, from the one-armed spiral initial condition
u + i v = tanh(r) exp(i (m theta - r)).

Integrator: Strang splitting of two *exact* flows, so the only error is the O(dt^2)
splitting error.  With w = u + i v the reaction is the scalar ODE
w' = (1 - |w|^2 - i beta |w|^2) w, whose solution is closed form:

    w(t) = w0 e^t q^{-(1 + i beta)/2},     q = 1 + |w0|^2 (e^{2t} - 1)

(amplitude r' = r (1 - r^2), phase speed -beta r^2).  Diffusion is exact in Fourier
space.  One step costs two FFTs of a 100 x 100 complex field, so thousands of snapshots
take seconds.  The float32 output is allocated once: memory is linear in snapshots.

After the transient the solution is a rigidly rotating spiral, w(x, t) ~ W(x) e^{-i omega t}:
the snapshots lie close to a circle in a 2-dimensional subspace (two principal components
carry > 99.5% of the variance), whose SO(2) symmetry is what latent LieGAN recovers.  The
rotation frequency is omega ~= 0.91 (period ~= 6.9 time units, 138 steps of 0.05).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from .base import SymmetryDataset, check_float, check_int
from .registry import register

_CACHE_VERSION = 1

__all__ = ["simulate_reaction_diffusion", "reaction_diffusion_rhs", "spiral_initial_condition",
           "reaction_flow", "cached_simulation", "load_reaction_diffusion"]


def spiral_initial_condition(size: int = 100, length: float = 20.0, arms: int = 1) -> np.ndarray:
    """Complex field w = u + i v = tanh(r) exp(i (arms * theta - r)) on the periodic grid."""
    axis = np.linspace(-length / 2, length / 2, size + 1)[:size]
    xx, yy = np.meshgrid(axis, axis, indexing="xy")
    radius = np.hypot(xx, yy)
    return np.tanh(radius) * np.exp(1j * (arms * np.arctan2(yy, xx) - radius))


def reaction_flow(w: np.ndarray, t: float, beta: float = 1.0) -> np.ndarray:
    """Exact solution at time t of w' = (1 - |w|^2 - i beta |w|^2) w, elementwise."""
    log_q = np.log1p(np.abs(w) ** 2 * np.expm1(2.0 * t))
    return w * np.exp(t - 0.5 * log_q - 0.5j * beta * log_q)


def _wavenumbers_squared(size: int, length: float) -> np.ndarray:
    k = 2.0 * np.pi * np.fft.fftfreq(size, d=length / size)
    return k[None, :] ** 2 + k[:, None] ** 2


def reaction_diffusion_rhs(w: np.ndarray, d1: float = 0.1, d2: float = 0.1, beta: float = 1.0,
                           length: float = 20.0) -> np.ndarray:
    """Time derivative u_t + i v_t of complex fields w (..., H, W), spectral Laplacian."""
    k2 = _wavenumbers_squared(w.shape[-1], length)
    r2 = np.abs(w) ** 2
    reaction = (1.0 - r2 - 1j * beta * r2) * w
    if d1 == d2:
        return reaction - d1 * np.fft.ifft2(k2 * np.fft.fft2(w))
    lap_u = np.fft.ifft2(k2 * np.fft.fft2(w.real)).real
    lap_v = np.fft.ifft2(k2 * np.fft.fft2(w.imag)).real
    return reaction - d1 * lap_u - 1j * d2 * lap_v


def simulate_reaction_diffusion(size: int = 100, steps: int = 5000, dt: float = 0.05,
                                d1: float = 0.1, d2: float = 0.1, beta: float = 1.0,
                                length: float = 20.0, arms: int = 1, transient: float = 100.0,
                                substeps: int = 1, noise: float = 0.0, seed: int = 0,
                                downsample: int = 1, derivatives: bool = True,
                                initial: np.ndarray | None = None) -> dict:
    """Simulate and return {"x": (steps, 2, h, w) float32, "dx": same or None, "t": (steps,)}.

    ``transient`` time units are integrated and discarded first.  Each stored step of ``dt``
    is ``substeps`` Strang steps.  ``noise`` is the standard deviation of Gaussian noise added
    to the stored x (not to dx).  ``downsample`` keeps every k-th grid point in each direction
    (the simulation itself always runs at ``size``).  ``initial`` overrides the spiral with a
    complex (size, size) field.
    """
    if size < 4 or steps < 1 or dt <= 0 or substeps < 1 or downsample < 1:
        raise ValueError("need size >= 4, steps >= 1, dt > 0, substeps >= 1, downsample >= 1")
    w = spiral_initial_condition(size, length, arms) if initial is None else np.array(initial, complex)
    h = dt / substeps
    k2 = _wavenumbers_squared(size, length)
    same_diffusion = d1 == d2
    decay_u, decay_v = np.exp(-d1 * k2 * h), np.exp(-d2 * k2 * h)

    def step(w):
        w = reaction_flow(w, h / 2, beta)
        if same_diffusion:
            w = np.fft.ifft2(decay_u * np.fft.fft2(w))
        else:
            u = np.fft.ifft2(decay_u * np.fft.fft2(w.real)).real
            v = np.fft.ifft2(decay_v * np.fft.fft2(w.imag)).real
            w = u + 1j * v
        return reaction_flow(w, h / 2, beta)

    for _ in range(int(round(transient / h))):
        w = step(w)
    sl = (slice(None, None, downsample), slice(None, None, downsample))
    grid = w[sl].shape
    x = np.empty((steps, 2) + grid, dtype=np.float32)
    dx = np.empty_like(x) if derivatives else None
    for n in range(steps):
        if n:
            for _ in range(substeps):
                w = step(w)
        x[n, 0], x[n, 1] = w.real[sl], w.imag[sl]
        if derivatives:
            rate = reaction_diffusion_rhs(w, d1, d2, beta, length)[sl]
            dx[n, 0], dx[n, 1] = rate.real, rate.imag
    if noise > 0:
        rng = np.random.default_rng(seed)
        for n in range(steps):  # chunked: no second full-size array
            x[n] += rng.normal(0.0, noise, size=x[n].shape).astype(np.float32)
    return {"x": x, "dx": dx, "t": transient + dt * np.arange(steps)}


def _cache_dir() -> Path:
    return Path(os.environ.get("SYMDISCO_CACHE") or Path.home() / ".cache" / "symdisco")


def cached_simulation(cache: bool = True, **parameters) -> dict:
    """`simulate_reaction_diffusion(**parameters)` (noise-free), cached as float32 .npy files.

    The cache lives under $SYMDISCO_CACHE or ~/.cache/symdisco and is opened memory-mapped
    (copy on write), so a cached load takes well under a second and pages in lazily.
    """
    if not cache:
        return simulate_reaction_diffusion(**parameters)
    key = json.dumps({"version": _CACHE_VERSION, **parameters}, sort_keys=True)
    folder = _cache_dir() / ("reaction_diffusion_" + hashlib.sha1(key.encode()).hexdigest()[:12])
    names = ("x", "dx", "t")
    if all((folder / f"{n}.npy").exists() for n in names):
        try:
            return {n: np.load(folder / f"{n}.npy", mmap_mode="c") for n in names}
        except (OSError, ValueError):
            pass  # a damaged cache entry: simulate again
    sim = simulate_reaction_diffusion(**parameters)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "parameters.json").write_text(key)
        for n in names:
            tmp = folder / f"{n}.{os.getpid()}.tmp.npy"
            np.save(tmp, sim[n])
            os.replace(tmp, folder / f"{n}.npy")
    except OSError:
        pass  # read-only home: no cache, the data are still returned
    return sim


@register("reaction-diffusion", "lambda-omega reaction-diffusion spiral (100x100 periodic grid, "
          "dt=0.05, 5000 snapshots with time derivatives); latent SO(2) symmetry")
def load_reaction_diffusion(size=100, steps=5000, dt=0.05, noise=0.0, seed=0, downsample=1,
                            test_fraction=0.2, d1=0.1, d2=0.1, beta=1.0, transient=100.0,
                            substeps=1, cache=True) -> SymmetryDataset:
    """One spiral trajectory, split in time: the first part is x, the last `test_fraction` x_test.

    x, y: (T, 2*h*w) float32 snapshots and their time derivatives (y = dx/dt), row-major over
    (channel u/v, row, column); metadata["grid"] = [2, h, w], metadata["dt"].  Memory is
    2 * steps * 2 * h * w * 4 bytes (800 MB at the paper's 100 x 100 x 5000, memory-mapped
    from the cache); `downsample=2` keeps every other grid point (a 50 x 50 variant).
    `noise` adds Gaussian noise of that standard deviation to x (seeded by `seed`).
    """
    name = "reaction-diffusion"
    size = check_int(name, "size", size, 4)
    steps = check_int(name, "steps", steps, 2)
    downsample = check_int(name, "downsample", downsample, 1, size)
    substeps = check_int(name, "substeps", substeps, 1)
    seed = check_int(name, "seed", seed)
    dt = check_float(name, "dt", dt, 0.0, strict=True)
    noise = check_float(name, "noise", noise, 0.0)
    test_fraction = check_float(name, "test_fraction", test_fraction, 0.0, 0.9)
    d1, d2 = check_float(name, "d1", d1, 0.0), check_float(name, "d2", d2, 0.0)
    beta, transient = check_float(name, "beta", beta), check_float(name, "transient", transient, 0.0)
    if isinstance(cache, str):
        cache = cache.strip().lower() not in ("0", "false", "no", "off")
    parameters = dict(size=size, steps=steps, dt=dt, d1=d1, d2=d2, beta=beta, transient=transient,
                      substeps=substeps, downsample=downsample)
    sim = cached_simulation(bool(cache), **parameters)
    grid = [int(n) for n in sim["x"].shape[1:]]
    x = sim["x"].reshape(steps, -1)
    if noise > 0:
        x = np.array(x)  # private copy; noise added in chunks (no second temporary)
        rng = np.random.default_rng(seed)
        for start in range(0, steps, 256):
            x[start:start + 256] += rng.normal(0.0, noise, x[start:start + 256].shape).astype(np.float32)
    x = torch.from_numpy(x)
    dx = torch.from_numpy(sim["dx"].reshape(steps, -1))
    n_test = int(round(steps * test_fraction))
    n_train = steps - n_test
    small = f" down-sampled to {grid[1]}x{grid[2]}" if downsample > 1 else ""
    return SymmetryDataset(
        name=name, x=x[:n_train], y=dx[:n_train], x_test=x[n_train:], y_test=dx[n_train:],
        task="dynamics", action="vector", action_options={}, ground_truth=None,
        description=(f"lambda-omega reaction-diffusion spiral, {size}x{size} grid{small}, "
                     f"{steps} snapshots, dt={dt}; y = dx/dt; latent symmetry SO(2)"),
        metadata={"dt": dt, "grid": grid, "trajectory_lengths": [n_train],
                  "test_trajectory_lengths": [n_test], "latent_symmetry": "so(2)",
                  "intrinsic_dimension": 2,
                  "parameters": {**parameters, "noise": noise, "seed": seed}},
    )
