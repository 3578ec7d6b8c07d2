"""One helper to test the equivariance of any module with random group elements (e3nn-style).

    from equivariance import assert_equivariant, matrix_action, sample_from_basis
    assert_equivariant(model, inputs=torch.randn(16, 8, dtype=torch.float64),
                       group_sampler=sample_from_basis(so2_basis),
                       in_action=matrix_action(model.rho_in), out_action=matrix_action(model.rho_out))

* `module`: any callable x -> y (an nn.Module is switched to eval mode and float64 is up to you).
* `inputs`: a tensor, or a callable `generator -> tensor`.
* `group_sampler(generator)`: one random group element (n, n) (or a batch (B, n, n)).
* `in_action(g, x)` / `out_action(g, y)`: how g acts; an object with `.apply(g, x)` (the
  package's `Action`s) is accepted too. `out_action=None` means the output must be invariant.
Checks max |f(g.x) - g.f(x)| <= atol + rtol * max |g.f(x)| over `n_trials` random elements.
"""
from __future__ import annotations

import torch


def _as_fn(action):
    if action is None:
        return lambda g, y: y
    if hasattr(action, "apply"):
        return action.apply
    return action


def matrix_action(rho):
    """An action x -> rho(g) x on the last axis, for `rho` a function of g (or None: g itself)."""

    def act(g, x):
        m = g if rho is None else rho(g)
        m = m.to(x.dtype)
        if m.ndim == 2:
            return x @ m.T
        # batched elements (B, d, d) acting on (B, ..., d)
        shape = (m.shape[0],) + (1,) * (x.ndim - 2) + m.shape[1:]
        return (m.reshape(shape) @ x.unsqueeze(-1)).squeeze(-1)

    return act


def sample_from_basis(basis, scale: float = 1.0, discrete=None):
    """Sampler of exp(sum_i w_i L_i), w ~ N(0, scale^2), times random discrete generators."""
    basis = torch.as_tensor(basis, dtype=torch.float64)

    def sample(generator=None):
        w = torch.randn(basis.shape[0], generator=generator, dtype=torch.float64) * scale
        g = torch.linalg.matrix_exp(torch.einsum("k,kij->ij", w, basis))
        for h in ([] if discrete is None else torch.as_tensor(discrete, dtype=torch.float64)):
            if torch.rand(1, generator=generator).item() < 0.5:
                g = g @ h
        return g

    return sample


def equivariance_error(module, inputs, group_sampler, in_action, out_action=None, *,
                       n_trials: int = 5, seed: int = 0, relative: bool = True) -> float:
    """Largest error over trials: max|f(g.x) - g.f(x)| / max|g.f(x)| (or absolute)."""
    generator = torch.Generator().manual_seed(seed)
    act_in, act_out = _as_fn(in_action), _as_fn(out_action)
    if isinstance(module, torch.nn.Module):
        module.eval()
    worst = 0.0
    with torch.no_grad():
        for _ in range(n_trials):
            x = inputs(generator) if callable(inputs) else inputs
            g = group_sampler(generator)
            lhs = module(act_in(g, x))
            rhs = act_out(g, module(x))
            err = (lhs - rhs).abs().max().item()
            if relative:
                err /= max(rhs.abs().max().item(), 1e-12)
            worst = max(worst, err)
    return worst


def assert_equivariant(module, inputs, group_sampler, in_action, out_action=None, *,
                       atol: float = 1e-5, rtol: float = 0.0, n_trials: int = 5, seed: int = 0):
    """Assert max|f(g.x) - g.f(x)| <= atol + rtol * max|g.f(x)| for random group elements."""
    generator = torch.Generator().manual_seed(seed)
    act_in, act_out = _as_fn(in_action), _as_fn(out_action)
    if isinstance(module, torch.nn.Module):
        module.eval()
    with torch.no_grad():
        for trial in range(n_trials):
            x = inputs(generator) if callable(inputs) else inputs
            g = group_sampler(generator)
            lhs = module(act_in(g, x))
            rhs = act_out(g, module(x))
            err = (lhs - rhs).abs().max().item()
            bound = atol + rtol * rhs.abs().max().item()
            assert err <= bound, (
                f"not equivariant: trial {trial}, max |f(g.x) - g.f(x)| = {err:.3e} > {bound:.3e} "
                f"(max |g.f(x)| = {rhs.abs().max().item():.3e})")
