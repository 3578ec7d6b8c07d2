"""Baselines run through the same harness as LieGAN: SymmetryGAN and Augerino+.

SymmetryGAN (Desai et al. 2021) learns one group element M, not a Lie algebra; we read
its generator as log(M). Augerino+ (Benton et al. 2020, with learned generators as in
SEMoLA's comparison) learns an augmentation range over learnable generators while a
predictor trains on augmented data.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserInputError
from ..lie.sampling import UniformLaw, group_log
from ..training import DataTask
from .knobs import Float
from .liegan import LieGAN
from .regularizers import orthogonality_penalty


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
                 early_stopping: bool = True, seed: int = 0, device: str = "cpu", standardize: bool = True):
        super().__init__(1, parameterization=parameterization, epochs=epochs, batch_size=batch_size,
                         lr_generator=lr_generator, lr_discriminator=lr_discriminator, hidden=hidden,
                         layers=layers, nontrivial=nontrivial, w_nontrivial=w_nontrivial,
                         orthogonality="none", init_scale=init_scale, early_stopping=early_stopping,
                         seed=seed, device=device, standardize=standardize)

    def build(self, dataset, generator):
        symmetry, disc = super().build(dataset, generator)
        return SingleElement(symmetry.generators), disc

    def learned_basis(self, symmetry):
        element = symmetry.element().detach().cpu().double()
        return group_log(element)[None].float()


class AugerinoPlus(LieGAN):
    """Augerino+: a predictor trained on data augmented by exp(sum w_i L_i), w ~ U(-a, a).

    Both the generators L_i and the ranges a are learned; the loss is the task loss on
    augmented samples minus `w_width` * sum(a), so the ranges grow along directions the
    task does not mind. No discriminator: the symmetry is read off the learned basis.
    """

    name = "augerino"
    CLI_OPTIONS = {"w_width": (float, "augerino: reward for wider augmentation ranges")}
    KNOBS = {"lr": Float(0, strict=True), "w_width": Float(0)}

    def __init__(self, n_generators: int = 1, *, parameterization: str = "auto", epochs: int = 30,
                 batch_size: int = 256, lr: float = 5e-3, hidden: int = 128, w_width: float = 0.05,
                 w_orthogonality: float = 1.0, seed: int = 0, device: str = "cpu", standardize: bool = True):
        super().__init__(n_generators, parameterization=parameterization, law=UniformLaw(learnable=True),
                         epochs=epochs, batch_size=batch_size, w_orthogonality=w_orthogonality,
                         hidden=hidden, seed=seed, device=device, standardize=standardize)
        self.lr, self.w_width = lr, w_width

    def fit(self, dataset, *, out=None, progress: bool = True, callback=None, hardware=None):
        if dataset.y is None or dataset.action not in ("vector", "blocks"):
            raise UserInputError("augerino needs a supervised task on vectors or stacked blocks "
                                 f"(dataset {dataset.name!r} has action {dataset.action!r})")
        start = time.perf_counter()
        run = self.engine(out, progress, hardware).fit(
            _AugerinoTask(self, dataset), n_samples=len(dataset.x), batch_size=self.batch_size,
            epochs=self.epochs, seed=self.seed, fingerprint=self.fingerprint(dataset),
            desc=f"augerino {dataset.name}")
        symmetry, self.predictor_ = run.modules["symmetry"], run.modules["predictor"]
        self.symmetry_ = symmetry
        return self.make_result(self.learned_basis(symmetry), dataset,
                                run.previous_seconds + time.perf_counter() - start,
                                coefficient_law=symmetry.law.describe(), history=run.history,
                                action=dataset.x_action().describe())


class _AugerinoTask(DataTask):
    """One optimiser for the predictor, the generators and the ranges; the task loss on
    augmented samples minus the reward for wide ranges."""

    def __init__(self, method: AugerinoPlus, dataset):
        super().__init__(dataset.x, dataset.y)
        self.method, self.dataset = method, dataset
        self.action = dataset.task_action()
        self.classification = dataset.task == "classification"

    def configure(self, rng):
        from ..models.baselines import MLP

        m, d = self.method, self.dataset
        symmetry, _ = m.build(d, rng)
        out_dim = int(d.y.max()) + 1 if self.classification else d.y[0].numel()
        predictor = MLP(d.x[0].numel(), out_dim, hidden=m.hidden)
        optimiser = torch.optim.Adam(list(symmetry.parameters()) + list(predictor.parameters()), lr=m.lr)
        return {"symmetry": symmetry, "predictor": predictor}, {"all": optimiser}

    def training_step(self, batch, run):
        symmetry, predictor = run.modules["symmetry"], run.modules["predictor"]
        g, _ = symmetry(len(batch), run.rng)
        gx, gy = self.action.apply(g, *self.samples(batch))
        prediction = predictor(gx.reshape(len(batch), -1))
        task = (F.cross_entropy(prediction, gy) if self.classification
                else F.mse_loss(prediction, gy.reshape(len(batch), -1)))
        loss = (task - self.method.w_width * symmetry.law.half_width.sum()
                + self.method.w_orthogonality * orthogonality_penalty(symmetry.basis()))
        run.update(loss, "all")
        return {"task_loss": task.item()}

    def on_epoch_end(self, epoch, row, run):
        row["mean_half_width"] = float(run.modules["symmetry"].law.half_width.detach().mean())
