"""Affine vector fields on the pixel plane, and how they move an image infinitesimally.

Coordinates are those of `ImageAction`: normalised (x, y) in [-1, 1], x along columns and y
along rows, pixel centres at (2j + 1) / W - 1 (`align_corners=False`). A homogeneous 3 x 3
generator L = [[A, b], [0, 0]] is the vector field v(p) = A p + b (gl(2) semidirect R^2, six
directions). `ImageAction` moves an image by g = exp(tL) to I(exp(-tL) p), whose derivative
at t = 0 is -(v . grad I): a linear function of L, which is what makes closed-form discovery
on images one linear solve (LieGG, Moskalev et al. 2022).
"""
from __future__ import annotations

import math

import torch

FIELD_NAMES = ("translation x", "translation y", "rotation", "dilation", "stretch x / squeeze y", "shear")
"""The six named affine fields, in the order of `named_affine_basis`."""

FIELD_FORMULAS = ("(1, 0)", "(0, 1)", "(-y, x)", "(x, y)", "(x, -y)", "(y, x)")


def named_affine_basis(dtype=torch.float64) -> torch.Tensor:
    """(6, 3, 3): translations x, y; rotation (E_10 - E_01, as `known.rotation_affine`);
    dilation; the two shears (x, -y) and (y, x). Frobenius-orthogonal."""
    basis = torch.zeros(6, 3, 3, dtype=dtype)
    basis[0, 0, 2] = basis[1, 1, 2] = 1.0
    basis[2, 1, 0], basis[2, 0, 1] = 1.0, -1.0
    basis[3, 0, 0] = basis[3, 1, 1] = 1.0
    basis[4, 0, 0], basis[4, 1, 1] = 1.0, -1.0
    basis[5, 0, 1] = basis[5, 1, 0] = 1.0
    return basis


def pixel_coordinates(height: int, width: int, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised (x, y) of every pixel centre, each (H, W), as `F.affine_grid` places them."""
    x = (2 * torch.arange(width, dtype=dtype) + 1) / width - 1
    y = (2 * torch.arange(height, dtype=dtype) + 1) / height - 1
    return x[None, :].expand(height, width), y[:, None].expand(height, width)


def fields_on_grid(generators: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """v = A p + b of each generator (p, 3, 3) at every pixel: (p, 2, H, W)."""
    x, y = pixel_coordinates(height, width, generators.dtype)
    g = generators[:, :2]
    return g[:, :, 0, None, None] * x + g[:, :, 1, None, None] * y + g[:, :, 2, None, None]


def _spectral_derivative(images: torch.Tensor, dim: int) -> torch.Tensor:
    """d/d(pixel index) along `dim` by the FFT: exact for band-limited periodic images, and
    for images that fade to zero at the border (their periodic extension is smooth)."""
    size = images.shape[dim]
    spectrum = torch.fft.rfft(images, dim=dim)
    k = 2 * math.pi * torch.fft.rfftfreq(size, dtype=images.dtype)
    if size % 2 == 0:
        k[-1] = 0.0  # the Nyquist mode has no consistent real derivative
    shape = [1] * images.dim()
    shape[dim] = k.numel()
    return torch.fft.irfft(spectrum * (1j * k).reshape(shape), n=size, dim=dim)


def image_gradient(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(dI/dx, dI/dy) of images (..., H, W) in normalised coordinates (x spans W pixels over 2)."""
    height, width = images.shape[-2:]
    return (_spectral_derivative(images, -1) * (width / 2),
            _spectral_derivative(images, -2) * (height / 2))


def field_directions(images: torch.Tensor, generators: torch.Tensor) -> torch.Tensor:
    """How each generator moves each image: -(v . grad I), images (N, C, H, W), generators (p, 3, 3)
    -> (N, p, C, H, W). d/dt of `ImageAction().apply(expm(t L), I)` at t = 0."""
    images = images.to(generators.dtype)
    dx, dy = image_gradient(images)                                   # (N, C, H, W) each
    v = fields_on_grid(generators, *images.shape[-2:])                # (p, 2, H, W)
    return -(v[None, :, 0, None] * dx[:, None] + v[None, :, 1, None] * dy[:, None])


def field_metric(generators: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(p, p) mean over the pixel grid of v_i . v_j: how far each field moves pixels, on average."""
    v = fields_on_grid(generators, height, width).flatten(1)
    return v @ v.T / (height * width)


def named_coefficients(generator: torch.Tensor) -> torch.Tensor:
    """The coordinates (6,) of a 3 x 3 generator on `named_affine_basis` (its affine part only)."""
    basis = named_affine_basis(torch.float64)
    flat = basis.reshape(6, -1)
    return flat @ torch.as_tensor(generator, dtype=torch.float64).reshape(-1) / (flat * flat).sum(1)


def isotropic(generator: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A generator in `ImageAction`'s coordinates seen in coordinates where a pixel is as wide as
    tall (the longer side spans [-1, 1]): D L D^-1 with D = diag(W, H, max) / max.

    Why: on a non-square image [-1, 1] along each side squeezes one axis, so a rotation of the
    pixels is, in those coordinates, a rotation plus a shear; named here it is a rotation."""
    longest = max(height, width)
    d = torch.tensor([width / longest, height / longest, 1.0], dtype=torch.float64)
    return d[:, None] * torch.as_tensor(generator, dtype=torch.float64) / d[None, :]


def describe_affine(generator: torch.Tensor, keep: float = 0.1, shape: tuple[int, int] | None = None) -> dict:
    """A found generator in words: its named parts and its vector field.

    The coefficients on the named fields are scaled so that the largest is 1; parts under `keep`
    are left out of the text. E.g. {"text": "rotation: v(x, y) = (-1.00 y, 1.00 x)", ...}. With the
    image `shape` (H, W), it is read in coordinates where pixels are square (`isotropic`).
    """
    if shape is not None:
        generator = isotropic(generator, *shape)
    coefficients = named_coefficients(generator)
    top = coefficients.abs().max()
    scaled = coefficients / top if top > 0 else coefficients
    order = scaled.abs().argsort(descending=True).tolist()
    parts = [i for i in order if abs(float(scaled[i])) >= keep]
    if len(parts) == 1:
        name = FIELD_NAMES[parts[0]]
    else:
        lead = parts[0]
        name = ("-" if scaled[lead] < 0 else "") + FIELD_NAMES[lead] + "".join(
            f" {'-' if scaled[i] < 0 else '+'} {abs(float(scaled[i])):.2f} {FIELD_NAMES[i]}" for i in parts[1:])
    return {"text": f"{name}: v(x, y) = {field_formula(generator / top if top > 0 else generator)}",
            "name": name, "coefficients": {FIELD_NAMES[i]: float(scaled[i]) for i in range(6)}}


def field_formula(generator: torch.Tensor, digits: int = 2) -> str:
    """'(a x + b y + c, d x + e y + f)' with the negligible terms left out."""
    g = torch.as_tensor(generator, dtype=torch.float64)
    scale = float(g[:2].abs().max()) or 1.0

    def component(row):
        terms = [(float(g[row, col]), symbol) for col, symbol in ((0, "x"), (1, "y"), (2, ""))]
        text = ""
        for value, symbol in terms:
            if abs(value) < 10 ** -digits * scale:
                continue
            sign = "-" if value < 0 else "+"
            text += f" {sign} {abs(value):.{digits}f}" + (f" {symbol}" if symbol else "")
        text = text.strip()
        return "0" if not text else text[2:] if text.startswith("+ ") else "-" + text[2:]

    return f"({component(0)}, {component(1)})"
