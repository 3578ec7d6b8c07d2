"""One-dimensional periodic PDEs with their Lie point symmetries as ground truth.

    heat     u_t = nu u_xx
    burgers  u_t + u u_x = nu u_xx
    kdv      u_t + u u_x + u_xxx = 0
    wave     u_tt = c^2 u_xx

on x in [-L/2, L/2), spectral in space.  Heat and wave are advanced by their exact Fourier
propagators; Burgers and KdV by ETDRK4 (Kassam & Trefethen 2005): the stiff linear part
exactly, the nonlinear part u u_x = (u^2)_x / 2 by fourth-order exponential Runge-Kutta, all
trajectories at once.  Initial conditions are random smooth fields (a few low Fourier modes
plus an offset).

A dataset is snapshots x = u(t_n, .) (one row per snapshot, `steps` per trajectory, times
0, dt, 2 dt, ...) and y = u_t, float32; `metadata["pde"]` says how to read them (grid, length,
dt, time order, the equation) and `metadata["symmetries"]` lists the known point symmetries
as vector fields, each component a polynomial written for sympy.  For the linear equations
the superposition family u -> u + a(t, x) (a any solution) is infinite-dimensional; it is
not listed (`metadata["pde"]["linear"]` says it exists).  `ground_truth` is None: a vector
field is not a matrix acting on a snapshot.
"""
from __future__ import annotations

import numpy as np
import torch

from .base import SymmetryDataset, check_float, check_int
from .registry import register

__all__ = ["wavenumbers", "spectral_derivative", "random_initial_conditions", "etdrk4",
           "simulate", "EQUATIONS", "SYMMETRIES"]

EQUATIONS = {
    "heat": "u_t = nu u_xx",
    "burgers": "u_t = -u u_x + nu u_xx",
    "kdv": "u_t = -u u_x - u_xxx",
    "wave": "u_tt = c^2 u_xx",
}

# Known Lie point symmetries (components of xi^t d/dt + xi^x d/dx + xi^u d/du), with the
# equation's parameters as names.  Heat's last (projective) needs degree 3.
SYMMETRIES = {
    "heat": [
        {"t": "1"}, {"x": "1"}, {"u": "u"},
        {"x": "2*nu*t", "u": "-x*u"},
        {"t": "2*t", "x": "x"},
        {"t": "4*nu*t**2", "x": "4*nu*t*x", "u": "-(x**2 + 2*nu*t)*u"},
    ],
    "burgers": [
        {"t": "1"}, {"x": "1"},
        {"x": "t", "u": "1"},
        {"t": "2*t", "x": "x", "u": "-u"},
        {"t": "t**2", "x": "t*x", "u": "x - t*u"},
    ],
    "kdv": [
        {"t": "1"}, {"x": "1"},
        {"x": "t", "u": "1"},
        {"t": "3*t", "x": "x", "u": "-2*u"},
    ],
    "wave": [
        {"t": "1"}, {"x": "1"}, {"u": "u"},
        {"t": "x", "x": "c**2*t"},
        {"t": "t", "x": "x"},
        {"t": "t**2 + x**2/c**2", "x": "2*t*x"},
        {"t": "2*t*x", "x": "c**2*t**2 + x**2"},
    ],
}


def wavenumbers(grid: int, length: float) -> np.ndarray:
    """Angular wavenumbers of numpy's FFT ordering on a periodic grid."""
    return 2.0 * np.pi * np.fft.fftfreq(grid, d=length / grid)


def spectral_derivative(u: np.ndarray, length: float, order: int = 1, keep: float = 1.0) -> np.ndarray:
    """d^order u / dx^order along the last axis; `keep` < 1 zeroes modes above that fraction of
    the Nyquist wavenumber first (a low-pass filter against noise), order 0 only filters."""
    grid = u.shape[-1]
    k = wavenumbers(grid, length)
    multiplier = (1j * k) ** order
    if grid % 2 == 0 and order % 2 == 1:
        multiplier[grid // 2] = 0.0  # the Nyquist mode has no odd derivative
    if keep < 1.0:
        multiplier = multiplier * (np.abs(k) <= keep * np.pi * grid / length)
    return np.fft.ifft(multiplier * np.fft.fft(u, axis=-1), axis=-1).real


def random_initial_conditions(rng, count: int, grid: int, length: float, modes: int = 6,
                              amplitude: float = 1.0, offset: float = 0.5) -> np.ndarray:
    """(count, grid) smooth periodic fields: `modes` Fourier modes with amplitudes ~ 1/n,
    scaled to max |u - mean| = amplitude, plus a uniform offset in [-offset, offset]."""
    x = -length / 2 + length * np.arange(grid) / grid
    n = np.arange(1, modes + 1)
    coefficients = (rng.normal(size=(count, modes)) + 1j * rng.normal(size=(count, modes))) / n
    field = (coefficients[:, :, None] * np.exp(2j * np.pi * n[None, :, None] * x / length)).real.sum(1)
    field *= amplitude / np.abs(field).max(axis=1, keepdims=True)
    return field + rng.uniform(-offset, offset, size=(count, 1))


def etdrk4(u0: np.ndarray, linear: np.ndarray, nonlinear, h: float, steps: int, every: int,
           contour_points: int = 32) -> np.ndarray:
    """ETDRK4 for u_t = L u + N(u) in Fourier space; u0 (B, grid) real, `linear` (grid,) the
    symbol of L (complex for dispersive equations), `nonlinear(v_hat)` -> N in Fourier space.  Returns (B, steps, grid), every
    `every`-th internal step of size h (the first is u0).  The phi-functions are evaluated by
    the contour-integral mean of Kassam & Trefethen, stable for tiny and large h L."""
    E, E2 = np.exp(h * linear), np.exp(h * linear / 2)
    # the full circle of roots: L may be complex, so no real-part shortcut
    roots = np.exp(2j * np.pi * (np.arange(1, contour_points + 1) - 0.5) / contour_points)
    LR = h * linear[:, None] + roots[None, :]
    Q = h * np.mean((np.exp(LR / 2) - 1) / LR, axis=1)
    f1 = h * np.mean((-4 - LR + np.exp(LR) * (4 - 3 * LR + LR ** 2)) / LR ** 3, axis=1)
    f2 = h * np.mean((2 + LR + np.exp(LR) * (-2 + LR)) / LR ** 3, axis=1)
    f3 = h * np.mean((-4 - 3 * LR - LR ** 2 + np.exp(LR) * (4 - LR)) / LR ** 3, axis=1)
    v = np.fft.fft(u0, axis=-1)
    out = np.empty((u0.shape[0], steps, u0.shape[1]))
    out[:, 0] = u0
    for n in range(1, steps):
        for _ in range(every):
            Nv = nonlinear(v)
            a = E2 * v + Q * Nv
            Na = nonlinear(a)
            b = E2 * v + Q * Na
            Nb = nonlinear(b)
            c = E2 * a + Q * (2 * Nb - Nv)
            Nc = nonlinear(c)
            v = E * v + Nv * f1 + 2 * (Na + Nb) * f2 + Nc * f3
        out[:, n] = np.fft.ifft(v, axis=-1).real
    return out


def simulate(equation: str, u0: np.ndarray, *, length: float, dt: float, steps: int,
             nu: float = 1.0, c: float = 1.0, v0: np.ndarray | None = None,
             max_step: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
    """u and u_t, each (B, steps, grid) float64, at times 0, dt, ..., (steps-1) dt.

    `v0` is the wave equation's initial velocity (zero when None)."""
    grid = u0.shape[-1]
    k = wavenumbers(grid, length)
    t = dt * np.arange(steps)
    u_hat0 = np.fft.fft(u0, axis=-1)
    if equation == "heat":
        propagator = np.exp(-nu * k ** 2 * t[:, None])              # (steps, grid)
        u_hat = u_hat0[:, None, :] * propagator
        return np.fft.ifft(u_hat).real, np.fft.ifft(-nu * k ** 2 * u_hat).real
    if equation == "wave":
        v_hat0 = np.zeros_like(u_hat0) if v0 is None else np.fft.fft(v0, axis=-1)
        w = c * np.abs(k)
        safe = np.where(w > 0, w, 1.0)
        cos, sin = np.cos(w * t[:, None]), np.sin(w * t[:, None])
        sinc = np.where(w > 0, sin / safe, t[:, None])              # sin(w t)/w -> t at k = 0
        u_hat = u_hat0[:, None] * cos + v_hat0[:, None] * sinc
        ut_hat = -u_hat0[:, None] * w * sin + v_hat0[:, None] * cos
        return np.fft.ifft(u_hat).real, np.fft.ifft(ut_hat).real
    dissipation = {"burgers": -nu * k ** 2, "kdv": 1j * k ** 3}[equation]
    every = max(1, int(np.ceil(dt / max_step)))
    half_ik = -0.5j * k

    def nonlinear(v_hat):  # -(u^2 / 2)_x
        return half_ik * np.fft.fft(np.fft.ifft(v_hat).real ** 2)

    u = etdrk4(u0, dissipation, nonlinear, dt / every, steps, every)
    u_hat = np.fft.fft(u)
    ut = np.fft.ifft(dissipation * u_hat + nonlinear(u_hat)).real
    return u, ut


def _pde_dataset(equation: str, *, trajectories, test_trajectories, steps, dt, grid, length,
                 noise, seed, amplitude, modes, nu=1.0, c=1.0) -> SymmetryDataset:
    name = equation
    trajectories = check_int(name, "trajectories", trajectories, 2)
    n_test = check_int(name, "test_trajectories", test_trajectories, 0, trajectories - 1)
    steps = check_int(name, "steps", steps, 3)
    grid = check_int(name, "grid", grid, 8, 4096)
    modes = check_int(name, "modes", modes, 1, grid // 4)
    seed = check_int(name, "seed", seed)
    dt = check_float(name, "dt", dt, 0.0, strict=True)
    length = check_float(name, "length", length, 0.0, strict=True)
    noise = check_float(name, "noise", noise, 0.0)
    amplitude = check_float(name, "amplitude", amplitude, 0.0, strict=True)
    nu = check_float(name, "nu", nu, 0.0, strict=True)
    c = check_float(name, "c", c, 0.0, strict=True)
    rng = np.random.default_rng(seed)
    u0 = random_initial_conditions(rng, trajectories, grid, length, modes, amplitude)
    v0 = None
    if equation == "wave":
        v0 = random_initial_conditions(rng, trajectories, grid, length, modes, amplitude, offset=0.0)
        v0 -= v0.mean(axis=1, keepdims=True)
    u, ut = simulate(equation, u0, length=length, dt=dt, steps=steps, nu=nu, c=c, v0=v0)
    if not np.isfinite(u).all():
        from symdisco.errors import UserInputError

        raise UserInputError(f"{name}: the simulation blew up; lower amplitude or dt, or raise grid")
    u = u.astype(np.float32)
    if noise > 0:
        u += rng.normal(0.0, noise, size=u.shape).astype(np.float32)
    ut = ut.astype(np.float32)
    n_train = trajectories - n_test
    parameters = {"nu": nu} if equation in ("heat", "burgers") else {"c": c} if equation == "wave" else {}
    symmetries = [{k: _substitute(v, parameters) for k, v in s.items()} for s in SYMMETRIES[equation]]
    return SymmetryDataset(
        name=name,
        x=torch.from_numpy(u[:n_train].reshape(-1, grid)), y=torch.from_numpy(ut[:n_train].reshape(-1, grid)),
        x_test=torch.from_numpy(u[n_train:].reshape(-1, grid)), y_test=torch.from_numpy(ut[n_train:].reshape(-1, grid)),
        task="dynamics", action="vector", ground_truth=None,
        description=(f"{EQUATIONS[equation]} ({', '.join(f'{k}={v}' for k, v in parameters.items()) or 'no parameters'}), "
                     f"periodic x in [-{length / 2:g}, {length / 2:g}), {grid} points, {trajectories} "
                     f"trajectories x {steps} steps (dt={dt}); y = u_t"),
        metadata={"dt": dt, "trajectory_lengths": [steps] * n_train,
                  "test_trajectory_lengths": [steps] * n_test,
                  "pde": {"equation": EQUATIONS[equation], "name": equation, "grid": grid,
                          "length": length, "x0": -length / 2, "dt": dt,
                          "time_order": 2 if equation == "wave" else 1,
                          "linear": equation in ("heat", "wave"), "parameters": parameters},
                  "variables": {"independent": ["t", "x"], "dependent": ["u"]},
                  "symmetries": symmetries,
                  "options": {"trajectories": trajectories, "test_trajectories": n_test, "steps": steps,
                              "dt": dt, "grid": grid, "length": length, "noise": noise, "seed": seed,
                              "amplitude": amplitude, "modes": modes, **parameters}},
    )


def _substitute(expression: str, parameters: dict) -> str:
    import sympy

    value = sympy.sympify(expression).subs({sympy.Symbol(k): sympy.nsimplify(v) for k, v in parameters.items()})
    return str(sympy.expand(value))


@register("heat", "heat equation u_t = u_xx, periodic, exact spectral; 5 point symmetries "
          "of degree <= 2 (+ projective, + superposition)")
def load_heat(trajectories=10, test_trajectories=2, steps=41, dt=0.025, grid=128, length=20.0,
              nu=1.0, noise=0.0, seed=0, amplitude=1.0, modes=6) -> SymmetryDataset:
    """Heat equation from random smooth initial data, times 0..(steps-1) dt, exact in Fourier space."""
    return _pde_dataset("heat", trajectories=trajectories, test_trajectories=test_trajectories,
                        steps=steps, dt=dt, grid=grid, length=length, noise=noise, seed=seed,
                        amplitude=amplitude, modes=modes, nu=nu)


@register("burgers", "viscous Burgers u_t + u u_x = nu u_xx, periodic, ETDRK4; 5 point symmetries")
def load_burgers(trajectories=10, test_trajectories=2, steps=41, dt=0.05, grid=128, length=20.0,
                 nu=0.5, noise=0.0, seed=0, amplitude=1.0, modes=6) -> SymmetryDataset:
    """Viscous Burgers from random smooth initial data, ETDRK4 with internal steps <= 0.005."""
    return _pde_dataset("burgers", trajectories=trajectories, test_trajectories=test_trajectories,
                        steps=steps, dt=dt, grid=grid, length=length, noise=noise, seed=seed,
                        amplitude=amplitude, modes=modes, nu=nu)


@register("kdv", "Korteweg-de Vries u_t + u u_x + u_xxx = 0, periodic, ETDRK4; 4 point symmetries")
def load_kdv(trajectories=10, test_trajectories=2, steps=41, dt=0.05, grid=128, length=20.0,
             noise=0.0, seed=0, amplitude=1.0, modes=6) -> SymmetryDataset:
    """KdV from random smooth initial data, ETDRK4 with internal steps <= 0.005."""
    return _pde_dataset("kdv", trajectories=trajectories, test_trajectories=test_trajectories,
                        steps=steps, dt=dt, grid=grid, length=length, noise=noise, seed=seed,
                        amplitude=amplitude, modes=modes)


@register("wave", "wave equation u_tt = c^2 u_xx, periodic, exact spectral propagator; "
          "7 point symmetries of degree <= 2 (+ superposition)")
def load_wave(trajectories=10, test_trajectories=2, steps=41, dt=0.05, grid=128, length=20.0,
              c=1.0, noise=0.0, seed=0, amplitude=1.0, modes=6) -> SymmetryDataset:
    """Wave equation from random smooth displacement and zero-mean velocity, exact in Fourier space."""
    return _pde_dataset("wave", trajectories=trajectories, test_trajectories=test_trajectories,
                        steps=steps, dt=dt, grid=grid, length=length, noise=noise, seed=seed,
                        amplitude=amplitude, modes=modes, c=c)
