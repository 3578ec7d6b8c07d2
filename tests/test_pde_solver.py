"""Flows of vector fields map solutions to solutions; the PDE-solver experiment end to end."""
import json

import numpy as np
import pytest
import torch

import symdisco.datasets as datasets
from symdisco.datasets.pde import spectral_derivative
from symdisco.experiments.pde_solver import FlowAugmentation, grid_compatible
from symdisco.lie.flows import field_function, flow_points, transform_solution
from symdisco.lie.vector_fields import FieldLibrary


def test_flow_of_a_linear_field_is_the_matrix_exponential():
    field = field_function(["0", "x", "-u"])                      # x d/dx - u d/du
    z = np.array([[0.3, 1.5, 2.0], [1.0, -0.5, 0.7]])
    moved = flow_points(field, z, np.array([0.4, -0.2]))
    np.testing.assert_allclose(moved[:, 1], z[:, 1] * np.exp([0.4, -0.2]), rtol=1e-6)
    np.testing.assert_allclose(moved[:, 2], z[:, 2] * np.exp([-0.4, 0.2]), rtol=1e-6)


@pytest.mark.parametrize("name, components, rhs", [
    ("burgers", ["0", "t", "1"], lambda u, ux, uxx, uxxx: -u * ux + 0.5 * uxx),       # Galilean boost
    ("kdv", ["0", "t", "1"], lambda u, ux, uxx, uxxx: -u * ux - uxxx),
    ("heat", ["0", "0", "u"], lambda u, ux, uxx, uxxx: uxx),                           # u scaling
])
def test_transformed_solutions_still_solve_the_equation(name, components, rhs):
    data = datasets.load(name, trajectories=3, test_trajectories=1, steps=11, dt=0.01, grid=128)
    pde = data.metadata["pde"]
    length, grid = pde["length"], pde["grid"]
    u = data.x.double().numpy().reshape(2, 11, grid)
    x = pde["x0"] + length * np.arange(grid) / grid
    t = 0.01 * np.arange(11)
    moved = transform_solution(u, t, x, length, field_function(components), np.array([0.7, -0.4]))
    assert np.abs(moved - u).max() > 0.3                           # a real change
    ut = (moved[:, 2:] - moved[:, :-2]) / 0.02
    mid = moved[:, 1:-1]
    derivatives = [spectral_derivative(mid, length, k) for k in (1, 2, 3)]
    residual = ut - rhs(mid, *derivatives)
    assert np.abs(residual).max() < 0.01 * np.abs(ut).max() + 1e-3


def test_grid_compatible_part_and_augmentation_keep_shapes():
    library = FieldLibrary(("t", "x", "u"), 2)
    rows = np.array([library.expand(c) for c in ({"x": "1"}, {"x": "t", "u": "1"},
                                                 {"t": "2*t", "x": "x", "u": "-u"})])
    compatible = grid_compatible(rows, library)
    assert compatible.shape[0] == 2                                   # scaling dropped
    assert np.abs(compatible[:, [k for k, n in enumerate(library.column_names()) if "x d/dx" in n]]).max() < 1e-9
    x = -10 + 20 * np.arange(32) / 32
    points = np.random.default_rng(0).normal(size=(200, 3))
    augment = FlowAugmentation(compatible, library, points, 0.05, x, 20.0, 0.5, seed=0)
    assert len(augment.fields) == 2 and augment.basis.shape == compatible.shape
    xb, yb = torch.randn(4, 32), torch.randn(4, 32)
    ax, ay = augment(xb, yb)
    assert ax.shape == xb.shape and ay.dtype == yb.dtype and not torch.allclose(ax, xb)


@pytest.mark.slow
def test_pde_solver_experiment_writes_its_table(tmp_path):
    from symdisco.cli import main

    code = main(["downstream", "burgers", "--out", str(tmp_path), "--epochs", "2", "--quiet",
                 "-D", "n_train=2", "-D", "n_test=2", "-D", "steps=11"])
    assert code == 0
    rows = json.loads((tmp_path / "table.json").read_text())
    assert [r["symmetry"] for r in rows] == ["none", "discovered", "true"]
    details = json.loads((tmp_path / "details.json").read_text())
    assert details["models"]["discovered"]["augmentations"] and (tmp_path / "table.md").is_file()


def test_two_bases_of_one_span_sample_alike():
    library = FieldLibrary(("t", "x", "u"), 2)
    rows = np.array([library.expand(c) for c in ({"x": "1"}, {"x": "t", "u": "1"})])
    mixed = np.array([[2.0, -1.0], [0.5, 3.0]]) @ rows
    points = np.random.default_rng(1).normal(size=(300, 3))
    x = -10 + 20 * np.arange(32) / 32
    a = FlowAugmentation(rows, library, points, 0.05, x, 20.0, 0.5, seed=4)
    b = FlowAugmentation(mixed, library, points, 0.05, x, 20.0, 0.5, seed=4)
    u = torch.randn(3, 32)
    for left, right in zip(a(u, u), b(u, u)):
        torch.testing.assert_close(left, right, atol=1e-5, rtol=1e-5)
