"""Jet spaces, total derivatives and the prolongation of a vector field (Olver, Thm. 2.36).

A point vector field on (independent z, dependent u) space is

    v = sum_i xi^i(z, u) d/dz_i + sum_a eta^a(z, u) d/du^a,

and its prolongation acts on the jet coordinates u^a_J (J a multi-index of derivatives) by

    phi^a_J = D_J Q^a + sum_i xi^i u^a_{J,i},     Q^a = eta^a - sum_i xi^i u^a_i

(D the total derivative).  `JetSpace.invariance(v, equations)` is pr v (Delta) for equations
Delta^a = u^a_target - F^a(z, jets); it vanishes on the solutions exactly when v is a
symmetry.  Everything is sympy, so it can be checked by hand and turned into numpy
functions with `sympy.lambdify`.

Jet symbols are named after their derivatives: u, u_t, u_x, u_xx, u_tx (independents in
the order given, so "t" before "x"); q_t, q_tt for an ODE in t.
"""
from __future__ import annotations

import sympy

__all__ = ["JetSpace"]


class JetSpace:
    """Coordinates z (independent), u (dependent) and their derivatives, by name."""

    def __init__(self, independent=("t", "x"), dependent=("u",)):
        self.independent = tuple(sympy.Symbol(n) for n in independent)
        self.dependent = tuple(sympy.Symbol(n) for n in dependent)
        self._jets: dict[sympy.Symbol, tuple[int, tuple[int, ...]]] = {}
        for a in range(len(self.dependent)):
            self.jet(a, (0,) * len(self.independent))

    def jet(self, dependent: int, multi_index) -> sympy.Symbol:
        """The symbol of d^J u^a: multi_index counts derivatives per independent variable."""
        multi_index = tuple(int(m) for m in multi_index)
        base = self.dependent[dependent].name
        suffix = "".join(z.name * m for z, m in zip(self.independent, multi_index))
        symbol = sympy.Symbol(f"{base}_{suffix}" if suffix else base)
        self._jets[symbol] = (dependent, multi_index)
        return symbol

    def derivative(self, dependent: int, *names: str) -> sympy.Symbol:
        """`derivative(0, "x", "x")` -> u_xx."""
        index = [0] * len(self.independent)
        for n in names:
            index[[z.name for z in self.independent].index(n)] += 1
        return self.jet(dependent, index)

    def parse(self, symbol: sympy.Symbol):
        """(dependent index, multi-index) of a jet symbol, or None for any other symbol."""
        if symbol in self._jets:
            return self._jets[symbol]
        base, _, suffix = symbol.name.partition("_")
        names = [d.name for d in self.dependent]
        letters = [z.name for z in self.independent]
        if base not in names or not all(ch in letters for ch in suffix) or \
                any(len(n) != 1 for n in letters):
            return None
        return self._jets.get(self.jet(names.index(base), [suffix.count(n) for n in letters]))

    def jets_in(self, expr) -> list[sympy.Symbol]:
        """The jet symbols (u^a_J, J of any order, including u itself) appearing in expr."""
        return sorted((s for s in expr.free_symbols if self.parse(s) is not None), key=lambda s: s.name)

    def total_derivative(self, expr, i: int):
        """D_i expr = d expr/dz_i + sum over jets of u^a_{J+i} d expr/d u^a_J."""
        result = sympy.diff(expr, self.independent[i])
        for symbol in self.jets_in(expr):
            a, index = self.parse(symbol)
            higher = list(index)
            higher[i] += 1
            result += self.jet(a, higher) * sympy.diff(expr, symbol)
        return result

    def characteristic(self, xi, eta, a: int):
        """Q^a = eta^a - sum_i xi^i u^a_i."""
        result = eta[a]
        for i in range(len(self.independent)):
            unit = [0] * len(self.independent)
            unit[i] = 1
            result -= xi[i] * self.jet(a, unit)
        return result

    def prolongation(self, xi, eta, a: int, multi_index):
        """phi^a_J for v = xi . d/dz + eta . d/du (lists of sympy expressions in z, u)."""
        multi_index = tuple(multi_index)
        if not any(multi_index):
            return sympy.sympify(eta[a])
        q = self.characteristic(xi, eta, a)
        for i, count in enumerate(multi_index):
            for _ in range(count):
                q = self.total_derivative(q, i)
        for i in range(len(self.independent)):
            higher = list(multi_index)
            higher[i] += 1
            q += xi[i] * self.jet(a, higher)
        return sympy.expand(q)

    def apply(self, xi, eta, expr):
        """pr v (expr) for an expression in z, u and jets."""
        result = sympy.Integer(0)
        for i, z in enumerate(self.independent):
            result += xi[i] * sympy.diff(expr, z)
        for symbol in self.jets_in(expr):
            a, index = self.parse(symbol)
            result += self.prolongation(xi, eta, a, index) * sympy.diff(expr, symbol)
        return sympy.expand(result)
