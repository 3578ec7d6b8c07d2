"""Signals and images with a known symmetry, for L-conv and the LieAugmenter.

| name            | x                                   | y                           | truth |
|-----------------|-------------------------------------|-----------------------------|-------|
| translation-1d  | random periodic signals, d nodes    | x shifted by `shift` pixels | Shannon-Whittaker generator (d x d) |
| rotation-2d     | random images on an s x s grid      | x rotated by `angle` rad    | x d_y - y d_x on pixels (s^2 x s^2) |
| rotated-digits  | handwritten digits, randomly rotated| the digit's class           | rotation_affine() (3x3, image action); scrambled: the permuted pixel rotation field |

The digits are scikit-learn's bundled 8x8 handwritten digits (nothing is downloaded),
upsampled; `path=` reads an MNIST-format file instead (IDX `*-images-idx3-ubyte[.gz]`
with its `*-labels-idx1-ubyte[.gz]` beside it, or an `.npz` with `x_train`, `y_train`,
`x_test`, `y_test` as in keras' `mnist.npz`).

Shifts and rotations of the first two sets are exact: the signals are trigonometric
series evaluated at the moved coordinates, not interpolated pixels.
"""
from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import torch

from symdisco.errors import UserInputError
from symdisco.lie.known import rotation_field_generator, shannon_whittaker_generator

from .base import SymmetryDataset, check_float, check_int
from .registry import register


# -- reference generators in pixel space ---------------------------------------------------

def pixel_rotation_generator(dataset: SymmetryDataset) -> np.ndarray | None:
    """The pixel-space rotation field ``x d_y - y d_x`` (d x d, d = pixels) of an image
    dataset, with the dataset's pixel permutation applied when it is scrambled; None when
    the dataset carries no image shape."""
    shape = dataset.metadata.get("image_shape")
    if shape is None:
        return None
    field = rotation_field_generator(int(shape[-2]), int(shape[-1]))
    permutation = dataset.metadata.get("permutation")
    if permutation is not None:
        permutation = np.asarray(permutation)
        field = field[np.ix_(permutation, permutation)]
    return field


def _algebra(matrix: np.ndarray, name: str):
    from symdisco.lie.algebra import LieAlgebra

    return LieAlgebra(np.asarray(matrix, dtype=np.float64)[None], name=name)


# -- translation-1d ------------------------------------------------------------------------

def _periodic_signals(rng, n, d, max_frequency, decay):
    """Random real trigonometric series on [0, d): (coefficients a, b per frequency)."""
    p = np.arange(1, max_frequency + 1)
    weight = 1.0 / (1.0 + (p / decay) ** 2) if decay > 0 else np.ones_like(p, dtype=float)
    a = rng.standard_normal((n, p.size)) * weight
    b = rng.standard_normal((n, p.size)) * weight
    c = rng.standard_normal((n, 1)) * 0.5
    return p, a, b, c


def _evaluate_signals(p, a, b, c, d, shift):
    x = np.arange(d) - shift                               # f(x - z): content moves by +z
    angle = 2 * np.pi * np.outer(p, x) / d                 # (P, d)
    return c + a @ np.cos(angle) + b @ np.sin(angle)


@register("translation-1d", "periodic 1-D signals and their sub-pixel shifts; truth: the "
                            "Shannon-Whittaker translation generator (d x d)")
def load_translation_1d(nodes=31, n_train=1000, n_test=200, shift=0.05, max_frequency=0,
                        decay=0.0, noise=0.0, seed=0) -> SymmetryDataset:
    """x: random periodic signals on `nodes` samples (all frequencies up to `max_frequency`,
    0 = every frequency the grid holds; amplitudes ~ 1 / (1 + (p/decay)^2) when decay > 0);
    y: the same signals shifted by `shift` pixels (exact, f(x) -> f(x - shift))."""
    name = "translation-1d"
    d = check_int(name, "nodes", nodes, 3, 4096)
    n_train, n_test = check_int(name, "n_train", n_train, 1), check_int(name, "n_test", n_test, 1)
    shift = check_float(name, "shift", shift)
    top = (d - 1) // 2
    max_frequency = check_int(name, "max_frequency", max_frequency, 0, top) or top
    decay, noise = check_float(name, "decay", decay, 0.0), check_float(name, "noise", noise, 0.0)
    rng = np.random.default_rng(check_int(name, "seed", seed))
    coefficients = _periodic_signals(rng, n_train + n_test, d, max_frequency, decay)
    x = _evaluate_signals(*coefficients, d, 0.0)
    y = _evaluate_signals(*coefficients, d, shift)
    return _moved_pairs(name, x, y, n_train, noise, rng,
                        _algebra(shannon_whittaker_generator(d), "translations(1) on samples"),
                        f"{d}-sample periodic signals shifted by {shift} pixels",
                        {"nodes": d, "shift": shift, "step": shift, "finite_step": 2.0, "max_frequency": max_frequency})


def _moved_pairs(name, x, y, n_train, noise, rng, truth, description, metadata) -> SymmetryDataset:
    """Signals x and the same signals moved, y (plus `noise` from `rng`), split into train and test."""
    if noise:
        y = y + noise * rng.standard_normal(y.shape)
    return SymmetryDataset(name=name, x=x[:n_train], y=y[:n_train], x_test=x[n_train:], y_test=y[n_train:],
                           task="equivariant", action="vector", ground_truth=truth, description=description,
                           metadata=metadata)


# -- rotation-2d ---------------------------------------------------------------------------

def _grid(size):
    centred = np.arange(size) - (size - 1) / 2
    rows, cols = np.meshgrid(centred, centred, indexing="ij")
    return cols.ravel(), rows.ravel()                     # x = column, y = row


@register("rotation-2d", "random images and their rotations by a small angle; truth: the "
                         "pixel rotation field x d_y - y d_x (s^2 x s^2)")
def load_rotation_2d(size=11, n_train=1000, n_test=200, angle=0.02, decay=0.0, noise=0.0,
                     seed=0) -> SymmetryDataset:
    """x: random images on a `size` x `size` grid (odd: no Nyquist mode), sums of every plane
    wave the grid holds with random amplitudes (~ 1 / (1 + (|k|/decay)^2) when decay > 0);
    y: the same images rotated by `angle` radians, evaluated exactly at the rotated
    coordinates. x and y are flattened to size^2 pixels (row-major)."""
    name = "rotation-2d"
    size = check_int(name, "size", size, 3, 63)
    if size % 2 == 0:
        raise UserInputError(f"{name}: option size must be odd (no Nyquist mode), got {size}")
    n_train, n_test = check_int(name, "n_train", n_train, 1), check_int(name, "n_test", n_test, 1)
    angle = check_float(name, "angle", angle)
    decay, noise = check_float(name, "decay", decay, 0.0), check_float(name, "noise", noise, 0.0)
    rng = np.random.default_rng(check_int(name, "seed", seed))
    k = np.fft.fftfreq(size) * 2 * np.pi
    kx, ky = (a.ravel() for a in np.meshgrid(k, k, indexing="xy"))
    weight = 1.0 / (1.0 + (np.hypot(kx, ky) / decay) ** 2) if decay > 0 else np.ones_like(kx)
    n = n_train + n_test
    amplitude = rng.standard_normal((n, kx.size)) * weight
    phase = rng.uniform(0, 2 * np.pi, (n, kx.size))
    x0, y0 = _grid(size)

    def images(theta):
        # f(R_theta p): exp(theta (x d_y - y d_x)) f
        xr = x0 * math.cos(theta) - y0 * math.sin(theta)
        yr = x0 * math.sin(theta) + y0 * math.cos(theta)
        arg = np.outer(kx, xr) + np.outer(ky, yr)         # (K, d)
        out = np.empty((n, size * size))
        for start in range(0, n, 256):
            stop = min(n, start + 256)
            out[start:stop] = np.einsum("nk,nkd->nd", amplitude[start:stop],
                                        np.cos(arg[None] + phase[start:stop, :, None]))
        return out / math.sqrt(kx.size)

    return _moved_pairs(name, images(0.0), images(angle), n_train, noise, rng,
                        _algebra(rotation_field_generator(size), "so(2) on pixels"),
                        f"{size}x{size} images rotated by {angle} rad",
                        {"image_shape": [size, size], "angle": angle, "step": angle, "finite_step": 0.4})


# -- rotated-digits ------------------------------------------------------------------------

def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise UserInputError(f"{path}: not an MNIST/IDX file of unsigned bytes "
                             f"(expected magic 0x0000 08 nn)")
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4).astype(int)
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise UserInputError(f"{path}: header says shape {tuple(dims)} but holds {body.size} values")
    return body.reshape(dims)


def _read_mnist(path: str):
    """(images (N, H, W) in [0, 1], labels (N,)) from an IDX pair or an npz."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: no such file (give an MNIST images file "
                             f"*-images-idx3-ubyte[.gz] or an .npz with x_train, y_train)")
    if path.suffix == ".npz":
        with np.load(path) as archive:
            keys = set(archive.files)
            if {"x_train", "y_train"} <= keys:
                images = [archive["x_train"]] + ([archive["x_test"]] if "x_test" in keys else [])
                labels = [archive["y_train"]] + ([archive["y_test"]] if "y_test" in keys else [])
                images, labels = np.concatenate(images), np.concatenate(labels)
            elif {"x", "y"} <= keys:
                images, labels = archive["x"], archive["y"]
            else:
                raise UserInputError(f"{path}: expected arrays x_train, y_train (and x_test, "
                                     f"y_test) or x, y; found {', '.join(sorted(keys))}")
    else:
        images = _read_idx(path)
        label_name = path.name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
        if label_name == path.name:
            raise UserInputError(f"{path}: cannot tell the labels file from this name "
                                 f"(expected *-images-idx3-ubyte[.gz])")
        label_path = path.with_name(label_name)
        if not label_path.is_file():
            raise UserInputError(f"{path}: labels file {label_path.name} not found beside it")
        labels = _read_idx(label_path)
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 2:
        side = int(round(math.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise UserInputError(f"{path}: images of {images.shape[1]} pixels are not square")
        images = images.reshape(-1, side, side)
    if images.ndim != 3 or len(images) != len(labels):
        raise UserInputError(f"{path}: expected images (N, H, W) and N labels, got "
                             f"{images.shape} and {np.shape(labels)}")
    top = images.max()
    return images / (top if top > 0 else 1.0), np.asarray(labels).astype(np.int64).ravel()


def _resize(images: np.ndarray, digit_size: int, size: int) -> torch.Tensor:
    """(N, h, w) -> (N, 1, size, size): resized to digit_size, centred with zero padding."""
    import torch.nn.functional as F

    tensor = torch.as_tensor(images, dtype=torch.float32)[:, None]
    tensor = F.interpolate(tensor, size=(digit_size, digit_size), mode="bilinear",
                           align_corners=False, antialias=digit_size < images.shape[-1])
    before = (size - digit_size) // 2
    after = size - digit_size - before
    return F.pad(tensor, (before, after, before, after))


def rotate_images(images: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate (N, C, H, W) images by `angles` (N,) radians, counter-clockwise in (x, y)
    normalised coordinates, with `ImageAction` (bilinear, zero padding)."""
    from symdisco.lie.actions import ImageAction
    from symdisco.lie.known import rotation_affine
    from symdisco.lie.sampling import group_elements

    generator = rotation_affine().basis.to(torch.float32)
    g = group_elements(generator, angles.reshape(-1, 1).to(torch.float32))
    return ImageAction().apply(g, images)


@register("rotated-digits", "handwritten digits (scikit-learn's 8x8, upsampled) at random "
                            "rotations, classification; truth: rotation_affine()")
def load_rotated_digits(size=16, digit_size=12, max_angle=180.0, scrambled=False,
                        test_fraction=0.2, n_train=0, path="", seed=0) -> SymmetryDataset:
    """x: (N, 1, size, size) digit images (resized to `digit_size`, centred, rotated by a
    uniform angle in [-max_angle, max_angle] degrees), y: class labels. `scrambled`: a fixed
    random permutation of the pixels (x becomes (N, size^2), action "vector", truth the
    permuted pixel rotation field). `path`: an MNIST-format file to use instead of the
    bundled digits. `n_train` > 0 keeps only that many training images."""
    name = "rotated-digits"
    size = check_int(name, "size", size, 4, 128)
    digit_size = check_int(name, "digit_size", digit_size, 2, size)
    max_angle = check_float(name, "max_angle", max_angle, 0.0, 180.0)
    test_fraction = check_float(name, "test_fraction", test_fraction, 0.0, 0.9, strict=True)
    n_train = check_int(name, "n_train", n_train, 0)
    if isinstance(scrambled, str):
        scrambled = scrambled.strip().lower() in ("1", "true", "yes")
    seed = check_int(name, "seed", seed)
    if path:
        images, labels = _read_mnist(str(path))
        source = Path(str(path)).name
    else:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images, labels = bunch.images / 16.0, bunch.target.astype(np.int64)
        source = "sklearn digits (8x8)"
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    images, labels = images[order], labels[order]
    pixels = _resize(images, digit_size, size)
    angles = torch.as_tensor(rng.uniform(-max_angle, max_angle, len(images)) * math.pi / 180)
    x = rotate_images(pixels, angles)
    n_test = max(1, int(round(test_fraction * len(x))))
    x_train, x_test = x[n_test:], x[:n_test]
    y_train, y_test = labels[n_test:], labels[:n_test]
    if n_train:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    metadata = {"image_shape": [size, size], "source": source, "max_angle_degrees": max_angle,
                "scrambled": bool(scrambled), "classes": int(labels.max()) + 1}
    if scrambled:
        permutation = np.random.default_rng(seed + 7919).permutation(size * size)
        x_train = x_train.flatten(1)[:, permutation]
        x_test = x_test.flatten(1)[:, permutation]
        metadata["permutation"] = permutation.tolist()
        dataset = SymmetryDataset(
            name=name, x=x_train, y=y_train, x_test=x_test, y_test=y_test, task="classification",
            action="vector", ground_truth=None, metadata=metadata,
            description=f"rotated digits {size}x{size}, pixels scrambled by a fixed permutation")
        dataset.ground_truth = _algebra(pixel_rotation_generator(dataset), "so(2) on scrambled pixels")
        return dataset
    from symdisco.lie.known import rotation_affine

    return SymmetryDataset(
        name=name, x=x_train, y=y_train, x_test=x_test, y_test=y_test, task="classification",
        action="image", ground_truth=rotation_affine(), metadata=metadata,
        description=f"rotated digits {size}x{size} ({source})")
