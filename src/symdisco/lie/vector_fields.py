"""Vector fields v = sum_i xi_i(z) d/dz_i with each xi_i in a library of functions.

A `FieldLibrary` fixes the coordinates (e.g. t, x, u), the candidate functions (monomials
up to a degree, optionally sin/cos/exp of some coordinates) and the order of the columns
(one per pair (component, function)): by the function's degree first, so that a reduced row
echelon form pivots on the simplest terms and reads like a textbook (d/dt before t d/dt).
A vector field is then one coefficient vector; `text` prints it as `2 t d/dt + x d/dx`,
`expand` turns written components ({"t": "2*t", "x": "x"}) into coefficients.

`grassmann_distance` compares two spans of fields: sqrt of the sum of squared principal
angles, each missing or spurious dimension counting pi/2.
"""
from __future__ import annotations

from itertools import combinations_with_replacement

import numpy as np
import sympy

__all__ = ["FieldLibrary", "grassmann_distance", "rref", "readable_basis"]


class FieldLibrary:
    """Monomials of the coordinates up to `degree` plus sin/cos (`trig`) and exp (`exp`) of
    the named coordinates, as coefficients of each d/dz_i."""

    def __init__(self, coordinates=("t", "x", "u"), degree: int = 2, trig=(), exp=()):
        if degree < 0:
            raise ValueError("degree must be >= 0")
        self.coordinates = tuple(coordinates)
        self.symbols = tuple(sympy.Symbol(c) for c in self.coordinates)
        self.degree = degree
        self.functions: list = []
        self.function_degrees: list[int] = []
        for d in range(degree + 1):
            for combo in combinations_with_replacement(range(len(self.symbols)), d):
                self.functions.append(sympy.Mul(*[self.symbols[i] for i in combo]))
                self.function_degrees.append(d)
        for name in trig:
            s = sympy.Symbol(name)
            self.functions += [sympy.sin(s), sympy.cos(s)]
            self.function_degrees += [1, 1]
        for name in exp:
            self.functions.append(sympy.exp(sympy.Symbol(name)))
            self.function_degrees.append(1)
        order = sorted(((self.function_degrees[f], slot, f) for slot in range(len(self.symbols))
                        for f in range(len(self.functions))))
        self.columns = [(slot, f) for _, slot, f in order]

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def function_name(self, f: int) -> str:
        return self._term(self.functions[f])

    def _term(self, fn) -> str:
        return _term_text(fn, self.symbols)

    def column_names(self) -> list[str]:
        return [f"{self.function_name(f)} d/d{self.coordinates[slot]}" for slot, f in self.columns]

    def components(self, coefficients) -> list:
        """The sympy expressions xi_i of the field with these coefficients."""
        parts = [sympy.Integer(0)] * len(self.symbols)
        for c, (slot, f) in zip(coefficients, self.columns):
            if c != 0:
                parts[slot] += sympy.nsimplify(c, rational=False) * self.functions[f] if not isinstance(c, sympy.Basic) \
                    else c * self.functions[f]
        return parts

    def column_field(self, column: int) -> list:
        """The components of the field with a single 1 in `column`."""
        slot, f = self.columns[column]
        parts = [sympy.Integer(0)] * len(self.symbols)
        parts[slot] = self.functions[f]
        return parts

    def expand(self, components: dict) -> np.ndarray:
        """Coefficients of {coordinate: expression}; ValueError if a term is outside the library."""
        out = np.zeros(self.n_columns)
        index = {(slot, self.functions[f]): k for k, (slot, f) in enumerate(self.columns)}
        for name, expression in components.items():
            slot = self.coordinates.index(name)
            expr = sympy.expand(sympy.sympify(expression, locals={c: s for c, s in zip(self.coordinates, self.symbols)}))
            for term in sympy.Add.make_args(expr):
                coeff, rest = term.as_coeff_Mul()
                key = (slot, rest)
                if key not in index:
                    raise ValueError(f"term {rest} of d/d{name} is outside the library")
                out[index[key]] += float(coeff)
        return out

    def text(self, coefficients, tolerance: float = 1e-2) -> str:
        """`2 t d/dt + x d/dx`: coefficients below tolerance * max |c| are left out."""
        coefficients = np.asarray(coefficients, dtype=float)
        cut = tolerance * np.abs(coefficients).max() if coefficients.any() else 0.0
        pieces = []
        for slot, name in enumerate(self.coordinates):
            terms = [(c, self.functions[f]) for c, (s, f) in zip(coefficients, self.columns)
                     if s == slot and abs(c) > cut]
            if not terms:
                continue
            if len(terms) == 1:
                c, fn = terms[0]
                head = _scaled(c, self._term(fn))
                pieces.append(f"{'' if head == '1' else '-' if head == '-1' else head + ' '}d/d{name}")
            else:
                inner = " + ".join(_scaled(c, self._term(fn)) for c, fn in terms).replace("+ -", "- ")
                pieces.append(f"({inner}) d/d{name}")
        return " + ".join(pieces).replace("+ -", "- ") or "0"


def _term_text(fn, order=()) -> str:
    """`t x u^2`, factors in the library's coordinate order."""
    if fn == 1:
        return "1"
    if isinstance(fn, sympy.Function) or isinstance(fn, sympy.exp):
        return str(fn)
    rank = {s: i for i, s in enumerate(order)}
    parts = []
    for base, power in sorted(fn.as_powers_dict().items(), key=lambda bp: (rank.get(bp[0], len(rank)), str(bp[0]))):
        parts.append(str(base) if power == 1 else f"{base}^{power}")
    return " ".join(parts)


def _number(c: float) -> str:
    if abs(c - round(c)) < 1e-2 * max(1.0, abs(c)):
        return str(int(round(c)))
    return f"{c:.3g}"


def _scaled(c: float, term: str) -> str:
    number = _number(c)
    if term == "1":
        return number
    if number == "1":
        return term
    if number == "-1":
        return "-" + term
    return f"{number} {term}"


def rref(basis: np.ndarray, tolerance: float = 1e-8) -> np.ndarray:
    """Reduced row echelon form of the rows of `basis` (k, n), pivoting on the largest entry of
    each column in turn (partial pivoting); rows stay a basis of the same span."""
    rows = np.array(basis, dtype=float)
    k, n = rows.shape
    scale = np.abs(rows).max() if rows.size else 1.0
    r = 0
    for col in range(n):
        if r == k:
            break
        pivot = r + int(np.argmax(np.abs(rows[r:, col])))
        if abs(rows[pivot, col]) <= tolerance * scale:
            continue
        rows[[r, pivot]] = rows[[pivot, r]]
        rows[r] /= rows[r, col]
        for other in range(k):
            if other != r:
                rows[other] -= rows[other, col] * rows[r]
        r += 1
    return rows[:r]


def readable_basis(basis: np.ndarray, tolerance: float = 0.05) -> np.ndarray:
    """A sparse basis of the same span: RREF (pivots on the library's simplest terms), entries
    below 1e-3 of a row's largest zeroed, each row scaled so its smallest remaining entry is
    +-1 and its pivot positive (2 t d/dt + x d/dx rather than t d/dt + 0.5 x d/dx)."""
    rows = rref(basis, tolerance)
    out = []
    for row in rows:
        row = np.where(np.abs(row) < 1e-3 * np.abs(row).max(), 0.0, row)
        biggest = np.abs(row).max()
        smallest = np.abs(row[np.abs(row) > 1e-2 * biggest]).min()   # what the text shows
        row = row / smallest if biggest / smallest <= 10 else row / np.abs(row[np.flatnonzero(row)[0]])
        pivot = row[np.flatnonzero(row)[0]]
        out.append(row * np.sign(pivot))
    return np.array(out).reshape(-1, basis.shape[1])


def grassmann_distance(found, truth) -> float:
    """sqrt(sum theta_i^2) over the principal angles between the row spans; each dimension
    by which the spans differ adds (pi/2)^2."""
    a = np.atleast_2d(np.asarray(found, float))
    b = np.atleast_2d(np.asarray(truth, float))
    if a.size == 0 or b.size == 0:
        missing = max(a.shape[0] if a.size else 0, b.shape[0] if b.size else 0)
        return float(np.sqrt(missing) * np.pi / 2)
    qa, _ = np.linalg.qr(a.T)
    qb, _ = np.linalg.qr(b.T)
    left, _, right_t = np.linalg.svd(qa.T @ qb)
    k = min(qa.shape[1], qb.shape[1])
    pa, pb = qa @ left[:, :k], qb @ right_t[:k].T      # principal vectors, paired
    angles = 2 * np.arcsin(np.clip(np.linalg.norm(pa - pb, axis=0) / 2, 0.0, 1.0))  # exact near 0
    extra = abs(a.shape[0] - b.shape[0])
    return float(np.sqrt(np.sum(angles ** 2) + extra * (np.pi / 2) ** 2))
