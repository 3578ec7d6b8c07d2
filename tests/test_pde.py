"""PDE datasets: the simulations solve their equations, the listed symmetries hold on the
simulated data, options are checked."""
import numpy as np
import pytest
import sympy

import symdisco.datasets as datasets
from symdisco.datasets.pde import simulate, spectral_derivative
from symdisco.errors import UserInputError
from symdisco.lie.vector_fields import FieldLibrary
from symdisco.methods.lienlsd import LieNLSD, _function_scales, _problem, invariance_matrix


def _residual(name, u, ut, length, dt):
    ux, uxx, uxxx = (spectral_derivative(u, length, k) for k in (1, 2, 3))
    if name == "heat":
        return ut - uxx
    if name == "burgers":
        return ut + u * ux - 0.5 * uxx
    if name == "kdv":
        return ut + u * ux + uxxx
    utt = (ut[:, 2:] - ut[:, :-2]) / (2 * dt)                     # wave: u_tt = u_xx
    return utt - uxx[:, 1:-1]


@pytest.mark.parametrize("name", ["heat", "burgers", "kdv", "wave"])
def test_simulation_solves_its_equation(name):
    data = datasets.load(name, trajectories=3, test_trajectories=1, steps=21, dt=0.01)
    pde = data.metadata["pde"]
    u = data.x.numpy().astype(float).reshape(2, 21, pde["grid"])
    ut = data.y.numpy().astype(float).reshape(2, 21, pde["grid"])
    residual = _residual(name, u, ut, pde["length"], pde["dt"])
    assert np.abs(residual).max() < 2e-3 * np.abs(ut).max()
    # u_t is the derivative of u in time: centred differences agree
    centred = (u[:, 2:] - u[:, :-2]) / (2 * pde["dt"])
    assert np.abs(centred - ut[:, 1:-1]).max() < 0.02 * np.abs(ut).max()


def test_heat_single_mode_decays_exactly_and_etdrk4_converges():
    length, grid = 20.0, 64
    x = -length / 2 + length * np.arange(grid) / grid
    k = 2 * np.pi * 3 / length
    u, _ = simulate("heat", np.sin(k * x)[None], length=length, dt=0.1, steps=5)
    np.testing.assert_allclose(u[0, -1], np.exp(-k ** 2 * 0.4) * np.sin(k * x), atol=1e-12)
    u0 = np.sin(2 * np.pi * x / length)[None]
    reference, _ = simulate("kdv", u0, length=length, dt=0.4, steps=2, max_step=0.0025)
    e1, e2 = (np.abs(simulate("kdv", u0, length=length, dt=0.4, steps=2, max_step=h)[0] - reference).max()
              for h in (0.1, 0.05))
    assert e2 < e1 / 10                                           # fourth order: ~16x


@pytest.mark.parametrize("name", ["heat", "burgers", "kdv", "wave"])
def test_known_symmetries_hold_on_the_data(name):
    """pr v (Delta) with the true equation, on the simulated data, is at rounding level for
    each listed symmetry of degree <= 2 and order one for a field that is not one."""
    data = datasets.load(name, trajectories=4, test_trajectories=1, steps=21)
    method = LieNLSD(samples=1500)
    problem = _problem(data, method)
    space = problem["space"]
    jets = {s.name: s for s in [space.jet(0, (0, n)) for n in range(4)]}
    rhs = sympy.sympify({"heat": "u_xx", "burgers": "-u*u_x + 0.5*u_xx", "kdv": "-u*u_x - u_xxx",
                         "wave": "u_xx"}[name], locals=jets)
    library = FieldLibrary(("t", "x", "u"), 2)
    matrix = invariance_matrix(space, library, problem["targets"], [rhs], problem["values"])
    # size of a condition: |target jet| times the field's size (its functions' RMS on the data)
    target = np.linalg.norm(problem["values"][problem["targets"][0]])
    size = _function_scales(library, problem["values"])
    for components in data.metadata["symmetries"]:
        try:
            c = library.expand(components)
        except ValueError:
            continue                                                 # heat's projective: degree 3
        assert np.linalg.norm(matrix @ c) < 1e-3 * target * np.linalg.norm(size * c), components
    c = library.expand({"x": "x"})
    assert np.linalg.norm(matrix @ c) > 0.1 * target * np.linalg.norm(size * c)


def test_options_noise_and_errors():
    clean = datasets.load("burgers", trajectories=4, steps=5, grid=32, seed=2)
    noisy = datasets.load("burgers", trajectories=4, steps=5, grid=32, seed=2, noise=0.01)
    assert clean.x.shape == (2 * 5, 32) and clean.x_test.shape == (2 * 5, 32)
    assert 0.005 < float((noisy.x - clean.x).std()) < 0.02
    assert float((noisy.y - clean.y).abs().max()) == 0.0            # noise on u only
    with pytest.raises(UserInputError, match="grid"):
        datasets.load("kdv", grid=4)
    with pytest.raises(UserInputError, match="no option"):
        datasets.load("heat", viscosity=1)
