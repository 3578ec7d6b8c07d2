"""LieAlgebra and the catalogue: structure constants, closure, Killing form, invariant forms."""
import numpy as np
import pytest
import torch

from symdisco.lie import known
from symdisco.lie.algebra import LieAlgebra, commutator, normalise_metric, structure_constants

F64 = torch.float64


def well_conditioned(n, generator):
    """Random invertible matrix with singular values in [1/e, e]."""
    u, _ = torch.linalg.qr(torch.randn(n, n, dtype=F64, generator=generator))
    v, _ = torch.linalg.qr(torch.randn(n, n, dtype=F64, generator=generator))
    return u @ torch.diag(torch.exp(2 * torch.rand(n, dtype=F64, generator=generator) - 1)) @ v


def change_of_basis(basis, generator):
    """A random basis of the same span."""
    return torch.einsum("ab,bij->aij", well_conditioned(basis.shape[0], generator), basis)


@pytest.mark.parametrize("make", [lambda: known.so(3), known.lorentz, known.sl2, lambda: known.so_pq(2, 2)])
def test_structure_constants_reproduce_commutators(make):
    gen = torch.Generator().manual_seed(1)
    basis = change_of_basis(make().basis, gen)
    c = LieAlgebra(basis).structure_constants()
    rebuilt = torch.einsum("ijl,lab->ijab", c, basis)
    direct = commutator(basis[:, None], basis[None, :])
    assert direct.abs().max() > 0.1
    torch.testing.assert_close(rebuilt, direct, atol=1e-10, rtol=0)
    # antisymmetric in (i, j)
    torch.testing.assert_close(c, -c.transpose(0, 1), atol=1e-10, rtol=0)


def test_structure_constants_batched_and_so3_values():
    so3 = known.so(3).basis
    batch = torch.stack([so3, 2 * so3])
    c = structure_constants(batch)
    assert c.shape == (2, 3, 3, 3)
    torch.testing.assert_close(c[1], 2 * c[0])
    # L01 = E01 - E10, L02, L12: [L01, L02] = -L12
    assert c[0, 0, 1, 2].item() == pytest.approx(-1.0)


def test_killing_form_so3_negative_definite():
    killing = known.so(3).killing_form()
    torch.testing.assert_close(killing, -2.0 * torch.eye(3, dtype=F64))
    gen = torch.Generator().manual_seed(2)
    random_basis = LieAlgebra(change_of_basis(known.so(3).basis, gen))
    assert torch.linalg.eigvalsh(random_basis.killing_form()).max() < -1e-3


def test_killing_form_signatures():
    for algebra, (negative, positive) in [(known.lorentz(), (3, 3)), (known.sl2(), (1, 2)), (known.so(4), (6, 0))]:
        eigenvalues = torch.linalg.eigvalsh(algebra.killing_form())
        assert int((eigenvalues < -1e-9).sum()) == negative
        assert int((eigenvalues > 1e-9).sum()) == positive
    assert known.translations(2).killing_form().abs().max() == 0


@pytest.mark.parametrize("make", [lambda: known.so(3), known.lorentz, known.sl2, lambda: known.gl(3),
                                  lambda: known.translations(2), lambda: known.so_pq(1, 2),
                                  lambda: known.block_repeat(known.so(3), 3)])
def test_closure_residual_zero_for_known_algebras(make):
    gen = torch.Generator().manual_seed(3)
    algebra = LieAlgebra(change_of_basis(make().basis, gen))
    assert algebra.closure_residual() < 1e-10


def test_closure_residual_large_for_random_pair_and_basis_independent():
    gen = torch.Generator().manual_seed(4)
    pair = torch.randn(2, 4, 4, dtype=F64, generator=gen)
    residual = LieAlgebra(pair).closure_residual()
    assert residual > 0.2
    assert LieAlgebra(change_of_basis(pair, gen)).closure_residual() == pytest.approx(residual, rel=1e-9)


def test_invariant_metric_lorentz_is_minkowski():
    eta = known.minkowski_metric()
    torch.testing.assert_close(known.lorentz().invariant_metric(), eta, atol=1e-10, rtol=0)
    gen = torch.Generator().manual_seed(5)
    for _ in range(3):
        rebased = LieAlgebra(change_of_basis(known.lorentz().basis, gen))
        torch.testing.assert_close(rebased.invariant_metric(), eta, atol=1e-8, rtol=0)
        assert rebased.invariant_forms().shape == (1, 4, 4)
    noisy = known.lorentz().basis + 1e-3 * torch.randn(6, 4, 4, dtype=F64, generator=gen)
    torch.testing.assert_close(LieAlgebra(noisy).invariant_metric(), eta, atol=1e-2, rtol=0)


def test_invariant_forms_conjugated_and_absent():
    gen = torch.Generator().manual_seed(6)
    g = well_conditioned(3, gen)
    conjugated = LieAlgebra(g @ known.so(3).basis @ torch.linalg.inv(g))
    metric = conjugated.invariant_metric()
    expected = torch.linalg.inv(g).T @ torch.linalg.inv(g)
    torch.testing.assert_close(metric, expected / expected.abs().max(), atol=1e-8, rtol=0)
    for generator in conjugated.basis:
        assert (generator.T @ metric + metric @ generator).abs().max() < 1e-8
    assert torch.linalg.eigvalsh(metric).min() > 0          # so(3): positive definite
    assert known.sl2().invariant_metric() is None           # sl(2) preserves only an antisymmetric form
    assert known.sl2().invariant_forms().shape[0] == 0
    torch.testing.assert_close(known.so_pq(2, 1).invariant_metric(), torch.diag(torch.tensor([1.0, 1, -1], dtype=F64)))


def test_known_catalogue_shapes_and_preserved_metrics():
    assert known.so(4).basis.shape == (6, 4, 4)
    assert known.gl(3).basis.shape == (9, 3, 3)
    assert known.translations(2).basis.shape == (2, 3, 3)
    assert known.rotation_affine().basis.shape == (1, 3, 3)
    assert known.scaling_affine().basis.shape == (1, 3, 3)
    torch.testing.assert_close(known.scaling(3).basis[0], torch.eye(3, dtype=F64))
    assert known.sl2().basis.diagonal(dim1=-2, dim2=-1).sum(-1).abs().max() == 0
    for p, q in [(1, 3), (2, 2), (0, 3), (1, 1)]:
        algebra = known.so_pq(p, q)
        eta = torch.diag(torch.tensor([1.0] * p + [-1.0] * q, dtype=F64))
        assert algebra.k == (p + q) * (p + q - 1) // 2
        assert (algebra.basis.transpose(-1, -2) @ eta + eta @ algebra.basis).abs().max() == 0
    eta = known.minkowski_metric()
    lorentz = known.lorentz().basis
    assert (lorentz.transpose(-1, -2) @ eta + eta @ lorentz).abs().max() == 0
    assert (lorentz[:3] + lorentz[:3].transpose(-1, -2)).abs().max() == 0     # rotations antisymmetric
    assert (lorentz[3:] - lorentz[3:].transpose(-1, -2)).abs().max() == 0     # boosts symmetric
    # translations act on homogeneous points by shifting
    point = torch.tensor([0.3, -0.2, 1.0], dtype=F64)
    torch.testing.assert_close(torch.linalg.matrix_exp(0.5 * known.translations(2).basis[0]) @ point,
                               torch.tensor([0.8, -0.2, 1.0], dtype=F64))


def test_block_repeat():
    repeated = known.block_repeat(known.so(2), 3)
    assert repeated.basis.shape == (1, 6, 6)
    torch.testing.assert_close(repeated.basis[0, 2:4, 2:4], known.so(2).basis[0])
    assert repeated.basis[0, :2, 2:].abs().max() == 0
    assert known.block_repeat(known.so(3).basis, 2).closure_residual() < 1e-12


def test_numpy_input_float32_and_gradients():
    algebra = LieAlgebra(known.so(3).numpy().astype(np.float32).astype(np.float64))
    assert algebra.dtype == F64 and (algebra.k, algebra.n) == (3, 3)
    single = algebra.to(torch.float32)
    assert single.dtype == torch.float32
    assert single.structure_constants().dtype == torch.float32
    torch.testing.assert_close(single.killing_form(), -2.0 * torch.eye(3))
    assert single.closure_residual() < 1e-5
    basis = known.lorentz().basis.clone().requires_grad_(True)
    c = LieAlgebra(basis).structure_constants()
    (c ** 2).sum().backward()
    assert basis.grad is not None and torch.isfinite(basis.grad).all() and basis.grad.abs().max() > 0
    assert torch.autograd.gradcheck(structure_constants, (known.sl2().basis + 0.1).requires_grad_(True))


def test_canonical_depends_on_span_only():
    gen = torch.Generator().manual_seed(7)
    for algebra in (known.so(3), known.lorentz(), known.sl2()):
        reference = algebra.canonical().basis
        rebased = LieAlgebra(change_of_basis(algebra.basis, gen)).canonical().basis
        torch.testing.assert_close(rebased, reference, atol=1e-9, rtol=0)
        assert reference.abs().amax((-1, -2)).sub(1).abs().max() < 1e-12
    torch.testing.assert_close(known.so(3).canonical().basis, known.so(3).basis)
    flipped = LieAlgebra(-3.0 * known.so(2).basis).canonical().basis
    torch.testing.assert_close(flipped, known.so(2).basis)


def test_str_shows_name_and_numbers_without_computing(monkeypatch):
    import symdisco.lie.algebra as algebra_module

    def fail(*args, **kwargs):
        raise AssertionError("printing must not identify or decompose")

    lorentz = LieAlgebra(known.lorentz().basis)                 # no given name
    for name in ("identify", "invariant_forms", "closure_residual", "structure_constants"):
        monkeypatch.setattr(algebra_module, name, fail)
    text = str(lorentz)
    assert "+1.00" in text and "-1.00" in text and "L6" in text and "identified" not in text
    monkeypatch.undo()
    assert lorentz.identify()[0] == "so(1,3)"                   # computed once, then shown
    monkeypatch.setattr(algebra_module, "identify", fail)
    assert "identified so(1,3) (1.00)" in str(lorentz) and lorentz.identify()[0] == "so(1,3)"
    lorentz.basis.mul_(2.0)                                      # a changed basis is identified again
    with pytest.raises(AssertionError, match="printing"):
        lorentz.identify()
    assert "identified" not in str(lorentz)
    assert "so(2)" in str(known.block_repeat(known.so(2), 8))   # shaded map for large n


def test_large_representations_stay_cheap():
    big = known.block_repeat(known.so(2), 20)                 # 40 x 40
    assert big.invariant_metric() is None                      # beyond FORM_MAX_DIM: not computed
    with pytest.raises(ValueError, match="n <= "):
        big.invariant_forms()
    assert big.identify()[0] == "so(2)"
    assert "L1" in str(big)
    assert "too large" in str(known.block_repeat(known.so(2), 30))


def test_invariant_metric_of_approximate_lorentz_generators_and_none_for_random_spans():
    gen = torch.Generator().manual_seed(7)
    truth = known.lorentz().basis
    eta = torch.diag(torch.tensor([1.0, -1, -1, -1], dtype=F64))
    noisy = truth + 0.05 * torch.randn(truth.shape, generator=gen, dtype=F64)  # residual ratio ~0.12, as discovered
    metric = LieAlgebra(noisy).invariant_metric()
    assert metric is not None and (metric / metric[0, 0] - eta).abs().max() < 0.1
    for _ in range(5):
        assert LieAlgebra(torch.randn(6, 4, 4, generator=gen, dtype=F64)).invariant_metric() is None


def test_scales_name_and_measure_an_algebra_in_the_data_units():
    """so(1,3) written in coordinates 10^4 apart, with a little noise: in those coordinates the
    noise in the large-from-small entries is multiplied by up to 10^4 and the name is lost; given
    the coordinates' scales, the name and the metric (mapped back) are those of so(1,3)."""
    from symdisco.lie.known import lorentz

    scales = torch.tensor([1.0, 100.0, 1.0, 0.01], dtype=torch.float64)
    noisy = lorentz().basis + 1e-3 * torch.randn(6, 4, 4, generator=torch.Generator().manual_seed(0),
                                                 dtype=torch.float64)
    user = scales[:, None] * noisy * (1.0 / scales)[None, :]
    assert LieAlgebra(user).identify()[0] != "so(1,3)"
    algebra = LieAlgebra(user, scales=scales)
    assert algebra.identify()[0] == "so(1,3)"
    metric = algebra.invariant_metric()                      # D^-1 diag(1,-1,-1,-1) D^-1, up to scale
    back = normalise_metric(scales[:, None] * metric * scales[None, :])
    assert torch.allclose(back, torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64)), atol=0.02)
    assert algebra.canonical().identify()[0] == "so(1,3)"
    with pytest.raises(ValueError):
        LieAlgebra(user, scales=[1.0, -1.0, 1.0, 1.0])
