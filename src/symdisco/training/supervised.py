"""The engine's task for plain supervised training: one model, Adam, a loss on (x, y) batches,
optionally augmented. L-conv, its classifiers and the downstream models train through it."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .engine import DataTask


class SupervisedTask(DataTask):
    """`build(rng)` -> model, called by the engine inside its seeded scope (a model built before
    would take its initial weights from torch's global RNG, which differs per process here);
    Adam(lr, weight_decay) on `loss_fn(model(x), y)`.

    `augment(x, y, generator)` transforms each batch (its draws come from the run's generator).
    `y` may be None (unlabelled data): batches then carry None, for an `augment` that makes targets.
    `cosine=True` decays the lr to zero by the last step: a schedule that depends on the epoch
    budget, so a run continued with more epochs differs from one run of the larger budget
    (the engine says so); the default constant lr has no such dependence.
    """

    def __init__(self, build: Callable[[torch.Generator], nn.Module], loss_fn, x, y, *,
                 lr: float = 1e-3, weight_decay: float = 0.0, augment=None, cosine: bool = False):
        super().__init__(x, y)
        self.build, self.loss_fn, self.augment = build, loss_fn, augment
        self.lr, self.weight_decay, self.cosine = lr, weight_decay, cosine
        self.uses_budget = cosine

    def configure(self, rng):
        model = self.build(rng)
        return {"model": model}, {"model": torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay,
                                                             foreach=True)}  # one op per state, not per tensor

    def lr_factor(self, step, total_steps):
        return 0.5 * (1 + math.cos(math.pi * step / max(1, total_steps))) if self.cosine else 1.0

    def on_epoch_start(self, epoch, run):
        run.modules["model"].train()

    def training_step(self, batch, run):
        xb, yb = self.samples(batch)
        if self.augment is not None:
            xb, yb = self.augment(xb, yb, run.rng)
        loss = self.loss_fn(run.modules["model"](xb), yb)
        run.update(loss, "model")
        return {"loss": loss.item()}

    def on_train_end(self, run):
        run.modules["model"].eval()
