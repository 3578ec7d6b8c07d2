"""Equivariant MLP from Lie algebra generators (Finzi et al. 2021), for discovered or known groups.

    model = EquivariantMLP(result, "4*V", "4*V")          # nbody2: four 2-D blocks in and out
    model = EquivariantMLP(lorentz(), "3*V", "S")          # Lorentz invariant of three momenta

* `EquivariantLinear(rep_in, rep_out)`: W lives in the null space of
  drho_out(L) W - W drho_in(L) = 0 (and rho_out(h) W = W rho_in(h) for discrete generators);
  solved once per pair of direct-sum component types (cached on the group), so 64 copies of V
  cost one 4x4 solve. The bias lives in the invariant vectors of rep_out.
* `GatedNonlinearity(rep)`: scalar channels get swish; every non-scalar block v (one copy of a
  component of `rep`) is multiplied by sigmoid(gate), the gate being a learned linear function of
  all invariants the layer has: the scalar channels and the quadratic invariants <v, v>_J of
  every block, J ranging over the block's invariant symmetric forms (v^T v for so(n), the
  Minkowski form for so(1,3)). Because J comes from the group, this also works for
  non-compact groups, and for approximate, discovered generators J is the form that is
  invariant up to the solver's tolerance. The same invariants are added to the scalars
  (a bilinear layer in disguise), so scalar channels see the input even when no linear map
  from it to the scalars exists. Invariants enter as sign(q) log(1 + |q|) to stay bounded.
"""
from __future__ import annotations

import torch
from torch import nn

from symdisco.models.representations import (
    DTYPE,
    Group,
    Rep,
    as_rep,
    invariant_forms,
    leaf_types,
    _solve_hom,
    Scalar,
)


class _Constants(nn.Module):
    """float64 master copies of fixed tensors, handed out in the dtype/device asked for."""

    def __init__(self):
        super().__init__()
        self._master, self._casts = {}, {}

    def put(self, name, tensor):
        self._master[name] = tensor.to(DTYPE)

    def get(self, name, like: torch.Tensor):
        key = (name, like.dtype, like.device)
        if key not in self._casts:
            self._casts[key] = self._master[name].to(dtype=like.dtype, device=like.device)
        return self._casts[key]


class EquivariantLinear(nn.Module):
    """A linear map rep_in -> rep_out that commutes with the group action."""

    def __init__(self, rep_in: Rep, rep_out: Rep, bias: bool = True, tol: float | None = None,
                 gain: float = 1.0):
        super().__init__()
        self.rep_in, self.rep_out = rep_in, rep_out
        self.constants = _Constants()
        self.weights = nn.ParameterList()
        self.blocks = []  # (out_index (m_o*d_o,), in_index (m_i*d_i,), m_o, m_i, basis name)
        outs, ins = leaf_types(rep_out), leaf_types(rep_in)
        ranks = {}
        for a, (leaf_o, _) in enumerate(outs):
            for b, (leaf_i, _) in enumerate(ins):
                ranks[a, b] = _solve_hom(leaf_i, leaf_o, tol)
        for a, (leaf_o, idx_o) in enumerate(outs):
            fan = [b for b in range(len(ins)) if ranks[a, b].shape[0]]
            for b in fan:
                q, idx_i = ranks[a, b], ins[b][1]
                m_o, m_i, r = idx_o.shape[0], idx_i.shape[0], q.shape[0]
                # orthonormal basis: row norm^2 of W ~ sum_b m_i r std^2 / d_o = gain^2
                std = gain * (leaf_o.dim / (r * m_i * len(fan))) ** 0.5
                self.weights.append(nn.Parameter(torch.randn(m_o, m_i, r) * std))
                name = f"basis{len(self.blocks)}"
                self.constants.put(name, q)
                self.blocks.append((idx_o.reshape(-1), idx_i.reshape(-1), m_o, m_i, name))
        self.bias_blocks = []
        self.biases = nn.ParameterList()
        if bias:
            for leaf_o, idx_o in outs:
                v = _solve_hom(Scalar(rep_out.group), leaf_o, tol)[..., 0]  # (r, d_o)
                if v.shape[0]:
                    self.biases.append(nn.Parameter(torch.zeros(idx_o.shape[0], v.shape[0])))
                    name = f"bias{len(self.bias_blocks)}"
                    self.constants.put(name, v)
                    self.bias_blocks.append((idx_o.reshape(-1), name))

    def weight(self) -> torch.Tensor:
        """The full (dim_out, dim_in) matrix."""
        ref = self.weights[0] if len(self.weights) else torch.zeros(0)
        w = torch.zeros(self.rep_out.dim, self.rep_in.dim, dtype=ref.dtype, device=ref.device)
        for theta, (i_o, i_i, m_o, m_i, name) in zip(self.weights, self.blocks):
            q = self.constants.get(name, theta)
            block = torch.einsum("ijr,rpq->ipjq", theta, q).reshape(i_o.shape[0], i_i.shape[0])
            w = w.index_put((i_o.to(w.device)[:, None], i_i.to(w.device)[None, :]), block)
        return w

    def bias(self, like: torch.Tensor) -> torch.Tensor | None:
        if not self.bias_blocks:
            return None
        b = torch.zeros(self.rep_out.dim, dtype=like.dtype, device=like.device)
        for beta, (i_o, name) in zip(self.biases, self.bias_blocks):
            b = b.index_put((i_o.to(b.device),), (beta @ self.constants.get(name, beta)).reshape(-1))
        return b

    def forward(self, x):
        y = x @ self.weight().to(x.dtype).T
        b = self.bias(x)
        return y if b is None else y + b

    def extra_repr(self):
        n = sum(p.numel() for p in self.parameters())
        return f"{self.rep_in} -> {self.rep_out}, {n} free parameters"


def _signed_log(q):
    return torch.sign(q) * torch.log1p(q.abs())


class GatedNonlinearity(nn.Module):
    """Swish on scalar channels, sigmoid gates on non-scalar blocks; gates and scalar
    updates are learned functions of the invariants (see the module docstring)."""

    def __init__(self, rep: Rep, tol: float | None = None):
        super().__init__()
        self.rep = rep
        self.constants = _Constants()
        self.scalar_index = torch.cat(
            [idx.reshape(-1) for leaf, idx in leaf_types(rep) if leaf.is_scalar] or
            [torch.zeros(0, dtype=torch.long)])
        self.block_types = []  # (index (m, d), forms name or None)
        n_inv, n_blocks = 0, 0
        for leaf, idx in leaf_types(rep):
            if leaf.is_scalar:
                continue
            forms = invariant_forms(leaf, tol)
            name = None
            if forms.shape[0]:
                name = f"forms{len(self.block_types)}"
                self.constants.put(name, forms)
                n_inv += idx.shape[0] * forms.shape[0]
            self.block_types.append((idx, name))
            n_blocks += idx.shape[0]
        n_scalar = self.scalar_index.numel()
        self.n_blocks = n_blocks
        self.to_scalars = nn.Linear(n_inv, n_scalar, bias=False) if n_inv and n_scalar else None
        self.to_gates = nn.Linear(n_inv + n_scalar, n_blocks) if n_blocks else None
        order = torch.cat([self.scalar_index] + [idx.reshape(-1) for idx, _ in self.block_types])
        self.inverse = torch.argsort(order)

    def invariants(self, x):
        out = []
        for idx, name in self.block_types:
            if name is None:
                continue
            v = x[..., idx]  # (..., m, d)
            j = self.constants.get(name, x)
            out.append(torch.einsum("...md,jde,...me->...mj", v, j, v).flatten(-2))
        if not out:
            return x[..., :0]
        return _signed_log(torch.cat(out, dim=-1))

    def forward(self, x):
        q = self.invariants(x)
        s = x[..., self.scalar_index]
        if self.to_scalars is not None:
            s = s + self.to_scalars(q)
        pieces = [nn.functional.silu(s)]
        if self.to_gates is not None:
            gates = torch.sigmoid(self.to_gates(torch.cat([q, x[..., self.scalar_index]], -1)))
            g = 0
            for idx, _ in self.block_types:
                m = idx.shape[0]
                v = x[..., idx] * gates[..., g : g + m, None]
                pieces.append(v.flatten(-2))
                g += m
        return torch.cat(pieces, dim=-1)[..., self.inverse.to(x.device)]


def default_hidden(group: Group, channels: int) -> Rep:
    """About two thirds of `channels` as copies of V, the rest scalars."""
    n_vec = max(1, (2 * channels) // (3 * group.n))
    n_scalar = max(1, channels - n_vec * group.n)
    return n_vec * group.V + n_scalar * group.S


class EquivariantMLP(nn.Module):
    """MLP equivariant to the group of a SymmetryResult, LieAlgebra or (k, n, n) generators.

    `in_rep`, `out_rep`, `hidden`: a Rep, an expression in V and S ("4*V", "V**2 + 3*S"),
    or an int (for `hidden`: a channel budget, about 2/3 vectors). `discrete`: extra discrete
    generators (d, n, n). `tol`: null-space tolerance (None: automatic, gap-based, suited to
    approximate generators; see `representations.nullspace`).
    """

    def __init__(self, result_or_algebra, in_rep, out_rep, hidden=96, n_layers: int = 3,
                 tol: float | None = None, discrete=None):
        super().__init__()
        self.group = Group.from_any(result_or_algebra, discrete)
        self.rep_in = as_rep(in_rep, self.group)
        self.rep_out = as_rep(out_rep, self.group)
        hidden_rep = default_hidden(self.group, hidden) if isinstance(hidden, int) else \
            as_rep(hidden, self.group)
        self.rep_hidden = hidden_rep
        layers, rep = [], self.rep_in
        for _ in range(n_layers):
            layers += [EquivariantLinear(rep, hidden_rep, tol=tol), GatedNonlinearity(hidden_rep, tol)]
            rep = hidden_rep
        layers.append(EquivariantLinear(rep, self.rep_out, tol=tol))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)

    def rho_in(self, g):
        return self.rep_in.rho(g)

    def rho_out(self, g):
        return self.rep_out.rho(g)
