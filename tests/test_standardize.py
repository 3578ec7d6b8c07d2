"""Standardisation: the scale of the data must not change the answer.

Properties: scales that commute with the action (one per block, one for point sets) vanish
from the standardised data; per-feature scales become a conjugation that `to_user` undoes;
data of order one are left alone; degenerate data are refused; NaN, Inf and float32 overflow
never reach a method.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import symdisco.datasets as datasets
from symdisco.datasets.base import SymmetryDataset
from symdisco.datasets.standardize import fit_standardization, standardize
from symdisco.errors import UserInputError
from symdisco.lie.algebra import LieAlgebra
from symdisco.lie.compare import similarity
from symdisco.methods.liegan import LieGAN


def vector_data(scale=(1.0, 1.0), n=400, seed=0):
    """Points on ellipses: invariant under L = S J S^-1 (J the rotation generator)."""
    rng = np.random.default_rng(seed)
    theta, radius = rng.uniform(0, 2 * np.pi, n), rng.uniform(0.5, 1.5, n)
    x = np.stack([radius * np.cos(theta), radius * np.sin(theta)], 1) * np.asarray(scale)
    return SymmetryDataset("ellipse", x, None, x[:10], None, task="unsupervised", action="vector")


def test_to_user_undoes_to_standard_and_conjugates_the_truth():
    data = vector_data(scale=(5e6, 2e5))
    scales = fit_standardization(data)
    basis = torch.randn(3, 2, 2, dtype=torch.float64)
    assert torch.allclose(scales.to_user(scales.to_standard(basis)), basis)
    # the data are invariant under S J S^-1; on the standardised data that is (nearly) J itself
    truth = torch.tensor([[[0.0, -5 / 0.2], [0.2 / 5, 0.0]]], dtype=torch.float64)
    rotation = torch.tensor([[[0.0, -1.0], [1.0, 0.0]]], dtype=torch.float64)
    assert similarity(scales.to_standard(truth), rotation) > 0.99


def test_per_feature_scales_cancel_on_vectors():
    shrunk, stretched = vector_data(scale=(1e-5, 1e4)), vector_data(scale=(1e6, 3e-4))
    a, b = standardize(shrunk)[0], standardize(stretched)[0]
    assert torch.allclose(a.x, b.x, rtol=1e-4, atol=1e-6)


def test_data_of_order_one_are_left_alone():
    data = datasets.load("nbody2")  # positions ~1.7, velocities ~0.24: inside the comfort band
    standard, scales = standardize(data)
    assert np.all(scales.x_scale == 1.0) and torch.equal(standard.x, data.x)


def test_block_scalars_commute_with_the_action_and_vanish():
    data = datasets.load("nbody2")

    def scaled(factors):
        factors = torch.tensor(factors)
        return dataclasses.replace(data, x=data.x * factors, y=data.y * factors, x_test=data.x_test * factors,
                                   y_test=data.y_test * factors)

    # positions against velocities, both ways round
    (a, sa), (b, sb) = standardize(scaled([1e3] * 4 + [1e-2] * 4)), standardize(scaled([1e-4] * 4 + [1e5] * 4))
    assert torch.allclose(a.x, b.x, rtol=1e-4, atol=1e-6) and torch.allclose(a.y, b.y, rtol=1e-4, atol=1e-6)
    assert np.allclose(sa.base, sb.base, rtol=1e-4)  # the conjugation is the same: truth unchanged
    assert similarity(a.ground_truth, data.ground_truth) > 0.999
    assert a.metadata["standardized"]["mode"] == "action"


def test_equivariant_targets_share_the_conjugation():
    data = datasets.load("nbody2")
    factors = torch.tensor([1e3, 2e3] * 2 + [1e-2, 3e-2] * 2)  # every block and component apart
    data = dataclasses.replace(data, x=data.x * factors, y=data.y * factors * 7)
    scales = fit_standardization(data)
    x_blocks = np.asarray(scales.x_scale).reshape(-1, 2)
    y_blocks = np.asarray(scales.y_scale).reshape(-1, 2)
    # every block's scales are (scalar) x base: the same 2x2 conjugation acts on x and y
    assert np.allclose(x_blocks / x_blocks[:, :1], y_blocks / y_blocks[:, :1])


def test_points_get_one_scale_and_images_none():
    jets = datasets.load("lorentz-jets")
    jets = dataclasses.replace(jets, x=jets.x * 1e5, x_test=jets.x_test * 1e5)
    scales = fit_standardization(jets)
    assert np.allclose(scales.base, 1.0) and np.ptp(scales.x_scale) == 0 and scales.x_scale.flat[0] > 1e4
    digits = datasets.load("rotated-digits")
    assert fit_standardization(digits) is None


def test_scaled_nbody2_gives_the_same_generator():
    """One epoch on nbody2 x 1e-6 and x 1e6: the standardised data agree, so do the answers."""
    data = datasets.load("nbody2")
    data = dataclasses.replace(data, x=data.x[:2048], y=data.y[:2048], x_test=data.x_test[:256],
                               y_test=data.y_test[:256])
    small, big = (dataclasses.replace(data, x=data.x * f, y=data.y * f, x_test=data.x_test * f,
                                      y_test=data.y_test * f) for f in (1e-6, 1e6))
    options = dict(epochs=1, batch_size=256, early_stopping=False, seed=0)
    a = LieGAN(**options).fit(small, progress=False)
    b = LieGAN(**options).fit(big, progress=False)
    assert similarity(a.algebra, b.algebra) > 0.999
    assert b.extras["standardization"]["x_scale_range"][0] > 1e5
    raw = LieGAN(**options, standardize=False).fit(data, progress=False)
    assert "standardization" not in raw.extras


@pytest.mark.parametrize("x, fragment", [
    (np.zeros((50, 4)), "zero in every sample"),
    (np.ones((50, 4)), "identical"),
])
def test_degenerate_data_are_refused(x, fragment):
    data = SymmetryDataset("bad", x, None, x[:5], None, task="unsupervised", action="vector")
    with pytest.raises(UserInputError, match=fragment):
        LieGAN(epochs=1).fit(data, progress=False)


def test_a_zero_feature_is_a_warning_not_a_crash():
    x = np.random.default_rng(0).normal(size=(64, 3))
    x[:, 2] = 0.0
    data = SymmetryDataset("flat", x, None, x[:5], None, task="unsupervised", action="vector")
    with pytest.warns(UserWarning, match=r"feature\(s\) \[2\] are zero"):
        _, scales = standardize(data)
    assert scales.base[2] == 1.0 and math.isfinite(scales.base[0])


@pytest.mark.parametrize("bad, fragment", [(np.nan, "NaN/Inf"), (np.inf, "NaN/Inf"), (1e39, "beyond float32")])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_datasets_refuse_nan_inf_and_overflow(bad, fragment, as_tensor):
    x = np.random.default_rng(0).normal(size=(20, 2))
    x[3, 1] = bad
    value = torch.from_numpy(x) if as_tensor else x
    with pytest.raises(UserInputError, match=fragment):
        SymmetryDataset("api", value, None, x[:2] * 0, None, task="unsupervised", action="vector")


def test_huge_magnitudes_train_on_unit_scale():
    data = vector_data()
    huge = dataclasses.replace(data, x=data.x * 1e30, x_test=data.x_test * 1e30)
    standard, scales = standardize(huge)
    assert float(standard.x.pow(2).mean().sqrt()) == pytest.approx(1.0, rel=1e-3)
    assert scales.describe()["base_scale"][0] > 1e29
    truth = LieAlgebra(torch.tensor([[[0.0, -1.0], [1.0, 0.0]]]))
    assert similarity(scales.to_user(scales.to_standard(truth.basis)), truth.basis) > 0.9999


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_the_issue_ellipse_is_found_at_any_scale(scale):
    """Issue 12: data invariant under [[0, -5], [0.2, 0]] scored 0.98 against plain so(2) at
    scale 1e-6 (the answer came from the regulariser); now its own truth is found at any scale."""
    data = vector_data(scale=(5.0 * scale, scale), n=2000)
    truth = LieAlgebra(torch.tensor([[[0.0, -5.0], [0.2, 0.0]]], dtype=torch.float64))
    data = dataclasses.replace(data, ground_truth=truth)
    result = LieGAN(epochs=10, seed=0).fit(data, progress=False)
    assert result.similarity > 0.99
    rotation = torch.tensor([[[0.0, -1.0], [1.0, 0.0]]], dtype=torch.float64)
    assert similarity(result.algebra, rotation) < 0.9
    # named and measured in the units it was found in, reported in the user's
    record = result.to_dict()
    assert record["feature_scales"][0] / record["feature_scales"][1] == pytest.approx(5.0, rel=0.05)
    assert record["algebra"] == "so(2)"
    assert np.allclose(record["invariant_metric"], [[0.04, 0.0], [0.0, 1.0]], atol=0.02)
