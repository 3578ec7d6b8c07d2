"""LieAugmenter (SEMoLA, Santos-Escriche & Jegelka): discover a symmetry as the learnable
augmentation an unconstrained model is trained with.

A learnable Lie algebra basis ``L_i`` and a coefficient law (uniform, learnable
half-widths ``a_i``) give group elements ``g = exp(sum_i w_i L_i)``; every batch is used
as it is and transformed by ``g`` (inputs, and targets of equivariant tasks), and an
arbitrary base model is trained on both. The basis and the law are trained jointly with
the model on

    task(f(x), y) + w_augmented task(f(g x), g y)
        + w_nontrivial * coverage + w_orthogonality * orthogonality + w_sparsity * sparsity

Coverage rewards wide augmentation (``-mean(min(a_i, a_max)) / a_max``): the augmentation
grows along directions that do not hurt the task (the symmetry) and is held back along
those that do. Each generator is kept at Frobenius norm sqrt(2) (so(2)'s), so the law
alone sets how far the augmentation goes. Orthogonality is the squared cosine between
generators, sparsity the L1 norm of the normalised entries.

`fit` also trains the base model without augmentation, with the ground truth's
augmentation (when the dataset has one) and, with ``compare_liegan``, with the
augmentation LieGAN discovers, and reports the test error and invariance / equivariance
error of each in one table.
"""
from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..datasets.base import SymmetryDataset
from ..errors import UserInputError
from ..lie.compare import cosine
from ..lie.generators import make_generators
from ..lie.sampling import UniformLaw, group_elements
from ..models.baselines import MLP, SmallCNN
from ..training import DataTask
from .base import DiscoveryMethod, check_option
from .knobs import Anything, Bool, Choice, Float, Int
from .regularizers import nontrivial_penalty, orthogonality_penalty, sparsity_penalty

GENERATOR_NORM = math.sqrt(2.0)


class Augmenter(nn.Module):
    """A learnable basis (any `symdisco.lie.generators` module) and a coefficient law.

    ``forward(batch_size, generator)`` -> (g (B, n, n), coefficients (B, k)). The basis is
    rescaled to Frobenius norm sqrt(2) per generator unless ``normalize=False``.
    """

    def __init__(self, generators: nn.Module, law: nn.Module, normalize: bool = True):
        super().__init__()
        self.generators, self.law, self.normalize = generators, law, normalize

    def basis(self) -> torch.Tensor:
        basis = self.generators()
        if not self.normalize:
            return basis
        norms = basis.reshape(basis.shape[0], -1).norm(dim=1).clamp(min=1e-12)
        return basis * (GENERATOR_NORM / norms)[:, None, None]

    def forward(self, batch_size: int, generator: torch.Generator | None = None):
        coefficients = self.law.sample(batch_size, generator)
        return group_elements(self.basis(), coefficients), coefficients


class FixedAugmenter(Augmenter):
    """Augmentation with a given basis (ground truth, or another method's) and half-width."""

    def __init__(self, basis: torch.Tensor, half_width, normalize: bool = True):
        basis = torch.as_tensor(basis, dtype=torch.float32)

        class _Given(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("weight", basis.clone())

            def forward(self):
                return self.weight

        half = torch.as_tensor(half_width, dtype=torch.float32).reshape(-1)
        law = UniformLaw(basis.shape[0], half_width=1.0, learnable=False)
        with torch.no_grad():
            law.raw_half_width.copy_(torch.log(torch.expm1(half.expand(basis.shape[0]).clamp(min=1e-3))))
        super().__init__(_Given(), law, normalize)


# -- base models ---------------------------------------------------------------------------

class ResidualMLP(nn.Module):
    """x -> x + MLP(x) (flattened): the identity is equivariant, the MLP learns the change."""

    def __init__(self, features, hidden=128, layers=2):
        super().__init__()
        self.net = MLP(features, features, hidden=hidden, n_layers=layers, activation=nn.ReLU)

    def forward(self, x):
        return x + self.net(x.flatten(1)).reshape(x.shape)


def make_base_model(kind, dataset: SymmetryDataset, hidden: int = 128) -> nn.Module:
    """"auto": a CNN for images, a residual MLP for equivariant maps of x to a y shaped like
    x, an MLP otherwise; "cnn", "mlp", "residual_mlp"; or an `nn.Module` (copied)."""
    if isinstance(kind, nn.Module):
        return copy.deepcopy(kind)
    x, y = dataset.x, dataset.y
    classification = dataset.task == "classification"
    out = int(max(y.max(), dataset.y_test.max())) + 1 if classification else y[0].numel()
    if kind == "auto":
        if x.ndim == 4:
            kind = "cnn"
        elif dataset.task == "equivariant" and y is not None and y.shape == x.shape:
            kind = "residual_mlp"
        else:
            kind = "mlp"
    if kind == "cnn":
        if x.ndim != 4:
            raise UserInputError(f"{dataset.name}: base model 'cnn' needs images (N, C, H, W), "
                                 f"got x of shape {tuple(x.shape)}")
        return SmallCNN(tuple(x.shape[-2:]), x.shape[1], out, blocks=3 if min(x.shape[-2:]) >= 8 else 1)
    if kind == "residual_mlp":
        return ResidualMLP(x[0].numel(), hidden=hidden)
    if kind == "mlp":
        mlp = MLP(x[0].numel(), out, hidden=hidden, n_layers=2, activation=nn.ReLU)
        if classification or y.ndim <= 2:
            return mlp
        shape = tuple(y.shape[1:])
        return nn.Sequential(mlp, nn.Unflatten(1, shape))
    raise UserInputError(f"unknown base model {kind!r}; choose auto, cnn, mlp, residual_mlp")


def task_loss(dataset: SymmetryDataset):
    if dataset.task == "classification":
        return F.cross_entropy
    return F.mse_loss


@torch.no_grad()
def test_error(model, dataset: SymmetryDataset, batch_size: int = 1024) -> float:
    """Classification error (1 - accuracy) or mean squared error on the test split."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(dataset.x_test), batch_size):
        xb, yb = dataset.x_test[i:i + batch_size], dataset.y_test[i:i + batch_size]
        out = model(xb)
        if dataset.task == "classification":
            total += (out.argmax(1) != yb).sum().item()
        else:
            total += F.mse_loss(out, yb.reshape(out.shape), reduction="sum").item() / yb[0].numel()
        count += len(xb)
    return total / max(1, count)


@torch.no_grad()
def symmetry_error(model, dataset: SymmetryDataset, augmenter: Augmenter, *, n: int = 512,
                   generator: torch.Generator | None = None) -> dict:
    """How far `model` is from invariant / equivariant under group elements from `augmenter`.

    Classification: mean total-variation distance between the predicted class probabilities
    of x and g x, and the fraction of changed predictions. Equivariant tasks:
    ||f(g x) - g f(x)|| / ||f(x)|| (means over the batch). Invariant tasks: ||f(g x) - f(x)|| / ||f(x)||.
    """
    model.eval()
    x = dataset.x_test[:n]
    g, _ = augmenter(len(x), generator)
    action = dataset.task_action()
    gx, _ = action.apply(g, x, None)
    fx, fgx = model(x), model(gx)
    if dataset.task == "classification":
        p, q = fx.softmax(1), fgx.softmax(1)
        return {"invariance_error": float(0.5 * (p - q).abs().sum(1).mean()),
                "changed_predictions": float((fx.argmax(1) != fgx.argmax(1)).float().mean())}
    if dataset.task == "equivariant":
        _, gfx = action.apply(g, x, fx)
        return {"equivariance_error": float((fgx - gfx).flatten(1).norm(dim=1).mean()
                                            / fx.flatten(1).norm(dim=1).mean().clamp(min=1e-12))}
    return {"invariance_error": float((fgx - fx).flatten(1).norm(dim=1).mean()
                                      / fx.flatten(1).norm(dim=1).mean().clamp(min=1e-12))}


# -- the method ----------------------------------------------------------------------------

class _AugmentedTask(DataTask):
    """task(f(x), y) + w_augmented task(f(g x), g y) (+ the augmenter's regularisers when it learns)."""

    def __init__(self, method, dataset, build, learn_augmenter):
        super().__init__(dataset.x, dataset.y)
        self.method, self.dataset, self.build, self.learn = method, dataset, build, learn_augmenter
        self.loss_fn, self.action = task_loss(dataset), dataset.task_action()
        self.train_augmenter = False

    def configure(self, rng):
        model, augmenter = self.build(rng)
        modules = {"model": model}
        groups = [{"params": model.parameters(), "lr": self.method.lr}]
        if augmenter is not None:
            modules["augmenter"] = augmenter
            if self.learn:
                groups.append({"params": augmenter.parameters(), "lr": self.method.lr_augmenter})
        return modules, {"all": torch.optim.Adam(groups)}

    def on_epoch_start(self, epoch, run):
        run.modules["model"].train()
        self.train_augmenter = self.learn and epoch >= self.method.warmup_epochs

    def training_step(self, batch, run):
        m, model, augmenter = self.method, run.modules["model"], run.modules.get("augmenter")
        xb, yb = self.samples(batch)
        loss = self.loss_fn(model(xb), yb)
        total, losses = loss, {"loss": loss.item()}
        if augmenter is not None:
            g, _ = augmenter(len(batch), run.rng)
            if not self.train_augmenter:
                g = g.detach()
            gx, gy = self.action.apply(g, xb, yb)
            loss_aug = self.loss_fn(model(gx), gy)
            total = total + m.w_augmented * loss_aug
            losses["loss_augmented"] = loss_aug.item()
            if self.train_augmenter:
                basis = augmenter.basis()
                nontrivial = m._nontrivial(augmenter, xb, gx, basis)
                orthogonality = orthogonality_penalty(basis, "cosine")
                total = (total + m.w_nontrivial * nontrivial + m.w_orthogonality * orthogonality
                         + m.w_sparsity * sparsity_penalty(basis, 1.0))
                losses["nontrivial"], losses["orthogonality"] = nontrivial.item(), orthogonality.item()
        run.update(total, "all")
        return losses

    def on_epoch_end(self, epoch, row, run):
        if self.learn:
            row["half_width"] = float(run.modules["augmenter"].law.half_width.detach().mean())


class LieAugmenter(DiscoveryMethod):
    """Joint symmetry discovery and equivariant-by-augmentation training; see the module docstring.

    parameterization: "auto" (affine for images, blocks for stacked states, full otherwise),
    "full", "blocks", "affine". base_model: "auto", "cnn", "mlp", "residual_mlp" or an
    `nn.Module` to copy. nontrivial: "coverage" (wide learned ranges), or LieGAN's "cosine",
    "relative", "norm" on the transformed data.
    """

    name = "augmenter"
    CLI_OPTIONS = {
        "base_model": (str, "augmenter: base model: auto, cnn, mlp, residual_mlp"),
        "half_width": (float, "augmenter: initial half-width of the uniform coefficient law"),
        "max_half_width": (float, "augmenter: half-width beyond which coverage earns nothing (default pi)"),
        "w_nontrivial": (float, "weight of the non-triviality (coverage) regulariser"),
        "w_orthogonality": (float, "weight of the orthogonality regulariser"),
        "w_sparsity": (float, "weight of the L1 sparsity regulariser"),
        "lr_augmenter": (float, "augmenter: learning rate of the basis and the law"),
        "compare_liegan": (bool, "augmenter: also train with LieGAN's discovered augmentation"),
        "baselines": (bool, "augmenter: also train without augmentation and with the truth's"),
    }

    KNOBS = {
        "n_generators": Int(1), "parameterization": Choice("auto", "full", "blocks", "affine"),
        "base_model": Anything(), "hidden": Int(1), "half_width": Float(0, strict=True),
        "max_half_width": Float(0, strict=True), "learn_law": Bool(),
        "nontrivial": Choice("coverage", "cosine", "relative", "norm", "none"), "w_nontrivial": Float(0),
        "w_orthogonality": Float(0), "w_sparsity": Float(0), "w_augmented": Float(0),
        "epochs": Int(1, optional=True), "batch_size": Int(1, optional=True), "lr": Float(0, strict=True),
        "lr_augmenter": Float(0, strict=True), "warmup_epochs": Int(0), "baselines": Bool(),
        "compare_liegan": Bool(), "liegan_epochs": Int(1, optional=True), "init_scale": Float(0, strict=True),
        "seed": Int(), "device": Choice("cpu", "cuda", "mps", "auto"), "checkpoint_every": Int(1),
        "standardize": Bool(),
    }

    def __init__(self, n_generators: int = 1, *, parameterization: str = "auto", base_model="auto",
                 hidden: int = 128, half_width: float = 0.5, max_half_width: float = math.pi,
                 learn_law: bool = True, nontrivial: str = "coverage", w_nontrivial: float = 1.0,
                 w_orthogonality: float = 1.0, w_sparsity: float = 0.0, w_augmented: float = 1.0,
                 epochs: int | None = None, batch_size: int | None = None, lr: float = 3e-3,
                 lr_augmenter: float = 1e-2, warmup_epochs: int = 1, baselines: bool = True,
                 compare_liegan: bool = True, liegan_epochs: int | None = None, init_scale: float = 1.0,
                 seed: int = 0, device: str = "cpu", checkpoint_every: int = 1, standardize: bool = True):
        self.n_generators = n_generators
        self.parameterization = parameterization
        self.base_model = base_model
        self.hidden = hidden
        self.half_width = half_width
        self.max_half_width = max_half_width
        self.learn_law = learn_law
        self.nontrivial = nontrivial
        self.w_nontrivial = w_nontrivial
        self.w_orthogonality = w_orthogonality
        self.w_sparsity = w_sparsity
        self.w_augmented = w_augmented
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_augmenter = lr_augmenter
        self.warmup_epochs = warmup_epochs
        self.baselines = baselines
        self.compare_liegan = compare_liegan
        self.liegan_epochs = liegan_epochs
        self.init_scale = init_scale
        self.seed = seed
        self.device = device
        self.checkpoint_every = checkpoint_every
        self.standardize = standardize

    def check_data(self, dataset: SymmetryDataset) -> None:
        kind, n = self._parameterization(dataset)
        room = 6 if kind == "affine" else n * n
        if self.n_generators > room:
            raise UserInputError(f"{dataset.name}: n_generators (--generators) must be between 1 and {room}: "
                                 f"{kind} generators of size {n}x{n} span at most {room} dimensions, "
                                 f"got {self.n_generators}")

    # -- construction ----------------------------------------------------------------
    def _parameterization(self, dataset: SymmetryDataset) -> tuple[str, int]:
        kind = self.parameterization
        check_option("parameterization", kind, ["auto", "full", "blocks", "affine"])
        if kind == "auto":
            kind = {"blocks": "blocks", "image": "affine"}.get(dataset.action, "full")
        if kind == "blocks":
            return kind, int(dataset.action_options.get("block_dim", 2))
        if kind == "affine":
            if dataset.action != "image":
                raise UserInputError(f"{dataset.name}: affine generators act on images; this dataset's "
                                     f"action is {dataset.action!r}")
            return kind, 3
        return kind, dataset.x_action().base_dim(dataset.x[:1])

    def build_augmenter(self, dataset: SymmetryDataset, generator: torch.Generator) -> Augmenter:
        kind, n = self._parameterization(dataset)
        generators = make_generators(kind, self.n_generators, n, generator=generator, init_scale=self.init_scale)
        law = UniformLaw(self.n_generators, half_width=self.half_width, learnable=self.learn_law)
        return Augmenter(generators, law)

    def _epochs(self, dataset):
        return self.epochs or (30 if dataset.task == "classification" else 20)

    def _batch_size(self, dataset):
        return self.batch_size or (64 if dataset.x.ndim == 4 else 256)

    def _nontrivial(self, augmenter, xb, gx, basis):
        if self.nontrivial == "coverage":
            width = augmenter.law.half_width.clamp(max=self.max_half_width)
            return -(width / self.max_half_width).mean()
        return nontrivial_penalty(xb, gx, basis, self.nontrivial)

    # -- training --------------------------------------------------------------------
    def train_model(self, build, dataset, *, learn_augmenter=False, out=None, progress=False, desc="",
                    hardware=None):
        """Train the model `build(rng)` -> (model, augmenter or None) returns on `dataset`, on
        augmented copies too when there is an augmenter (trained with it when `learn_augmenter`).
        Returns the engine's Run (modules "model" and "augmenter", history)."""
        task = _AugmentedTask(self, dataset, build, learn_augmenter)
        return self.engine(out, progress, hardware).fit(
            task, n_samples=len(dataset.x), batch_size=self._batch_size(dataset), epochs=self._epochs(dataset),
            seed=self.seed, fingerprint=self.fingerprint(dataset), desc=desc)

    def fit(self, dataset: SymmetryDataset, *, out=None, progress: bool = True, hardware=None):
        if dataset.y is None:
            raise UserInputError(f"{dataset.name}: the LieAugmenter learns alongside a task and needs "
                                 f"targets y; this dataset has none (task {dataset.task!r})")
        check_option("nontrivial", self.nontrivial, ["coverage", "cosine", "relative", "norm", "none"])
        start = time.perf_counter()
        run = self.train_model(lambda rng: (make_base_model(self.base_model, dataset, self.hidden),
                                            self.build_augmenter(dataset, rng)),
                               dataset, learn_augmenter=True, out=out, progress=progress,
                               desc=f"augmenter {dataset.name}", hardware=hardware)
        model, augmenter, history = run.modules["model"], run.modules["augmenter"], run.history
        start -= run.previous_seconds
        if run.device.type != "cpu":
            dataset = _on_device(dataset, run.device)
        basis = augmenter.basis().detach().cpu().double()
        half_width = augmenter.law.half_width.detach().cpu()
        eval_rng = torch.Generator(device=run.device).manual_seed(self.seed + 1)
        table = {"LieAugmenter (SEMoLA)": {"test_error": test_error(model, dataset),
                                            **symmetry_error(model, dataset, augmenter, generator=eval_rng)}}
        extras = {"half_width": half_width.tolist(),
                  "coefficient_range": [[-w, w] for w in half_width.tolist()],
                  "test_error": table["LieAugmenter (SEMoLA)"]["test_error"],
                  "error_kind": "classification error" if dataset.task == "classification" else "mean squared error"}
        extras.update({k: v for k, v in table["LieAugmenter (SEMoLA)"].items() if k != "test_error"})
        truth = dataset.ground_truth
        if truth is not None and truth.n == basis.shape[-1]:
            extras["cosine_to_truth"] = [max(float(cosine(b, t)) for t in truth.basis.double()) for b in basis]
        if self.baselines or self.compare_liegan:
            table.update(self._comparisons(dataset, augmenter, half_width, run.device, progress, hardware))
            for row in table.values():
                if "symmetry_error" in row:
                    row.update(row.pop("symmetry_error"))
        extras["table"] = table
        extras["table_markdown"] = _markdown(table, extras["error_kind"])
        self.model_, self.augmenter_ = model, augmenter
        result = self.make_result(basis, dataset, time.perf_counter() - start,
                                  coefficient_law=augmenter.law.describe(), history=history,
                                  action=dataset.x_action().describe(), extras=extras)
        if out is not None:
            self._figures(out, result, truth)
        if progress:
            print(extras["table_markdown"])
        return result

    def _comparisons(self, dataset, augmenter, half_width, device, progress, hardware=None) -> dict:
        """The base model trained without augmentation, with the truth's, with LieGAN's."""
        rows = {}
        eval_rng = lambda: torch.Generator(device=device).manual_seed(self.seed + 1)  # noqa: E731
        candidates = []
        if self.baselines:
            candidates.append(("base model, no augmentation", None))
            truth = dataset.ground_truth
            if truth is not None and truth.n == augmenter.basis().shape[-1]:
                candidates.append(("base model + ground-truth augmentation",
                                   FixedAugmenter(truth.basis, half_width.max().item())))
        if self.compare_liegan:
            liegan_basis = self._liegan_basis(dataset, progress, hardware)
            if liegan_basis is not None:
                candidates.append(("base model + LieGAN augmentation",
                                   FixedAugmenter(liegan_basis, half_width.max().item())))
                rows["_liegan_basis"] = liegan_basis.tolist()
        for name, fixed in candidates:
            run = self.train_model(lambda rng, fixed=fixed: (make_base_model(self.base_model, dataset, self.hidden),
                                                             fixed),
                                   dataset, progress=progress, desc=name, hardware=hardware)
            model = run.modules["model"]
            rows[name] = {"test_error": test_error(model, dataset),
                          "symmetry_error": symmetry_error(model, dataset, augmenter, generator=eval_rng())}
        liegan = rows.pop("_liegan_basis", None)
        if liegan is not None:
            rows["base model + LieGAN augmentation"]["liegan_basis"] = liegan
        return rows

    def _liegan_basis(self, dataset, progress, hardware=None):
        from .liegan import LieGAN

        try:
            method = LieGAN(n_generators=self.n_generators, epochs=self.liegan_epochs or 10, seed=self.seed,
                            device=self.device)
            return method.fit(dataset, progress=progress, hardware=hardware).algebra.basis.detach().float()
        except (UserInputError, ValueError, RuntimeError) as exc:  # LieGAN cannot run on this data
            print(f"augmenter: LieGAN comparison skipped ({exc})")
            return None

    def _figures(self, out, result, truth):
        from ..plots import basis_figure, save_figure

        truth_basis = truth.numpy() if truth is not None and truth.n == result.algebra.n else None
        cos = result.extras.get("cosine_to_truth")
        title = "LieAugmenter basis" + (f" (cosine to truth {', '.join(f'{c:.2f}' for c in cos)})" if cos else "")
        save_figure(basis_figure(result.generators, title=title, truth=truth_basis),
                    Path(out) / "augmenter_generators.png")
        result.extras.setdefault("figures", []).append("augmenter_generators.png")


def _markdown(table: dict, error_kind: str) -> str:
    keys = ["invariance_error", "changed_predictions", "equivariance_error"]
    present = [k for k in keys if any(k in row for row in table.values())]
    lines = [f"| model | test {error_kind} | " + " | ".join(k.replace("_", " ") for k in present) + " |",
             "|---|---:|" + "---:|" * len(present)]
    for name, row in table.items():
        cells = [f"{row[k]:.4g}" if k in row else "-" for k in present]
        lines.append(f"| {name} | {row['test_error']:.4g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _on_device(dataset: SymmetryDataset, device) -> SymmetryDataset:
    moved = copy.copy(dataset)
    for name in ("x", "y", "x_test", "y_test"):
        value = getattr(dataset, name)
        if value is not None:
            setattr(moved, name, value.to(device))
    return moved
