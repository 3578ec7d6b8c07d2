"""LieNLSD: Lie point symmetries of an ODE or PDE as explicit vector fields, in closed form.

After Hu, Li & Lin, "Explicit Discovery of Nonlinear Symmetries from Dynamic Data" (ICML 2025):

1. the equation Delta = u_target - F(z, jets) is identified from the data by sparse
   regression (pysindy's STLSQ) over products of u^p and its spatial derivatives (PDEs) or a
   polynomial/trig/exp library of the state (ODEs);
2. a generator v = sum_i xi_i d/dz_i, xi_i = sum_k c_ik f_k(t, x, u) with f_k a
   `FieldLibrary` (monomials up to `degree`), is a symmetry iff pr v (Delta) = 0 on the
   solutions; this is linear in c, so evaluating pr v (Delta) for every library column at
   `samples` points of the data gives one matrix A with A c = 0 (each library function scaled to unit RMS);
3. the singular values of A give the dimension (the largest gap among those below
   `tolerance` x the largest), the right singular vectors the null space, and a reduced row
   echelon form a sparse readable basis (`2 t d/dt + x d/dx`).

Linear equations also have u -> u + a(t, x) for every solution a, an infinite family; the
null vectors of that form (coefficients only on the u-free terms of d/du) are split off and
reported under `superposition`, not counted among the generators.  The library of xi_u is
otherwise the full polynomial one (no restriction to terms linear in u).

The jets of the data: spatial derivatives spectrally (periodic grid; modes above `keep` x
Nyquist filtered out against noise, by default those below 100 x the noise floor), u_t from the dataset's y, u_tt by central differences
of y in time.  ODE datasets (pendulum, lotka-volterra with lift="none", lambda-omega) give
(t, state) with y = d state/dt.
"""
from __future__ import annotations

import time

import numpy as np
import sympy
import torch

from ..errors import UserInputError
from ..lie.prolongation import JetSpace
from ..lie.vector_fields import FieldLibrary, grassmann_distance, readable_basis
from .base import DiscoveryMethod
from .knobs import Anything, Float, Int
from .knobs import Anything, Float, Int

__all__ = ["LieNLSD", "identify_equation"]

ODE_VARIABLES = {"pendulum": ("q", "p"), "lotka-volterra": ("q", "p"), "lambda-omega": ("u", "v")}


def _names(text) -> tuple[str, ...]:
    if isinstance(text, (list, tuple)):
        return tuple(text)
    return tuple(n.strip() for n in str(text or "").split(",") if n.strip())


class LieNLSD(DiscoveryMethod):
    """Closed-form discovery of point symmetries of the equation behind trajectory data."""

    name = "lienlsd"
    CLI_OPTIONS = {
        "degree": (int, "polynomial degree of the vector-field library (default 2)"),
        "trig": (str, "comma-separated coordinates whose sin and cos join the library"),
        "exp": (str, "comma-separated coordinates whose exp joins the library"),
        "samples": (int, "data points at which the invariance condition is imposed"),
        "threshold": (float, "STLSQ threshold of the equation fit"),
        "tolerance": (float, "singular values below this x the largest may be null"),
        "keep": (float, "fraction of the Nyquist wavenumber kept before differentiating "
                       "(default: the modes above the noise floor)"),
    }

    standardization = "none"  # vector fields and equations are nonlinear in the coordinates: no rescaling
    KNOBS = {"degree": Int(1), "trig": Anything(), "exp": Anything(), "derivative_order": Int(1),
             "feature_degree": Int(1), "threshold": Float(0), "samples": Int(10),
             "tolerance": Float(0, 1, strict=True), "keep": Float(0, 1, strict=True, optional=True), "seed": Int()}

    KNOBS = {"degree": Int(1, 6), "trig": Anything(), "exp": Anything(), "derivative_order": Int(1, 3),
             "feature_degree": Int(1, 4), "threshold": Float(0.0), "samples": Int(10),
             "tolerance": Float(0.0, 1.0, strict=True), "keep": Float(0.0, 1.0, strict=True, optional=True),
             "seed": Int()}
    # the symmetries live in the data's own units (t, x, u): no rescaling before fit
    standardization = "none"

    def __init__(self, degree: int = 2, trig="", exp="", derivative_order: int = 3,
                 feature_degree: int = 2, threshold: float = 0.1, samples: int = 4000,
                 tolerance: float = 1e-2, keep: float | None = None, seed: int = 0):
        self.degree = degree
        self.trig = trig
        self.exp = exp
        self.derivative_order = derivative_order
        self.feature_degree = feature_degree
        self.threshold = threshold
        self.samples = samples
        self.tolerance = tolerance
        self.keep = keep
        self.seed = seed

    # -- the pipeline -----------------------------------------------------------------
    def fit(self, dataset, *, out=None, progress: bool = True):
        start = time.perf_counter()
        problem = _problem(dataset, self)
        space, values = problem["space"], problem["values"]
        equations = identify_equation(space, problem["targets"], problem["features"], values, self.threshold)
        library = FieldLibrary(problem["coordinates"], self.degree, trig=_names(self.trig), exp=_names(self.exp))
        matrix = invariance_matrix(space, library, problem["targets"], equations, values)
        scale = _function_scales(library, values)
        _, singular, vt = np.linalg.svd(matrix / scale, full_matrices=False)
        dimension = _dimension(singular, self.tolerance)
        null = vt[len(singular) - dimension:] / scale if dimension else np.zeros((0, library.n_columns))
        generators, superposition = _split_superposition(null, library, len(problem["independent"]))
        basis = readable_basis(generators) if len(generators) else generators
        extra = readable_basis(superposition) if len(superposition) else superposition
        truth, outside = _truth(dataset, library)
        distance = None if truth is None else grassmann_distance(generators, truth)
        extras = {
            "equation": [f"{space.jet(a, problem['target_index'])} = {_round(eq)}" for a, eq in enumerate(equations)],
            "library": {"coordinates": list(library.coordinates), "degree": self.degree,
                        "functions": [library.function_name(f) for f in range(len(library.functions))],
                        "columns": library.column_names()},
            "singular_values": (singular / singular[0]).tolist() if singular[0] > 0 else singular.tolist(),
            "dimension": int(len(basis)),
            "null_dimension": int(dimension),
            "vector_fields": [_field_record(library, row) for row in basis],
            "superposition": [_field_record(library, row) for row in extra],
            "grassmann_distance": distance,
            "true_vector_fields": None if truth is None else [library.text(r) for r in truth],
            "true_outside_library": outside,
        }
        affine = _affine_parts(basis, library)
        truth_affine = None if truth is None else _affine_parts(truth, library)
        result = self.make_result(torch.as_tensor(affine), dataset, time.perf_counter() - start, extras=extras)
        if truth_affine is not None and len(affine) and len(truth_affine):
            from ..lie.algebra import LieAlgebra
            from ..lie.compare import similarity

            result.similarity = float(similarity(result.algebra, LieAlgebra(torch.as_tensor(truth_affine))))
        result.seconds = time.perf_counter() - start
        if progress:
            for record in extras["vector_fields"]:
                print("  " + record["text"])
        return result


# -- data -> jets ------------------------------------------------------------------------

def _problem(dataset, method: LieNLSD) -> dict:
    """Jet space, sample values of every jet the condition may need, targets and features."""
    meta = dataset.metadata
    if dataset.y is None:
        raise UserInputError(f"lienlsd: dataset {dataset.name!r} has no time derivatives y")
    rng = np.random.default_rng(method.seed)
    if "pde" in meta:
        return _pde_problem(dataset, method, rng)
    if meta.get("lift", "none") != "none":
        raise UserInputError(f"lienlsd: {dataset.name} is observed through a {meta['lift']!r} lift; "
                             "load it with -D lift=none to see the state")
    if "dt" not in meta or "trajectory_lengths" not in meta:
        raise UserInputError(f"lienlsd: {dataset.name} is not trajectory data (needs metadata dt and "
                             "trajectory_lengths, e.g. pendulum, lotka-volterra, lambda-omega or a PDE)")
    return _ode_problem(dataset, method, rng)


def _pde_problem(dataset, method, rng) -> dict:
    pde = dataset.metadata["pde"]
    grid, length, dt = pde["grid"], pde["length"], pde["dt"]
    steps = dataset.metadata["trajectory_lengths"][0]
    from ..datasets.pde import spectral_derivative

    u = dataset.x.numpy().astype(np.float64).reshape(-1, steps, grid)
    ut = dataset.y.numpy().astype(np.float64).reshape(-1, steps, grid)
    space = JetSpace(("t", "x"), ("u",))
    if steps < 5:
        raise UserInputError(f"lienlsd: {dataset.name} needs at least 5 steps per trajectory")
    inner = steps - 4                                   # two steps kept clear at each end
    n = min(method.samples, u.shape[0] * inner * grid)
    flat = rng.choice(u.shape[0] * inner * grid, size=n, replace=False)
    traj, rest = np.divmod(flat, inner * grid)
    step, point = np.divmod(rest, grid)
    step = step + 2
    keep = method.keep if method.keep is not None else resolved_modes(u)
    cache = {}

    def field(time_order: int, space_order: int) -> np.ndarray:
        key = (time_order, space_order)
        if key not in cache:
            if time_order == 0:
                base = u
            elif time_order == 1:
                base = ut
            elif time_order == 2:
                base = _time_derivative(ut, dt)
            else:
                raise UserInputError("lienlsd: time derivatives above second order are not supported")
            cache[key] = spectral_derivative(base, length, space_order, keep)[traj, step, point]
        return cache[key]

    values = _LazyJets(space, field)
    values[space.independent[0]] = step * dt
    values[space.independent[1]] = pde["x0"] + point * length / grid
    order = pde.get("time_order", 1)
    powers = [space.jet(0, (0, 0)) ** p for p in range(method.feature_degree + 1)]
    derivatives = [sympy.Integer(1)] + [space.jet(0, (0, k)) for k in range(1, method.derivative_order + 1)]
    features = [p * d for p in powers for d in derivatives]
    return {"space": space, "values": values, "independent": ("t", "x"), "coordinates": ("t", "x", "u"),
            "targets": [space.jet(0, (order, 0))], "target_index": (order, 0), "features": features}


def _ode_problem(dataset, method, rng) -> dict:
    meta = dataset.metadata
    dim = dataset.x.shape[1]
    names = _names(meta.get("variables", {}).get("dependent") or ODE_VARIABLES.get(dataset.name, ())) or tuple(f"u{i + 1}" for i in range(dim))
    if len(names) != dim or dim > 6:
        raise UserInputError(f"lienlsd: {dataset.name} has {dim} state variables; at most 6 are supported")
    x = dataset.x.numpy().astype(np.float64)
    y = dataset.y.numpy().astype(np.float64)
    t = np.concatenate([meta["dt"] * np.arange(n) for n in meta["trajectory_lengths"]])
    space = JetSpace(("t",), names)
    pick = rng.choice(len(x), size=min(method.samples, len(x)), replace=False)
    values = {space.independent[0]: t[pick]}
    for a in range(dim):
        values[space.jet(a, (0,))] = x[pick, a]
        values[space.jet(a, (1,))] = y[pick, a]
    state = FieldLibrary(names, max(method.feature_degree, 1), trig=_names(method.trig), exp=_names(method.exp))
    return {"space": space, "values": values, "independent": ("t",), "coordinates": ("t",) + names,
            "targets": [space.jet(a, (1,)) for a in range(dim)], "target_index": (1,),
            "features": list(state.functions)}


def resolved_modes(u: np.ndarray, margin: float = 100.0) -> float:
    """The fraction of the Nyquist wavenumber that carries signal: modes (from the lowest) whose
    mean power exceeds `margin` x the noise floor, the median power of the upper half of the
    spectrum (white noise, or float32 rounding for clean data)."""
    grid = u.shape[-1]
    power = np.mean(np.abs(np.fft.rfft(u, axis=-1)) ** 2, axis=tuple(range(u.ndim - 1)))
    floor = np.median(power[len(power) // 2:])
    below = np.flatnonzero(power[1:] <= margin * floor)
    last = below[0] if len(below) else len(power) - 1     # modes 1..last carry signal
    return float(min(1.0, max(last, 1) / (grid // 2)))


def _time_derivative(y: np.ndarray, dt: float) -> np.ndarray:
    """d/dt along axis 1 by the fourth-order central difference (ends left at zero: unsampled)."""
    out = np.zeros_like(y)
    out[:, 2:-2] = (-y[:, 4:] + 8 * y[:, 3:-1] - 8 * y[:, 1:-3] + y[:, :-4]) / (12 * dt)
    return out


class _LazyJets(dict):
    """Sample values of coordinates and jets; a jet is computed from the data on first use."""

    def __init__(self, space: JetSpace, field):
        super().__init__()
        self.space, self.field = space, field

    def __missing__(self, symbol):
        parsed = self.space.parse(symbol)
        if parsed is None:
            raise KeyError(symbol)
        _, (time_order, space_order) = parsed
        self[symbol] = self.field(time_order, space_order)
        return self[symbol]


def _evaluate(expr, values) -> np.ndarray:
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    n = len(next(iter(values.values())))
    if not symbols:
        return np.full(n, float(expr))
    function = sympy.lambdify(symbols, expr, "numpy")
    return np.broadcast_to(np.asarray(function(*[values[s] for s in symbols]), dtype=float), (n,)).copy()


# -- the equation and the condition ----------------------------------------------------

def identify_equation(space: JetSpace, targets, features, values, threshold: float) -> list:
    """target^a = F^a(features) by pysindy's STLSQ (columns normalised); sympy expressions."""
    import pysindy as ps

    theta = np.stack([_evaluate(sympy.sympify(f), values) for f in features], axis=1)
    rhs = np.stack([_evaluate(t, values) for t in targets], axis=1)
    optimizer = ps.STLSQ(threshold=threshold, normalize_columns=True, alpha=1e-8)
    optimizer.fit(theta, rhs)
    coefficients = np.atleast_2d(optimizer.coef_)
    return [sum((float(c) * sympy.sympify(f) for c, f in zip(row, features) if c != 0), sympy.Integer(0))
            for row in coefficients]


def invariance_matrix(space: JetSpace, library: FieldLibrary, targets, equations, values) -> np.ndarray:
    """(samples x equations, columns): pr v_c (target^a - F^a) at every sample, v_c the field of
    column c (a single library function in one component)."""
    n_indep = len(space.independent)
    blocks = []
    for target, rhs in zip(targets, equations):
        delta = target - rhs
        columns = []
        for c in range(library.n_columns):
            parts = library.column_field(c)
            columns.append(_evaluate(space.apply(parts[:n_indep], parts[n_indep:], delta), values))
        blocks.append(np.stack(columns, axis=1))
    return np.concatenate(blocks, axis=0)


def _function_scales(library: FieldLibrary, values) -> np.ndarray:
    """RMS over the samples of each column's library function: dividing the columns by it makes
    every candidate term of unit size, so coefficients compare across terms (x^2 vs 1) while a
    column that is null on the data stays near zero."""
    rms = {}
    for f, fn in enumerate(library.functions):
        rms[f] = float(np.sqrt(np.mean(_evaluate(fn, values) ** 2)))
    return np.array([rms[f] if rms[f] > 0 else 1.0 for _, f in library.columns])


def _dimension(singular: np.ndarray, tolerance: float, floor: float = 1e-12) -> int:
    """How many trailing singular values are null: the largest ratio between neighbours
    among those below tolerance x the largest (0 when none is that small).  Values below
    floor x the largest are exact zeros (columns that cancel symbolically, like d/dt for an
    autonomous equation): they are raised to the smallest value above the floor, so the gap
    between them and the data-level nulls never counts."""
    s = np.asarray(singular, float)
    if s[0] <= 0:
        return len(s)
    relative = s / s[0]
    above = relative[relative >= floor]
    relative = np.maximum(relative, above.min() if len(above) else 1.0)
    small = np.flatnonzero(relative < tolerance)
    if not len(small):
        return 0
    ratios = [relative[i - 1] / relative[i] if i > 0 else np.inf for i in small]
    best = int(small[int(np.argmax(ratios))])
    return len(s) - best


def _split_superposition(null: np.ndarray, library: FieldLibrary, n_indep: int):
    """Null vectors living only on u-free terms of d/du (u -> u + a(t, x)) vs the rest."""
    if not len(null):
        return null, null
    dependent = set(library.symbols[n_indep:])
    shift = np.array([slot >= n_indep and not (library.functions[f].free_symbols & dependent)
                      for slot, f in library.columns])
    if not shift.any():
        return null, null[:0]
    q, _ = np.linalg.qr(null.T)
    q = q.T                                             # orthonormal rows, same span
    u, s, _ = np.linalg.svd(q[:, ~shift], full_matrices=True)
    s = np.concatenate([s, np.zeros(len(q) - len(s))])
    keep = s > 0.1
    return u[:, keep].T @ q, u[:, ~keep].T @ q


def _truth(dataset, library: FieldLibrary):
    """The dataset's known symmetries expressible in the library (rows), and those outside."""
    known = dataset.metadata.get("symmetries")
    if not known:
        return None, []
    rows, outside = [], []
    for components in known:
        try:
            rows.append(library.expand(components))
        except (ValueError, TypeError):
            outside.append(components)
    return (np.array(rows) if rows else np.zeros((0, library.n_columns))), outside


def _affine_parts(rows: np.ndarray, library: FieldLibrary) -> np.ndarray:
    """(k, n+1, n+1) homogeneous matrices of the constant and linear terms of each field."""
    n = len(library.symbols)
    mats = []
    for row in rows:
        m = np.zeros((n + 1, n + 1))
        for c, (slot, f) in zip(row, library.columns):
            fn = library.functions[f]
            if fn == 1:
                m[slot, n] += c
            elif fn in library.symbols:
                m[slot, library.symbols.index(fn)] += c
        if np.abs(m).max() > 1e-9:
            mats.append(m)
    return np.array(mats) if mats else np.zeros((1, n + 1, n + 1))


def _field_record(library: FieldLibrary, row) -> dict:
    return {"text": library.text(row),
            "coefficients": {name: float(c) for name, c in zip(library.column_names(), row) if c != 0}}


def _round(expr, digits: int = 4):
    return sympy.sstr(expr.xreplace({n: sympy.Float(n, digits) for n in expr.atoms(sympy.Float)}))
