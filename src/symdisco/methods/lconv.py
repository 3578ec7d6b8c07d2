"""L-conv (Dehmamy et al., NeurIPS 2021) as a discovery method: the symmetry is learned
as the node-space generators ``L_i`` of an L-conv network trained on the task.

* Regression pairs (task "equivariant" or "dynamics", y shaped like x): one L-conv layer
  (by default) maps x to y; with x -> y a small transformation by ``step`` (a dataset's
  ``metadata["step"]``, e.g. the shift of translation-1d), the learned ``eps L W0`` is
  ``g_step - I`` and ``eps L W0 / step`` the generator. The result also checks that
  ``(I + z L / n)^n`` reproduces the finite transformation by ``z = metadata["finite_step"]``
  (default ``20 step``).
* Classification / invariant regression: an ``LConvNet`` (L-conv layers, nonlinearities,
  dense readout) learns the task; the ``L_i`` it shares across layers are the result. The
  paper's comparison with a CNN and an MLP on scrambled pixels is an experiment:
  ``symdisco downstream rotated-digits`` (``symdisco.experiments.digits``).

The generators in the result are ``d x d`` (d = nodes); ``similarity`` is filled in when
the dataset's truth lives on the same nodes, and ``extras["cosine_to_truth"]`` holds
the cosine of each learned generator to it (to the pixel rotation field for images).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..datasets.base import SymmetryDataset
from ..errors import UserInputError
from ..lie.compare import cosine, similarity
from ..models.lconv import LConv, LConvNet, count_parameters, grid_neighbours
from .base import DiscoveryMethod, check_option
from .knobs import Bool, Choice, Float, Int

REGRESSION_TASKS = ("equivariant", "dynamics")


# -- shapes --------------------------------------------------------------------------------

def as_node_features(x: torch.Tensor) -> torch.Tensor:
    """(N, d) -> (N, 1, d); (N, C, d) kept; images (N, C, H, W) -> (N, C, H W)."""
    if x.ndim == 2:
        return x[:, None]
    if x.ndim == 3:
        return x
    if x.ndim == 4:
        return x.flatten(2)
    raise UserInputError(f"L-conv needs inputs (N, nodes), (N, channels, nodes) or images "
                         f"(N, C, H, W); got shape {tuple(x.shape)}")


class _Stack(nn.Module):
    """L-conv layers mapping (B, C, d) -> (B, C_out, d), nonlinear between layers."""

    def __init__(self, nodes, in_channels, out_channels, layers, channels, n_generators,
                 structure, rank, pattern, generator):
        super().__init__()
        from ..models.lconv import NodeGenerators

        shared = NodeGenerators(nodes, n_generators, structure=structure, rank=rank, pattern=pattern,
                                init_scale=1e-2, generator=generator)
        widths = [in_channels] + [channels] * (layers - 1) + [out_channels]
        self.layers = nn.ModuleList(
            LConv(nodes, a, b, generators=shared, bias=layers > 1, generator=generator)
            for a, b in zip(widths[:-1], widths[1:]))
        self.generators = shared
        with torch.no_grad():  # start at the identity map: the generators carry what changes
            for layer in self.layers:
                if layer.in_channels == layer.out_channels:
                    layer.W0.copy_(torch.eye(layer.in_channels))

    def node_generators(self):
        return [self.generators]

    def forward(self, f):
        for i, layer in enumerate(self.layers):
            f = layer(f)
            if i < len(self.layers) - 1:
                f = torch.tanh(f)
        return f


def effective_generators(model: nn.Module) -> torch.Tensor:
    """The learned generators (k, d, d).

    For a one-layer, one-channel map the layer is the linear map ``Q = W0 (I + sum_i eps^i L_i)``
    and the transformation it learned is ``Q - I``: returned (as one generator) when k = 1,
    so that an identity part shared between ``W0`` and ``L`` does not count. Otherwise the
    ``L_i`` themselves.
    """
    gens = model.node_generators()[0]
    L = gens.matrices().detach()
    layers = getattr(model, "layers", [])
    if len(layers) == 1 and layers[0].in_channels == 1 and layers[0].out_channels == 1 and gens.k == 1:
        layer = layers[0]
        w0, eps = layer.W0[0, 0].detach(), layer.eps[0, 0, 0].detach()
        eye = torch.eye(L.shape[-1], dtype=L.dtype, device=L.device)
        return (w0 * (eye + eps * L[0]) - eye)[None]
    return L


# -- training a classifier -----------------------------------------------------------------

def train_classifier(build, x, y, x_test, y_test, *, epochs, batch_size=64, lr=3e-3, weight_decay=0.0,
                     seed=0, progress=False, hardware=None, desc=""):
    """Adam on cross entropy through the engine (no checkpoints); returns (test accuracy, train accuracy).

    `build(rng)` makes the model inside the engine, where layers that draw their initial weights
    from torch's global RNG draw them from `seed`: a model built outside gets whatever that RNG
    holds, which differs from process to process."""
    from ..training import Engine, SupervisedTask, default_hardware

    task = SupervisedTask(build, F.cross_entropy, x, y, lr=lr, weight_decay=weight_decay)
    run = Engine(hardware or default_hardware("cpu"), progress=progress).fit(
        task, n_samples=len(x), batch_size=batch_size, epochs=epochs, seed=seed, desc=desc)
    model = run.modules["model"]
    return accuracy(model, x_test.to(run.device), y_test.to(run.device)), \
        accuracy(model, x.to(run.device), y.to(run.device))


@torch.no_grad()
def accuracy(model, x, y, batch_size=512) -> float:
    model.eval()
    correct = sum((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
                  for i in range(0, len(x), batch_size))
    return correct / max(1, len(x))


def sparse_pattern(nodes: int, image_shape=None, radius: int = 1):
    """Neighbours on the image grid when the nodes are pixels, else on a periodic chain."""
    if image_shape is not None and int(np.prod(image_shape)) == nodes:
        return grid_neighbours(int(image_shape[-2]), int(image_shape[-1]), radius=radius)
    return grid_neighbours(nodes, 0, radius=radius, periodic=True)


def _lconv_classifier(nodes, in_channels, classes, method, generator, image_shape=None):
    pattern = sparse_pattern(nodes, image_shape) if method.structure == "sparse" else None
    return LConvNet(nodes, in_channels, method.channels or 8, classes, n_layers=method.layers or 2,
                    n_generators=method.n_generators, structure=method.structure, rank=method.rank,
                    pattern=pattern, readout="flatten", generator=generator)


# -- finite transformations from a learned generator ---------------------------------------

def power_approximation(generator: torch.Tensor, z: float, n: int) -> torch.Tensor:
    """``(I + z L / n)^n`` (tends to ``exp(z L)``)."""
    eye = torch.eye(generator.shape[-1], dtype=generator.dtype)
    return torch.linalg.matrix_power(eye + z * generator / n, n)


def smooth_test_signals(d: int, count: int = 8, seed: int = 0, max_frequency: int | None = None):
    """Band-limited random signals (d,) as rows, frequencies up to d/4 by default."""
    rng = np.random.default_rng(seed)
    top = max_frequency or max(1, d // 4)
    p = np.arange(1, top + 1)
    x = np.arange(d)
    a, b = rng.standard_normal((count, top)), rng.standard_normal((count, top))
    angle = 2 * np.pi * np.outer(p, x) / d
    return torch.as_tensor(a @ np.cos(angle) + b @ np.sin(angle))


def finite_transformation_check(learned: torch.Tensor, truth: torch.Tensor, z: float,
                                signals: torch.Tensor, powers=(4, 8, 16, 64)) -> dict:
    """Relative error of ``(I + z L / n)^n f`` (and ``exp(z L) f``) against ``exp(z L_true) f``."""
    learned, truth, signals = learned.double(), truth.double(), signals.double()
    target = signals @ torch.linalg.matrix_exp(z * truth).T

    def error(matrix):
        return float((signals @ matrix.T - target).norm() / target.norm())

    report = {"z": z, "power_errors": {str(n): error(power_approximation(learned, z, n)) for n in powers}}
    report["exp_error"] = error(torch.linalg.matrix_exp(z * learned))
    report["true_power_errors"] = {str(n): error(power_approximation(truth, z, n)) for n in powers}
    return report


# -- the method ----------------------------------------------------------------------------

class LConvMethod(DiscoveryMethod):
    """Learn the node-space Lie algebra with an L-conv network; see the module docstring."""

    name = "lconv"
    CLI_OPTIONS = {
        "layers": (int, "L-conv layers (default: 1 for regression pairs, 2 for classification)"),
        "channels": (int, "hidden channels per node (default 8)"),
        "structure": (str, "L-conv generators: dense, low_rank, sparse (grid neighbours)"),
        "rank": (int, "L-conv low_rank: rank of each generator"),
        "lr": (float, "learning rate"),
    }

    standardization = "global"  # its generators act on nodes: only a scalar scale commutes for sure
    KNOBS = {
        "n_generators": Int(1), "layers": Int(1, optional=True), "channels": Int(1, optional=True),
        "structure": Choice("dense", "low_rank", "sparse"), "rank": Int(1), "epochs": Int(1, optional=True),
        "batch_size": Int(1), "lr": Float(0, strict=True), "weight_decay": Float(0),
        "seed": Int(), "device": Choice("cpu", "cuda", "mps", "auto"),
        "checkpoint_every": Int(1), "standardize": Bool(),
    }

    def __init__(self, n_generators: int = 1, *, layers: int | None = None, channels: int | None = None,
                 structure: str = "dense", rank: int = 16, epochs: int | None = None,
                 batch_size: int = 64, lr: float = 3e-3, weight_decay: float = 0.0,
                 seed: int = 0, device: str = "cpu",
                 checkpoint_every: int = 10, standardize: bool = True):
        self.n_generators = n_generators
        self.layers = layers
        self.channels = channels
        self.structure = structure
        self.rank = rank
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed
        self.device = device
        self.checkpoint_every = checkpoint_every
        self.standardize = standardize

    # -- helpers ---------------------------------------------------------------------
    def _truths(self, dataset: SymmetryDataset, nodes: int):
        """(name, (m, d, d) tensor) references on the nodes, or None."""
        truth = dataset.ground_truth
        if truth is not None and truth.n == nodes:
            return truth.name or "ground truth", truth.basis.double()
        from ..datasets.images import pixel_rotation_generator

        field = pixel_rotation_generator(dataset)
        if field is not None and field.shape[0] == nodes:
            return "pixel rotation field", torch.as_tensor(field)[None]
        return None

    def fit(self, dataset: SymmetryDataset, *, out=None, progress: bool = True,
            hardware=None) -> "SymmetryResult":  # noqa: F821
        check_option("structure", self.structure, ["dense", "low_rank", "sparse"])
        if dataset.y is None:
            raise UserInputError(f"{dataset.name}: L-conv learns the symmetry from a task and needs "
                                 f"targets y; this dataset has none (task {dataset.task!r})")
        start = time.perf_counter()
        if dataset.task == "classification":
            return self._fit_classifier(dataset, out, progress, start, hardware)
        return self._fit_regression(dataset, out, progress, start, hardware)

    def _train(self, build, loss_fn, x, y, dataset, out, progress, hardware):
        """Adam on `loss_fn` through the engine; returns the engine's Run (model, history, seconds)."""
        from ..training import SupervisedTask

        epochs = self.epochs or (30 if dataset.task == "classification" else 60)
        task = SupervisedTask(build, loss_fn, x, y, lr=self.lr, weight_decay=self.weight_decay)
        return self.engine(out, progress, hardware).fit(
            task, n_samples=len(x), batch_size=self.batch_size, epochs=epochs, seed=self.seed,
            fingerprint=self.fingerprint(dataset), desc=f"lconv {dataset.name}")

    def _result(self, generators, dataset, start, history, extras, truths):
        extras = dict(extras)
        if truths is not None:
            name, truth = truths
            per = [max(float(cosine(gen, t)) for t in truth) for gen in generators.double()]
            extras["cosine_to_truth"] = per
            extras["truth_compared"] = name
            extras["similarity_to_truth_span"] = float(similarity(generators.double(), truth))
        result = self.make_result(generators, dataset, time.perf_counter() - start, history=history,
                                  action={"action": "nodes", "nodes": int(generators.shape[-1])},
                                  extras=extras)
        if result.similarity is not None and "cosine_to_truth" in extras:
            # for one generator the span similarity is cos^2; report the cosine itself as well
            result.extras["similarity_kind"] = "principal angles (cos^2 for one generator)"
        return result

    # -- regression pairs ------------------------------------------------------------------
    def _fit_regression(self, dataset, out, progress, start, hardware):
        x, y = as_node_features(dataset.x), dataset.y
        if y.numel() != dataset.x.numel():
            raise UserInputError(f"{dataset.name}: L-conv maps inputs to outputs on the same nodes; "
                                 f"x has shape {tuple(dataset.x.shape)} but y {tuple(y.shape)}")
        y = y.reshape(x.shape[0], -1, x.shape[-1])
        nodes = x.shape[-1]
        pattern = (sparse_pattern(nodes, dataset.metadata.get("image_shape"), radius=2)
                   if self.structure == "sparse" else None)
        run = self._train(lambda rng: _Stack(nodes, x.shape[1], y.shape[1], self.layers or 1, self.channels or 8,
                                             self.n_generators, self.structure, self.rank, pattern, rng),
                          F.mse_loss, x, y, dataset, out, progress, hardware)
        model, history, device, start = run.modules["model"], run.history, run.device, start - run.previous_seconds
        with torch.no_grad():
            x_test = as_node_features(dataset.x_test).to(device)
            y_test = dataset.y_test.reshape(x_test.shape[0], -1, nodes).to(device)
            test_mse = F.mse_loss(model(x_test), y_test).item()
            baseline = F.mse_loss(x_test, y_test).item() if x_test.shape == y_test.shape else None
        generators = effective_generators(model).cpu().double()
        step = dataset.metadata.get("step")
        extras = {"test_mse": test_mse, "identity_mse": baseline, "parameters": count_parameters(model),
                  "nodes": nodes}
        if step and (self.layers or 1) == 1 and x.shape[1] == 1:
            generators = generators / float(step)  # (g_step - I) / step -> the generator
            extras["step"] = float(step)
        truths = self._truths(dataset, nodes)
        figures = {}
        if truths is not None and step and generators.shape[0] == 1:
            truth = truths[1][0]
            sign = float(torch.sign((generators[0] * truth).sum())) or 1.0
            scale = float((generators[0] * truth).sum() / (truth * truth).sum())
            extras["scale_to_truth"] = scale
            z = float(dataset.metadata.get("finite_step", 20.0 * float(step)))
            if dataset.name == "translation-1d" or dataset.metadata.get("image_shape") is None:
                signals = smooth_test_signals(nodes, seed=self.seed)
            else:
                signals = as_node_features(dataset.x_test[:8]).reshape(-1, nodes).double()
            extras["finite_transformation"] = finite_transformation_check(generators[0], truth, z, signals)
            figures["signals"] = (signals[0], z, generators[0], truth, sign)
        result = self._result(generators, dataset, start, history, extras, truths)
        self.model_ = model
        if out is not None:
            self._figures(out, result, truths, figures)
        return result

    # -- classification --------------------------------------------------------------------
    def _fit_classifier(self, dataset, out, progress, start, hardware):
        x = as_node_features(dataset.x)
        classes = int(max(dataset.y.max(), dataset.y_test.max())) + 1
        run = self._train(lambda rng: _lconv_classifier(x.shape[-1], x.shape[1], classes, self, rng,
                                                        dataset.metadata.get("image_shape")),
                          F.cross_entropy, x, dataset.y, dataset, out, progress, hardware)
        model, history, device, start = run.modules["model"], run.history, run.device, start - run.previous_seconds
        x, x_test = x.to(device), as_node_features(dataset.x_test).to(device)
        extras = {"accuracy": accuracy(model, x_test, dataset.y_test.to(device)),
                  "train_accuracy": accuracy(model, x, dataset.y.to(device)),
                  "parameters": count_parameters(model), "nodes": int(x.shape[-1])}
        generators = model.node_generators()[0].matrices().detach().cpu().double()
        truths = self._truths(dataset, x.shape[-1])
        result = self._result(generators, dataset, start, history, extras, truths)
        self.model_ = model
        if out is not None:
            self._figures(out, result, truths, {})
        return result

    # -- figures ---------------------------------------------------------------------------
    def _figures(self, out, result, truths, figures):
        from ..plots import save_figure
        import matplotlib.pyplot as plt

        out = Path(out)
        learned = result.generators
        truth = truths[1].numpy() if truths is not None else None
        k = len(learned)
        rows = 1 + (truth is not None)
        fig, axes = plt.subplots(rows, k + (truth is not None and len(truth) > k), squeeze=False,
                                 figsize=(3.2 * max(k, 1) + 0.5, 3.2 * rows))
        for i, m in enumerate(learned):
            lim = float(np.abs(m).max()) or 1.0
            axes[0, i].imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
            cos = result.extras.get("cosine_to_truth", [None] * k)[i]
            axes[0, i].set_title(f"learned L{i + 1}" + (f" (cos {cos:.2f})" if cos is not None else ""), fontsize=9)
        if truth is not None:
            for i, m in enumerate(truth):
                lim = float(np.abs(m).max()) or 1.0
                axes[1, i].imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
                axes[1, i].set_title(truths[0], fontsize=9)
        for ax in axes.flat:
            ax.set_xticks([]), ax.set_yticks([])
            if not ax.images:
                ax.axis("off")
        fig.tight_layout()
        save_figure(fig, out / "lconv_generators.png")
        result.extras.setdefault("figures", []).append("lconv_generators.png")
        if "signals" in figures and result.dataset == "translation-1d":
            signal, z, gen, true, _ = figures["signals"]
            fig, axes = plt.subplots(1, 3, figsize=(12, 3))
            target = torch.linalg.matrix_exp(z * true) @ signal
            for ax, n in zip(axes, (4, 8, 16)):
                ax.plot(signal.numpy(), "k:", label="f")
                ax.plot(target.numpy(), "k-", label=f"shift by {z:g}")
                ax.plot((power_approximation(gen, z, n) @ signal).numpy(), "r--",
                        label=f"(I + zL/n)^n, n={n}")
                ax.set_title(f"n = {n}", fontsize=9)
                ax.legend(fontsize=7)
            fig.tight_layout()
            save_figure(fig, out / "shift_approximation.png")
            result.extras["figures"].append("shift_approximation.png")
