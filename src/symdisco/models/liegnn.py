"""LieGNN: a graph network for particle sets that is invariant under any group with an
invariant metric J (L^T J + J L = 0 for every generator L), LorentzNet-style.

    model = LieGNN(result)                 # J = result.algebra.invariant_metric()
    model = LieGNN("minkowski")            # J = diag(1, -1, -1, -1): a Lorentz-invariant network
    logits = model(x)                      # x (B, N, n) points; zero rows are padding

Every input the network sees about the points is an inner product <a, b>_J = a^T J b, which
the group preserves:

* node features from <x_i, x_i>_J (plus optional per-node scalars `h`);
* edge messages m_ij = phi_e(h_i, h_j, psi(<x_i - x_j, x_i - x_j>_J), psi(<x_i, x_j>_J));
* coordinate update x_i <- x_i + c * sum_j phi_x(m_ij) x_j (a combination of the points with
  invariant weights: equivariant, as in LorentzNet), node update h_i <- h_i + phi_h(h_i, sum_j m_ij);
* invariant readout: MLP of the masked mean (and sum) of the h_i.

psi(z) = sign(z) log(1 + |z| / inner_scale) keeps the inner products of boosted momenta in
range and resolves the small ones (pairs of nearly collinear particles); inner products are
computed in float64.
The plain baseline (`models.baselines.PlainGNN`) is the same message passing on the raw
components of the points.
"""
from __future__ import annotations

import torch
from torch import nn

from symdisco.models.layers import mlp


def signed_log(z):
    return torch.sign(z) * torch.log1p(z.abs())


def minkowski(n: int = 4) -> torch.Tensor:
    return torch.diag(torch.tensor([1.0] + [-1.0] * (n - 1), dtype=torch.float64))


def metric_residual(basis, form) -> float:
    """How far J is from invariant: max_i |L_i^T J + J L_i| / (|L_i| |J|) (Frobenius)."""
    basis = torch.as_tensor(getattr(getattr(basis, "algebra", basis), "basis", basis)).to(torch.float64)
    form = torch.as_tensor(form).to(torch.float64)
    images = basis.transpose(1, 2) @ form + form @ basis
    return float((images.flatten(1).norm(dim=1) / (basis.flatten(1).norm(dim=1) * form.norm())).max())


def metrics_from(obj, approximate: bool = True) -> torch.Tensor:
    """The invariant metric(s) J, (m, n, n), of a SymmetryResult, LieAlgebra or generators
    (k, n, n); or J itself (n, n); "minkowski" for diag(1, -1, -1, -1).

    An algebra with a single invariant form (so(n), so(1,3), discovered ones close to them)
    gives m = 1. A smaller group keeps several (rotations of (E, p) preserve E^2 and |p|^2
    separately): then all of them are returned and LieGNN uses one inner product per form.
    Which forms count is decided once, by the algebra (`LieAlgebra.invariant_forms`, the one
    rule of `lie.nullspace`). With no form kept (a poor discovery),
    `approximate=True` falls back to the single most nearly invariant form, with a warning
    (see `metric_residual`); `approximate=False` raises UserInputError.
    """
    from symdisco.errors import UserInputError

    if isinstance(obj, str):
        if obj.lower() in ("minkowski", "lorentz"):
            return minkowski(4)[None]
        if obj.lower() in ("euclidean", "identity"):
            return torch.eye(4, dtype=torch.float64)[None]
        raise UserInputError(f"unknown metric {obj!r}: use 'minkowski', 'euclidean' or a matrix")
    algebra = getattr(obj, "algebra", obj)
    if hasattr(algebra, "invariant_forms"):
        forms = torch.as_tensor(algebra.invariant_forms()).detach().to(torch.float64)
        if forms.shape[0] == 1:
            return torch.as_tensor(algebra.invariant_metric()).detach().to(torch.float64)[None]
        if forms.shape[0] == 0 and approximate:
            import warnings

            from symdisco.lie.forms import invariant_form_spectrum

            spectrum, _ = invariant_form_spectrum(algebra.basis.detach().to(torch.float64))
            forms = spectrum[:1]
            warnings.warn("the symmetry has no invariant metric; LieGNN uses the most nearly "
                          f"invariant form (residual {metric_residual(algebra, forms[0]):.2g})")
        if forms.shape[0] == 0:
            raise UserInputError(
                "the symmetry has no invariant metric (no symmetric J with L^T J + J L = 0); "
                "LieGNN needs one")
        return forms / forms.flatten(1).abs().max(dim=1).values[:, None, None]
    t = torch.as_tensor(obj).detach().to(torch.float64)
    if t.ndim == 3:
        from symdisco.lie.algebra import LieAlgebra

        return metrics_from(LieAlgebra(t))
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise UserInputError(f"a metric must be a square matrix; got shape {tuple(t.shape)}")
    return (0.5 * (t + t.T))[None]


def metric_from(obj) -> torch.Tensor:
    """The first (usually the only) invariant metric (n, n); see `metrics_from`."""
    return metrics_from(obj)[0]


def point_mask(x: torch.Tensor) -> torch.Tensor:
    """(B, N) float mask: 1 for real points, 0 for all-zero padding (a zero vector is fixed by
    every linear group action, so the mask is invariant)."""
    return (x.abs().sum(-1) > 0).to(x.dtype)


class MessagePassing(nn.Module):
    """One LorentzNet-style block, given edge invariants computed by the caller."""

    def __init__(self, hidden: int, n_edge: int, update_points: bool, c: float):
        super().__init__()
        self.phi_e = mlp([2 * hidden + n_edge, hidden, hidden], final_activation=True)
        self.phi_h = mlp([2 * hidden, hidden, hidden])
        self.phi_x = mlp([hidden, hidden, 1]) if update_points else None
        self.phi_m = nn.Sequential(nn.Linear(hidden, 1), nn.Sigmoid())
        self.c = c

    def forward(self, h, x, edges, mask):
        b, n, f = h.shape
        pair = mask[:, :, None] * mask[:, None, :]  # (B, N, N)
        hi = h[:, :, None, :].expand(b, n, n, f)
        hj = h[:, None, :, :].expand(b, n, n, f)
        m = self.phi_e(torch.cat([hi, hj, edges], dim=-1))  # (B, N, N, F)
        w = self.phi_m(m) * pair[..., None]
        agg = (m * w).sum(2)
        if self.phi_x is not None:
            coef = self.phi_x(m).squeeze(-1) * pair  # (B, N, N)
            x = x + self.c * torch.einsum("bij,bjd->bid", coef, x)
        h = (h + self.phi_h(torch.cat([h, agg], dim=-1))) * mask[..., None]
        return h, x


class LieGNN(nn.Module):
    """Invariant graph network with edge features <x_i, x_j>_J (see the module docstring).

    `metric`: a SymmetryResult / LieAlgebra / generators (its invariant metric is used), a
    matrix J, or "minkowski". When the group has m > 1 invariant forms J_1..J_m (a smaller
    group than so(p,q), e.g. rotations only), the network uses all of them plus m learned
    combinations sum_l a_rl J_l (any combination is invariant too; inner products are combined
    before the log, so e.g. E^2 - |p|^2 stays exact). `n_outputs`: logits or regression
    targets. `node_features`: extra per-node scalars passed as `h` to `forward`.
    `inner_scale`: the scale below which inner products count as small (see psi).
    """

    def __init__(self, metric="minkowski", n_outputs: int = 2, hidden: int = 32,
                 n_layers: int = 3, node_features: int = 0, c: float = 1e-3,
                 inner_scale: float = 1e-3):
        super().__init__()
        self.inner_scale = inner_scale
        metrics = metrics_from(metric)
        self.register_buffer("metrics", metrics.to(torch.get_default_dtype()))
        m = metrics.shape[0]
        self.mixing = nn.Parameter(torch.randn(m, m) / m ** 0.5) if m > 1 else None
        m = m if self.mixing is None else 2 * m
        self.embed = nn.Linear(m + node_features, hidden)
        self.layers = nn.ModuleList(
            [MessagePassing(hidden, 2 * m, update_points=(i < n_layers - 1), c=c) for i in range(n_layers)])
        self.readout = mlp([2 * hidden, hidden, n_outputs])

    def inner(self, a, b):
        """<a, b>_J for every metric: (..., m), computed in float64 (inner products of nearly
        collinear massless momenta are small differences of large numbers)."""
        j = self.metrics.to(torch.float64)
        z = torch.einsum("...i,mij,...j->...m", a.double(), j, b.double())
        if self.mixing is None:
            return z
        return torch.cat([z, z @ self.mixing.to(torch.float64).T], dim=-1)

    def psi(self, z, like):
        """sign(z) log(1 + |z| / inner_scale), back in the working dtype."""
        return signed_log(z / self.inner_scale).to(like.dtype)

    def forward(self, x, mask=None, h=None):
        if mask is None:
            mask = point_mask(x)
        mask = mask.to(x.dtype)
        norms = self.psi(self.inner(x, x), x)
        h0 = norms if h is None else torch.cat([norms, h.to(x.dtype)], dim=-1)
        h = self.embed(h0) * mask[..., None]
        for layer in self.layers:
            diff = x[:, :, None, :] - x[:, None, :, :]
            edges = torch.cat([
                self.psi(self.inner(diff, diff), x),
                self.psi(self.inner(x[:, :, None, :], x[:, None, :, :]), x),
            ], dim=-1)
            h, x = layer(h, x, edges, mask)
        count = mask.sum(1, keepdim=True).clamp_min(1)
        pooled = torch.cat([h.sum(1) / count, h.sum(1) / 10.0], dim=-1)
        return self.readout(pooled)
