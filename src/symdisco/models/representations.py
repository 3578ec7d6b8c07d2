"""Representations of a matrix group given by its generators, EMLP-style and small.

A `Group` is just generators: a Lie algebra basis `(k, n, n)` (discovered or known) and
optionally discrete generators `(d, n, n)`. Representations are built from its base action
`V` (the group's own n x n matrices) by duals, direct sums and tensor products:

    G = Group(result)                 # a SymmetryResult, LieAlgebra, tensor or array
    V, S = G.V, G.S                   # base rep and the trivial (scalar) rep
    rep = 4 * V + V**2 + 3 * S        # or Rep.parse("4*V + V**2 + 3*S", G)

Every rep knows its `dim`, the action of the Lie algebra generators (`lie_generators()`,
drho(L) as matrices; Kronecker sums for products), of the discrete generators, and of any
group element (`rho(g)`). `equivariant_basis(rep_in, rep_out)` solves
drho_out(L) W - W drho_in(L) = 0 for every generator (and rho_out(h) W = W rho_in(h) for the
discrete ones) by a null-space solve with a relative tolerance; solves are cached per group.
Everything is float64.
"""
from __future__ import annotations

import ast
from collections import OrderedDict

import torch

from symdisco.errors import UserInputError
from symdisco.lie.forms import FORM_MAX_DIM, invariant_forms as _algebra_invariant_forms, normalise_metric
from symdisco.lie.nullspace import null_count, nullspace  # noqa: F401  (nullspace re-exported)

DTYPE = torch.float64


# ----------------------------------------------------------------------------- the group


def _as_basis(obj) -> torch.Tensor:
    """The Lie algebra basis (k, n, n) of a SymmetryResult, LieAlgebra, tensor or array."""
    if hasattr(obj, "algebra"):  # SymmetryResult
        obj = obj.algebra
    if hasattr(obj, "basis"):  # LieAlgebra
        obj = obj.basis
    basis = torch.as_tensor(obj).detach().to(dtype=DTYPE, device="cpu")
    if basis.ndim == 2:
        basis = basis[None]
    if basis.ndim != 3 or basis.shape[-1] != basis.shape[-2]:
        raise UserInputError(
            f"Lie algebra generators must have shape (k, n, n); got {tuple(basis.shape)}"
        )
    return basis


class Group:
    """A matrix group given by Lie algebra generators and optional discrete generators.

    `lie`: (k, n, n) Lie algebra basis, or anything with `.basis` / `.algebra.basis`.
    `discrete`: (d, n, n) group elements that generate the discrete part (e.g. reflections).
    """

    def __init__(self, lie=None, discrete=None, name=None):
        self.lie = _as_basis(lie) if lie is not None else None
        self.discrete = _as_basis(discrete) if discrete is not None else None
        if self.lie is None and self.discrete is None:
            raise UserInputError("a Group needs Lie algebra generators or discrete generators")
        if self.lie is None:
            self.lie = torch.zeros(0, *self.discrete.shape[1:], dtype=DTYPE)
        if self.discrete is None:
            self.discrete = torch.zeros(0, *self.lie.shape[1:], dtype=DTYPE)
        if self.lie.shape[1:] != self.discrete.shape[1:]:
            raise UserInputError(
                f"Lie generators act on R^{self.lie.shape[-1]} but discrete generators on "
                f"R^{self.discrete.shape[-1]}"
            )
        self.name = name or getattr(getattr(lie, "algebra", lie), "name", None)
        self._cache = {}

    @classmethod
    def from_any(cls, obj, discrete=None) -> "Group":
        if isinstance(obj, Group):
            return obj if discrete is None else cls(obj.lie, discrete, obj.name)
        if discrete is None and hasattr(obj, "extras") and isinstance(obj.extras, dict):
            discrete = obj.extras.get("discrete_generators")
        return cls(obj, discrete)

    @property
    def n(self) -> int:
        return self.lie.shape[-1]

    @property
    def k(self) -> int:
        return self.lie.shape[0]

    @property
    def V(self) -> "Rep":
        return Base(self)

    @property
    def S(self) -> "Rep":
        return Scalar(self)

    def sample(self, batch_size=None, scale=1.0, generator=None) -> torch.Tensor:
        """Random elements exp(sum_i w_i L_i) (w ~ N(0, scale^2)) times random discrete words.

        Returns (n, n) when batch_size is None, else (B, n, n); float64.
        """
        b = 1 if batch_size is None else batch_size
        w = torch.randn(b, self.k, generator=generator, dtype=DTYPE) * scale
        g = torch.linalg.matrix_exp(torch.einsum("bk,kij->bij", w, self.lie))
        for h in self.discrete:
            flip = torch.rand(b, generator=generator, dtype=DTYPE) < 0.5
            g = torch.where(flip[:, None, None], g @ h, g)
        return g[0] if batch_size is None else g

    def __repr__(self):
        return f"Group(name={self.name!r}, k={self.k}, n={self.n}, discrete={self.discrete.shape[0]})"


# ------------------------------------------------------------------------ representations


class Rep:
    """A finite-dimensional representation of a `Group`. Subclasses: Scalar, Base, Dual, Sum, Product."""

    group: Group

    # --- what every rep defines
    @property
    def dim(self) -> int:
        raise NotImplementedError

    def lie_generators(self) -> torch.Tensor:
        """drho(L_i) for every Lie algebra generator: (k, dim, dim)."""
        raise NotImplementedError

    def rho(self, g: torch.Tensor) -> torch.Tensor:
        """The representation of base group elements g (..., n, n): (..., dim, dim)."""
        raise NotImplementedError

    def key(self):
        """Structural identity (hashable); equal keys on the same group mean equal reps."""
        raise NotImplementedError

    # --- derived
    def discrete_generators(self) -> torch.Tensor:
        return self.rho(self.group.discrete)

    def components(self) -> list["Rep"]:
        """Direct-sum components in order (a non-sum rep is its own single component)."""
        return [self]

    @property
    def is_scalar(self) -> bool:
        return False

    @property
    def size(self) -> int:
        return self.dim

    @property
    def T(self) -> "Rep":
        return self.dual()

    def dual(self) -> "Rep":
        return Dual(self)

    def __add__(self, other):
        if isinstance(other, int) and other == 0:  # sum([...])
            return self
        if isinstance(other, int):
            return Sum([self, other * Scalar(self.group)])
        return Sum([self, other])

    def __radd__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        if isinstance(other, int):
            return Sum([other * Scalar(self.group), self])
        return Sum([other, self])

    def __mul__(self, other):
        if isinstance(other, int):
            return self.__rmul__(other)
        return Product(self, other)

    def __rmul__(self, other):
        if not isinstance(other, int) or other < 0:
            return NotImplemented
        if other == 0:
            return Sum([])
        return Sum([self] * other)

    def __pow__(self, power: int):
        if not isinstance(power, int) or power < 0:
            raise ValueError("rep ** power needs a non-negative integer power")
        if power == 0:
            return Scalar(self.group)
        out = self
        for _ in range(power - 1):
            out = Product(out, self)
        return out

    def __eq__(self, other):
        return isinstance(other, Rep) and self.group is other.group and self.key() == other.key()

    def __hash__(self):
        return hash((id(self.group), self.key()))

    def __repr__(self):
        return _format_key(self.key())

    # --- parse
    @staticmethod
    def parse(text: str, group: Group) -> "Rep":
        """A rep from an expression in V (base), S (scalar), Vstar / dual(...):
        "4*V", "V**2 + 3*S", "2*V + Vstar"."""
        return _parse_rep(text, group)


class Scalar(Rep):
    """The trivial one-dimensional representation."""

    def __init__(self, group: Group):
        self.group = group

    dim = property(lambda self: 1)
    is_scalar = property(lambda self: True)

    def lie_generators(self):
        return torch.zeros(self.group.k, 1, 1, dtype=DTYPE)

    def rho(self, g):
        return torch.ones(*g.shape[:-2], 1, 1, dtype=g.dtype, device=g.device)

    def dual(self):
        return self

    def key(self):
        return ("S",)


class Base(Rep):
    """The group's own action on R^n."""

    def __init__(self, group: Group):
        self.group = group

    dim = property(lambda self: self.group.n)

    def lie_generators(self):
        return self.group.lie

    def rho(self, g):
        return g

    def key(self):
        return ("V",)


class Dual(Rep):
    """The dual (contragredient) rep: drho*(L) = -drho(L)^T, rho*(g) = rho(g)^{-T}."""

    def __init__(self, rep: Rep):
        self.rep, self.group = rep, rep.group

    dim = property(lambda self: self.rep.dim)
    is_scalar = property(lambda self: self.rep.is_scalar)

    def lie_generators(self):
        return -self.rep.lie_generators().transpose(-1, -2)

    def rho(self, g):
        return torch.linalg.inv(self.rep.rho(g)).transpose(-1, -2)

    def dual(self):
        return self.rep

    def components(self):
        parts = self.rep.components()
        return [self] if len(parts) == 1 else [p.dual() for p in parts]

    def key(self):
        return ("*", self.rep.key())


class Sum(Rep):
    """Direct sum: block-diagonal action. Nested sums are flattened."""

    def __init__(self, reps):
        reps = list(reps)
        self.group = next((r.group for r in reps), None)
        flat = []
        for r in reps:
            if r.group is not self.group:
                raise UserInputError("cannot combine representations of different groups")
            flat.extend(r.reps if isinstance(r, Sum) else [r])
        self.reps = flat

    dim = property(lambda self: sum(r.dim for r in self.reps))
    is_scalar = property(lambda self: all(r.is_scalar for r in self.reps))

    def lie_generators(self):
        return torch.stack(
            [torch.block_diag(*blocks) for blocks in zip(*[r.lie_generators() for r in self.reps])]
        ) if self.group.k else torch.zeros(0, self.dim, self.dim, dtype=DTYPE)

    def rho(self, g):
        mats = [r.rho(g) for r in self.reps]
        out = torch.zeros(*g.shape[:-2], self.dim, self.dim, dtype=g.dtype, device=g.device)
        i = 0
        for m in mats:
            d = m.shape[-1]
            out[..., i : i + d, i : i + d] = m
            i += d
        return out

    def components(self):
        return [c for r in self.reps for c in r.components()]

    def dual(self):
        return Sum([r.dual() for r in self.reps])

    def key(self):
        return ("+",) + tuple(r.key() for r in self.reps)


class Product(Rep):
    """Tensor product: drho(L) = drho_a(L) (x) I + I (x) drho_b(L), rho(g) = rho_a(g) (x) rho_b(g)."""

    def __init__(self, a: Rep, b: Rep):
        if a.group is not b.group:
            raise UserInputError("cannot combine representations of different groups")
        self.a, self.b, self.group = a, b, a.group

    dim = property(lambda self: self.a.dim * self.b.dim)
    is_scalar = property(lambda self: self.a.is_scalar and self.b.is_scalar)

    def lie_generators(self):
        la, lb = self.a.lie_generators(), self.b.lie_generators()
        ia = torch.eye(self.a.dim, dtype=DTYPE)
        ib = torch.eye(self.b.dim, dtype=DTYPE)
        return torch.stack([kron(x, ib) + kron(ia, y) for x, y in zip(la, lb)]) \
            if self.group.k else torch.zeros(0, self.dim, self.dim, dtype=DTYPE)

    def rho(self, g):
        ra, rb = self.a.rho(g), self.b.rho(g)
        out = ra[..., :, None, :, None] * rb[..., None, :, None, :]
        return out.reshape(*g.shape[:-2], self.dim, self.dim)

    def dual(self):
        return Product(self.a.dual(), self.b.dual())

    def key(self):
        return ("x", self.a.key(), self.b.key())


def kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Kronecker product of two matrices (also fine for non-contiguous inputs)."""
    return (a[:, None, :, None] * b[None, :, None, :]).reshape(
        a.shape[0] * b.shape[0], a.shape[1] * b.shape[1])


def _format_key(key) -> str:
    tag = key[0]
    if tag in ("S", "V"):
        return tag
    if tag == "*":
        return _format_key(key[1]) + "*"
    if tag == "x":
        return f"({_format_key(key[1])} x {_format_key(key[2])})"
    if len(key) == 1:
        return "0"
    counts = OrderedDict()
    for k in key[1:]:
        counts[k] = counts.get(k, 0) + 1
    return " + ".join((f"{c}{_format_key(k)}" if c > 1 else _format_key(k)) for k, c in counts.items())


def _parse_rep(text: str, group: Group) -> Rep:
    names = {"V": Base(group), "S": Scalar(group), "Vstar": Dual(Base(group))}

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dual" \
                and len(node.args) == 1:
            return ev(node.args[0]).dual()
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult, ast.Pow)):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Mult):
                return left * right
            return left ** right
        raise UserInputError(
            f"cannot read the representation {text!r}: use V, S, Vstar, dual(...), integers, + * **"
        )

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise UserInputError(f"cannot read the representation {text!r}: {exc.msg}") from None
    rep = ev(tree)
    if isinstance(rep, int):
        rep = rep * Scalar(group)
    return rep


def as_rep(rep, group: Group) -> Rep:
    """A Rep from a Rep, an expression string ("4*V"), an int (that many scalars) or a callable of V."""
    if isinstance(rep, Rep):
        if rep.group is not group:
            raise UserInputError("the representation was built on a different group")
        return rep
    if isinstance(rep, str):
        return Rep.parse(rep, group)
    if isinstance(rep, int):
        return rep * Scalar(group)
    if callable(rep):
        return as_rep(rep(Base(group)), group)
    raise UserInputError(f"expected a representation (Rep or expression like '4*V'); got {rep!r}")


# --------------------------------------------------------------------------- null spaces


# The null-space rule (one tolerance, a gap between kept and dropped singular values) is
# `symdisco.lie.nullspace`'s, shared with the algebra's invariant forms and identification;
# `tol` below is that rule's tolerance (None: its default).


def _normalized(blocks: torch.Tensor) -> torch.Tensor:
    norms = blocks.flatten(1).norm(dim=1).clamp_min(1e-300)
    return blocks / norms[:, None, None]


def constraint_matrix(rep_in: Rep, rep_out: Rep) -> torch.Tensor:
    """Stacked linear constraints on vec(W) (row-major), W: (dim_out, dim_in).

    drho_out(L) W - W drho_in(L)  ->  (drho_out(L) (x) I - I (x) drho_in(L)^T) vec(W), one block
    per generator, each scaled to unit Frobenius norm; likewise rho_out(h) (x) I - I (x) rho_in(h)^T
    for discrete generators.
    """
    i_in, i_out = torch.eye(rep_in.dim, dtype=DTYPE), torch.eye(rep_out.dim, dtype=DTYPE)
    blocks = []
    for a, b in ((rep_out.lie_generators(), rep_in.lie_generators()),
                 (rep_out.discrete_generators(), rep_in.discrete_generators())):
        for x, y in zip(a, b):
            blocks.append(kron(x, i_in) - kron(i_out, y.T))
    if not blocks:
        return torch.zeros(0, rep_in.dim * rep_out.dim, dtype=DTYPE)
    c = torch.stack(blocks)
    nonzero = c.flatten(1).norm(dim=1) > 0
    c = torch.cat([_normalized(c[nonzero]), c[~nonzero]]) if nonzero.any() else c
    return c.reshape(-1, c.shape[-1])


STRUCTURED_MIN = 1024  # above this many unknowns (dim_out * dim_in) use the structured solve


def _operator_pairs(rep_in: Rep, rep_out: Rep):
    """(A_s, B_s) with constraint X -> A_s X - X B_s, Lie generators first, then discrete
    ones, each scaled so that the operator has unit Frobenius norm (as in constraint_matrix)."""
    a = torch.cat([rep_out.lie_generators(), rep_out.discrete_generators()])
    b = torch.cat([rep_in.lie_generators(), rep_in.discrete_generators()])
    d_out, d_in = a.shape[-1], b.shape[-1]
    trace_a = torch.diagonal(a, dim1=-2, dim2=-1).sum(-1)
    trace_b = torch.diagonal(b, dim1=-2, dim2=-1).sum(-1)
    norm2 = d_in * a.flatten(1).pow(2).sum(1) + d_out * b.flatten(1).pow(2).sum(1) - 2 * trace_a * trace_b
    scale = norm2.clamp_min(0).sqrt()
    keep = scale > 1e-300
    scale = torch.where(keep, scale, torch.ones_like(scale))
    return a / scale[:, None, None], b / scale[:, None, None]


def _apply_pairs(a, b, x):
    """A_s X - X B_s for every pair s and every X in x (m, d_out, d_in): (s, m, d_out, d_in)."""
    return torch.einsum("sij,mjk->smik", a, x) - torch.einsum("mij,sjk->smik", x, b)


def _top_singular_value(a, b, generator, iterations: int = 30) -> float:
    """Largest singular value of X -> {A_s X - X B_s}, by power iteration on C^T C."""
    v = torch.randn(1, a.shape[-1], b.shape[-1], generator=generator, dtype=DTYPE)
    top = 0.0
    for _ in range(iterations):
        v = v / v.norm().clamp_min(1e-300)
        t = _apply_pairs(a, b, v)[:, 0]
        back = torch.einsum("sji,sjk->ik", a, t) - torch.einsum("sij,skj->ik", t, b)
        top = float(back.norm()) ** 0.5
        v = back[None]
    return top


def structured_nullspace(pairs, k_lie: int, tol=None, seed: int = 0):
    """Null space of X -> {A_s X - X B_s} without forming the (s * N, N) matrix, N = d_out d_in.

    1. Diagonalise one random element of the algebra, A0 = P diag(lam) P^-1,
       B0 = Q diag(mu) Q^-1: its kernel is spanned by X_ij = P E_ij Q^-1 with lam_i ~ mu_j
       (r pairs; r << N). Every equivariant map lies in that span.
    2. On the span, both the Gram matrix of the X_ij (M) and that of their images under every
       constraint (G) have closed forms in terms of P^H P, Q^-1 Q^-H and the generators in
       the eigenbases: r x r matrices, built without touching N-sized objects.
    3. Solve G c = sigma^2 M c (Hermitian-definite): sigma are the exact singular values of the
       constraint on the span; the null count follows `lie.nullspace`'s rule with the full
       operator's largest singular value (power iteration) as the unit.
    Returns an orthonormal (m, N) real basis, or None when the eigenbasis is ill-conditioned
    (defective generators); the caller then solves densely.
    """
    a, b = pairs
    d_out, d_in = a.shape[-1], b.shape[-1]
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(k_lie, generator=gen, dtype=DTYPE)
    a0, b0 = torch.einsum("s,sij->ij", w, a[:k_lie]), torch.einsum("s,sij->ij", w, b[:k_lie])
    lam, p = torch.linalg.eig(a0)
    mu, q = torch.linalg.eig(b0)
    if torch.linalg.cond(p) > 1e6 or torch.linalg.cond(q) > 1e6:
        return None
    p_inv, q_inv = torch.linalg.inv(p), torch.linalg.inv(q)
    top = _top_singular_value(a, b, gen)
    if top == 0.0:
        return torch.eye(d_out * d_in, dtype=DTYPE)
    spread = float(torch.cat([lam.abs(), mu.abs()]).max().clamp_min(1e-300))
    i_idx, j_idx = torch.nonzero((lam[:, None] - mu[None, :]).abs() <= 0.05 * spread, as_tuple=True)
    if i_idx.numel() == 0:
        return torch.zeros(0, d_out * d_in, dtype=DTYPE)

    def on_pairs(left, right):  # (left[i, i'] * right[j, j']) over the selected pairs
        return left[i_idx][:, i_idx] * right[j_idx][:, j_idx]

    gp = p.conj().T @ p                      # <p_i, p_i'>
    gq = q_inv.conj() @ q_inv.T              # <q~_j, q~_j'>
    metric = on_pairs(gp, gq)
    gram = torch.zeros_like(metric)
    for a_s, b_s in zip(p_inv @ a.to(torch.complex128) @ p, q_inv @ b.to(torch.complex128) @ q):
        gram += on_pairs(a_s.conj().T @ gp @ a_s, gq)
        gram -= on_pairs(a_s.conj().T @ gp, gq @ b_s.T)
        gram -= on_pairs(gp @ a_s, b_s.conj() @ gq)
        gram += on_pairs(gp, b_s.conj() @ gq @ b_s.T)
    try:
        chol = torch.linalg.cholesky(0.5 * (metric + metric.conj().T))
    except RuntimeError:
        return None
    whitened = torch.linalg.solve_triangular(chol, gram, upper=False)
    whitened = torch.linalg.solve_triangular(chol, whitened.conj().T, upper=False).conj().T
    evals, evecs = torch.linalg.eigh(0.5 * (whitened + whitened.conj().T))
    rel = torch.cat([evals.clamp_min(0).sqrt() / top, torch.ones(1, dtype=DTYPE)])
    m = null_count(rel, tol)
    if m == 0:
        return torch.zeros(0, d_out * d_in, dtype=DTYPE)
    coef = torch.linalg.solve_triangular(chol.conj().T, evecs[:, :m], upper=True)  # M-orthonormal
    y = torch.zeros(m, d_out, d_in, dtype=torch.complex128)
    y[:, i_idx, j_idx] = coef.T
    x = (p @ y @ q_inv).reshape(m, -1)
    # the complex null space is closed under conjugation: its real span has dimension m
    _, _, vh = torch.linalg.svd(torch.cat([x.real, x.imag]), full_matrices=False)
    return vh[:m]


def _solve_hom(rep_in: Rep, rep_out: Rep, tol) -> torch.Tensor:
    """Equivariant maps between two (leaf) reps: (r, dim_out, dim_in), orthonormal in Frobenius."""
    group = rep_in.group
    key = ("hom", rep_in.key(), rep_out.key(), tol)
    if key not in group._cache:
        if rep_in.is_scalar and rep_out.is_scalar:
            basis = torch.ones(1, rep_out.dim * rep_in.dim, dtype=DTYPE)
        else:
            basis = None
            if rep_in.dim * rep_out.dim > STRUCTURED_MIN and group.k:
                basis = structured_nullspace(_operator_pairs(rep_in, rep_out), group.k, tol)
            if basis is None:
                basis = nullspace(constraint_matrix(rep_in, rep_out), tol)
        group._cache[key] = basis.reshape(-1, rep_out.dim, rep_in.dim)
    return group._cache[key]


def leaf_types(rep: Rep):
    """Group the direct-sum components of `rep` by type.

    Returns a list of (leaf_rep, index) with index a LongTensor (multiplicity, leaf.dim) of the
    positions of each copy in the flattened rep.
    """
    types = OrderedDict()
    offset = 0
    for comp in rep.components():
        types.setdefault(comp.key(), [comp, []])[1].append(
            torch.arange(offset, offset + comp.dim))
        offset += comp.dim
    return [(comp, torch.stack(idx)) for comp, idx in types.values()]


def equivariant_basis(rep_in: Rep, rep_out: Rep, tol: float | None = None) -> torch.Tensor:
    """Dense basis (r, dim_out, dim_in) of all equivariant linear maps rep_in -> rep_out.

    Solved block by block over the direct-sum components (one cached solve per pair of
    component types); use `EquivariantLinear` for large reps, which never forms this tensor.
    """
    out = []
    for leaf_o, idx_o in leaf_types(rep_out):
        for leaf_i, idx_i in leaf_types(rep_in):
            q = _solve_hom(leaf_i, leaf_o, tol)
            for a in range(idx_o.shape[0]):
                for b in range(idx_i.shape[0]):
                    for m in q:
                        w = torch.zeros(rep_out.dim, rep_in.dim, dtype=DTYPE)
                        w[idx_o[a][:, None], idx_i[b][None, :]] = m
                        out.append(w)
    if not out:
        return torch.zeros(0, rep_out.dim, rep_in.dim, dtype=DTYPE)
    return torch.stack(out)


def invariant_forms(rep: Rep, tol: float | None = None) -> torch.Tensor:
    """Symmetric bilinear forms J (m, dim, dim) with drho(L)^T J + J drho(L) = 0 (invariant
    quadratic <x, x>_J) and rho(h)^T J rho(h) = J; each normalised like the algebra's metric
    (`lie.forms.normalise_metric`). Up to FORM_MAX_DIM the algebra's own solve (`lie.forms`), so
    a LieAlgebra and its Group agree; above, symmetrised equivariant maps V -> V*."""
    key = ("forms", rep.key(), tol)
    cache = rep.group._cache
    if key not in cache:
        if rep.dim <= FORM_MAX_DIM:
            sym = _algebra_invariant_forms(rep.lie_generators(), tol, discrete=rep.discrete_generators())
        else:
            maps = _solve_hom(rep, rep.dual(), tol)  # J: V -> V*, rho*(g) J = J rho(g)
            sym = 0.5 * (maps + maps.transpose(-1, -2))
            if sym.shape[0]:
                _, s, vh = torch.linalg.svd(sym.flatten(1), full_matrices=False)
                sym = vh[s > 1e-6 * max(float(s.max()), 1e-300)].reshape(-1, rep.dim, rep.dim)
        cache[key] = torch.stack([normalise_metric(form) for form in sym]) if sym.shape[0] else sym
    return cache[key]


def invariant_vectors(rep: Rep, tol: float | None = None) -> torch.Tensor:
    """Basis (r, dim) of the vectors fixed by the group (the allowed biases)."""
    return equivariant_basis(Scalar(rep.group), rep, tol)[..., 0]
