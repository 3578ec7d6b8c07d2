"""Pendulum and Lotka-Volterra datasets: integration, energies, lifts and their derivatives."""
import numpy as np
import pytest

import symdisco.datasets as datasets
from symdisco.datasets import dynamics


@pytest.mark.parametrize("field, energy, initial", [
    (dynamics.pendulum_field, dynamics.pendulum_energy, [[0.5, 0.0], [2.5, 0.3], [-1.0, 1.0]]),
    (dynamics.lotka_volterra_field, dynamics.lotka_volterra_energy,
     np.log([[0.2, 0.3], [0.9, 0.05], [0.5, 0.5]])),
])
def test_rk4_conserves_energy(field, energy, initial):
    states = dynamics.integrate(field, np.array(initial, float), steps=300, dt=0.05)
    h = energy(states)
    assert np.abs(h - h[:, :1]).max() < 1e-6


def test_small_pendulum_is_harmonic():
    states = dynamics.integrate(dynamics.pendulum_field, np.array([[1e-3, 0.0]]), 200, 0.05)
    t = 0.05 * np.arange(200)
    np.testing.assert_allclose(states[0, :, 0], 1e-3 * np.cos(t), atol=1e-9)


@pytest.mark.parametrize("lift", ["none", "random", "image"])
def test_lift_derivatives_match_finite_differences(lift):
    initial = np.array([[0.7, 0.4], [-2.0, 0.1]])
    dt = 1e-3
    states = dynamics.integrate(dynamics.pendulum_field, initial, 40, dt).reshape(-1, 2)
    x, dx = dynamics.lift_states(states, dynamics.pendulum_field(states), lift,
                                 observation_dim=16, image_size=9)
    assert x.dtype == dx.dtype == np.float32
    x, dx = x.reshape(2, 40, -1).astype(np.float64), dx.reshape(2, 40, -1)
    centred = (x[:, 2:] - x[:, :-2]) / (2 * dt)
    assert np.linalg.norm(centred - dx[:, 1:-1]) / np.linalg.norm(dx[:, 1:-1]) < 1e-3


def test_pendulum_dataset():
    data = datasets.load("pendulum", trajectories=6, steps=30, test_trajectories=2, image_size=8)
    assert data.task == "dynamics" and data.x.shape == (4 * 30, 128)
    assert data.x_test.shape == (2 * 30, 128) and data.y.shape == data.x.shape
    assert data.metadata["trajectory_lengths"] == [30] * 4
    assert data.metadata["test_trajectory_lengths"] == [30] * 2
    low, high = data.metadata["energy_range"]
    assert -1 <= low and high <= 0.99  # closed orbits below the separatrix
    raw = datasets.load("pendulum", trajectories=6, steps=30, lift="none")
    assert raw.x.shape[1] == 2 and (raw.y[:, 0] == raw.x[:, 1]).all()
    with pytest.raises(Exception, match="lift"):
        datasets.load("pendulum", lift="photo")


def test_lotka_volterra_dataset():
    data = datasets.load("lotka-volterra", trajectories=8, steps=20, observation_dim=12,
                         noise=0.01, seed=3)
    assert data.x.shape == (3 * 20, 12) and data.x_test.shape == (5 * 20, 12)
    low, high = data.metadata["energy_range"]
    assert 3.0 <= low and high <= 4.5
    again = datasets.load("lotka-volterra", trajectories=8, steps=20, observation_dim=12,
                          noise=0.01, seed=3)
    assert (again.x == data.x).all()
    raw = datasets.load("lotka-volterra", trajectories=8, steps=20, lift="none")
    prey, predator = np.exp(raw.x.numpy().T)
    assert (prey > 0).all() and (predator > 0).all()
