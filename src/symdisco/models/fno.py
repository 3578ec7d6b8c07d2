"""A small one-dimensional Fourier neural operator (Li et al. 2021) as a PDE time-stepper.

    model = FNO1d(modes=12, width=24, layers=3)
    u_next = model(u)          # (B, grid) -> (B, grid): u + the learned update

Each layer is a pointwise linear map plus a learned multiplier on the lowest `modes`
Fourier modes, then GELU; lifting and projection are pointwise.  No coordinate channel, so
the model commutes with periodic shifts of x (as the equations do).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["SpectralConv1d", "FNO1d"]


class SpectralConv1d(nn.Module):
    """Multiply the lowest `modes` Fourier modes by learned complex (in, out) matrices."""

    def __init__(self, channels: int, modes: int):
        super().__init__()
        self.modes = modes
        scale = 1.0 / channels
        self.weight = nn.Parameter(scale * torch.randn(channels, channels, modes, dtype=torch.cfloat))

    def forward(self, h: torch.Tensor) -> torch.Tensor:           # (B, C, N)
        spectrum = torch.fft.rfft(h, dim=-1)
        modes = min(self.modes, spectrum.shape[-1])
        out = torch.zeros_like(spectrum)
        out[..., :modes] = torch.einsum("bim,iom->bom", spectrum[..., :modes], self.weight[..., :modes])
        return torch.fft.irfft(out, n=h.shape[-1], dim=-1)


class FNO1d(nn.Module):
    """u_{n+1} = u_n + FNO(u_n) on a periodic grid; input and output (B, grid)."""

    def __init__(self, modes: int = 12, width: int = 24, layers: int = 3):
        super().__init__()
        self.lift = nn.Conv1d(1, width, 1)
        self.spectral = nn.ModuleList(SpectralConv1d(width, modes) for _ in range(layers))
        self.pointwise = nn.ModuleList(nn.Conv1d(width, width, 1) for _ in range(layers))
        self.project = nn.Sequential(nn.Conv1d(width, 2 * width, 1), nn.GELU(), nn.Conv1d(2 * width, 1, 1))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        h = self.lift(u[:, None, :])
        for spectral, pointwise in zip(self.spectral, self.pointwise):
            h = nn.functional.gelu(spectral(h) + pointwise(h))
        return u + self.project(h)[:, 0]
