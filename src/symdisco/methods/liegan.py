"""LieGAN (Yang et al., ICML 2023): adversarial discovery of a Lie algebra basis.

A generator samples g = exp(sum_i w_i L_i) and transforms real (x, y) pairs; a
discriminator tries to tell them from untransformed ones. When it can no longer, the
data distribution is invariant under the group the L_i generate.
"""
from __future__ import annotations

import copy
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from ..datasets.base import SymmetryDataset
from ..errors import UserInputError
from ..lie.compare import similarity
from ..lie.generators import make_generators
from ..lie.sampling import CoefficientLaw, IntegerGridLaw, NormalLaw, group_elements
from ..training import DataTask, EarlyStopping
from .base import DiscoveryMethod, check_option
from .discriminators import DISCRIMINATORS, Discriminator, make_discriminator
from .knobs import Anything, Bool, Choice, Float, Int, law_shorthand
from .regularizers import nontrivial_penalty, orthogonality_penalty, sparsity_penalty, threshold_basis


DEFAULT_EPOCHS = 30
REFINE_LR_FACTOR = 0.25
"""`init="liesd"` trains the generators at this fraction of lr_generator (see _fit_from_closed_form)."""
"""The epoch budget when none is given (raised for small data by `min_steps`)."""

LORENTZ_OPTIONS = {"n_generators": 6, "epochs": 40, "law": NormalLaw(scale=0.2, learnable=False), "w_nontrivial": 1.0}
"""The configuration that finds so(1,3) on sets of four-vectors (toy jets in the isotropic
frame): small boosts, and a non-triviality weight strong enough to keep them exact."""


class SymmetryGenerator(nn.Module):
    """Samples group elements from learnable generators and a coefficient law.

    `n_active` masks the later channels, for incremental discovery (one channel at a time).
    """

    def __init__(self, generators: nn.Module, law: CoefficientLaw, normalize: bool = True):
        super().__init__()
        self.generators, self.law, self.normalize = generators, law, normalize
        self.register_buffer("n_active", torch.tensor(law.k))

    def basis(self) -> torch.Tensor:
        """The generators; with `normalize`, each scaled to Frobenius norm sqrt(2) (so(2)'s J).

        For continuous groups the scale of L is not identifiable (w L = (w s)(L / s)), and
        left free it drifts to zero, where every transformation is near the identity and the
        discriminator has nothing to say; fixing it lets the law alone set the step size.
        """
        basis = self.generators()
        if not self.normalize:
            return basis
        norms = basis.reshape(basis.shape[0], -1).norm(dim=1).clamp(min=1e-12)
        return basis * (2 ** 0.5 / norms)[:, None, None]

    def forward(self, batch_size: int, generator: torch.Generator | None = None):
        coefficients = self.law.sample(batch_size, generator)
        mask = (torch.arange(self.law.k, device=coefficients.device) < self.n_active).to(coefficients.dtype)
        coefficients = coefficients * mask
        return group_elements(self.basis(), coefficients), coefficients


def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    return (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))


def generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))


def rotation_angle(generator_2x2: torch.Tensor, step: float = 1.0) -> float:
    """The angle of exp(step * L) for a 2x2 L: |Im| of its eigenvalues, in [0, pi]."""
    eigenvalues = torch.linalg.eigvals(step * generator_2x2.double())
    angle = eigenvalues.imag.abs().max().item()
    return math.pi - abs(math.pi - angle % (2 * math.pi)) if angle > math.pi else angle


class LieGAN(DiscoveryMethod):
    """Adversarial symmetry discovery; see the module docstring and the README for knobs.

    parameterization: "auto" (blocks for stacked states, affine for images, full otherwise),
    "full", "blocks", "affine", or "subspace" (with `span`, an (m, n, n) basis to search in).
    law: the coefficient law, a `CoefficientLaw` recipe such as `UniformLaw(half_width=0.5)`,
    `NormalLaw(scale=0.2, learnable=True)` or `IntegerGridLaw(step=2 * pi / 7)` (a discrete group),
    or the shorthand "normal" / "uniform" / "integer" (unit scale, not learned; the command line
    adds --law-scale, --law-step, --learn-law).
    discriminator: "auto", "mlp", "set", "cnn", "fourier" (sized by `hidden` and `layers`) or a
    recipe such as `MLPDiscriminator(hidden=128, layers=3)` with its own settings.
    w_nontrivial: weight of the term that keeps g from acting trivially. The default 0.1 suits
    rotations; for the Lorentz group use 1.0: at 0.1 the boosts come out slightly sheared
    (an effective "speed of light" of 1.05-1.18), at 1.0 they are exact within a few percent.
    """

    name = "liegan"
    CLI_OPTIONS = {
        "law": (str, "coefficient law: normal, uniform (subset of the group), integer (discrete group)"),
        "law_step": (float, "integer law: step of the integer grid (shorthand for IntegerGridLaw(step=...))"),
        "law_scale": (float, "normal law: standard deviation; uniform law: half-width of the coefficients"),
        "learn_law": (bool, "learn the law's scale or range along with the generators"),
        "max_steps": (int, "integer law: largest multiple of the step drawn (default 4)"),
        "discriminator": (str, "discriminator: auto, mlp, set, cnn, fourier"),
        "w_sparsity": (float, "weight of the Lp sparsity regulariser"),
        "start_epochs": (int, "epochs of each short run when --n-starts > 1"),
        "parameterization": (str, "generators: auto (affine for images, blocks for stacked states, else full), "
                                  "full, blocks, affine (the 6 affine fields of the image plane, 3x3 homogeneous)"),
        "batch_size": (int, "batch size"),
        "hidden": (int, "discriminator width"),
        "nontrivial": (str, "non-triviality regulariser: cosine, relative, norm, none"),
        "orthogonality": (str, "orthogonality regulariser: cosine, killing, none"),
        "incremental": (bool, "discover one generator channel at a time"),
        "threshold": (float, "zero generator entries below this fraction of the largest"),
        "n_starts": (int, "short runs from several initial bases; the main run starts from the best"),
        "lr_decay": (float, "generator lr decays (cosine) to this fraction of lr_generator by the last epoch"),
        "min_steps": (int, "without --epochs: train at least this many steps (small files get more epochs)"),
        "init": (str, "start from a closed-form basis: liesd"),
    }

    KNOBS = {
        "n_generators": Int(1), "parameterization": Choice("auto", "full", "blocks", "affine", "subspace"),
        "span": Anything(), "law": Choice("normal", "uniform", "integer", types=(CoefficientLaw,)),
        "epochs": Int(1, optional=True), "min_steps": Int(1), "init": Choice("liesd", optional=True),
        "batch_size": Int(1), "lr_generator": Float(0, strict=True),
        "lr_discriminator": Float(0, strict=True), "discriminator": Choice("auto", *DISCRIMINATORS, types=(Discriminator,)),
        "hidden": Int(1), "layers": Int(1), "nontrivial": Choice("cosine", "relative", "norm", "none"),
        "w_nontrivial": Float(0), "orthogonality": Choice("cosine", "killing", "none"),
        "w_orthogonality": Float(0), "sparsity_p": Float(0, strict=True), "w_sparsity": Float(0),
        "incremental": Bool(), "fooled_accuracy": Float(0), "threshold": Float(0, 1),
        "early_stopping": Bool(), "tolerance": Float(0, strict=True), "patience": Int(1),
        "check_every": Int(1), "init_scale": Float(0, strict=True), "seed": Int(),
        "device": Choice("cpu", "cuda", "mps", "auto"), "checkpoint_every": Int(1), "lr_decay": Float(0, 1),
        "n_starts": Int(1), "start_epochs": Int(1), "standardize": Bool(),
    }

    def __init__(self, n_generators: int = 1, *, parameterization: str = "auto", span=None,
                 law: str | CoefficientLaw = "normal", epochs: int | None = None, min_steps: int = 3000,
                 batch_size: int = 256,
                 lr_generator: float = 2e-2, lr_discriminator: float = 2e-3,
                 discriminator: str | Discriminator = "auto", hidden: int = 64, layers: int = 2,
                 nontrivial: str = "cosine", w_nontrivial: float = 0.1,
                 orthogonality: str = "cosine", w_orthogonality: float = 1.0,
                 sparsity_p: float = 1.0, w_sparsity: float = 0.0,
                 incremental: bool = False, fooled_accuracy: float = 0.6, threshold: float = 0.0,
                 early_stopping: bool = True, tolerance: float = 1e-3, patience: int = 3,
                 check_every: int = 20, init_scale: float = 1.0, init_basis=None, seed: int = 0, device: str = "cpu",
                 checkpoint_every: int = 1, lr_decay: float = 1.0, n_starts: int = 1, start_epochs: int = 10,
                 standardize: bool = True, init: str | None = None):
        self.n_generators = n_generators
        self.parameterization = parameterization
        self.span = span
        self.law = law
        self.epochs = epochs
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.lr_generator = lr_generator
        self.lr_discriminator = lr_discriminator
        self.discriminator = discriminator
        self.hidden = hidden
        self.layers = layers
        self.nontrivial = nontrivial
        self.w_nontrivial = w_nontrivial
        self.orthogonality = orthogonality
        self.w_orthogonality = w_orthogonality
        self.sparsity_p = sparsity_p
        self.w_sparsity = w_sparsity
        self.incremental = incremental
        self.fooled_accuracy = fooled_accuracy
        self.threshold = threshold
        self.early_stopping = early_stopping
        self.tolerance = tolerance
        self.patience = patience
        self.check_every = check_every
        self.init_scale = init_scale
        self.init_basis = init_basis
        self.seed = seed
        self.device = device
        self.checkpoint_every = checkpoint_every
        self.lr_decay = lr_decay
        self.n_starts = n_starts
        self.start_epochs = start_epochs
        self.standardize = standardize
        self.init = init

    def epoch_budget(self, steps_per_epoch: int) -> int:
        """`epochs` when given; by default DEFAULT_EPOCHS but at least `min_steps` updates, so that a
        small file gets as many as nbody2 does (early stopping still ends a converged run sooner)."""
        if self.epochs is not None:
            return self.epochs
        return max(DEFAULT_EPOCHS, math.ceil(self.min_steps / steps_per_epoch))

    def check_data(self, dataset: SymmetryDataset) -> None:
        kind, n = self._parameterization(dataset)
        room = {"affine": 6, "subspace": None if self.span is None else len(self.span)}.get(kind, n * n)
        if room is not None and self.n_generators > room:
            raise UserInputError(f"{dataset.name}: n_generators (--generators) must be between 1 and {room}: "
                                 f"{kind} generators of size {n}x{n} span at most {room} dimensions, "
                                 f"got {self.n_generators}")
        kind = getattr(self.discriminator, "kind", self.discriminator)
        if kind == "fourier" and dataset.task == "classification":
            raise UserInputError("the fourier discriminator takes float targets, not class labels")

    # -- construction ----------------------------------------------------------------
    def _parameterization(self, dataset: SymmetryDataset) -> tuple[str, int]:
        kind = self.parameterization
        check_option("parameterization", kind, ["auto", "full", "blocks", "affine", "subspace"])
        if kind == "auto":
            kind = {"blocks": "blocks", "image": "affine"}.get(dataset.action, "full")
        if kind == "blocks":
            return kind, int(dataset.action_options.get("block_dim", 2))
        if kind == "affine":
            return kind, 3
        return kind, dataset.x_action().base_dim(dataset.x[:1])

    def build(self, dataset: SymmetryDataset, generator: torch.Generator):
        """The symmetry generator and discriminator for this dataset (before training)."""
        kind, n = self._parameterization(dataset)
        generators = make_generators(kind, self.n_generators, n, span=self.span, generator=generator,
                                     init_scale=self.init_scale)
        if self.init_basis is not None:  # a starting guess, e.g. from a previous run
            init = torch.as_tensor(self.init_basis, dtype=generators.weight.dtype)
            if kind == "affine" and init.shape[-2:] == (3, 3):
                init = init[..., :2, :]  # homogeneous affine generators: only the top 2 x 3 block is learnt
            with torch.no_grad():
                generators.weight.copy_(init)
        law = self.law_recipe().sized(self.n_generators)
        symmetry = SymmetryGenerator(generators, law, normalize=not isinstance(law, IntegerGridLaw))
        if self.incremental:
            symmetry.n_active.fill_(1)
        n_classes = int(dataset.y.max()) + 1 if dataset.task == "classification" else None
        disc = make_discriminator(dataset.x, dataset.y, dataset.action, n_classes, self.hidden, self.layers,
                                  kind=self.discriminator)
        return symmetry, disc

    def law_recipe(self) -> CoefficientLaw:
        """The coefficient law as an object (the shorthand strings read as unit-scale laws)."""
        return law_shorthand(self.law) if isinstance(self.law, str) else self.law

    def _integer_step(self) -> float | None:
        law = self.law_recipe()
        return law.step if isinstance(law, IntegerGridLaw) else None

    def learned_basis(self, symmetry: nn.Module) -> torch.Tensor:
        """The Lie algebra basis to report, from the trained symmetry generator."""
        return symmetry.basis().detach().cpu()

    # -- multi-start -----------------------------------------------------------------
    def fooling(self, symmetry: nn.Module, dataset: SymmetryDataset, steps: int = 300, seed: int = 0,
                hardware=None) -> float:
        """Held-out accuracy of a fresh discriminator trained to tell (x, y) from g.(x, y) for the
        fixed `symmetry`: about 0.5 when the data are invariant under what it samples."""
        engine = self.engine(None, False, hardware)
        epochs = math.ceil(steps * self.batch_size / len(dataset.x))
        run = engine.fit(_FoolingTask(self, dataset, symmetry), n_samples=len(dataset.x),
                         batch_size=self.batch_size, epochs=epochs, seed=seed)
        disc, rng = run.modules["discriminator"], torch.Generator(device=run.device).manual_seed(seed)
        symmetry = run.modules["symmetry"]
        action = dataset.task_action()
        x_eval = dataset.x_test if dataset.x_test is not None else dataset.x
        y_eval = dataset.y_test if dataset.x_test is not None else dataset.y
        x_eval, y_eval = x_eval.to(run.device), None if y_eval is None else y_eval.to(run.device)
        with torch.no_grad():
            g, _ = symmetry(len(x_eval), rng)
            gx, gy = action.apply(g, x_eval, y_eval)
            real = (disc(x_eval, y_eval) > 0).float().mean()
            fake = (disc(gx, gy) < 0).float().mean()
        return float((real + fake) / 2)

    def _start_options(self, dataset: SymmetryDataset) -> list[dict]:
        """Initial guesses: for one 2x2 generator on an integer grid, rotation angles spread over
        (0, pi) (the angle landscape is multimodal); otherwise different random seeds."""
        kind, n = self._parameterization(dataset)
        step = self._integer_step()
        if step is not None and n == 2 and self.n_generators == 1 and kind == "full":
            j = torch.tensor([[0.0, -1.0], [1.0, 0.0]])
            return [{"init_basis": (math.pi * (i + 0.5) / self.n_starts / step * j)[None].tolist(),
                     "seed": self.seed} for i in range(self.n_starts)]
        return [{"seed": self.seed + 1000 * i} for i in range(self.n_starts)]

    def multi_start(self, dataset: SymmetryDataset, tolerance: float = 0.02, min_angle: float = 0.05,
                    chance: float = 0.56, hardware=None):
        """Short runs from `_start_options`; returns (chosen init basis, per-start records).

        Each start is scored by `fooling`. For a discrete rotation the starts that fool the
        judge (within `tolerance` of the best, or at chance: accuracy <= `chance`) are all
        symmetries, rotations by multiples of the true angle; the smallest angle (above `min_angle`) generates the largest group,
        so it is chosen. Otherwise the start that fools best wins.
        """
        options = self.get_params()
        options.update(n_starts=1, epochs=self.start_epochs, lr_decay=1.0)
        records = []
        for i, start in enumerate(self._start_options(dataset)):
            run = LieGAN(**{**options, **start})
            result = run.fit(dataset, progress=False, hardware=hardware)
            basis = result.algebra.basis.float()
            record = {"start": i, "accuracy": run.fooling(run.symmetry_, dataset, seed=self.seed, hardware=hardware),
                      "basis": basis}
            if "rotation_angle" in result.extras:
                record["angle"] = result.extras["rotation_angle"][0]
            records.append(record)
        best = min(r["accuracy"] for r in records)
        fooled = [r for r in records if r["accuracy"] <= max(best + tolerance, chance)]
        if all("angle" in r for r in records):
            fooled = [r for r in fooled if r["angle"] > min_angle] or fooled
            chosen = min(fooled, key=lambda r: r["angle"])
        else:
            chosen = min(fooled, key=lambda r: r["accuracy"])
        return chosen["basis"], [{k: v for k, v in r.items() if k != "basis"} for r in records]

    def _fit_from_closed_form(self, dataset, start, **fit_options):
        """`init="liesd"`: start from the closed-form basis with the same number of generators."""
        check_option("init", self.init, ["liesd"])
        from .liesd import LieSD

        closed = LieSD(n_generators=self.n_generators, seed=self.seed).fit(dataset, progress=False,
                                                                           hardware=fit_options.get("hardware"))
        options = self.get_params()
        # refine, do not search again: a quarter of the generator's lr and no small-data step floor.
        # At full lr for 3,000 steps the adversary walks off a 0.99 start on weakly visible symmetries
        # (SO(3) on two 3-vectors, 6,000 samples: 0.98 at 500 steps, 0.78 at 3,000).
        options.update(init=None, init_basis=closed.algebra.basis.float(),
                       lr_generator=self.lr_generator * REFINE_LR_FACTOR, min_steps=1)
        main = LieGAN(**options)
        result = main.fit(dataset, **fit_options)
        self.symmetry_, self.discriminator_ = main.symmetry_, main.discriminator_
        result.options["init"] = self.init
        result.extras["init_similarity"] = closed.similarity
        result.seconds = time.perf_counter() - start
        return result

    # -- training --------------------------------------------------------------------
    def fit(self, dataset: SymmetryDataset, *, out=None, progress: bool = True, callback=None, hardware=None):
        """Train on `dataset`; `callback(step, basis)` may return True to stop (benchmarks)."""
        start = time.perf_counter()
        if self.init is not None and self.init_basis is None:
            return self._fit_from_closed_form(dataset, start, out=out, progress=progress, callback=callback,
                                              hardware=hardware)
        if self.n_starts > 1:
            init, starts = self.multi_start(dataset, hardware=hardware)
            options = self.get_params()
            options.update(n_starts=1, init_basis=init)
            main = LieGAN(**options)
            result = main.fit(dataset, out=out, progress=progress, callback=callback, hardware=hardware)
            self.symmetry_, self.discriminator_ = main.symmetry_, main.discriminator_
            result.extras["starts"] = starts
            result.seconds = result.seconds + time.perf_counter() - start - main.fit_seconds_
            return result
        run = self.engine(out, progress, hardware).fit(
            AdversarialTask(self, dataset, callback), n_samples=len(dataset.x), batch_size=self.batch_size,
            epochs=self.epoch_budget(math.ceil(len(dataset.x) / self.batch_size)), seed=self.seed,
            fingerprint=self.fingerprint(dataset), desc=f"{self.name} {dataset.name}")
        symmetry, disc = run.modules["symmetry"], run.modules["discriminator"]
        basis = threshold_basis(self.learned_basis(symmetry), self.threshold)
        extras = {"steps": run.step_count, "epochs_run": run.epochs_run, "stopped_early": run.stopped_early}
        if basis.shape[-1] == 2 and self._integer_step() is not None:
            extras["rotation_angle"] = [rotation_angle(b, self._integer_step()) for b in basis]
        self.fit_seconds_ = time.perf_counter() - start
        result = self.make_result(basis, dataset, run.previous_seconds + self.fit_seconds_,
                                  coefficient_law=symmetry.law.describe(), history=run.history,
                                  action=dataset.x_action().describe(), extras=extras)
        self.symmetry_, self.discriminator_ = symmetry, disc
        return result


class AdversarialTask(DataTask):
    """LieGAN's batch step (discriminator, then generator) for the engine; SymmetryGAN shares it."""

    def __init__(self, method: LieGAN, dataset: SymmetryDataset, callback=None):
        super().__init__(dataset.x, dataset.y)
        self.method, self.dataset, self.callback = method, dataset, callback
        self.action = dataset.task_action()
        self.uses_budget = method.lr_decay != 1.0

    def configure(self, rng):
        m = self.method
        symmetry, disc = m.build(self.dataset, rng)
        opt_g = torch.optim.Adam(symmetry.parameters(), lr=m.lr_generator, betas=(0.5, 0.99))
        opt_d = torch.optim.Adam(disc.parameters(), lr=m.lr_discriminator, betas=(0.5, 0.99))
        if m.early_stopping:
            self.early_stopping = EarlyStopping(
                symmetry.basis, similarity, every=m.check_every, patience=m.patience, tolerance=m.tolerance,
                ready=lambda: int(symmetry.n_active) == m.n_generators)
        return {"symmetry": symmetry, "discriminator": disc}, {"generator": opt_g, "discriminator": opt_d}

    def lr_factor(self, step, total_steps):
        """The generator's lr decays (cosine) to lr_decay of its start by the last step."""
        decay = self.method.lr_decay
        if decay == 1.0:
            return 1.0
        t = min(1.0, step / max(1, total_steps - 1))
        return {"generator": decay + (1 - decay) * 0.5 * (1 + math.cos(math.pi * t))}

    def training_step(self, batch, run):
        m, symmetry, disc = self.method, run.modules["symmetry"], run.modules["discriminator"]
        xb, yb = self.samples(batch)
        g, _ = symmetry(len(batch), run.rng)
        gx, gy = self.action.apply(g, xb, yb)

        d_real, d_fake = disc(xb, yb), disc(gx.detach(), None if gy is None else gy.detach())
        loss_d = discriminator_loss(d_real, d_fake)
        run.update(loss_d, "discriminator")

        basis = symmetry.basis()
        loss_g = (generator_loss(disc(gx, gy))
                  + m.w_nontrivial * nontrivial_penalty(xb, gx, basis, m.nontrivial)
                  + m.w_orthogonality * orthogonality_penalty(basis, m.orthogonality)
                  + m.w_sparsity * sparsity_penalty(basis, m.sparsity_p))
        run.update(loss_g, "generator")
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
                "d_real_acc": (d_real > 0).float().mean().item(), "d_fake_acc": (d_fake < 0).float().mean().item()}

    def should_stop(self, run):
        return self.callback is not None and bool(self.callback(run.step_count,
                                                                run.modules["symmetry"].basis().detach()))

    def on_epoch_end(self, epoch, row, run):
        """Incremental discovery: open the next channel once the discriminator is fooled."""
        symmetry = run.modules["symmetry"]
        row["n_active"] = int(symmetry.n_active)
        fooled = (row["d_real_acc"] + row["d_fake_acc"]) / 2 < self.method.fooled_accuracy
        if self.method.incremental and fooled and int(symmetry.n_active) < self.method.n_generators:
            symmetry.n_active += 1
            if self.early_stopping is not None:
                self.early_stopping.reset()


class _FoolingTask(DataTask):
    """A fresh discriminator against a fixed symmetry (multi-start's judge)."""

    def __init__(self, method: LieGAN, dataset: SymmetryDataset, symmetry: nn.Module):
        super().__init__(dataset.x, dataset.y)
        self.method, self.dataset, self.symmetry = method, dataset, symmetry
        self.action = dataset.task_action()

    def configure(self, rng):
        m, d = self.method, self.dataset
        n_classes = int(d.y.max()) + 1 if d.task == "classification" else None
        disc = make_discriminator(d.x, d.y, d.action, n_classes, m.hidden, m.layers, kind=m.discriminator)
        opt = torch.optim.Adam(disc.parameters(), lr=m.lr_discriminator, betas=(0.5, 0.99))
        symmetry = copy.deepcopy(self.symmetry).requires_grad_(False)
        return {"discriminator": disc, "symmetry": symmetry}, {"discriminator": opt}

    def training_step(self, batch, run):
        disc = run.modules["discriminator"]
        xb, yb = self.samples(batch)
        with torch.no_grad():
            g, _ = run.modules["symmetry"](len(batch), run.rng)
            gx, gy = self.action.apply(g, xb, yb)
        loss = discriminator_loss(disc(xb, yb), disc(gx, gy))
        run.update(loss, "discriminator")
        return {"loss_d": loss.item()}
