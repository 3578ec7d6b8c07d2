"""The lambda-omega reaction-diffusion simulator: reaction ODE, spiral, derivatives, dataset."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from symdisco.datasets import reaction_diffusion as rd


def test_uniform_state_follows_reaction_ode():
    # A spatially uniform state has no diffusion: r' = r (1 - r^2), theta' = -beta r^2.
    beta, dt, steps = 1.0, 0.05, 120
    for r0, theta0 in [(0.3, 0.4), (1.6, -1.0)]:
        initial = np.full((8, 8), r0 * np.exp(1j * theta0))
        sim = rd.simulate_reaction_diffusion(size=8, steps=steps, dt=dt, transient=0.0,
                                             beta=beta, initial=initial)
        w = sim["x"][:, 0] + 1j * sim["x"][:, 1]
        assert np.ptp(w.real, axis=(1, 2)).max() < 1e-6  # stays uniform
        t = dt * np.arange(steps)
        radius = r0 / np.sqrt(r0 ** 2 + (1 - r0 ** 2) * np.exp(-2 * t))
        # theta' = -beta r^2 integrates to theta0 - beta/2 log(1 - r0^2 + r0^2 e^{2t})
        phase = theta0 - beta / 2 * np.log(1 - r0 ** 2 + r0 ** 2 * np.exp(2 * t))
        np.testing.assert_allclose(np.abs(w[:, 0, 0]), radius, rtol=1e-5)
        np.testing.assert_allclose(np.unwrap(np.angle(w[:, 0, 0])), phase, atol=1e-5)
        # phase speed beta r^2, measured by finite differences
        speed = -np.diff(np.unwrap(np.angle(w[:, 0, 0]))) / dt
        mid_radius = np.abs(w[:-1, 0, 0] + w[1:, 0, 0]) / 2
        np.testing.assert_allclose(speed, beta * mid_radius ** 2, rtol=2e-2)
        # and the ODE itself, integrated independently
        ode = solve_ivp(lambda _, s: [s[0] * (1 - s[0] ** 2), -beta * s[0] ** 2], (0, t[-1]),
                        [r0, theta0], t_eval=t, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.abs(w[:, 0, 0]), ode.y[0], rtol=1e-5)


def test_spiral_amplitude_bounded_and_period_stable():
    sim = rd.simulate_reaction_diffusion(size=100, steps=2000, derivatives=False)
    w = sim["x"][:, 0] + 1j * sim["x"][:, 1]
    amplitude = np.abs(w)
    assert amplitude.max() < 1.05 and amplitude.mean() > 0.8
    # period at a few fixed points, from interpolated upward zero crossings of u
    for i, j in [(10, 20), (60, 12), (45, 80)]:
        u = sim["x"][:, 0, i, j].astype(np.float64)
        up = np.where((u[:-1] < 0) & (u[1:] >= 0))[0]
        crossings = up + u[up] / (u[up] - u[up + 1])
        periods = np.diff(crossings) * 0.05
        assert len(periods) >= 8
        # after the default transient (100 time units) the spiral rotates at a fixed rate
        assert periods.std() / periods.mean() < 1e-3
        half = len(periods) // 2
        assert abs(periods[:half].mean() - periods[half:].mean()) / periods.mean() < 1e-3
        assert 5.0 < periods.mean() < 9.0  # omega ~ 0.9 for beta = 1


def test_derivatives_match_finite_differences_and_memory_layout():
    sim = rd.simulate_reaction_diffusion(size=32, steps=60, dt=0.01, transient=1.0)
    assert sim["x"].dtype == np.float32 and sim["x"].shape == (60, 2, 32, 32)
    centred = (sim["x"][2:] - sim["x"][:-2]) / 0.02
    dx = sim["dx"][1:-1]
    assert np.linalg.norm(centred - dx) / np.linalg.norm(dx) < 1e-3


def test_unequal_diffusion_and_downsampling():
    full = rd.simulate_reaction_diffusion(size=32, steps=5, d1=0.1, d2=0.05, transient=1.0)
    small = rd.simulate_reaction_diffusion(size=32, steps=5, d1=0.1, d2=0.05, transient=1.0,
                                           downsample=2)
    assert small["x"].shape == (5, 2, 16, 16)
    np.testing.assert_allclose(small["x"], full["x"][:, :, ::2, ::2])
    np.testing.assert_allclose(small["dx"], full["dx"][:, :, ::2, ::2])


def test_rhs_is_consistent_with_the_integrator():
    w = rd.spiral_initial_condition(32)
    rate = rd.reaction_diffusion_rhs(w)
    h = 1e-4
    after = rd.simulate_reaction_diffusion(size=32, steps=2, dt=h, transient=0.0,
                                           initial=w, derivatives=False)["x"][1]
    fd = ((after[0] + 1j * after[1]) - w) / h
    assert np.linalg.norm(fd - rate) / np.linalg.norm(rate) < 1e-3


def test_registered_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMDISCO_CACHE", str(tmp_path))
    import symdisco.datasets as datasets

    assert "reaction-diffusion" in datasets.names()
    data = datasets.load("reaction-diffusion", size=24, steps=50, noise=0.01, downsample=2)
    assert data.task == "dynamics" and data.x.shape == (40, 2 * 12 * 12)
    assert data.y.shape == data.x.shape and data.x_test.shape == (10, 288)
    assert data.x.dtype == data.y.dtype == np.float32 or str(data.x.dtype) == "torch.float32"
    assert data.metadata["grid"] == [2, 12, 12] and data.metadata["dt"] == 0.05
    again = datasets.load("reaction-diffusion", size=24, steps=50, noise=0.01, downsample=2)
    assert list(tmp_path.iterdir())  # cached
    assert (again.x == data.x).all()  # same seed, same noise
    clean = datasets.load("reaction-diffusion", size=24, steps=50, downsample=2, cache=False)
    assert 0.005 < (data.x - clean.x).std() < 0.02
    with pytest.raises(Exception, match="size"):
        datasets.load("reaction-diffusion", size="big")
