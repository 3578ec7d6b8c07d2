"""LieAugmenter: valid group elements, gradients, base models, and discovery with fixed seeds."""
import json
import math

import pytest
import torch

import symdisco.datasets as datasets
from symdisco.datasets.base import SymmetryDataset
from symdisco.errors import UserInputError
from symdisco.lie.generators import AffineGenerators, BlockGenerators, FullGenerators
from symdisco.lie.known import so
from symdisco.lie.sampling import UniformLaw
from symdisco.methods.augmenter import (Augmenter, FixedAugmenter, LieAugmenter, make_base_model,
                                        symmetry_error)


@pytest.mark.parametrize("generators", [FullGenerators(3, 4), BlockGenerators(2, 2), AffineGenerators(2)])
def test_samples_are_group_elements(generators):
    torch.manual_seed(0)
    augmenter = Augmenter(generators, UniformLaw(generators.k, half_width=0.7))
    g, w = augmenter(256, torch.Generator().manual_seed(1))
    basis = augmenter.basis()
    assert torch.allclose(basis.flatten(1).norm(dim=1), torch.full((generators.k,), math.sqrt(2.0)))
    assert (w.abs() <= 0.7 + 1e-6).all()
    expected = torch.linalg.matrix_exp(torch.einsum("bk,kij->bij", w, basis))
    assert torch.allclose(g, expected, atol=1e-5)
    assert (torch.linalg.det(g.double()) > 0).all()
    if isinstance(generators, AffineGenerators):  # homogeneous affine: last row stays (0, 0, 1)
        assert torch.allclose(g[:, 2], torch.tensor([0.0, 0.0, 1.0]).expand(256, 3), atol=1e-6)


def test_gradient_reaches_basis_and_range():
    augmenter = Augmenter(BlockGenerators(1, 2), UniformLaw(1, half_width=0.5))
    g, _ = augmenter(64, torch.Generator().manual_seed(0))
    x = torch.randn(64, 2)
    (torch.einsum("bij,bj->bi", g, x) - x).pow(2).sum().backward()
    assert augmenter.generators.weight.grad.abs().sum() > 0
    assert augmenter.law.raw_half_width.grad.abs().sum() > 0


def test_fixed_augmenter_uses_the_given_basis_and_range():
    fixed = FixedAugmenter(so(2).basis, 0.3)
    assert torch.allclose(fixed.law.half_width, torch.tensor([0.3]), atol=1e-5)
    g, w = fixed(32)
    assert torch.allclose(g, torch.linalg.matrix_exp(w[:, :, None] * so(2).basis.float()), atol=1e-5)


def _tiny_equivariant():
    x = torch.randn(40, 4)
    return SymmetryDataset(name="tiny", x=x[:30], y=x[:30].clone(), x_test=x[30:], y_test=x[30:].clone(),
                           task="equivariant", action="blocks", action_options={"block_dim": 2},
                           ground_truth=so(2))


def test_identity_model_is_exactly_equivariant():
    data = _tiny_equivariant()
    augmenter = Augmenter(BlockGenerators(1, 2), UniformLaw(1, half_width=2.0))
    errors = symmetry_error(torch.nn.Identity(), data, augmenter)
    assert errors["equivariance_error"] < 1e-6


def test_base_model_choices():
    data = _tiny_equivariant()
    assert type(make_base_model("auto", data)).__name__ == "ResidualMLP"
    assert make_base_model("mlp", data)(data.x).shape == (30, 4)
    with pytest.raises(UserInputError, match="needs images"):
        make_base_model("cnn", data)
    with pytest.raises(UserInputError, match="unknown base model"):
        make_base_model("transformer", data)
    custom = torch.nn.Linear(4, 4)
    assert make_base_model(custom, data) is not custom


def test_needs_targets():
    data = _tiny_equivariant()
    data.y = None
    with pytest.raises(UserInputError, match="needs targets"):
        LieAugmenter().fit(data, progress=False)


def test_short_fit_reports_basis_ranges_errors_and_table(tmp_path):
    torch.set_num_threads(1)
    data = datasets.load("so2-equivariant", n_train=256, n_test=64) if "so2-equivariant" in datasets.names() \
        else _tiny_equivariant()
    method = LieAugmenter(epochs=2, baselines=True, compare_liegan=False, seed=0)
    result = method.fit(data, out=tmp_path, progress=False)
    assert result.algebra.k == 1
    assert len(result.extras["half_width"]) == 1 and result.extras["coefficient_range"][0][0] < 0
    assert "equivariance_error" in result.extras or "invariance_error" in result.extras
    assert "base model, no augmentation" in result.extras["table"]
    result.save(tmp_path)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["method"] == "augmenter" and "table_markdown" in saved
    assert (tmp_path / "augmenter_generators.png").is_file()


@pytest.mark.slow
def test_finds_rotation_on_rotated_digits():
    torch.set_num_threads(1)
    data = datasets.load("rotated-digits")
    result = LieAugmenter(seed=0, baselines=True, compare_liegan=False).fit(data, progress=False)
    assert result.extras["cosine_to_truth"][0] >= 0.9
    table = result.extras["table"]
    assert table["LieAugmenter (SEMoLA)"]["test_error"] < table["base model, no augmentation"]["test_error"]


@pytest.mark.slow
def test_finds_so2_on_nbody2():
    torch.set_num_threads(1)
    data = datasets.load("nbody2")
    result = LieAugmenter(seed=0, epochs=10, baselines=True).fit(data, progress=False)
    assert result.similarity >= 0.95
    table = result.extras["table"]
    assert "base model + LieGAN augmentation" in table
    assert table["LieAugmenter (SEMoLA)"]["test_error"] < table["base model, no augmentation"]["test_error"]
