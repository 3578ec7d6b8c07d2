"""Where closed-form discovery gets its derivatives: a small network it fits, a user's own
predictor, or local linear fits over nearest neighbours (no training at all).

Everything here works on flattened, standardised inputs z (N, D) (see `closed_form.Scales`):
a predictor is any differentiable torch function z -> outputs (N, O), and `jacobian` reads
its outputs and Jacobians off with one backward pass per output.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def small_mlp(d_in: int, d_out: int, hidden: int = 64, layers: int = 2) -> nn.Module:
    """A smooth (SiLU) MLP: smooth activations give derivatives that vary smoothly too."""
    sizes = [d_in] + [hidden] * layers
    modules = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        modules += [nn.Linear(a, b), nn.SiLU()]
    return nn.Sequential(*modules, nn.Linear(sizes[-1], d_out))


def fit_network(build, loss_fn, inputs: torch.Tensor, targets: torch.Tensor | None, *, steps: int,
                lr: float = 1e-2, batch_size: int = 1024, seed: int = 0, augment=None, engine=None):
    """Adam with cosine decay on (inputs, targets) through the training engine; deterministic given `seed`.

    `build(rng)` makes the model (inside the engine's seeded scope); `loss_fn(model(x), y)` is the loss and
    `augment(x, y, rng)` may transform each batch (score matching adds its noise there).
    `steps` optimiser steps, rounded up to whole epochs. The engine runs in process and, with
    no out folder, writes nothing: these fits take well under a second. `engine` (default:
    one CPU device, no progress) says where. Returns (the model on the CPU, in eval mode;
    the mean loss of every epoch).
    """
    from ..training import Engine, SupervisedTask, default_hardware

    engine = engine or Engine(default_hardware("cpu"), progress=False)
    steps_per_epoch = math.ceil(len(inputs) / batch_size)
    task = SupervisedTask(build, loss_fn, inputs, targets, lr=lr, augment=augment, cosine=True)
    run = engine.fit(task, n_samples=len(inputs), batch_size=batch_size, epochs=math.ceil(steps / steps_per_epoch),
                     seed=seed)
    return run.modules["model"].cpu(), [row["loss"] for row in run.history]


class DenoisingScore:
    """Denoising score matching: a network s with s(z + sigma e) ~ -e / sigma learns s ~ grad log p
    (smoothed by sigma). `augment` adds the noise and sets the target; `loss` weighs by sigma^2."""

    def __init__(self, sigma: float):
        self.sigma = float(sigma)

    def augment(self, xb, yb, rng):
        noise = torch.randn(xb.shape, generator=rng, dtype=xb.dtype, device=xb.device)
        return xb + self.sigma * noise, -noise / self.sigma

    def loss(self, scores, target):
        return self.sigma ** 2 * (scores - target).pow(2).sum(1).mean()


def jacobian(fn, z: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs (N, O) and Jacobians (N, O, D) of a per-sample function fn: (N, D) -> (N, O)."""
    values, jacobians = [], []
    for start in range(0, len(z), chunk):
        zb = z[start:start + chunk].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            out = fn(zb)
            if out.dim() == 1:
                out = out[:, None]
            rows = [torch.autograd.grad(out[:, o].sum(), zb, retain_graph=o < out.shape[1] - 1)[0]
                    for o in range(out.shape[1])]
        values.append(out.detach())
        jacobians.append(torch.stack(rows, dim=1))
    return torch.cat(values), torch.cat(jacobians)


def finite_difference_jacobian(fn, z: torch.Tensor, step: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
    """The same as `jacobian` by central differences, for predictors autograd cannot see through."""
    with torch.no_grad():
        out = torch.as_tensor(fn(z), dtype=z.dtype)
        out = out[:, None] if out.dim() == 1 else out
        columns = []
        for d in range(z.shape[1]):
            shift = torch.zeros_like(z)
            shift[:, d] = step
            plus = torch.as_tensor(fn(z + shift), dtype=z.dtype).reshape(out.shape)
            minus = torch.as_tensor(fn(z - shift), dtype=z.dtype).reshape(out.shape)
            columns.append((plus - minus) / (2 * step))
    return out, torch.stack(columns, dim=2)


def neighbour_fits(z_all: torch.Tensor, y_all: torch.Tensor, anchors: torch.Tensor,
                   n_neighbours: int | None = None, chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Local affine fits y ~ f + J (z - anchor) over each anchor's nearest neighbours.

    Returns f (A, O) and J (A, O, D). The fit is ridge-regularised a little, so directions the
    neighbours do not span get a zero derivative rather than noise.
    """
    d = z_all.shape[1]
    k = min(len(z_all), n_neighbours or max(3 * d + 3, 24))
    y_all = y_all.reshape(len(y_all), -1).to(z_all.dtype)
    values, jacobians = [], []
    for start in range(0, len(anchors), chunk):
        a = anchors[start:start + chunk]
        idx = torch.cdist(a, z_all).topk(k, largest=False).indices          # (B, k)
        dz = z_all[idx] - a[:, None, :]                                      # (B, k, D)
        design = torch.cat([torch.ones_like(dz[..., :1]), dz], dim=-1)       # (B, k, D+1)
        gram = design.transpose(1, 2) @ design
        ridge = 1e-6 * gram.diagonal(dim1=1, dim2=2).mean(-1)[:, None, None] * torch.eye(d + 1, dtype=dz.dtype)
        coefficients = torch.linalg.solve(gram + ridge, design.transpose(1, 2) @ y_all[idx])  # (B, D+1, O)
        values.append(coefficients[:, 0])
        jacobians.append(coefficients[:, 1:].transpose(1, 2))
    return torch.cat(values), torch.cat(jacobians)


MAX_POLYNOMIAL_FEATURES = 2000
"""Largest monomial count a polynomial fit may use (one least-squares solve of this size)."""


def polynomial_degree(d_in: int, max_features: int = MAX_POLYNOMIAL_FEATURES) -> int | None:
    """The highest degree (3, else 2) whose monomials in d_in inputs stay under max_features; None if none.

    Why not higher by default: on data whose law is not symmetric (Gaussian inputs, boosts) the
    least-squares projection onto higher degrees loses the symmetry (so(1,1): k = 0 at degree 4),
    while a low degree can have more symmetry than the target (SO(3) on two vectors: a cubic fit
    is kept by so(3,3)); there a quartic fit separates them, which LieSD also tries on few inputs.
    """
    for degree in (3, 2):
        if math.comb(d_in + degree, degree) <= max_features:
            return degree
    return None


QUARTIC_FEATURES = 300
"""A quartic fit is also tried (`LieSD._pick_degree`) while its monomials stay this few (<= 6 inputs)."""


def quartic_is_cheap(d_in: int) -> bool:
    return math.comb(d_in + 4, 4) <= QUARTIC_FEATURES


class Polynomial:
    """A polynomial of total degree <= `degree` in z (D inputs) with O outputs: every monomial of
    degree <= `degree` once, as a product of `degree` entries of v = [1, z]; weights (F, O).

    Monomials are non-decreasing index tuples in colex order (grouped by their last index), so
    those of one degree that may be extended by v_k form a prefix: each degree is built from the
    one below by `degree` slices times one row, with no gathers. A monomial's derivative is a
    monomial one degree lower, so the Jacobian is those (few) monomials times one weight matrix.
    """

    def __init__(self, d_in: int, degree: int):
        if degree < 1:
            raise ValueError(f"degree must be >= 1, got {degree}")
        width = d_in + 1
        levels, self.prefixes = [[()]], []
        for _ in range(degree):
            below = levels[-1]
            prefix = [sum(1 for c in below if (c[-1] if c else 0) <= k) for k in range(width)]
            self.prefixes.append(prefix)
            levels.append([c + (k,) for k in range(width) for c in below[:prefix[k]]])
        self.monomials, self.d_in, self.weights = levels[-1], d_in, None
        position = {c: i for i, c in enumerate(levels[-2])}
        # d/dv_k of monomial f: one term per occurrence of k, the monomial f without it.
        terms = [(f, position[c[:p] + c[p + 1:]], c[p]) for f, c in enumerate(self.monomials) for p in range(degree)]
        self._term_monomial, self._term_lower, self._term_variable = torch.tensor(terms).T

    def _levels(self, z) -> tuple[torch.Tensor, torch.Tensor]:
        """Monomials of degree `degree` and `degree - 1` in v = [1, z], as (F, N) and (F', N)."""
        rows = torch.cat([torch.ones_like(z[:, :1]), z.double()], dim=1).T.contiguous()     # (D+1, N)
        below, level = None, torch.ones_like(rows[:1])
        for prefix in self.prefixes:
            below, level = level, torch.cat([level[:count] * rows[k] for k, count in enumerate(prefix)])
        return level, below

    def features(self, z):
        """(N, F) monomials of z."""
        return self._levels(z)[0].T

    def __call__(self, z):
        return self.features(z) @ self.weights

    def values_and_jacobian(self, z) -> tuple[torch.Tensor, torch.Tensor]:
        """Outputs (N, O) and exact Jacobians (N, O, D), without autograd."""
        level, below = self._levels(z)
        n_out, width = self.weights.shape[1], self.d_in + 1
        lowered = torch.zeros(len(below), width, n_out, dtype=self.weights.dtype)
        lowered.index_put_((self._term_lower, self._term_variable), self.weights[self._term_monomial], accumulate=True)
        jacobian = (below.T @ lowered.reshape(len(below), -1)).reshape(len(z), width, n_out)
        return level.T @ self.weights, jacobian[:, 1:].transpose(1, 2)


def polynomial_predictor(z: torch.Tensor, y: torch.Tensor, degree: int, ridge: float = 1e-8) -> Polynomial:
    """Least-squares polynomial of total degree <= `degree` from z (N, D) to y (N, O).

    Why a polynomial: the space of polynomials of a given degree is closed under linear maps, so
    the least-squares fit of an equivariant target on symmetric data is itself (nearly)
    equivariant, and it comes from one linear solve instead of a training loop; its
    derivatives are exact.
    """
    poly = Polynomial(z.shape[1], degree)
    phi = poly.features(z)
    y = y.reshape(len(y), -1).double()
    gram = phi.T @ phi
    penalty = ridge * gram.diagonal().mean() * torch.eye(len(gram), dtype=gram.dtype)
    poly.weights = torch.linalg.solve(gram + penalty, phi.T @ y)                           # (F, O)
    return poly
