"""LieSD-style closed-form discovery (Hu, Li, Lin 2025; cf. LieGG, Moskalev et al. 2022).

A function f is invariant under the flow of the linear vector field L x exactly when
grad f(x) . (L x) = 0 everywhere, and equivariant when J_f(x) L x = L f(x). Both are linear in
L: stacked over the data they form one matrix whose (near) null space is the whole algebra,
found by one SVD, with the gap in its singular values saying how many generators there are.
The derivatives come from a small network fitted here, a user's predictor or local linear
fits; the algebra (see `closed_form`) is the same for all of them.
"""
from __future__ import annotations

import copy
import math
import time
import warnings

import numpy as np
import torch

from ..datasets.base import SymmetryDataset
from ..errors import UserInputError
from ..lie.affine_fields import describe_affine
from . import closed_form as cf
from . import derivatives as dv
from . import drift
from . import liesd_images as images
from .fit_check import held_out_score, weak_fit_message, dilation_message
from .base import DiscoveryMethod, check_option
from .knobs import Anything, Choice, Float, Int

SOURCES = ("auto", "polynomial", "mlp", "neighbours")
POLYNOMIAL_TASKS = ("invariant", "equivariant", "dynamics")
POLYNOMIAL_FLOPS = 2e9
"""Budget (samples x features^2) of the polynomial least-squares solve: all data while it fits."""
POLYNOMIAL_FALLBACK = 0.99
"""Held-out R^2 of an "auto" polynomial fit below which a network is fitted too (the better one is kept).
Why this high: what a polynomial misses may be a whole dependence hidden under a well-fitted one
(sin(x1^2 + x2^2) + x3^2 + x4^2: a quartic explains 0.948, reads the sine's small remainder as
no dependence and gives 9 generators; a network explains 0.992 and gives the right 2)."""
FALLBACK_FIT_STEPS = 2000
"""Optimiser steps of that network: enough for a saturating target the default 400 leave underfitted."""
FIT_STEPS = 400
IMAGE_FIT_STEPS = 1000
"""Default optimiser steps of the fitted network; images (hundreds of pixels in) need more for
derivatives that hold along the fields (the translations of blob-images, 3 seeds: singular values
0.045-0.062 of the largest at 1000 steps, 0.075-0.102, at the tolerance 0.1, at 400)."""
MIN_EPOCHS = 80
MAX_DEFAULT_STEPS = 8000
"""The default budget follows the data: at least MIN_EPOCHS passes over it (never fewer than the
steps above, never more than MAX_DEFAULT_STEPS). Why: a fixed 400 steps are 100 passes over
4,000 samples but 4 over 100,000 collider-frame jets, whose classifier then reaches 0.85 held-out
accuracy and shows no symmetry (k = 0); 80 passes give 0.99 and so(1,3)."""


def default_fit_steps(samples: int, batch_size: int, floor: int) -> int:
    """Optimiser steps of a fit on `samples` when the user gave none (MIN_EPOCHS)."""
    per_epoch = -(-samples // batch_size)
    return max(floor, min(MAX_DEFAULT_STEPS, MIN_EPOCHS * per_epoch))


MAX_FULL_DIM = 32
"""Largest base space searched in full: gl(n) has n^2 directions and equivariant constraints n^3 rows."""


DATA_SPAN_RTOL = 1e-6
"""Singular values of the stacked samples below this share of the largest: directions x never takes."""


def within_data_span(basis: torch.Tensor, blocks: torch.Tensor, affine: bool = False) -> tuple[torch.Tensor, int]:
    """The search space (p, n, n) cut down to generators acting within the span U of the samples
    (blocks (A, M, n)), P L P with P the projector onto U; and how many directions that drops.
    `affine`: within the samples' affine hull too, P_V L P_U with V the span of the samples
    minus their mean (a feature that is 1 in every sample: L may not change it).

    Why: where x never leaves U (a feature that is always zero, or a repeated combination of the
    others), a generator that vanishes on U moves no sample, and one that moves samples out of U
    moves them where the predictor never saw data and its derivative is whatever the fit left
    (zero, for a least-squares fit); every task would seem kept by both. A distribution on U is
    not kept by a map that moves its samples off U, and its score off U is only the smoothing
    noise's. The same holds off an affine hull (x3 = 1 in every sample): the flow of L keeps it
    exactly when L maps U into V. (For equivariant tasks the blocks hold the outputs too: L
    acts on them; their linear span only is used.)
    """
    flat = blocks.reshape(-1, blocks.shape[-1]).to(basis.dtype)
    onto_u = _span_projector(flat)
    onto_v = _span_projector(flat - flat.mean(0)) if affine else onto_u
    if onto_u is None and onto_v is None:
        return basis, 0
    cut = basis if onto_v is None else onto_v @ basis
    cut = cf.orthonormal_span(cut if onto_u is None else cut @ onto_u, rtol=1e-8)
    return cut, len(basis) - len(cut)


def _span_projector(rows: torch.Tensor) -> torch.Tensor | None:
    """The projector onto the span of `rows` (N, n), or None when they span all of R^n."""
    _, values, vt = torch.linalg.svd(rows, full_matrices=False)
    span = vt[values > DATA_SPAN_RTOL * values.max().clamp_min(1e-300)]             # (r, n)
    return None if len(span) == rows.shape[-1] else span.T @ span


UNSURE_GAP = 2.0
"""With k = 0 chosen, a gap of at least this (below `min_gap`) among the candidate values is
reported as a doubt when the values below it sit at the noise floor of the independent fits
(AT_NOISE_FLOOR): the spectrum leans towards a symmetry it does not show clearly. (SO(3) on two
vectors, 6,000 samples: gap 2.3 after 3 values at 1.3-1.6x their floor; a random tanh network,
no symmetry: gap 2.4 after 8 values at 4.7-11x.)"""
AT_NOISE_FLOOR = 2.5


def unclear_gap_message(extras: dict, min_gap: float) -> str | None:
    """The warning when no symmetry was reported but a gap close to `min_gap` follows values at the
    fits' noise floor, or None. Each gap of at least UNSURE_GAP is looked at (the largest such one
    wins), not only the clearest of the spectrum: that one can sit among values a fit reads as
    dependences (three 2-vectors, y = p1.p2 + sin(p1 x p3) + |p2|^2, 30,000 samples: 2.4 after 25
    values at 2-20x their floor, while the two symmetries' values, at 1.1-1.3x, end in a gap of 2.3)."""
    gap, values = extras.get("gap"), np.asarray(extras.get("singular_values") or [])
    if (extras.get("k_forced") or extras.get("chosen_k") or gap is None or gap < UNSURE_GAP or len(values) < 2
            or extras.get("dilation_left_out")):   # k = 0 because the dilation was: `drift_message` says why
        return None
    ratios = np.maximum(values[1:], cf.EXACT_ZERO) / np.maximum(values[:-1], cf.EXACT_ZERO)
    noise = extras.get("noise")
    if noise is None:
        at_floor = np.ones(len(ratios), dtype=bool)
    else:
        multiple = values[:-1] / np.maximum(np.asarray(noise[:-1]), 1e-300)
        at_floor = np.maximum.accumulate(multiple) <= AT_NOISE_FLOOR        # every value up to k at its floor
    unsure = [(ratios[i], i + 1) for i in range(len(ratios)) if at_floor[i] and UNSURE_GAP <= ratios[i] <= gap]
    if not unsure:
        return None
    ratio, k = max(unsure)
    where = "in the spectrum" if ratio == gap else "after values at the fits' noise floor"
    return (f"liesd: no symmetry reported, but not surely: the clearest gap {where} is {ratio:.1f} after {k} "
            f"value(s) (--min-gap {min_gap:g}); more data or --generators {k} if the task suggests it")


def fits_disagree_message(tried: list, kept: str) -> str | None:
    """The warning when the polynomial and the network read different dimensions, or None."""
    ks = {t["derivatives"]: t["chosen_k"] for t in tried}
    if len(set(ks.values())) < 2:
        return None
    other = "mlp" if kept == "polynomial" else "polynomial"
    return (f"liesd: the dimension is not sure: derivatives from the {kept} fit give k = {ks[kept]}, from the "
            f"{other} fit k = {ks[other]} (held-out R^2 in derivatives_tried); kept the {kept}, "
            f"--derivatives {other} gives the other")


def invisible_message(name: str, count: int | None) -> str | None:
    if not count:
        return None
    return (f"liesd: {name}: x spans fewer dimensions than it has features (one is zero or constant, or a fixed "
            f"linear combination of the others, in every sample): the search keeps to generators acting within "
            f"that span; {count} direction(s) that move no sample or move samples out of it, which no data can "
            f"judge, are left out")


def check_target_varies(dataset: SymmetryDataset, y) -> None:
    """A constant target (one class) is kept by every transformation: there is nothing to find."""
    if y is None or dataset.task not in ("invariant", "classification") or len(y) < 2:
        return
    flat = y.reshape(len(y), -1)
    if not bool((flat != flat[:1]).any()):
        what = "one class" if dataset.task == "classification" else "the same target"
        raise UserInputError(f"{dataset.name}: every sample has {what}; every transformation keeps a constant, "
                             "so it shows no symmetry (check --y-key)")


def as_blocks(dataset: SymmetryDataset, x: torch.Tensor) -> torch.Tensor:
    """x in the dataset's layout -> (N, M, n): the M blocks the base-space generator acts on."""
    if dataset.action == "vector":
        return x.reshape(len(x), 1, -1)
    if dataset.action == "blocks":
        b = int(dataset.action_options.get("block_dim", 2))
        if x.shape[-1] % b:
            raise UserInputError(f"{dataset.name}: {x.shape[-1]} features are not a multiple of block_dim {b}")
        return x.reshape(len(x), -1, b)
    if dataset.action == "points":
        return x.reshape(len(x), x.shape[1], x.shape[2])
    raise UserInputError(f"{dataset.name}: method liesd does not handle the {dataset.action!r} action")


class LieSD(DiscoveryMethod):
    """Closed-form discovery: derivatives, linear constraints on L, one SVD, dimension from the gap.

    n_generators: None chooses k from the spectrum (k = 0, no symmetry, is a valid answer);
    an integer forces k. derivatives: "mlp" (a small network fitted here; for unlabelled data
    a score network by denoising score matching) or "neighbours" (local linear fits, no
    training). predictor: a fitted torch module or callable x -> y (or class logits, or the
    score for unlabelled data), in the dataset's layout; used instead of fitting one.
    parameterization: "auto"/"full"/"blocks" (all of gl(n) on the base space the action acts on),
    "affine" (images, and what "auto" means for them: the six affine vector fields of the pixel
    plane, 3 x 3 homogeneous generators; see `liesd_images`) or "subspace" with `span` (m, n, n).
    tolerance, min_gap: the dimension rule (`closed_form.solve`).
    """

    name = "liesd"
    standardization = "none"  # its own, finer one (closed_form.Scales); a user's predictor needs user coordinates
    CLI_OPTIONS = {
        "derivatives": (str, "liesd: where derivatives come from: auto (polynomial for regression on few inputs, else mlp), "
                         "polynomial (least squares, no training loop), mlp (fitted here) or neighbours (local fits)"),
        "degree": (int, "liesd: degree of the polynomial fit (default: 3, or 2 on many inputs)"),
        "max_samples": (int, "liesd: samples whose constraints are stacked"),
        "fit_steps": (int, "liesd: optimiser steps of the fitted network (default: 80 passes over the data, "
                                "at least 400 (1000 on images), at most 8000)"),
        "fit_samples": (int, "liesd: samples the network is fitted on (default: all)"),
        "n_fits": (int, "liesd: independent fits (their mean gives the derivatives, their spread the noise floor)"),
        "tolerance": (float, "liesd: normalised singular values above this are never symmetries"),
        "min_gap": (float, "liesd: smallest ratio of singular values that separates symmetries"),
    }

    KNOBS = {
        "n_generators": Int(0, optional=True), "derivatives": Choice(*SOURCES), "predictor": Anything(),
        "parameterization": Choice("auto", "full", "blocks", "affine", "subspace"), "span": Anything(),
        "max_samples": Int(1), "fit_samples": Int(1, optional=True), "fit_steps": Int(1, optional=True),
        "epochs": Int(1, optional=True),
        "hidden": Int(1), "layers": Int(1), "lr": Float(0, strict=True), "batch_size": Int(1), "n_fits": Int(1),
        "score_noise": Float(0, strict=True), "n_neighbours": Int(2, optional=True), "degree": Int(1, optional=True),
        "tolerance": Float(0, 1, strict=True), "min_gap": Float(1), "seed": Int(),
        "device": Choice("cpu", "cuda", "mps", "auto"),
    }

    def __init__(self, n_generators: int | None = None, *, derivatives: str = "auto", predictor=None,
                 parameterization: str = "auto", span=None, max_samples: int = 2000, fit_samples: int | None = None,
                 fit_steps: int | None = None, epochs: int | None = None, hidden: int = 64, layers: int = 2,
                 lr: float = 1e-2, batch_size: int = 1000,
                 n_fits: int = 2, score_noise: float = 0.1, n_neighbours: int | None = None, degree: int | None = None,
                 tolerance: float = cf.NULL_TOLERANCE, min_gap: float = cf.MIN_GAP,
                 seed: int = 0, device: str = "cpu"):
        self.n_generators = n_generators
        self.derivatives = derivatives
        self.predictor = predictor
        self.parameterization = parameterization
        self.span = span
        self.max_samples = max_samples
        self.fit_samples = fit_samples
        self.fit_steps = fit_steps
        self.epochs = epochs
        self.hidden = hidden
        self.layers = layers
        self.lr = lr
        self.batch_size = batch_size
        self.n_fits = n_fits
        self.score_noise = score_noise
        self.n_neighbours = n_neighbours
        self.degree = degree
        self.tolerance = tolerance
        self.min_gap = min_gap
        self.seed = seed
        self.device = device

    # -- derivatives in standardised coordinates -------------------------------------
    def _targets(self, dataset, y, scales_y):
        """Standardised targets: invariant outputs per output, equivariant ones like x."""
        if dataset.task == "classification":
            return y.long()
        y = y.double().reshape(len(y), -1)
        if dataset.task in ("equivariant", "dynamics"):
            return scales_y.standardise(as_blocks(dataset, y.reshape(len(y), *dataset.y.shape[1:]))
                                        ).reshape(len(y), -1)
        return (y - self.y_mean_) / self.y_std_

    @staticmethod
    def _increments(dataset) -> bool:
        """Fit y - x instead of y for maps close to the identity (the next state of a trajectory).

        The identity is equivariant under every L, so f and f - id obey the same constraints,
        but the network then spends its accuracy on the part that tells symmetries apart.
        """
        if dataset.task not in ("equivariant", "dynamics") or dataset.y.shape != dataset.x.shape:
            return False
        return bool((dataset.y - dataset.x).pow(2).mean() < 0.25 * dataset.y.pow(2).mean())

    def _fitted(self, dataset, z, targets, generator, seed):
        """A small network fitted on (z, targets) through the engine; for unlabelled data, a score network."""
        augment = None
        if dataset.task == "unsupervised":
            outputs, score = z.shape[1], dv.DenoisingScore(self.score_noise)
            loss, augment = score.loss, score.augment
        elif dataset.task == "classification":
            outputs, loss = int(dataset.y.max()) + 1, torch.nn.functional.cross_entropy
        else:
            outputs, loss = targets.shape[1], torch.nn.functional.mse_loss
        idx = torch.randperm(len(z), generator=generator)[:self.fit_samples]
        fit_targets = None if targets is None else targets[idx] if targets.dtype == torch.long else targets[idx].float()
        steps = self.fit_steps or default_fit_steps(len(idx), self.batch_size,
                                                    IMAGE_FIT_STEPS if dataset.action == "image" else FIT_STEPS)
        if self.epochs is not None:
            steps = self.epochs * -(-len(idx) // self.batch_size)
        model, self.fit_losses_ = dv.fit_network(
            lambda rng: dv.small_mlp(z.shape[1], outputs, self.hidden, self.layers), loss, z[idx].float(),
            fit_targets, steps=steps, lr=self.lr, batch_size=self.batch_size, seed=seed, augment=augment,
            engine=self.engine(None, False, self.hardware_))
        if dataset.task == "classification":
            return lambda zb: torch.log_softmax(model(zb.float()), dim=-1).double()
        return lambda zb: model(zb.float()).double()

    def _user_predictor(self, dataset, scales_x, scales_y):
        """The user's predictor seen in standardised coordinates (z in, standardised y out)."""
        shape = dataset.x.shape[1:]
        x_factor = (scales_x.block[:, None] * scales_x.component[None, :]).reshape(-1)
        predictor = self.predictor

        def fn(z):
            out = torch.as_tensor(predictor((z * x_factor).reshape(len(z), *shape).to(torch.float32)))
            out = out.to(z.dtype).reshape(len(z), -1)
            if dataset.task == "classification":
                return torch.log_softmax(out, dim=-1)
            if dataset.task in ("equivariant", "dynamics"):
                return scales_y.standardise(out.reshape(len(z), -1, scales_y.component.numel())).reshape(len(z), -1)
            if dataset.task == "unsupervised":  # a score is a gradient: d/dz = x_factor * d/dx
                return out * x_factor
            return out / self.y_std_
        return fn

    def _source(self, dataset, d_in: int) -> tuple[str, int | None]:
        """Which derivative source "auto" means here, and the polynomial degree.

        A polynomial fit (one linear solve) for regression targets on few inputs; the network
        for classes, scores and inputs too many for a degree-2 polynomial.
        """
        degree = self.degree or dv.polynomial_degree(d_in)
        if self.derivatives == "polynomial":
            if dataset.task not in POLYNOMIAL_TASKS:
                raise UserInputError(f"derivatives 'polynomial' fits regression targets; the {dataset.task} task "
                                     "needs mlp")
            if degree is None:
                raise UserInputError(f"{d_in} inputs are too many for a polynomial fit; use derivatives mlp")
            return "polynomial", degree
        if self.derivatives == "auto":
            return ("polynomial", degree) if dataset.task in POLYNOMIAL_TASKS and degree else ("mlp", None)
        return self.derivatives, None

    @staticmethod
    def _pick_degree(degrees, spectra):
        """Among polynomial fits of several degrees: of those whose spectrum shows a symmetry, the
        one with the fewest generators (ties: the clearer gap); with k forced, the clearest gap at k.

        Why: a low degree can have more symmetry than the target (a cubic fit of SO(3) on two
        vectors is kept by so(3,3)), while a high one can lose a real symmetry when the data's
        law is not symmetric (boosts of Gaussian points: k = 0 at degree 4).
        """
        pairs = list(zip(degrees, spectra))
        if spectra[0].forced:
            return max(pairs, key=lambda pair: pair[1].gap or 0.0)
        showing = [pair for pair in pairs if pair[1].k > 0]
        if not showing:
            return pairs[-1]
        return min(showing, key=lambda pair: (pair[1].k, -(pair[1].gap or 0.0)))

    def _polynomial_fits(self, z, targets, anchors, generator, degree: int) -> tuple[list, list]:
        """One polynomial per disjoint part of the data (n_fits parts): their mean gives the
        derivatives, their disagreement the noise floor, as with the networks. Uses all the data
        while the solve stays within POLYNOMIAL_FLOPS."""
        features = math.comb(z.shape[1] + degree, degree)
        parts = max(1, self.n_fits)
        budget = max(int(POLYNOMIAL_FLOPS / features ** 2), 2 * features) * parts
        idx = torch.randperm(len(z), generator=generator)[:budget]
        polynomials = [dv.polynomial_predictor(z[part], targets[part], degree) for part in idx.chunk(parts)]
        return [poly.values_and_jacobian(anchors) for poly in polynomials], polynomials

    def _derivatives(self, dataset, z, targets, anchors, generator, scales_x, scales_y,
                     degree=None) -> tuple[list, list]:
        """([(values (A, O), Jacobians (A, O, D))] at the anchors, one pair per independent fit;
        the predictors fitted here, to score on held-out data: none for a user's predictor or
        neighbour fits)."""
        if self.predictor is not None:
            fn = self._user_predictor(dataset, scales_x, scales_y)
            try:
                return [dv.jacobian(fn, anchors)], []
            except RuntimeError:  # not differentiable by autograd (e.g. numpy inside)
                return [dv.finite_difference_jacobian(fn, anchors)], []
        source, auto_degree = self._source(dataset, z.shape[1])
        if source == "polynomial":
            return self._polynomial_fits(z, targets, anchors, generator, degree or auto_degree)
        if self.derivatives == "neighbours":
            if dataset.task == "unsupervised":
                raise UserInputError("derivatives 'neighbours' needs targets; for unlabelled data use mlp")
            if dataset.task == "classification":
                targets = torch.nn.functional.one_hot(targets, int(dataset.y.max()) + 1).double()
            return [dv.neighbour_fits(z, targets, anchors, self.n_neighbours)], []
        predictors = [self._fitted(dataset, z, targets, generator, self.seed + 7919 * i) for i in range(self.n_fits)]
        return [dv.jacobian(fn, anchors) for fn in predictors], predictors

    def _held_out(self, dataset, predictors, scales_x, scales_y, increments) -> dict | None:
        """The predictors' score on (up to max_samples of) the dataset's test split (`fit_check`);
        None without one."""
        if not predictors or dataset.y_test is None or dataset.task == "unsupervised" or not len(dataset.x_test):
            return None
        idx = torch.randperm(len(dataset.x_test), generator=torch.Generator().manual_seed(self.seed))[:self.max_samples]
        x_test, y_test = dataset.x_test[idx], dataset.y_test[idx]
        if dataset.action == "image":  # one global scale (`_fit_images`)
            z_test = x_test.double().reshape(len(x_test), -1) / scales_x.block
        else:
            z_test = scales_x.standardise(as_blocks(dataset, x_test)).reshape(len(x_test), -1)
        y_test = y_test - x_test if increments else y_test
        return held_out_score(dataset.task, predictors, z_test, self._targets(dataset, y_test, scales_y))

    # -- the solve -------------------------------------------------------------------
    def _search_basis(self, dataset, n, scales_x) -> torch.Tensor:
        kind = self.parameterization
        check_option("parameterization", kind, ["auto", "full", "blocks", "affine", "subspace"])
        if kind != "subspace":
            if n > MAX_FULL_DIM:
                raise UserInputError(f"{dataset.name}: all of gl({n}) is too large a search space for liesd "
                                     f"(n <= {MAX_FULL_DIM}); for features made of b-vectors one b x b generator acting "
                                     f"on each is -D action=blocks -D block_dim=b, a span of your own is "
                                     f"LieSD(parameterization='subspace', span=...)")
            return cf.search_basis("full", n)
        if self.span is None:
            raise UserInputError("parameterization 'subspace' needs a span (m, n, n)")
        span = torch.as_tensor(np.asarray(self.span, dtype=np.float64))
        if span.ndim != 3 or span.shape[1:] != (n, n):
            raise UserInputError(f"span must have shape (m, {n}, {n}) for this dataset; got {tuple(span.shape)}")
        return cf.orthonormal_span(scales_x.to_standard(span))

    def constraints(self, dataset, blocks_z, values, jac) -> torch.Tensor:
        """Per-sample constraint matrices C (N, R, n, n) for the dataset's task."""
        count, m, n = blocks_z.shape
        if dataset.task in ("equivariant", "dynamics"):
            out_blocks = values.shape[1] // n
            jac = jac.reshape(count, out_blocks, n, m, n)
            return cf.equivariant_constraints(jac, blocks_z, values.reshape(count, out_blocks, n))
        if dataset.task == "unsupervised":
            return cf.score_constraints(values.reshape(count, m, n), blocks_z)
        return cf.invariant_constraints(jac.reshape(count, jac.shape[1], m, n), blocks_z)

    def _grams(self, dataset, blocks_z, fits, basis, chunk: int = 256):
        """A^T A of the mean constraints; with several fits, the Gram matrix of their spread
        (how much independent fits disagree along each direction: the noise floor); and the
        per-output sums of the rows of each fit (their mean shift, `drift`). Accumulated over chunks of
        samples, so memory stays small."""
        p = basis.shape[0]
        gram = torch.zeros(p, p, dtype=torch.float64)
        spread = torch.zeros_like(gram) if len(fits) > 1 else None
        sums = [0.0] * len(fits)
        for start in range(0, len(blocks_z), chunk):
            part = slice(start, start + chunk)
            each = [cf.rows(self.constraints(dataset, blocks_z[part], values[part].double(), jac[part].double()), basis)
                    for values, jac in fits]                                     # (n, R, p) per fit
            mean = (sum(each) / len(each)).reshape(-1, p)
            gram += mean.T @ mean
            sums = [total + r.sum(dim=0) for total, r in zip(sums, each)]
            if spread is not None:
                off = [r.reshape(-1, p) - mean for r in each]
                spread += sum(d.T @ d for d in off) / (len(each) * (len(each) - 1))
        return gram, spread, sums

    def check_data(self, dataset: SymmetryDataset) -> None:
        """Search spaces against the data: affine fields for images, matrices for the rest."""
        kind = self.parameterization
        if dataset.action != "image":
            if kind == "affine":
                raise UserInputError(f"{dataset.name}: affine generators (parameterization affine) act on "
                                     f"images; this dataset's action is {dataset.action!r}")
            return
        if dataset.task not in images.IMAGE_TASKS:
            raise UserInputError(f"{dataset.name}: on images liesd handles invariant and classification tasks, "
                                 f"not {dataset.task!r} (use --method liegan)")
        if kind in ("full", "blocks"):
            raise UserInputError(f"{dataset.name}: on images liesd searches affine fields of the pixel plane: "
                                 f"parameterization auto, affine or subspace, not {kind!r}")
        if kind in ("auto", "affine") and self.n_generators is not None and self.n_generators > 6:
            raise UserInputError(f"--generators {self.n_generators} exceeds the 6 affine fields of the plane")

    def _fit_images(self, dataset, start: float, generator) -> "SymmetryResult":  # noqa: F821
        """The affine search on images (`liesd_images`): one global scale, derivatives as for vectors,
        one row per sample, output and field."""
        x = dataset.x.double()
        count, height, width = len(x), x.shape[-2], x.shape[-1]
        scale = x.pow(2).mean().sqrt().clamp_min(1e-12)
        z = (x / scale).reshape(count, -1)
        scales_x = cf.Scales(scale.reshape(1), torch.ones(z.shape[1], dtype=torch.float64))
        if dataset.task == "invariant":
            y_flat = dataset.y.double().reshape(count, -1)
            self.y_mean_, self.y_std_ = y_flat.mean(0), y_flat.std(0).clamp_min(1e-12)
        targets = self._targets(dataset, dataset.y, None)
        kind = "affine" if self.parameterization == "auto" else self.parameterization
        basis = images.search_basis(kind, self.span, height, width)
        if self.n_generators is not None and self.n_generators > basis.shape[0]:
            raise UserInputError(f"--generators {self.n_generators} exceeds the {basis.shape[0]} dimensions "
                                 "of the search space")
        anchors_idx = torch.randperm(count, generator=generator)[:self.max_samples]
        fits, self.predictors_ = self._derivatives(dataset, z, targets, z[anchors_idx], generator, scales_x, None)
        check = self._held_out(dataset, self.predictors_, scales_x, None, False)
        gram, spread = images.grams(fits, z[anchors_idx].reshape(-1, *x.shape[1:]), basis)
        spectrum = cf.solve(gram, self.n_generators, self.tolerance, self.min_gap, spread)
        coefficients = torch.as_tensor(spectrum.vectors[:, :spectrum.k].T)           # (k, p)
        found = images.oriented(cf.readable_basis(torch.einsum("kp,pij->kij", coefficients, basis)))
        source = "predictor" if self.predictor is not None else self._source(dataset, z.shape[1])[0]
        extras = {"search_space": kind, "vector_fields": [describe_affine(g, shape=x.shape[-2:]) for g in found]}
        return self._result(dataset, found, spectrum, scales_x, source, len(anchors_idx), check, extras, start)

    def _result(self, dataset, found, spectrum, scales_x, source, samples, check, extras, start, scales=None):
        """The SymmetryResult with what every LieSD run reports: the spectrum, where the derivatives
        came from and how well that predictor generalises; `scales`, the data's units (`LieAlgebra`)."""
        extras = {"singular_values": [float(v) for v in spectrum.values], "chosen_k": spectrum.k,
                  "noise": None if spectrum.noise is None else [float(v) for v in spectrum.noise],
                  "gap": spectrum.gap, "k_forced": spectrum.forced, "derivatives": source,
                  "constraint_samples": samples, **extras}
        if check is not None:
            extras["predictor_check"] = check
        if getattr(self, "fit_losses_", None):
            extras["fit_loss"] = self.fit_losses_[-1]
        self.spectrum_, self.scales_ = spectrum, scales_x
        return self.make_result(found, dataset, time.perf_counter() - start, scales=scales,
                                action=dataset.x_action().describe(), extras=extras)

    def fit(self, dataset: SymmetryDataset, *, out=None, progress: bool = True,
            hardware=None) -> "SymmetryResult":  # noqa: F821
        """Closed form on the CPU; a network it fits for derivatives trains on `hardware` (or `device`).

        With derivatives "auto", a polynomial fit that explains the held-out data poorly
        (R^2 < POLYNOMIAL_FALLBACK: e.g. tanh of a quadratic form, which saturates) is followed
        by a network fit, and the better of the two on held-out data is kept: derivatives from
        a poor fit give a confident, wrong algebra (a sheared so(1,2) at R^2 0.62). Where the
        two read different dimensions, LieSD says so.
        """
        start = time.perf_counter()
        self.hardware_ = hardware
        result = self._fit_once(dataset)
        check = result.extras.get("predictor_check")
        if (self.derivatives == "auto" and self.predictor is None and result.extras.get("derivatives") == "polynomial"
                and check is not None and check["held_out"] < POLYNOMIAL_FALLBACK):
            network = copy.copy(self)
            samples = min(len(dataset.x), self.fit_samples or len(dataset.x))
            network.derivatives = "mlp"
            network.fit_steps = max(self.fit_steps or 0, default_fit_steps(samples, self.batch_size, FALLBACK_FIT_STEPS))
            second = network._fit_once(dataset)
            tried = [{"derivatives": "polynomial", "degree": result.extras.get("degree"), **check,
                      "chosen_k": result.algebra.k},
                     {"derivatives": "mlp", "fit_steps": network.fit_steps, **second.extras["predictor_check"],
                      "chosen_k": second.algebra.k}]
            if second.extras["predictor_check"]["held_out"] > check["held_out"]:
                result, self.spectrum_, self.predictors_ = second, network.spectrum_, network.predictors_
            result.extras["derivatives_tried"] = tried
            disagreement = fits_disagree_message(tried, result.extras["derivatives"])
            result.options = self.describe_params()
        else:
            disagreement = None
        result.seconds = time.perf_counter() - start
        doubts = [weak_fit_message(result.extras.get("predictor_check")), disagreement,
                  unclear_gap_message(result.extras, self.min_gap),
                  invisible_message(dataset.name, result.extras.get("directions_the_data_cannot_judge")),
                  drift.drift_message(result.extras.get("dilation_left_out"), result.algebra.k)]
        if self.n_generators is None:
            doubts.append(dilation_message(result.algebra.identify()[0], result.algebra.k,
                                           result.extras.get("dilation_kept")))
        for message in filter(None, doubts):
            warnings.warn(message, stacklevel=2)
        return result

    def _fit_once(self, dataset: SymmetryDataset) -> "SymmetryResult":  # noqa: F821
        start = time.perf_counter()
        self.fit_losses_ = None
        check_option("derivatives", self.derivatives, SOURCES)
        if self.n_generators is not None and self.n_generators < 0:
            raise UserInputError(f"--generators must be >= 0, got {self.n_generators}")
        generator = torch.Generator().manual_seed(self.seed)
        if dataset.action == "image":
            return self._fit_images(dataset, start, generator)
        blocks = as_blocks(dataset, dataset.x)
        count, _, n = blocks.shape
        scales_x = cf.Scales.of(blocks)
        z = scales_x.standardise(blocks).reshape(count, -1)
        scales_y, targets = None, None
        y = dataset.y
        increments = self.predictor is None and self._increments(dataset)
        if increments:
            y = dataset.y - dataset.x
        if dataset.task in ("equivariant", "dynamics"):
            y_blocks = as_blocks(dataset, y)
            if y_blocks.shape[-1] != n:
                raise UserInputError(f"{dataset.name}: equivariant targets must be made of {n}-vectors like x")
            out_block = (y_blocks.double() / scales_x.component).pow(2).mean(dim=(0, 2)).sqrt()
            scales_y = cf.Scales(torch.where(out_block > 0, out_block, torch.ones_like(out_block)),
                                 scales_x.component)
        check_target_varies(dataset, y)
        if y is not None and dataset.task not in ("classification",):
            y_flat = y.double().reshape(count, -1)
            self.y_mean_, self.y_std_ = y_flat.mean(0), y_flat.std(0).clamp_min(1e-12)
        if y is not None:
            targets = self._targets(dataset, y, scales_y)
        anchors_idx = torch.randperm(count, generator=generator)[:self.max_samples]
        basis = self._search_basis(dataset, n, scales_x)
        if self.n_generators is not None and self.n_generators > basis.shape[0]:
            raise UserInputError(f"--generators {self.n_generators} exceeds the {basis.shape[0]} dimensions "
                                 "of the search space")
        blocks_z = z[anchors_idx].reshape(len(anchors_idx), -1, n)
        invisible = 0
        if dataset.task in ("invariant", "classification", "unsupervised"):
            basis, invisible = within_data_span(basis, blocks_z, affine=True)
        elif dataset.task in ("equivariant", "dynamics"):  # L acts on the outputs too: their span counts
            outputs = targets[anchors_idx].reshape(len(anchors_idx), -1, n)
            basis, invisible = within_data_span(basis, torch.cat([blocks_z, outputs], dim=1))
        source, degree = (None, None) if self.predictor is not None else self._source(dataset, z.shape[1])
        degrees = [degree]
        if source == "polynomial" and self.degree is None and dv.quartic_is_cheap(z.shape[1]):
            degrees = [4, degree]
        spectra, predictors, drifting = [], [], []
        for candidate in degrees:
            fits, fitted = self._derivatives(dataset, z, targets, z[anchors_idx], generator, scales_x, scales_y,
                                             candidate)
            predictors.append(fitted)
            gram, spread, sums = self._grams(dataset, blocks_z, fits, basis)
            spectrum = cf.solve(gram, self.n_generators, self.tolerance, self.min_gap, spread)
            dropped = None
            if dataset.task != "unsupervised" and len(sums) > 1:  # see `drift` for both conditions
                spectrum, dropped = drift.drop_dilation(spectrum, gram, drift.agreed_drift(sums, len(blocks_z)), basis)
            spectra.append(spectrum)
            drifting.append(dropped)
        degree, spectrum = self._pick_degree(degrees, spectra)
        self.predictors_ = predictors[degrees.index(degree)]
        dropped = drifting[degrees.index(degree)]
        check = self._held_out(dataset, self.predictors_, scales_x, scales_y, increments)
        coefficients = torch.as_tensor(spectrum.vectors[:, :spectrum.k].T)           # (k, p)
        found_z = torch.einsum("kp,pij->kij", coefficients, basis)
        found = scales_x.to_user(cf.readable_basis(found_z))  # made sparse in the data's units
        extras = {"fitted_increments": increments, **({"degree": degree} if source == "polynomial" else {})}
        if invisible:
            extras["directions_the_data_cannot_judge"] = invisible
        if dropped:   # the found span held the dilation: how its drift was judged (`drift`)
            judged = {"mean_shift_share": round(dropped["share"], 4), "singular_value": dropped["value"]}
            extras["dilation_left_out" if dropped["left_out"] else "dilation_kept"] = judged
        return self._result(dataset, found, spectrum, scales_x, source or "predictor", len(anchors_idx), check, extras,
                            start, scales=scales_x.component)
