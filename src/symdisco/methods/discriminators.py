"""Discriminators that tell real samples from transformed ones, one per kind of data.

All take (x, y) where y may be None (unsupervised data), a float target, or integer
class labels (embedded), and return one logit per sample.

A method takes its discriminator as a knob: a name ("auto", "mlp", "set", "cnn",
"fourier") or a recipe, the class built with its own settings only, e.g.
`LieGAN(discriminator=MLPDiscriminator(hidden=128, layers=3))`; the method calls
`recipe.built_for(x, y, action, n_classes)` at fit, so the object passed in is never trained.
"""
from __future__ import annotations

import torch
from torch import nn

from ..models.layers import mlp as shared_mlp


def mlp(sizes: list[int], final_activation: bool = False) -> nn.Sequential:
    """The shared MLP builder with LeakyReLU(0.2), the usual choice for GAN discriminators."""
    return shared_mlp(sizes, activation=lambda: nn.LeakyReLU(0.2), final_activation=final_activation)


class _LabelEncoder(nn.Module):
    """Turns y into features: an embedding for class labels, the flattened values otherwise."""

    def __init__(self, y_dim: int, n_classes: int | None, embed_dim: int = 16):
        super().__init__()
        self.embedding = nn.Embedding(n_classes, embed_dim) if n_classes else None
        self.out_dim = embed_dim if n_classes else y_dim

    def forward(self, y):
        if y is None:
            return None
        if self.embedding is not None:
            return self.embedding(y.long().reshape(-1))
        return y.reshape(y.shape[0], -1).float()


class Discriminator(nn.Module):
    """Base class: settings that make a recipe (`settings()`, `describe()`, `built_for`)."""

    kind = "discriminator"
    _setting_names: tuple = ("hidden", "layers")

    def settings(self) -> dict:
        return {name: getattr(self, name) for name in self._setting_names}

    def describe(self) -> dict:
        return {"discriminator": self.kind, **self.settings()}

    def built_for(self, x, y, action: str, n_classes: int | None) -> nn.Module:
        """A fresh discriminator with these settings, sized for the data."""
        return make_discriminator(x, y, action, n_classes, kind=self.kind, **self.settings())

    def _store(self, **settings):
        for name, value in settings.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{type(self).__name__}: {name} must be a number > 0, got {value!r}")
            setattr(self, name, value)

    def __repr__(self) -> str:
        if getattr(self, "recipe", False):
            shown = ", ".join(f"{key}={value!r}" for key, value in self.settings().items())
            return f"{type(self).__name__}({shown})"
        return super().__repr__()


class MLPDiscriminator(Discriminator):
    """MLP on the concatenation of flattened x and (embedded) y."""

    kind = "mlp"

    def __init__(self, x_dim: int | None = None, y_dim: int = 0, n_classes: int | None = None,
                 hidden: int = 64, layers: int = 2):
        super().__init__()
        self._store(hidden=hidden, layers=layers)
        self.recipe = x_dim is None
        if self.recipe:
            return
        self.labels = _LabelEncoder(y_dim, n_classes)
        in_dim = x_dim + (self.labels.out_dim if (y_dim or n_classes) else 0)
        self.net = mlp([in_dim] + [hidden] * layers + [1])

    def forward(self, x, y=None):
        features = [x.reshape(x.shape[0], -1)]
        label = self.labels(y)
        if label is not None:
            features.append(label)
        return self.net(torch.cat(features, dim=1)).squeeze(1)


class FourierDiscriminator(Discriminator):
    """MLP on random Fourier features cos(W z + b) of z = standardised (flattened x, y).

    For targets that oscillate quickly in x (e.g. r^2 cos(k theta) with large k), which a
    small ReLU MLP on raw inputs resolves poorly; the features make the relation between
    x and y (nearly) linearly separable, so small misalignments are seen. `bandwidth` is
    the standard deviation of W (in units of the input's standard deviation).
    """

    kind = "fourier"
    _setting_names = ("hidden", "layers", "n_features", "bandwidth")

    def __init__(self, x: torch.Tensor | None = None, y: torch.Tensor | None = None, hidden: int = 64,
                 layers: int = 1, n_features: int = 512, bandwidth: float = 2.0):
        super().__init__()
        self._store(hidden=hidden, layers=layers, n_features=n_features, bandwidth=bandwidth)
        self.recipe = x is None
        if self.recipe:
            return
        z = self._join(x, y).double()
        self.register_buffer("mean", z.mean(0).float())
        self.register_buffer("std", z.std(0).clamp(min=1e-6).float())
        self.register_buffer("weight", torch.randn(z.shape[1], n_features) * bandwidth)
        self.register_buffer("phase", torch.rand(n_features) * 2 * torch.pi)
        self.net = mlp([n_features] + [hidden] * layers + [1])

    @staticmethod
    def _join(x, y):
        parts = [x.reshape(x.shape[0], -1)]
        if y is not None:
            parts.append(y.reshape(y.shape[0], -1).to(parts[0].dtype))
        return torch.cat(parts, dim=1)

    def forward(self, x, y=None):
        z = (self._join(x, y) - self.mean) / self.std
        return self.net(torch.cos(z @ self.weight + self.phase)).squeeze(1)


class SetDiscriminator(Discriminator):
    """Permutation-invariant (Deep Sets) discriminator for particle clouds x (B, N, n).

    Zero-padded particles are masked out, so padding never informs the verdict.
    """

    kind = "set"

    def __init__(self, point_dim: int | None = None, y_dim: int = 0, n_classes: int | None = None,
                 hidden: int = 64, layers: int = 2):
        super().__init__()
        self._store(hidden=hidden, layers=layers)
        self.recipe = point_dim is None
        if self.recipe:
            return
        self.labels = _LabelEncoder(y_dim, n_classes)
        self.phi = mlp([point_dim] + [hidden] * layers, final_activation=True)
        extra = self.labels.out_dim if (y_dim or n_classes) else 0
        self.rho = mlp([hidden + extra, hidden, 1])

    def forward(self, x, y=None):
        mask = (x.abs().sum(-1, keepdim=True) > 0).to(x.dtype)
        pooled = (self.phi(x) * mask).sum(1) / mask.sum(1).clamp(min=1)
        label = self.labels(y)
        features = pooled if label is None else torch.cat([pooled, label], dim=1)
        return self.rho(features).squeeze(1)


class ConvDiscriminator(Discriminator):
    """A small CNN for images x (B, C, H, W), with an optional label embedding."""

    kind = "cnn"
    _setting_names = ("hidden",)

    def __init__(self, channels: int | None = None, y_dim: int = 0, n_classes: int | None = None,
                 hidden: int = 32):
        super().__init__()
        self._store(hidden=hidden)
        self.recipe = channels is None
        if self.recipe:
            return
        self.labels = _LabelEncoder(y_dim, n_classes)
        self.features = nn.Sequential(
            nn.Conv2d(channels, hidden, 3, padding=1), nn.LeakyReLU(0.2), nn.MaxPool2d(2),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.LeakyReLU(0.2), nn.AdaptiveAvgPool2d(4),
            nn.Flatten())
        extra = self.labels.out_dim if (y_dim or n_classes) else 0
        self.head = mlp([hidden * 16 + extra, hidden * 2, 1])

    def forward(self, x, y=None):
        features = self.features(x)
        label = self.labels(y)
        if label is not None:
            features = torch.cat([features, label], dim=1)
        return self.head(features).squeeze(1)


DISCRIMINATORS = ("mlp", "set", "cnn", "fourier")


def make_discriminator(x: torch.Tensor, y: torch.Tensor | None, action: str, n_classes: int | None,
                       hidden: int = 64, layers: int = 2, kind="auto", **settings) -> nn.Module:
    """Pick the discriminator that fits the data: set for point clouds, CNN for images, else MLP
    ("fourier": an MLP on random Fourier features of (x, y), for float targets). `kind` may also
    be a recipe (a `Discriminator` built without data), whose own settings are used."""
    if isinstance(kind, Discriminator):
        return kind.built_for(x, y, action, n_classes)
    y_dim = 0 if y is None or n_classes else int(y[0].numel())
    if kind == "auto":
        kind = {"points": "set", "image": "cnn"}.get(action, "mlp")
    if kind == "set":
        return SetDiscriminator(x.shape[-1], y_dim, n_classes, hidden, layers)
    if kind == "cnn":
        return ConvDiscriminator(x.shape[1], y_dim, n_classes, hidden)
    if kind == "mlp":
        return MLPDiscriminator(int(x[0].numel()), y_dim, n_classes, hidden, layers)
    if kind == "fourier":
        if n_classes:
            raise ValueError("the fourier discriminator takes float targets, not class labels")
        if "n_features" in settings:  # a recipe's own settings
            return FourierDiscriminator(x, y, hidden, layers, **settings)
        return FourierDiscriminator(x, y, hidden, max(1, layers - 1))
    raise ValueError(f"unknown discriminator {kind!r}; choose auto, mlp, set, cnn or fourier")
