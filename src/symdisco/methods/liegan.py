"""LieGAN (Yang et al., ICML 2023): adversarial discovery of a Lie algebra basis.

A generator samples g = exp(sum_i w_i L_i) and transforms real (x, y) pairs; a
discriminator tries to tell them from untransformed ones. When it can no longer, the
data distribution is invariant under the group the L_i generate.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from ..datasets.base import SymmetryDataset
from ..errors import UserInputError
from ..lie.compare import similarity
from ..lie.generators import make_generators
from ..lie.sampling import CoefficientLaw, IntegerGridLaw, NormalLaw, group_elements, law_shorthand
from ..training import Checkpointer, LossLog, Progress, resolve_device, seed_everything
from .base import DiscoveryMethod, check_option
from .discriminators import DISCRIMINATORS, Discriminator, make_discriminator
from .knobs import Anything, Bool, Choice, Float, Int
from .regularizers import nontrivial_penalty, orthogonality_penalty, sparsity_penalty, threshold_basis


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
        "parameterization": (str, "generators: auto, full, blocks, affine"),
        "batch_size": (int, "batch size"),
        "hidden": (int, "discriminator width"),
        "nontrivial": (str, "non-triviality regulariser: cosine, relative, norm, none"),
        "orthogonality": (str, "orthogonality regulariser: cosine, killing, none"),
        "incremental": (bool, "discover one generator channel at a time"),
        "threshold": (float, "zero generator entries below this fraction of the largest"),
        "n_starts": (int, "short runs from several initial bases; the main run starts from the best"),
        "lr_decay": (float, "generator lr decays (cosine) to this fraction of lr_generator by the last epoch"),
    }

    KNOBS = {
        "n_generators": Int(1), "parameterization": Choice("auto", "full", "blocks", "affine", "subspace"),
        "span": Anything(), "law": Choice("normal", "uniform", "integer", types=(CoefficientLaw,)),
        "epochs": Int(1), "batch_size": Int(1), "lr_generator": Float(0, strict=True),
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
                 law: str | CoefficientLaw = "normal", epochs: int = 30, batch_size: int = 256,
                 lr_generator: float = 2e-2, lr_discriminator: float = 2e-3,
                 discriminator: str | Discriminator = "auto", hidden: int = 64, layers: int = 2,
                 nontrivial: str = "cosine", w_nontrivial: float = 0.1,
                 orthogonality: str = "cosine", w_orthogonality: float = 1.0,
                 sparsity_p: float = 1.0, w_sparsity: float = 0.0,
                 incremental: bool = False, fooled_accuracy: float = 0.6, threshold: float = 0.0,
                 early_stopping: bool = True, tolerance: float = 1e-3, patience: int = 3,
                 check_every: int = 20, init_scale: float = 1.0, init_basis=None, seed: int = 0, device: str = "cpu",
                 checkpoint_every: int = 1, lr_decay: float = 1.0, n_starts: int = 1, start_epochs: int = 10,
                 standardize: bool = True):
        self.n_generators = n_generators
        self.parameterization = parameterization
        self.span = span
        self.law = law
        self.epochs = epochs
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
            with torch.no_grad():
                generators.weight.copy_(torch.as_tensor(self.init_basis, dtype=generators.weight.dtype))
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
    def fooling(self, symmetry: nn.Module, dataset: SymmetryDataset, steps: int = 300, seed: int = 0) -> float:
        """Held-out accuracy of a fresh discriminator trained to tell (x, y) from g.(x, y) for the
        fixed `symmetry`: about 0.5 when the data are invariant under what it samples."""
        rng = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        n_classes = int(dataset.y.max()) + 1 if dataset.task == "classification" else None
        disc = make_discriminator(dataset.x, dataset.y, dataset.action, n_classes, self.hidden, self.layers,
                                  kind=self.discriminator)
        opt = torch.optim.Adam(disc.parameters(), lr=self.lr_discriminator, betas=(0.5, 0.99))
        action = dataset.task_action()
        x, y = dataset.x, dataset.y
        for _ in range(steps):
            idx = torch.randint(0, len(x), (self.batch_size,), generator=rng)
            yb = None if y is None else y[idx]
            with torch.no_grad():
                g, _ = symmetry(len(idx), rng)
                gx, gy = action.apply(g, x[idx], yb)
            loss = discriminator_loss(disc(x[idx], yb), disc(gx, gy))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        x_eval = dataset.x_test if dataset.x_test is not None else x
        y_eval = dataset.y_test if dataset.x_test is not None else y
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
                    chance: float = 0.56):
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
            result = run.fit(dataset, progress=False)
            basis = result.algebra.basis.float()
            record = {"start": i, "accuracy": run.fooling(run.symmetry_, dataset, seed=self.seed), "basis": basis}
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

    # -- training --------------------------------------------------------------------
    def fit(self, dataset: SymmetryDataset, *, out=None, progress: bool = True, callback=None):
        """Train on `dataset`; `callback(step, basis)` may return True to stop (benchmarks)."""
        start = time.perf_counter()
        if self.n_starts > 1:
            init, starts = self.multi_start(dataset)
            options = self.get_params()
            options.update(n_starts=1, init_basis=init)
            main = LieGAN(**options)
            result = main.fit(dataset, out=out, progress=progress, callback=callback)
            self.symmetry_, self.discriminator_ = main.symmetry_, main.discriminator_
            result.extras["starts"] = starts
            result.seconds = time.perf_counter() - start
            return result
        rng = seed_everything(self.seed)
        device = resolve_device(self.device)
        symmetry, disc = self.build(dataset, rng)
        symmetry.to(device), disc.to(device)
        opt_g = torch.optim.Adam(symmetry.parameters(), lr=self.lr_generator, betas=(0.5, 0.99))
        opt_d = torch.optim.Adam(disc.parameters(), lr=self.lr_discriminator, betas=(0.5, 0.99))
        action = dataset.task_action()
        x = dataset.x.to(device)
        y = None if dataset.y is None else dataset.y.to(device)
        n = len(x)
        steps_per_epoch = math.ceil(n / self.batch_size)
        last_step = max(1, self.epochs * steps_per_epoch - 1)
        # cosine decay of the generator's lr, from lr_generator to lr_decay * lr_generator
        schedule_g = torch.optim.lr_scheduler.LambdaLR(opt_g, lambda step: self.lr_decay + (1 - self.lr_decay)
                                                       * 0.5 * (1 + math.cos(math.pi * min(1.0, step / last_step))))

        checkpoints = Checkpointer(out, every=self.checkpoint_every, fingerprint=self.fingerprint(dataset))
        log = LossLog(None if out is None else f"{out}/losses.jsonl")
        first_epoch, state = 0, {"stable_checks": 0, "step": 0, "stopped_early": False}
        resumed = checkpoints.load()
        if resumed is not None:
            epoch, saved = resumed
            symmetry.load_state_dict(saved["symmetry"]), disc.load_state_dict(saved["discriminator"])
            opt_g.load_state_dict(saved["opt_g"]), opt_d.load_state_dict(saved["opt_d"])
            schedule_g.load_state_dict(saved["schedule_g"])
            rng.set_state(saved["rng"])
            state = saved["state"]
            first_epoch = epoch + 1

        previous = symmetry.basis().detach().clone()
        bar = Progress(self.epochs * steps_per_epoch, desc=f"liegan {dataset.name}", enabled=progress,
                       initial=first_epoch * steps_per_epoch)
        stop = state["stopped_early"]
        epoch = first_epoch - 1
        for epoch in range(first_epoch, self.epochs):
            if stop:
                break
            totals = {"loss_d": 0.0, "loss_g": 0.0, "d_real_acc": 0.0, "d_fake_acc": 0.0}
            order = torch.randperm(n, generator=rng).to(device)
            for i in range(steps_per_epoch):
                idx = order[i * self.batch_size:(i + 1) * self.batch_size]
                xb = x[idx]
                yb = None if y is None else y[idx]
                g, _ = symmetry(len(idx), rng)
                gx, gy = action.apply(g, xb, yb)

                d_real, d_fake = disc(xb, yb), disc(gx.detach(), None if gy is None else gy.detach())
                loss_d = discriminator_loss(d_real, d_fake)
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()

                basis = symmetry.basis()
                loss_g = (generator_loss(disc(gx, gy))
                          + self.w_nontrivial * nontrivial_penalty(xb, gx, basis, self.nontrivial)
                          + self.w_orthogonality * orthogonality_penalty(basis, self.orthogonality)
                          + self.w_sparsity * sparsity_penalty(basis, self.sparsity_p))
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                schedule_g.step()

                step_d, step_g = loss_d.item(), loss_g.item()
                totals["loss_d"] += step_d
                totals["loss_g"] += step_g
                totals["d_real_acc"] += (d_real > 0).float().mean().item()
                totals["d_fake_acc"] += (d_fake < 0).float().mean().item()
                state["step"] += 1
                bar.update(1, loss_d=step_d, loss_g=step_g)
                if callback is not None and callback(state["step"], symmetry.basis().detach()):
                    stop = True
                    break
                if state["step"] % self.check_every == 0 and self.early_stopping and not stop:
                    current = symmetry.basis().detach()
                    settled = float(similarity(previous, current)) > 1 - self.tolerance
                    previous = current.clone()
                    state["stable_checks"] = state["stable_checks"] + 1 if settled else 0
                    all_active = int(symmetry.n_active) == self.n_generators
                    if state["stable_checks"] >= self.patience and all_active:
                        stop = state["stopped_early"] = True
                        break
            row = log.write(epoch, **{k: v / max(1, i + 1) for k, v in totals.items()},
                            n_active=int(symmetry.n_active))
            fooled = (row["d_real_acc"] + row["d_fake_acc"]) / 2 < self.fooled_accuracy
            if self.incremental and fooled and int(symmetry.n_active) < self.n_generators:
                symmetry.n_active += 1
                state["stable_checks"] = 0
            if checkpoints.due(epoch) or stop:
                checkpoints.save(epoch, symmetry=symmetry.state_dict(), discriminator=disc.state_dict(),
                                 opt_g=opt_g.state_dict(), opt_d=opt_d.state_dict(),
                                 schedule_g=schedule_g.state_dict(), rng=rng.get_state(),
                                 state=dict(state))
        bar.close()

        basis = threshold_basis(self.learned_basis(symmetry), self.threshold)
        extras = {"steps": state["step"], "epochs_run": epoch + 1, "stopped_early": bool(state["stopped_early"])}
        if basis.shape[-1] == 2 and self._integer_step() is not None:
            extras["rotation_angle"] = [rotation_angle(b, self._integer_step()) for b in basis]
        result = self.make_result(basis, dataset, time.perf_counter() - start,
                                  coefficient_law=symmetry.law.describe(), history=log.rows,
                                  action=dataset.x_action().describe(), extras=extras)
        self.symmetry_, self.discriminator_ = symmetry, disc
        return result
