"""Prolongation formulas against hand-derived ones (Olver), and the PDE datasets' listed
symmetries checked symbolically: pr v (Delta) vanishes once Delta = 0 is used."""
import numpy as np
import pytest
import sympy

from symdisco.datasets.pde import SYMMETRIES
from symdisco.lie.prolongation import JetSpace
from symdisco.lie.vector_fields import FieldLibrary, grassmann_distance, readable_basis

t, x, u = sympy.symbols("t x u")


def test_second_prolongation_of_an_ode_matches_olver():
    space = JetSpace(("x",), ("u",))
    xi, phi = sympy.Function("xi")(x, u), sympy.Function("phi")(x, u)
    ux, uxx = space.derivative(0, "x"), space.derivative(0, "x", "x")
    d = sympy.diff
    olver = (d(phi, x, 2) + (2 * d(phi, x, u) - d(xi, x, 2)) * ux + (d(phi, u, 2) - 2 * d(xi, x, u)) * ux ** 2
             - d(xi, u, 2) * ux ** 3 + (d(phi, u) - 2 * d(xi, x)) * uxx - 3 * d(xi, u) * ux * uxx)
    assert sympy.simplify(space.prolongation([xi], [phi], 0, (2,)) - olver) == 0


def test_first_prolongation_in_two_variables_matches_olver():
    space = JetSpace(("t", "x"), ("u",))
    tau, xi, phi = (sympy.Function(n)(t, x, u) for n in ("tau", "xi", "phi"))
    ut, ux = space.derivative(0, "t"), space.derivative(0, "x")
    d = sympy.diff
    olver_x = d(phi, x) + (d(phi, u) - d(xi, x)) * ux - d(tau, x) * ut - d(xi, u) * ux ** 2 - d(tau, u) * ux * ut
    assert sympy.simplify(space.prolongation([tau, xi], [phi], 0, (0, 1)) - olver_x) == 0


def test_third_prolongation_of_a_scaling_is_its_weight():
    # v = a x d/dx + b u d/du scales u_xxx by (b - 3a): phi^xxx = (b - 3a) u_xxx
    space = JetSpace(("x",), ("u",))
    a, b = sympy.symbols("a b")
    phi3 = space.prolongation([a * x], [b * u], 0, (3,))
    assert sympy.simplify(phi3 - (b - 3 * a) * space.derivative(0, "x", "x", "x")) == 0


def _on_solutions(space, expr, target, rhs):
    """Replace every jet with a t-derivative by its value on solutions of target = rhs."""
    for _ in range(6):
        jets = [s for s in space.jets_in(expr) if space.parse(s)[1][0] >= target[0]]
        if not jets:
            return sympy.expand(expr)
        replace = {}
        for s in jets:
            _, (nt, nx) = space.parse(s)
            value = rhs
            for _ in range(nt - target[0]):
                value = space.total_derivative(value, 0)
            for _ in range(nx):
                value = space.total_derivative(value, 1)
            replace[s] = value
        expr = sympy.expand(expr.xreplace(replace))
    raise AssertionError("substitution did not terminate")


@pytest.mark.parametrize("name, target, rhs", [
    ("heat", (1, 0), "u_xx"), ("burgers", (1, 0), "-u*u_x + nu*u_xx"),
    ("kdv", (1, 0), "-u*u_x - u_xxx"), ("wave", (2, 0), "c**2*u_xx")])
def test_listed_symmetries_leave_the_equation_invariant(name, target, rhs):
    space = JetSpace(("t", "x"), ("u",))
    for n in range(1, 4):
        space.jet(0, (0, n))
    params = {"nu": 1, "c": 1} if name in ("heat", "wave") else {"nu": sympy.Symbol("nu")}
    rhs = sympy.sympify(rhs, locals={s.name: s for s in space._jets}).subs(params)
    delta = space.jet(0, target) - rhs
    for components in SYMMETRIES[name]:
        parts = [sympy.sympify(components.get(k, "0")).subs(params) for k in ("t", "x", "u")]
        change = space.apply(parts[:2], parts[2:], delta)
        assert _on_solutions(space, change, target, rhs) == 0, components
    # and a field that is not a symmetry does not pass
    change = space.apply([sympy.Integer(0), x], [sympy.Integer(0)], delta)
    assert _on_solutions(space, change, target, rhs) != 0


def test_library_text_expand_and_readable_basis():
    library = FieldLibrary(("t", "x", "u"), degree=2)
    rows = np.array([library.expand({"t": "t", "x": "x/2"}), library.expand({"x": "2*t", "u": "-x*u"}),
                     library.expand({"t": "1"})])
    mixed = np.array([[1.0, 2.0, 0.5], [0.0, 1.0, -3.0], [2.0, 0.0, 1.0]]) @ rows
    texts = [library.text(r) for r in readable_basis(mixed)]
    assert texts == ["d/dt", "2 t d/dt + x d/dx", "2 t d/dx - x u d/du"]
    with pytest.raises(ValueError, match="outside the library"):
        library.expand({"t": "t**3"})


def test_grassmann_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 8))
    assert grassmann_distance(a, rng.normal(size=(3, 3)) @ a) < 1e-10
    b = a.copy()
    b[2] = rng.normal(size=8)
    assert 0.1 < grassmann_distance(a, b) < np.pi / 2 + 1e-9
    assert abs(grassmann_distance(a[:2], a) - np.pi / 2) < 1e-9   # one missing dimension
