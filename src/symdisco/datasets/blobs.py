"""Images of Gaussian blobs whose label keeps one known part of the affine group.

| name        | x                                    | y                                 | truth |
|-------------|--------------------------------------|-----------------------------------|-------|
| blob-images | (N, 1, s, s) sums of Gaussian blobs  | symmetry=rotation: mean cos(4 r_i) of the blobs' distances to the centre; symmetry=translation: cos(4 d_x) + cos(3 d_y) of the offset d between two blobs | rotation_affine() / translations(2), 3 x 3 in `ImageAction`'s normalised coordinates |

The images are drawn exactly (no interpolation) and fade to zero at the border. The label
changes under every other affine field (dilations change distances, shears and the other
part change both). The frequencies matter: a label even in the offset (the blobs are alike) is
close to a quadratic form for small offsets, nearly kept by a one-parameter linear group;
cos(3 d_x) + d_y^2 leaves such a near-symmetry at 0.17 of the largest singular value, this
label at 0.55), so the closed form over all six must find exactly the named one or two.
`task=classification` cuts y at its quantiles into `classes` classes (LieGG's setting).
"""
from __future__ import annotations

import numpy as np

from symdisco.errors import UserInputError

from .base import SymmetryDataset, check_choice, check_float, check_int
from .registry import register

SYMMETRIES = ("rotation", "translation")


def _blob_images(centres: np.ndarray, size: int, width: float) -> np.ndarray:
    """(N, B, 2) centres in normalised coordinates -> (N, 1, size, size) sums of Gaussians."""
    grid = (2 * np.arange(size) + 1) / size - 1                      # pixel centres, as ImageAction's
    dx = grid[None, None, None, :] - centres[:, :, 0, None, None]    # (N, B, 1, W)
    dy = grid[None, None, :, None] - centres[:, :, 1, None, None]    # (N, B, H, 1)
    return np.exp(-(dx ** 2 + dy ** 2) / (2 * width ** 2)).sum(1)[:, None]


def _centres(rng, count: int, blobs: int, symmetry: str, reach: float) -> np.ndarray:
    if symmetry == "rotation":  # uniform in the disc of radius `reach`
        radius = reach * np.sqrt(rng.uniform(size=(count, blobs)))
        angle = rng.uniform(0, 2 * np.pi, size=(count, blobs))
        return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)
    return rng.uniform(-reach, reach, size=(count, blobs, 2))


def _labels(centres: np.ndarray, symmetry: str) -> np.ndarray:
    if symmetry == "rotation":
        return np.cos(4 * np.linalg.norm(centres, axis=-1)).mean(1)
    d = centres[:, 0] - centres[:, 1]
    return np.cos(4 * d[:, 0]) + np.cos(3 * d[:, 1])


@register("blob-images", "images of Gaussian blobs; y keeps rotations (-D symmetry=rotation) or "
                         "translations (symmetry=translation) only; truth: 3x3 affine generators")
def load_blob_images(symmetry="rotation", size=16, blobs=0, width=0.15, reach=0.55, n_train=3000,
                     n_test=500, task="invariant", classes=2, noise=0.0, seed=0) -> SymmetryDataset:
    """x: (N, 1, size, size) images, each the sum of `blobs` Gaussians of standard deviation
    `width` (normalised units: the image spans [-1, 1]) centred within `reach` of the centre
    (rotation: a disc; translation: a square); blobs = 0 means 3 for rotation, 2 for
    translation (which needs exactly 2). y: see the module table, plus `noise` times a
    standard normal; task classification: `classes` quantile bins of it."""
    name = "blob-images"
    symmetry = check_choice(name, "symmetry", str(symmetry), SYMMETRIES)
    size = check_int(name, "size", size, 8, 128)
    blobs = check_int(name, "blobs", blobs, 0, 16) or (3 if symmetry == "rotation" else 2)
    if symmetry == "translation" and blobs != 2:
        raise UserInputError(f"{name}: symmetry translation labels the offset of exactly 2 blobs, got blobs={blobs}")
    width = check_float(name, "width", width, 0.0, 1.0, strict=True)
    reach = check_float(name, "reach", reach, 0.0, 1.0, strict=True)
    n_train, n_test = check_int(name, "n_train", n_train, 1), check_int(name, "n_test", n_test, 1)
    task = check_choice(name, "task", str(task), ("invariant", "classification"))
    classes = check_int(name, "classes", classes, 2, 100)
    noise = check_float(name, "noise", noise, 0.0)
    rng = np.random.default_rng(check_int(name, "seed", seed))
    centres = _centres(rng, n_train + n_test, blobs, symmetry, reach)
    x = _blob_images(centres, size, width)
    y = _labels(centres, symmetry)
    y = y + noise * y.std() * rng.standard_normal(y.shape)
    if task == "classification":
        y = np.searchsorted(np.quantile(y, np.linspace(0, 1, classes + 1)[1:-1]), y).astype(np.int64)
    else:
        y = y[:, None]
    from symdisco.lie.known import rotation_affine, translations

    truth = rotation_affine() if symmetry == "rotation" else translations(2)
    return SymmetryDataset(
        name=name, x=x[:n_train], y=y[:n_train], x_test=x[n_train:], y_test=y[n_train:], task=task,
        action="image", ground_truth=truth,
        description=f"{size}x{size} images of {blobs} blobs, label invariant under {symmetry}s",
        metadata={"image_shape": [size, size], "symmetry": symmetry, "blobs": blobs, "width": width,
                  "reach": reach, "noise": noise})
