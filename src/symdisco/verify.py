"""Does each found generator hold? Checks that did not take part in the discovery.

Per generator L (scaled to Frobenius norm sqrt 2, like so(2)'s J, in the data's units: D^-1 L D with
D the size of x along each coordinate, so that features orders of magnitude apart neither shrink
a generator's action to nothing nor blow up the random directions'), with g = exp(eps L):

* predictor test (tasks with targets): a small network fitted on the dataset's *test* split
  (discovery saw only the training split) predicts f; the violation is
  mean |f(g x) - g.f(x)|^2 / var f (g.f = f for invariant outputs and class log-probabilities),
  and the ratio compares it with random directions of the same norm. A symmetry has a ratio
  near 0; a spurious generator is about as bad as a random one (ratio near 1).
* judge test: a fresh discriminator (LieGAN.fooling) tells (x, y) from g.(x, y), w ~ N(0, eps^2);
  held-out accuracy about 0.5 means indistinguishable. It also sees the distribution of x,
  which a task's symmetry need not keep (toy jets in the collider frame), so the predictor
  test decides when there is one; for unlabelled data the judge decides.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .lie.algebra import from_data_units, to_data_units
from .lie.sampling import group_elements

RATIO_MAX = 0.25      # a predictor ratio above this flags the generator as spurious
JUDGE_MAX = 0.6       # without targets: a judge accuracy above this flags it


def _normalised(basis: torch.Tensor) -> torch.Tensor:
    if not len(basis):
        return basis
    norms = basis.reshape(len(basis), -1).norm(dim=1).clamp_min(1e-12)
    return basis * (math.sqrt(2.0) / norms)[:, None, None]


def data_scales(result, dataset, n: int) -> torch.Tensor:
    """The size of x along each of the n coordinates generators act on: the result's own
    `feature_scales` if it has them, else the dataset's (ones where they cannot be read)."""
    if result.algebra.scales is not None:
        return result.algebra.scales.double()
    from .errors import UserInputError
    from .methods.closed_form import Scales
    from .methods.liesd import as_blocks

    try:
        blocks = as_blocks(dataset, dataset.x)
    except UserInputError:  # images and other actions: coordinates of one kind
        return torch.ones(n, dtype=torch.float64)
    return Scales.of(blocks).component if blocks.shape[-1] == n else torch.ones(n, dtype=torch.float64)


def fit_heldout_predictor(dataset, steps: int = 600, seed: int = 0):
    """A small network on the test split, in the user's coordinates: x (N, ...) -> outputs (N, O)
    (class log-probabilities for classification), trained through the engine on the CPU."""
    from .methods.derivatives import fit_network, small_mlp

    x = dataset.x_test.reshape(len(dataset.x_test), -1).float()
    x_scale = x.std(0).clamp_min(1e-6)
    if dataset.task == "classification":
        classes = int(max(dataset.y.max(), dataset.y_test.max())) + 1
        model, _ = fit_network(lambda rng: small_mlp(x.shape[1], classes, hidden=64), F.cross_entropy,
                               x / x_scale, dataset.y_test.long(), steps=steps, seed=seed, batch_size=512, lr=3e-3)
        return lambda xs: torch.log_softmax(model(xs.reshape(len(xs), -1).float() / x_scale), dim=-1)
    y = dataset.y_test.reshape(len(dataset.y_test), -1).float()
    y_scale = y.std().clamp_min(1e-6)
    model, _ = fit_network(lambda rng: small_mlp(x.shape[1], y.shape[1], hidden=64), F.mse_loss, x / x_scale,
                           y / y_scale, steps=steps, seed=seed, batch_size=512, lr=3e-3)
    return lambda xs: model(xs.reshape(len(xs), -1).float() / x_scale) * y_scale


def violation(predictor, dataset, generator: torch.Tensor, eps: float) -> float:
    """mean |f(g x) - g.f(x)|^2 / var f on the test inputs, g = exp(eps L)."""
    x = dataset.x_test
    g = torch.linalg.matrix_exp(eps * generator.double()).float()
    action = dataset.x_action()
    with torch.no_grad():
        f = predictor(x)
        f_moved = predictor(action.apply(g, x))
        if dataset.task in ("equivariant", "dynamics"):
            f = action.apply(g, f.reshape(dataset.y_test.shape)).reshape(f.shape)
        return float((f_moved - f).pow(2).mean() / f.var(0).mean().clamp_min(1e-12))


class _FixedSymmetry(nn.Module):
    """g = exp(w L) with w ~ N(0, eps^2): the `symmetry` LieGAN.fooling samples from."""

    def __init__(self, generator: torch.Tensor, eps: float):
        super().__init__()
        self.register_buffer("generator", generator.float())
        self.eps = eps

    def forward(self, batch_size: int, rng: torch.Generator | None = None):
        w = self.eps * torch.randn(batch_size, 1, generator=rng, device=self.generator.device)
        return group_elements(self.generator[None], w), w


def verify(result, dataset, *, eps: float = 0.2, n_random: int = 8, judge_steps: int = 300,
           fit_steps: int = 600, seed: int = 0, judge: bool = True) -> dict:
    """Per-generator checks (see module doc); returns a JSON-ready dict with `flagged` indices."""
    from .methods.liegan import LieGAN

    found = result.algebra.basis.detach().double().cpu()
    n = found.shape[-1] if found.numel() else dataset.x_action().base_dim(dataset.x[:1])  # k = 0: the data's
    s = data_scales(result, dataset, n)
    basis = from_data_units(_normalised(to_data_units(found, s)), s)
    rng = torch.Generator().manual_seed(seed)
    random = from_data_units(_normalised(torch.randn(n_random, n, n, generator=rng, dtype=torch.float64)), s)
    predictor = None if dataset.y is None else fit_heldout_predictor(dataset, fit_steps, seed)
    judge_method = LieGAN(batch_size=256, hidden=64, lr_discriminator=2e-3)
    baseline = {}
    if predictor is not None:
        baseline["violation"] = sorted(violation(predictor, dataset, r, eps) for r in random)[n_random // 2]
    if judge:
        baseline["judge_accuracy"] = judge_method.fooling(_FixedSymmetry(random[0], eps), dataset,
                                                          steps=judge_steps, seed=seed)
    rows = []
    for i, generator in enumerate(basis):
        row = {"generator": i}
        if predictor is not None:
            row["violation"] = violation(predictor, dataset, generator, eps)
            row["ratio"] = row["violation"] / max(baseline["violation"], 1e-12)
        if judge:
            row["judge_accuracy"] = judge_method.fooling(_FixedSymmetry(generator, eps), dataset,
                                                         steps=judge_steps, seed=seed)
        if "ratio" in row:
            row["spurious"] = bool(row["ratio"] > RATIO_MAX)
        else:
            row["spurious"] = bool(row.get("judge_accuracy", 0.5) > JUDGE_MAX)
        rows.append(row)
    flagged = [r["generator"] for r in rows if r["spurious"]]
    return {"eps": eps, "random_directions": n_random, "baseline": baseline, "generators": rows,
            "flagged": flagged, "passed": not flagged,
            "rule": f"spurious when the held-out predictor's violation ratio > {RATIO_MAX} "
                    f"(without targets: judge accuracy > {JUDGE_MAX})"}


def format_report(report: dict) -> str:
    lines = ["| generator | violation | ratio to random | judge accuracy | verdict |", "|---|---|---|---|---|"]
    for row in report["generators"]:
        def cell(key, fmt="{:.3g}"):
            return fmt.format(row[key]) if key in row else "-"
        lines.append(f"| L{row['generator'] + 1} | {cell('violation')} | {cell('ratio')} | "
                     f"{cell('judge_accuracy', '{:.3f}')} | {'SPURIOUS' if row['spurious'] else 'holds'} |")
    base = report["baseline"]
    measured = [f"{label} {fmt.format(base[key])}" for key, label, fmt in
                (("violation", "violation", "{:.3g}"), ("judge_accuracy", "judge accuracy", "{:.3f}"))
                if base.get(key) is not None]
    lines.append("random directions: " + (", ".join(measured) or "-"))  # without targets: no violation
    return "\n".join(lines)
