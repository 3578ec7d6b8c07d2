"""LieSD on images: affine fields of the pixel plane, their action on images, and discovery."""
import json

import numpy as np
import pytest
import torch

import symdisco.datasets as datasets
from symdisco.cli import main
from symdisco.datasets.base import SymmetryDataset
from symdisco.datasets.blobs import _blob_images
from symdisco.errors import UserInputError
from symdisco.lie import affine_fields as af
from symdisco.lie import known
from symdisco.lie.actions import ImageAction
from symdisco.methods import liesd_images
from symdisco.methods.liesd import LieSD


def blob(centres, size=24, width=0.15):
    return torch.as_tensor(_blob_images(np.asarray(centres, dtype=np.float64)[None], size, width))


@pytest.mark.parametrize("index", range(6))
def test_field_directions_are_the_derivative_of_the_exact_flow(index):
    """-(v . grad I) against blobs drawn exactly at moved positions and widths: a blob at c of
    covariance w^2 I becomes, under p -> M p + b, a Gaussian at M c + b with covariance M M^T w^2."""
    generator = af.named_affine_basis()[index]
    centres, width, t = np.array([[0.2, -0.1], [-0.25, 0.3]]), 0.15, 1e-4
    size = 24
    grid = (2 * np.arange(size) + 1) / size - 1
    px, py = np.meshgrid(grid, grid, indexing="xy")
    points = np.stack([px, py], -1)

    def moved(s):
        g = torch.linalg.matrix_exp(s * generator).numpy()
        m, b = g[:2, :2], g[:2, 2]
        cov_inv = np.linalg.inv(m @ m.T * width ** 2)
        image = 0.0
        for c in centres:
            d = points - (m @ c + b)
            image = image + np.exp(-0.5 * np.einsum("hwi,ij,hwj->hw", d, cov_inv, d))
        return torch.as_tensor(image)[None, None]

    exact = (moved(t) - moved(-t)) / (2 * t)
    assert torch.allclose(moved(0.0), blob(centres, size, width))
    found = af.field_directions(blob(centres, size, width), generator[None])[:, 0]
    assert float((found - exact).norm() / exact.norm()) < 1e-3
    # the project's ImageAction (bilinear resampling) moves the image the same way, to its accuracy
    g = torch.linalg.matrix_exp(t * generator)
    action = (ImageAction().apply(g, blob(centres, size, width)) -
              ImageAction().apply(torch.linalg.inv(g), blob(centres, size, width))) / (2 * t)
    assert float((action - exact).norm() / exact.norm()) < 0.2


def test_named_fields_round_trip_and_words():
    basis = af.named_affine_basis()
    assert torch.allclose(basis[2], known.rotation_affine().basis[0])
    assert torch.allclose(basis[:2], known.translations(2).basis)
    coefficients = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(af.named_coefficients(torch.einsum("k,kij->ij", coefficients, basis)), coefficients)
    assert af.describe_affine(-2 * basis[2])["text"] == "rotation: v(x, y) = (1.00 y, -1.00 x)"
    assert af.describe_affine(basis[1])["name"] == "translation y"
    mixed = af.describe_affine(basis[3] - 0.5 * basis[4] + 0.05 * basis[0])
    assert mixed["name"] == "dilation - 0.50 stretch x / squeeze y"
    assert mixed["text"].endswith("v(x, y) = (0.50 x + 0.05, 1.50 y)")


def test_a_pixel_rotation_of_a_non_square_image_is_named_a_rotation():
    height, width = 12, 16                 # in ImageAction's coordinates: v = (-0.75 y, 1.33 x)
    pixel_rotation = torch.zeros(3, 3, dtype=torch.float64)
    pixel_rotation[0, 1], pixel_rotation[1, 0] = -height / width, width / height
    assert af.describe_affine(pixel_rotation)["name"].startswith("rotation + 0.28 shear")
    words = af.describe_affine(pixel_rotation, shape=(height, width))
    assert words["text"] == "rotation: v(x, y) = (-1.00 y, 1.00 x)"
    square = af.describe_affine(pixel_rotation, shape=(16, 16))        # square: the coordinates as they are
    assert square == af.describe_affine(pixel_rotation)


def test_search_basis_is_orthonormal_in_the_field_metric_and_checks_spans():
    basis = liesd_images.search_basis("affine", None, 12, 20)
    assert basis.shape == (6, 3, 3)
    assert torch.allclose(af.field_metric(basis, 12, 20), torch.eye(6, dtype=torch.float64), atol=1e-10)
    named = af.named_affine_basis()
    span = torch.stack([named[2], named[3], named[2] + named[3]])     # dependent third
    assert liesd_images.search_basis("subspace", span, 16, 16).shape[0] == 2
    with pytest.raises(UserInputError, match="zero last row"):
        liesd_images.search_basis("subspace", torch.eye(3)[None], 16, 16)
    with pytest.raises(UserInputError, match=r"\(m, 3, 3\)"):
        liesd_images.search_basis("subspace", torch.zeros(2, 2, 2), 16, 16)


def image_dataset(x, y, truth, task="invariant"):
    n = int(0.8 * len(x))
    return SymmetryDataset("images", x[:n], y[:n], x[n:], y[n:], task, "image", ground_truth=truth)


def test_exact_predictors_give_the_exact_algebras():
    """No fit: a radially weighted sum keeps rotations only; an anisotropic power spectrum of
    periodic images keeps translations only (spectral gradients make both exact)."""
    rng = np.random.default_rng(0)
    x = torch.as_tensor(_blob_images(rng.uniform(-0.5, 0.5, (300, 3, 2)), 16, 0.15))
    px, py = af.pixel_coordinates(16, 16)
    weight = torch.cos(3 * (px ** 2 + py ** 2))
    data = image_dataset(x, (x[:, 0] * weight.float()).sum((1, 2))[:, None], known.rotation_affine())
    result = LieSD(predictor=lambda images: (images.double()[:, 0] * weight).sum((1, 2))).fit(data)
    assert result.extras["chosen_k"] == 1 and result.similarity > 0.9999
    assert result.extras["vector_fields"][0]["name"] == "rotation"

    kx = torch.fft.fftfreq(16, dtype=torch.float64)
    anisotropic = 1 + 3 * kx[None, :] ** 2 + torch.sin(5 * kx[:, None]) * kx[None, :]
    smooth = torch.fft.ifft2(torch.fft.fft2(torch.randn(300, 1, 16, 16, dtype=torch.float64)) *
                             torch.exp(-20 * (kx[:, None] ** 2 + kx[None, :] ** 2))).real

    def power(images):
        return (torch.fft.fft2(images.double()[:, 0]).abs() ** 2 * anisotropic).sum((1, 2))

    data = image_dataset(smooth, power(smooth)[:, None], known.translations(2))
    result = LieSD(predictor=power).fit(data)
    assert result.extras["chosen_k"] == 2 and result.similarity > 0.9999
    assert sorted(f["name"] for f in result.extras["vector_fields"]) == ["translation x", "translation y"]


def test_fitted_network_finds_the_rotation_of_a_rotation_invariant_label():
    data = datasets.load("blob-images", symmetry="rotation", n_train=2000, seed=1)
    result = LieSD(fit_steps=400).fit(data)      # rotation is clear at 400 steps; the CLI test runs the defaults
    assert result.extras["chosen_k"] == 1 and result.similarity >= 0.95
    assert result.extras["search_space"] == "affine" and result.algebra.n == 3
    classes = datasets.load("blob-images", symmetry="rotation", task="classification", n_train=2000, seed=2)
    result = LieSD(fit_steps=400).fit(classes)
    assert result.extras["chosen_k"] == 1 and result.similarity >= 0.95


def test_cli_picks_the_affine_space_and_names_the_translations(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["discover", "blob-images", "-D", "symmetry=translation", "--method", "liesd", "--quiet",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "vector fields:\n  translation x: v(x, y) = (" in printed and "\n  translation y: v(x, y) = (" in printed
    record = json.loads((out / "result.json").read_text())
    assert record["chosen_k"] == 2 and record["similarity"] >= 0.95
    assert np.shape(record["generators"]) == (2, 3, 3) and record["search_space"] == "affine"


def test_bad_image_options_fail_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "run"
    for options in (["--parameterization", "full"], ["--generators", "7"]):
        assert main(["discover", "blob-images", "-D", "n_train=50", "--method", "liesd", "--out", str(out),
                     *options]) == 2
        assert capsys.readouterr().err.count("\n") == 1 and not out.exists()
    assert main(["discover", "nbody2", "--method", "liesd", "--parameterization", "affine", "--out", str(out)]) == 2
    assert "act on images" in capsys.readouterr().err and not out.exists()
    x = torch.randn(40, 1, 8, 8)
    with pytest.raises(UserInputError, match="invariant and classification"):
        LieSD().fit(image_dataset(x, x, None, task="equivariant"))


def test_liegan_starts_from_the_closed_form_on_images():
    """`--init liesd` on images: the closed form's 3 x 3 generators seed LieGAN's affine 2 x 3 block."""
    from symdisco.methods.liegan import LieGAN

    data = datasets.load("blob-images", n_train=600, n_test=100)
    result = LieGAN(n_generators=1, init="liesd", epochs=1, seed=0).fit(data, progress=False)
    assert result.extras["init_similarity"] >= 0.95 and result.similarity >= 0.95
    assert result.algebra.basis.shape == (1, 3, 3) and float(result.algebra.basis[0, 2].abs().max()) == 0.0
