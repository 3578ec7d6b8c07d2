"""The one multilayer-perceptron builder every model and discriminator uses."""
from __future__ import annotations

from torch import nn


def mlp(sizes: list[int], activation=nn.SiLU, final_activation: bool = False) -> nn.Sequential:
    """Linear layers through `sizes`, `activation()` between them (and after the last if asked)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation())
    return nn.Sequential(*layers)
