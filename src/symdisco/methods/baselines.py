"""Baselines run through the same harness as LieGAN: SymmetryGAN and Augerino+.

SymmetryGAN (Desai et al. 2021) learns one group element M, not a Lie algebra; we read
its generator as log(M). Augerino+ (Benton et al. 2020, with learned generators as in
SEMoLA's comparison) learns an augmentation range over learnable generators while a
predictor trains on augmented data.
"""
from __future__ import annotations

import torch
from torch import nn

from ..lie.sampling import group_log
from .liegan import LieGAN


class SingleElement(nn.Module):
    """One learnable group element M = I + A, the same for every sample."""

    def __init__(self, generators: nn.Module):
        super().__init__()
        self.generators = generators  # A, initialised like a generator
        self.register_buffer("n_active", torch.tensor(1))
        self.law = _NoLaw()

    def element(self) -> torch.Tensor:
        a = self.generators()[0]
        return torch.eye(a.shape[-1], dtype=a.dtype, device=a.device) + a

    def basis(self) -> torch.Tensor:
        return self.generators()[:1]  # M - I: the direction the element moves the data

    def forward(self, batch_size: int, generator=None):
        m = self.element()
        return m.expand(batch_size, *m.shape), None


class _NoLaw(nn.Module):
    k = 1

    def describe(self):
        return {"law": "single element"}


class SymmetryGAN(LieGAN):
    """SymmetryGAN: adversarially learn one transformation M; report log(M) as the generator."""

    name = "symmetrygan"
    CLI_OPTIONS = {}

    def __init__(self, *, parameterization: str = "auto", epochs: int = 30, batch_size: int = 256,
                 lr_generator: float = 1e-2, lr_discriminator: float = 2e-3, hidden: int = 64, layers: int = 2,
                 nontrivial: str = "cosine", w_nontrivial: float = 1.0, init_scale: float = 0.5,
                 early_stopping: bool = True, seed: int = 0, device: str = "cpu"):
        super().__init__(1, parameterization=parameterization, epochs=epochs, batch_size=batch_size,
                         lr_generator=lr_generator, lr_discriminator=lr_discriminator, hidden=hidden,
                         layers=layers, nontrivial=nontrivial, w_nontrivial=w_nontrivial,
                         orthogonality="none", init_scale=init_scale, early_stopping=early_stopping,
                         seed=seed, device=device)

    def build(self, dataset, generator):
        symmetry, disc = super().build(dataset, generator)
        return SingleElement(symmetry.generators), disc

    def learned_basis(self, symmetry):
        element = symmetry.element().detach().cpu().double()
        return group_log(element)[None].float()
