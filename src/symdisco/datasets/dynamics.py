"""Low-dimensional Hamiltonian systems observed directly or through a high-dimensional lift.

The further cases of latent LieGAN (ICML version): the nonlinear pendulum and the
Lotka-Volterra system.  Each is many trajectories from random initial conditions below a
chosen energy, integrated with a vectorised RK4 (all trajectories at once).  The 2-d state s
is observed through a lift x = F(s):

    "none"    x = s                                          (2 dims)
    "random"  x = tanh(A (s - mean) / (2 std) + b), fixed random A (D x 2), b   (D dims)
    "image"   pendulum only: a Gaussian-bump movie frame of the bob and its time derivative,
              as in the SINDy autoencoder (2 * image_size^2 dims)

and dx/dt = J_F(s) f(s) is exact (chain rule, in float64).  The data are
float32, trajectories concatenated in time order; `metadata["trajectory_lengths"]` says
where one ends.  No ground-truth algebra is attached: the symmetry lives in a learned latent
space (`metadata["latent_symmetry"] = "so(2)"`: the flow along closed orbits).
"""
from __future__ import annotations

import numpy as np
import torch

from .base import SymmetryDataset, check_choice, check_float, check_int
from .registry import register

__all__ = ["pendulum_field", "lotka_volterra_field", "pendulum_energy", "lotka_volterra_energy",
           "integrate", "lift_states", "load_pendulum", "load_lotka_volterra",
           "observed_oscillator"]

LV_PARAMETERS = (2.0 / 3.0, 4.0 / 3.0, 1.0, 1.0)  # a, b, c, d


def pendulum_field(s: np.ndarray) -> np.ndarray:
    """q' = p, p' = -sin q."""
    return np.stack([s[..., 1], -np.sin(s[..., 0])], axis=-1)


def pendulum_energy(s: np.ndarray) -> np.ndarray:
    return 0.5 * s[..., 1] ** 2 - np.cos(s[..., 0])


def lotka_volterra_field(s: np.ndarray, a=2 / 3, b=4 / 3, c=1.0, d=1.0) -> np.ndarray:
    """Canonical (log) coordinates s = (log prey, log predator): p' = a - b e^q, q' = c e^p - d."""
    return np.stack([a - b * np.exp(s[..., 1]), c * np.exp(s[..., 0]) - d], axis=-1)


def lotka_volterra_energy(s: np.ndarray, a=2 / 3, b=4 / 3, c=1.0, d=1.0) -> np.ndarray:
    return c * np.exp(s[..., 0]) - d * s[..., 0] + b * np.exp(s[..., 1]) - a * s[..., 1]


def integrate(field, initial: np.ndarray, steps: int, dt: float, substeps: int = 10) -> np.ndarray:
    """RK4 of s' = field(s) for all initial states at once: (n, steps, dim), float64."""
    out = np.empty((len(initial), steps, initial.shape[-1]))
    s, h = np.array(initial, dtype=np.float64), dt / substeps
    for n in range(steps):
        out[:, n] = s
        for _ in range(substeps):
            k1 = field(s)
            k2 = field(s + 0.5 * h * k1)
            k3 = field(s + 0.5 * h * k2)
            k4 = field(s + h * k3)
            s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return out


def _rejection_sample(rng, low, high, accept, count) -> np.ndarray:
    found = np.empty((0, len(low)))
    while len(found) < count:
        draw = rng.uniform(low, high, size=(4 * count, len(low)))
        found = np.concatenate([found, draw[accept(draw)]])
    return found[:count]


def _pendulum_movie(states: np.ndarray, rates: np.ndarray, image_size: int, width: float = 0.05):
    """Frames F(q) of a Gaussian bob at angle q, and their time derivatives, analytically.

    F = exp(-|y - (sin q, -cos q)|^2 / width), dF/dq = F g, g = (2/width)(y1 cos q + y2 sin q),
    dg/dq = (2/width)(-y1 sin q + y2 cos q).  Observation [F, F g p]; its rate
    [F g p, F (g^2 + g') p^2 + F g p'].
    """
    axis = np.linspace(-1.5, 1.5, image_size)
    y1, y2 = (a.ravel() for a in np.meshgrid(axis, -axis, indexing="xy"))
    x = np.empty((len(states), 2 * image_size ** 2), np.float32)
    dx = np.empty_like(x)
    half = image_size ** 2
    for start in range(0, len(states), 2048):
        q, p = (states[start:start + 2048, i, None] for i in range(2))
        dp = rates[start:start + 2048, 1, None]
        sin, cos = np.sin(q), np.cos(q)
        frame = np.exp(-((y1 - sin) ** 2 + (y2 + cos) ** 2) / width)
        g = 2 / width * (y1 * cos + y2 * sin)
        dg = 2 / width * (-y1 * sin + y2 * cos)
        x[start:start + 2048, :half] = frame
        x[start:start + 2048, half:] = frame * g * p
        dx[start:start + 2048, :half] = frame * g * p
        dx[start:start + 2048, half:] = frame * ((g ** 2 + dg) * p ** 2 + g * dp)
    return x, dx


def lift_states(states: np.ndarray, rates: np.ndarray, lift: str, *, observation_dim: int = 64,
                image_size: int = 21, lift_seed: int = 1234) -> tuple[np.ndarray, np.ndarray]:
    """Observations x = F(s) and dx/dt = J_F(s) s' for states (N, 2): float32 (N, D) each.

    The random lift standardises the states by their own mean and twice their standard
    deviation, so the tanh units stay mostly unsaturated."""
    if lift == "none":
        return states.astype(np.float32), rates.astype(np.float32)
    if lift == "image":
        return _pendulum_movie(states, rates, image_size)
    if lift != "random":
        raise ValueError(f"unknown lift {lift!r}")
    rng = np.random.default_rng(lift_seed)
    weight = rng.normal(size=(2, observation_dim))
    bias = 0.5 * rng.normal(size=observation_dim)
    center, scale = states.mean(0), 2 * states.std(0)
    x = np.tanh((states - center) / scale @ weight + bias)
    dx = (1 - x ** 2) * (rates / scale @ weight)
    return x.astype(np.float32), dx.astype(np.float32)


def _trajectory_dataset(name, field, energy, initial, steps, dt, lift, noise, seed, n_test,
                        description, lift_options, parameters) -> SymmetryDataset:
    states = integrate(field, initial, steps, dt)
    rates = field(states)
    x, dx = lift_states(states.reshape(-1, 2), rates.reshape(-1, 2), lift, **lift_options)
    if noise > 0:
        x += np.random.default_rng(seed + 1).normal(0.0, noise, x.shape).astype(np.float32)
    n_train = len(initial) - n_test
    cut = n_train * steps
    energies = energy(initial)
    symmetries = {"pendulum": [{"t": "1"}, {"t": "p**2/2 - cos(q)"}, {"q": "p", "p": "-sin(q)"}],
                  "lotka-volterra": [{"t": "1"}, {"t": "{2}*exp(q) - {3}*q + {1}*exp(p) - {0}*p"},
                                     {"q": "{0} - {1}*exp(p)", "p": "{2}*exp(q) - {3}"}]}
    known = [{k: v.format(*LV_PARAMETERS) for k, v in s.items()} for s in symmetries.get(name, [])]
    return SymmetryDataset(
        name=name, x=torch.from_numpy(x[:cut]), y=torch.from_numpy(dx[:cut]),
        x_test=torch.from_numpy(x[cut:]), y_test=torch.from_numpy(dx[cut:]),
        task="dynamics", action="vector", action_options={}, ground_truth=None,
        description=description,
        metadata={"dt": dt, "trajectory_lengths": [steps] * n_train,
                  "test_trajectory_lengths": [steps] * n_test, "state_dim": 2, "lift": lift,
                  "observation_dim": int(x.shape[1]), "latent_symmetry": "so(2)",
                  "intrinsic_dimension": 2,
                  "energy_range": [float(energies.min()), float(energies.max())],
                  "parameters": parameters,
                  # point symmetries of the state equations in (t, q, p) (lift "none" only):
                  # time translation, energy-dependent time shift, the flow itself
                  **({"symmetries": known} if lift == "none" else {})},
    )


def _common(name, trajectories, steps, dt, noise, seed, test_trajectories, lift, lifts,
            observation_dim):
    return (check_int(name, "trajectories", trajectories, 2),
            check_int(name, "steps", steps, 2),
            check_float(name, "dt", dt, 0.0, strict=True),
            check_float(name, "noise", noise, 0.0),
            check_int(name, "seed", seed),
            check_int(name, "test_trajectories", test_trajectories, 0, int(trajectories) - 1),
            check_choice(name, "lift", lift, lifts),
            check_int(name, "observation_dim", observation_dim, 2))


@register("pendulum", "nonlinear pendulum q'' = -sin q, trajectories below the separatrix, "
          "observed as bump-image movies (or raw / random lift); latent SO(2)")
def load_pendulum(trajectories=50, steps=250, dt=0.04, lift="image", image_size=21,
                  observation_dim=64, max_energy=0.99, noise=0.0, seed=0,
                  test_trajectories=5) -> SymmetryDataset:
    """Pendulum trajectories from initial states uniform in [-pi, pi] x [-2.1, 2.1] with
    |p^2/2 - cos q| <= max_energy (closed orbits), each `steps` samples `dt` apart.
    `lift`: "image" (default; frame and its time derivative, 2 * image_size^2 dims),
    "random" (tanh of a random linear map, `observation_dim` dims) or "none" ((q, p))."""
    name = "pendulum"
    trajectories, steps, dt, noise, seed, n_test, lift, observation_dim = _common(
        name, trajectories, steps, dt, noise, seed, test_trajectories, lift,
        ("image", "random", "none"), observation_dim)
    image_size = check_int(name, "image_size", image_size, 4)
    max_energy = check_float(name, "max_energy", max_energy, 0.0, 0.999, strict=True)
    rng = np.random.default_rng(seed)
    initial = _rejection_sample(rng, [-np.pi, -2.1], [np.pi, 2.1],
                                lambda s: np.abs(pendulum_energy(s)) <= max_energy, trajectories)
    shown = {"image": f"{2 * image_size ** 2}-dim bump movie frames + derivatives",
             "random": f"{observation_dim}-dim random tanh lift", "none": "raw (q, p)"}[lift]
    return _trajectory_dataset(
        name, pendulum_field, pendulum_energy, initial, steps, dt, lift, noise, seed, n_test,
        f"nonlinear pendulum, {trajectories} trajectories x {steps} steps (dt={dt}), {shown}; "
        "y = dx/dt", dict(observation_dim=observation_dim, image_size=image_size),
        {"trajectories": trajectories, "steps": steps, "dt": dt, "lift": lift,
         "image_size": image_size, "observation_dim": observation_dim,
         "max_energy": max_energy, "noise": noise, "seed": seed})


@register("lotka-volterra", "Lotka-Volterra predator-prey in canonical (log) coordinates, "
          "closed orbits with 3 <= H <= 4.5, raw or randomly lifted; latent SO(2)")
def load_lotka_volterra(trajectories=50, steps=400, dt=0.05, lift="random", observation_dim=64,
                        min_energy=3.0, max_energy=4.5, noise=0.0, seed=0,
                        test_trajectories=5) -> SymmetryDataset:
    """Lotka-Volterra with (a, b, c, d) = (2/3, 4/3, 1, 1) in canonical coordinates
    (log prey, log predator); initial populations uniform in (0, 1)^2 with
    min_energy <= H <= max_energy.  `lift`: "random" (default, `observation_dim` dims) or
    "none" (the 2-d canonical state)."""
    name = "lotka-volterra"
    trajectories, steps, dt, noise, seed, n_test, lift, observation_dim = _common(
        name, trajectories, steps, dt, noise, seed, test_trajectories, lift,
        ("random", "none"), observation_dim)
    min_energy = check_float(name, "min_energy", min_energy, 1.0 + 2 / 3 * (1 - np.log(0.5)))
    max_energy = check_float(name, "max_energy", max_energy, min_energy, strict=True)
    rng = np.random.default_rng(seed)

    def accept(populations):
        h = lotka_volterra_energy(np.log(populations))
        return (h >= min_energy) & (h <= max_energy)

    initial = np.log(_rejection_sample(rng, [1e-6, 1e-6], [1.0, 1.0], accept, trajectories))
    shown = f"{observation_dim}-dim random tanh lift" if lift == "random" else "raw (log x, log y)"
    return _trajectory_dataset(
        name, lotka_volterra_field, lotka_volterra_energy, initial, steps, dt, lift, noise, seed,
        n_test, f"Lotka-Volterra, {trajectories} trajectories x {steps} steps (dt={dt}), "
        f"{shown}; y = dx/dt", dict(observation_dim=observation_dim),
        {"trajectories": trajectories, "steps": steps, "dt": dt, "lift": lift,
         "observation_dim": observation_dim, "min_energy": min_energy,
         "max_energy": max_energy, "noise": noise, "seed": seed})


def observed_oscillator(trajectories: int = 50, steps: int = 200, dt: float = 0.05,
                        observation_dim: int = 20, test_trajectories: int = 5,
                        test_steps: int = 501, map_seed: int = 0, seed: int = 1) -> dict:
    """A harmonic oscillator (period 2 pi; orbits are ellipses q = A cos t, p = -2 A sin t)
    seen through a fixed random tanh map R^2 -> R^observation_dim: the arrays of a trajectory
    file, {"x": (trajectories, steps, D), "x_test": (test_trajectories, test_steps, D),
    "dt": dt}, float32.  Amplitudes A ~ U(0.5, 1.5), phases uniform; `map_seed` picks the
    map, `seed` the orbits.  The held-out trajectories are longer than the training ones, so
    a long-term prediction can be checked against them."""
    rng = np.random.default_rng(seed)
    mapping = np.random.default_rng(map_seed)
    weight = mapping.normal(size=(2, observation_dim)) / np.array([[1.0], [2.0]])
    bias = 0.5 * mapping.normal(size=observation_dim)

    def observe(count, length):
        amplitude = rng.uniform(0.5, 1.5, (count, 1))
        angle = dt * np.arange(length)[None] + rng.uniform(0, 2 * np.pi, (count, 1))
        states = np.stack([amplitude * np.cos(angle), -2 * amplitude * np.sin(angle)], -1)
        return np.tanh(states @ weight + bias).astype(np.float32)

    return {"x": observe(trajectories, steps), "x_test": observe(test_trajectories, test_steps),
            "dt": np.float64(dt)}
