import numpy as np
import pytest
import torch

from equivariance import assert_equivariant, equivariance_error, matrix_action, sample_from_basis
from symdisco.lie import known
from symdisco.models.equivariant import EquivariantLinear, EquivariantMLP, GatedNonlinearity
from symdisco.models.representations import (
    Group, Rep, equivariant_basis, invariant_forms, invariant_vectors, nullspace,
)


def so_basis(n):
    """The standard so(n) basis (the reference catalogue's), as a numpy array."""
    return known.so(n).basis.numpy()


def lorentz_basis():
    """so(1,3) on (E, px, py, pz): three rotations and three boosts."""
    return known.lorentz().basis.numpy()


CASES = {
    "so2": (so_basis(2), 1.0),
    "so3": (so_basis(3), 1.0),
    "so13": (lorentz_basis(), 0.5),  # boosts of rapidity ~ up to 1.5
}


def test_rep_algebra():
    g = Group(so_basis(3))
    V, S = g.V, g.S
    rep = 2 * V + V**2 + 3 * S
    assert rep.dim == 2 * 3 + 9 + 3
    assert Rep.parse("2*V + V**2 + 3*S", g) == rep
    assert (V**2).lie_generators().shape == (3, 9, 9)
    # rho is a homomorphism consistent with drho: rho(exp(L)) = exp(drho(L))
    w = torch.randn(3, dtype=torch.float64)
    L = torch.einsum("k,kij->ij", w, g.lie)
    dL = torch.einsum("k,kij->ij", w, rep.lie_generators())
    assert torch.allclose(rep.rho(torch.linalg.matrix_exp(L)), torch.linalg.matrix_exp(dL), atol=1e-10)
    assert torch.allclose(V.dual().rho(torch.linalg.matrix_exp(L)),
                          torch.linalg.matrix_exp(V.dual().lie_generators()[0] * 0 + -L.T), atol=1e-10)


def test_known_dimensions():
    so3 = Group(so_basis(3))
    assert equivariant_basis(so3.V, so3.V).shape[0] == 1  # identity only
    assert invariant_vectors(so3.V**2).shape[0] == 1  # delta_ij
    assert invariant_vectors(so3.V**3).shape[0] == 1  # epsilon_ijk
    so2 = Group(so_basis(2))
    assert equivariant_basis(so2.V, so2.V).shape[0] == 2  # complex multiplication
    assert equivariant_basis(4 * so2.V, 4 * so2.V).shape[0] == 32
    lor = Group(lorentz_basis())
    j = invariant_forms(lor.V)
    assert j.shape[0] == 1
    assert torch.allclose(j[0], torch.diag(torch.tensor([1.0, -1, -1, -1], dtype=torch.float64)), atol=1e-10)
    assert equivariant_basis(lor.V, lor.S).shape[0] == 0


def test_nullspace_tolerance_for_approximate_generators():
    torch.manual_seed(0)
    base = torch.as_tensor(so_basis(3))
    noisy = Group(base + 0.01 * torch.randn(3, 3, 3, dtype=torch.float64))
    assert equivariant_basis(noisy.V, noisy.V).shape[0] == 1
    assert invariant_forms(noisy.V).shape[0] == 1
    # the exact solve with a tight tolerance finds nothing but the identity either way
    assert nullspace(torch.eye(3, dtype=torch.float64)).shape[0] == 0
    c = torch.diag(torch.tensor([1e-3, 1e-3, 0.9, 1.0], dtype=torch.float64))
    assert nullspace(c).shape[0] == 2
    assert nullspace(c, tol=1e-6).shape[0] == 0


@pytest.mark.parametrize("name", list(CASES))
def test_equivariant_linear_weight_commutes(name):
    basis, _ = CASES[name]
    g = Group(basis)
    rep_in, rep_out = 2 * g.V + g.S, g.V**2 + g.V + 2 * g.S
    layer = EquivariantLinear(rep_in, rep_out).double()
    w = layer.weight()
    for a, b in zip(rep_out.lie_generators(), rep_in.lie_generators()):
        assert (a @ w - w @ b).abs().max() < 1e-10


@pytest.mark.parametrize("name", list(CASES))
def test_equivariant_mlp_float64(name):
    basis, scale = CASES[name]
    torch.manual_seed(1)
    model = EquivariantMLP(basis, "3*V + S", "V + 2*S + V**2", hidden=48, n_layers=2).double()
    x = torch.randn(16, model.rep_in.dim, dtype=torch.float64)
    assert_equivariant(model, x, sample_from_basis(basis, scale),
                       matrix_action(model.rho_in), matrix_action(model.rho_out),
                       atol=0.0, rtol=1e-5, n_trials=5)


def test_gated_nonlinearity_equivariant_lorentz():
    basis = lorentz_basis()
    g = Group(basis)
    rep = 3 * g.V + 2 * g.S
    gate = GatedNonlinearity(rep).double()
    x = torch.randn(8, rep.dim, dtype=torch.float64)
    err = equivariance_error(gate, x, sample_from_basis(basis, 0.5), matrix_action(rep.rho),
                             matrix_action(rep.rho))
    assert err < 1e-10


def test_discrete_generators_reflection():
    reflection = torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64))[None]
    g = Group(so_basis(2), discrete=reflection)  # O(2)
    assert equivariant_basis(g.V, g.V).shape[0] == 1  # complex multiplication by i is gone
    model = EquivariantMLP(g, "2*V", "V", hidden=24, n_layers=1).double()
    x = torch.randn(8, 4, dtype=torch.float64)
    assert_equivariant(model, x, sample_from_basis(so_basis(2), 1.0, discrete=reflection),
                       matrix_action(model.rho_in), matrix_action(model.rho_out), rtol=1e-6, atol=0)


def test_mlp_from_result_like_object_and_errors():
    from symdisco.errors import UserInputError

    class FakeAlgebra:
        basis = torch.as_tensor(so_basis(2))

    class FakeResult:
        algebra = FakeAlgebra()
        extras = {}

    model = EquivariantMLP(FakeResult(), "4*V", "4*V", hidden=24, n_layers=1)
    assert model(torch.randn(5, 8)).shape == (5, 8)
    with pytest.raises(UserInputError):
        EquivariantMLP(FakeResult(), "4*W", "V")
    with pytest.raises(UserInputError):
        EquivariantMLP(np.zeros((2, 3)), "V", "V")


@pytest.mark.parametrize("name,expr,noise", [("so3", "V**3", 0.0), ("so13", "V**2", 0.0),
                                             ("so13", "V**2", 0.002), ("so3", "V**2", 0.01),
                                             ("so13-mixed", "V**2 + V", 0.0)])
def test_structured_solve_matches_dense(name, expr, noise):
    from symdisco.models.representations import _operator_pairs, constraint_matrix, structured_nullspace

    rng = np.random.default_rng(0)
    if name == "so13-mixed":  # a discovered basis is any mix of boosts and rotations (non-normal)
        basis = np.einsum("ab,bij->aij", rng.standard_normal((6, 6)), lorentz_basis())
    else:
        basis = CASES[name][0] + noise * rng.standard_normal(CASES[name][0].shape)
    g = Group(basis)
    rep = Rep.parse(expr, g)
    dense = nullspace(constraint_matrix(rep, rep))
    fast = structured_nullspace(_operator_pairs(rep, rep), g.k)
    assert fast is not None and fast.shape == dense.shape and dense.shape[0] > 0
    # same span: all principal cosines 1 (approximate null directions agree to O(noise^2))
    assert torch.linalg.svdvals(dense @ fast.T).min() > 1 - (1e-8 if noise == 0 else 1e-3)


def test_approximate_generators_keep_approximate_commutant():
    """Discovered generators (truth + 0.1% noise) keep the 25 equivariant maps of
    V**3 -> V**3 for so(1,3) (solved with the structured path: 4096 unknowns)."""
    basis = lorentz_basis() + 0.001 * np.random.default_rng(1).standard_normal((6, 4, 4))
    g = Group(basis)
    rep = g.V**3
    assert equivariant_basis(rep, rep).shape[0] == 25
