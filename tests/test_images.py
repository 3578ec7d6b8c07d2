"""Image and signal datasets: exact transformations, ground truth, MNIST-format files."""
import gzip
import struct

import numpy as np
import pytest
import torch

import symdisco.datasets as datasets
from symdisco.datasets.images import pixel_rotation_generator, rotate_images
from symdisco.errors import UserInputError


def test_translation_1d_is_an_exact_shift_generated_by_the_truth():
    data = datasets.load("translation-1d", nodes=15, n_train=50, n_test=10, shift=0.3)
    L = data.ground_truth.basis
    assert data.x.shape == (50, 15) and data.x_test.shape == (10, 15)
    assert data.task == "equivariant" and data.action == "vector"
    moved = data.x.double() @ torch.linalg.matrix_exp(0.3 * L[0]).T
    assert torch.allclose(moved, data.y.double(), atol=1e-4)


def test_rotation_2d_first_order_is_the_rotation_field():
    data = datasets.load("rotation-2d", size=9, n_train=100, n_test=5, angle=1e-3)
    L = data.ground_truth.basis
    assert L.shape == (1, 81, 81)
    step = (data.y.double() - data.x.double()) / 1e-3
    predicted = data.x.double() @ L[0].T
    assert ((step - predicted).norm() / predicted.norm()) < 0.02


def test_rotation_2d_needs_odd_size():
    with pytest.raises(UserInputError, match="odd"):
        datasets.load("rotation-2d", size=10)


def test_rotated_digits_shapes_and_truth():
    data = datasets.load("rotated-digits", size=16, digit_size=12)
    assert data.x.shape[1:] == (1, 16, 16) and data.x.dtype == torch.float32
    assert data.y.dtype == torch.int64 and set(data.y.tolist()) == set(range(10))
    assert data.action == "image" and data.ground_truth.n == 3
    assert len(data.x) + len(data.x_test) == 1797
    assert 0 <= data.x.min() and data.x.max() <= 1.0 + 1e-6
    assert pixel_rotation_generator(data).shape == (256, 256)


def test_scrambled_digits_are_a_fixed_permutation_of_the_plain_ones():
    plain = datasets.load("rotated-digits", size=12, digit_size=8)
    scrambled = datasets.load("rotated-digits", size=12, digit_size=8, scrambled=True)
    permutation = np.array(scrambled.metadata["permutation"])
    assert scrambled.x.shape == (len(plain.x), 144) and scrambled.action == "vector"
    assert torch.equal(scrambled.x, plain.x.flatten(1)[:, permutation])
    assert torch.equal(scrambled.y, plain.y)
    field = pixel_rotation_generator(plain)
    assert np.allclose(scrambled.ground_truth.numpy()[0], field[np.ix_(permutation, permutation)])


def test_rotate_images_quarter_turn_is_exact():
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    turned = rotate_images(image, torch.tensor([np.pi / 2]))
    assert torch.allclose(turned, torch.rot90(image, k=1, dims=(2, 3)), atol=1e-4) or \
        torch.allclose(turned, torch.rot90(image, k=-1, dims=(2, 3)), atol=1e-4)


def _write_idx(path, array, gz=True):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_mnist_format_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28))
    labels = np.arange(30) % 10
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    data = datasets.load("rotated-digits", path=str(tmp_path / "train-images-idx3-ubyte.gz"),
                         size=20, digit_size=16, test_fraction=0.2)
    assert data.x.shape == (24, 1, 20, 20) and len(data.x_test) == 6
    assert sorted(data.y.tolist() + data.y_test.tolist()) == sorted(labels.tolist())
    np.savez(tmp_path / "mnist.npz", x_train=images[:20], y_train=labels[:20],
             x_test=images[20:], y_test=labels[20:])
    data = datasets.load("rotated-digits", path=str(tmp_path / "mnist.npz"), size=20, digit_size=16)
    assert len(data.x) + len(data.x_test) == 30
    with pytest.raises(UserInputError, match="labels file"):
        _write_idx(tmp_path / "lonely-images-idx3-ubyte", images, gz=False)
        datasets.load("rotated-digits", path=str(tmp_path / "lonely-images-idx3-ubyte"))
    with pytest.raises(UserInputError, match="no such file"):
        datasets.load("rotated-digits", path=str(tmp_path / "missing.npz"))
