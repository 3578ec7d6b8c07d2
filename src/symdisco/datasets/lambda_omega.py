"""The reaction part of the lambda-omega system, as an ODE in the plane (no diffusion).

    u' = (1 - r^2) u + beta r^2 v,    v' = -beta r^2 u + (1 - r^2) v,    r^2 = u^2 + v^2

Trajectories are sampled from its closed-form flow (`reaction_diffusion.reaction_flow`), so
they are exact.  Point symmetries (polynomial, degree <= 3): time translation d/dt, the
rotation -v d/du + u d/dv (the SO(2) that latent LieGAN finds in the spiral), and the flow
itself.  x = (u, v), y = (u', v'); `metadata["symmetries"]` lists the three.
"""
from __future__ import annotations

import numpy as np
import torch

from .base import SymmetryDataset, check_float, check_int
from .reaction_diffusion import reaction_flow
from .registry import register

__all__ = ["lambda_omega_field", "load_lambda_omega"]


def lambda_omega_field(s: np.ndarray, beta: float = 1.0) -> np.ndarray:
    u, v = s[..., 0], s[..., 1]
    r2 = u ** 2 + v ** 2
    return np.stack([(1 - r2) * u + beta * r2 * v, -beta * r2 * u + (1 - r2) * v], axis=-1)


@register("lambda-omega", "lambda-omega reaction ODE in (u, v), exact trajectories; point "
          "symmetries d/dt, rotation, the flow")
def load_lambda_omega(trajectories=20, steps=100, dt=0.05, beta=1.0, radius=1.5, noise=0.0,
                      seed=0, test_trajectories=4) -> SymmetryDataset:
    """Initial states uniform in the disc of `radius`; `steps` samples `dt` apart each."""
    name = "lambda-omega"
    trajectories = check_int(name, "trajectories", trajectories, 2)
    n_test = check_int(name, "test_trajectories", test_trajectories, 0, trajectories - 1)
    steps = check_int(name, "steps", steps, 2)
    dt = check_float(name, "dt", dt, 0.0, strict=True)
    beta = check_float(name, "beta", beta)
    radius = check_float(name, "radius", radius, 0.0, strict=True)
    noise = check_float(name, "noise", noise, 0.0)
    seed = check_int(name, "seed", seed)
    rng = np.random.default_rng(seed)
    r = radius * np.sqrt(rng.uniform(size=trajectories))
    w0 = r * np.exp(2j * np.pi * rng.uniform(size=trajectories))
    w = reaction_flow(w0[:, None], dt * np.arange(steps)[None, :], beta)          # (n, steps)
    states = np.stack([w.real, w.imag], axis=-1)
    rates = lambda_omega_field(states, beta)
    x = states.reshape(-1, 2).astype(np.float32)
    if noise > 0:
        x += rng.normal(0.0, noise, size=x.shape).astype(np.float32)
    y = rates.reshape(-1, 2).astype(np.float32)
    cut = (trajectories - n_test) * steps
    b = repr(float(beta))
    return SymmetryDataset(
        name=name, x=torch.from_numpy(x[:cut]), y=torch.from_numpy(y[:cut]),
        x_test=torch.from_numpy(x[cut:]), y_test=torch.from_numpy(y[cut:]),
        task="dynamics", action="vector", ground_truth=None,
        description=f"lambda-omega reaction ODE (beta={beta}), {trajectories} trajectories x {steps} "
                    f"steps (dt={dt}); y = dx/dt",
        metadata={"dt": dt, "trajectory_lengths": [steps] * (trajectories - n_test),
                  "test_trajectory_lengths": [steps] * n_test, "state_dim": 2, "lift": "none",
                  "variables": {"independent": ["t"], "dependent": ["u", "v"]},
                  "symmetries": [{"t": "1"}, {"u": "-v", "v": "u"},
                                 {"u": f"(1 - u**2 - v**2)*u + {b}*(u**2 + v**2)*v",
                                  "v": f"-{b}*(u**2 + v**2)*u + (1 - u**2 - v**2)*v"}],
                  "parameters": {"trajectories": trajectories, "steps": steps, "dt": dt,
                                 "beta": beta, "radius": radius, "noise": noise, "seed": seed}},
    )
