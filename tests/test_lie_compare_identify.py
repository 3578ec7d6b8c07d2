"""similarity / principal angles / cosine, and naming algebras from random bases."""
import math

import numpy as np
import pytest
import torch

from symdisco.lie import known
from symdisco.lie.algebra import LieAlgebra
from symdisco.lie.compare import cosine, principal_angles, similarity
from symdisco.lie.identify import identify

F64 = torch.float64


def well_conditioned(n, generator):
    """Random invertible matrix with singular values in [1/e, e]."""
    u, _ = torch.linalg.qr(torch.randn(n, n, dtype=F64, generator=generator))
    v, _ = torch.linalg.qr(torch.randn(n, n, dtype=F64, generator=generator))
    return u @ torch.diag(torch.exp(2 * torch.rand(n, dtype=F64, generator=generator) - 1)) @ v


def disguise(basis, generator, noise=1e-3):
    """Random change of basis of the span, random conjugation g L g^-1, then noise."""
    g = well_conditioned(basis.shape[-1], generator)
    mixed = torch.einsum("ab,bij->aij", well_conditioned(basis.shape[0], generator), g @ basis @ torch.linalg.inv(g))
    scale = mixed.abs().amax((-1, -2), keepdim=True)
    return mixed + noise * scale * torch.randn(mixed.shape, dtype=F64, generator=generator)


# ---------------------------------------------------------------- similarity


def test_similarity_one_for_rotated_rescaled_sign_flipped_basis():
    gen = torch.Generator().manual_seed(10)
    truth = known.lorentz()
    rotation, _ = torch.linalg.qr(torch.randn(6, 6, dtype=F64, generator=gen))
    signs_scales = torch.tensor([1.0, -2.0, 0.5, -7.0, 3.0, 1e-2], dtype=F64)
    found = torch.einsum("ab,bij->aij", signs_scales[:, None] * rotation, truth.basis)
    assert float(similarity(found, truth)) == pytest.approx(1.0, abs=1e-12)
    assert float(similarity(found.numpy(), truth.basis)) == pytest.approx(1.0, abs=1e-12)
    assert principal_angles(found, truth).abs().max() < 1e-6


def test_similarity_drops_for_missing_and_extra_generators():
    truth = known.so(3)
    assert float(similarity(truth.basis[:1], truth)) == pytest.approx(1 / 3, abs=1e-12)
    assert float(similarity(truth.basis[:2], truth)) == pytest.approx(2 / 3, abs=1e-12)
    extra = torch.cat([truth.basis, torch.eye(3, dtype=F64)[None]])      # orthogonal to so(3)
    assert float(similarity(extra, truth)) == pytest.approx(3 / 4, abs=1e-12)
    gen = torch.Generator().manual_seed(11)
    unrelated = torch.randn(3, 3, 3, dtype=F64, generator=gen)
    unrelated = unrelated + unrelated.transpose(-1, -2)                 # symmetric: orthogonal to so(3)
    assert float(similarity(unrelated, truth)) < 1e-12
    # symmetric in its arguments, and partial overlap is in between
    tilted = truth.basis[0] + 0.5 * torch.eye(3, dtype=F64)
    value = float(similarity(tilted, truth))
    assert value == pytest.approx(float(similarity(truth, tilted)))
    assert value == pytest.approx((2 / (2 + 0.25 * 3)) / 3, rel=1e-9)


def test_principal_angles_and_cosine():
    truth = known.so(3)
    found = torch.stack([truth.basis[0], torch.eye(3, dtype=F64)])
    angles = principal_angles(found, truth)
    torch.testing.assert_close(angles, torch.tensor([0.0, math.pi / 2], dtype=F64), atol=1e-7, rtol=0)
    assert float(cosine(truth.basis[0], -4 * truth.basis[0])) == pytest.approx(1.0)
    assert float(cosine(truth.basis[0], truth.basis[1])) == pytest.approx(0.0)
    a = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=F64)
    b = torch.tensor([[1.0, 1.0], [0.0, 0.0]], dtype=F64)
    assert float(cosine(a, b)) == pytest.approx(1 / math.sqrt(2))
    with pytest.raises(ValueError, match="3x3"):
        similarity(truth, known.lorentz())


def test_similarity_float32_and_gradients():
    truth = known.lorentz()
    gen = torch.Generator().manual_seed(12)
    found = (truth.basis + 0.3 * torch.randn(6, 4, 4, dtype=F64, generator=gen)).requires_grad_(True)
    value = similarity(found, truth)
    value.backward()
    assert 0 < float(value.detach()) < 1
    assert found.grad is not None and torch.isfinite(found.grad).all() and found.grad.abs().max() > 0
    # a gradient step increases similarity
    with torch.no_grad():
        assert float(similarity(found + 0.05 * found.grad, truth)) > float(value.detach())
    # degenerate principal angles (exact match) still give finite gradients
    exact = truth.basis.clone().requires_grad_(True)
    similarity(exact, truth).backward()
    assert torch.isfinite(exact.grad).all()
    single = similarity(found.detach().float(), truth.to(torch.float32))
    assert single.dtype == torch.float32
    assert float(single) == pytest.approx(float(value.detach()), abs=1e-5)
    assert torch.autograd.gradcheck(lambda b: similarity(b, truth.basis[:2]), (found.detach()[:3].clone().requires_grad_(True),))


# ---------------------------------------------------------------- identify


@pytest.mark.parametrize("make, expected", [
    (lambda: known.so(2), "so(2)"),
    (lambda: known.so(3), "so(3)"),
    (known.lorentz, "so(1,3)"),
    (known.sl2, "sl(2)"),
    (lambda: known.so_pq(2, 1), "so(1,2)"),
    (lambda: known.so(4), "so(4)"),
    (lambda: known.gl(2), "gl(2)"),
    (lambda: known.translations(2), "translations(2)"),
    (lambda: known.scaling(3), "scaling"),
    (known.scaling_affine, "scaling"),
    (known.rotation_affine, "so(2)"),
    (lambda: known.block_repeat(known.so(3), 2), "so(3)"),
])
def test_identify_from_random_bases(make, expected):
    algebra = make()
    name, confidence = identify(algebra)
    assert name == expected and confidence > 0.99
    gen = torch.Generator().manual_seed(20)
    for _ in range(4):
        name, confidence = LieAlgebra(disguise(algebra.basis, gen)).identify()
        assert name == expected
        assert confidence > 0.5


def test_identify_confidence_falls_with_noise_and_rejects_non_algebras():
    gen = torch.Generator().manual_seed(21)
    clean = identify(disguise(known.lorentz().basis, gen, noise=1e-4))[1]
    noisy = identify(disguise(known.lorentz().basis, gen, noise=3e-2))
    assert noisy[1] < clean
    random_pair = torch.randn(2, 4, 4, dtype=F64, generator=gen)
    assert identify(random_pair) == ("unknown", 0.0)
    assert identify(torch.zeros(2, 3, 3, dtype=F64)) == ("unknown", 0.0)
    name, _ = identify(torch.diag(torch.tensor([1.0, 2.0, 3.0], dtype=F64)))
    assert name == "abelian(1)"
    assert identify(known.so_pq(1, 1))[0] == "so(1,1)"
    # duplicated generators: same name, lower confidence
    duplicated = torch.cat([known.so(3).basis, known.so(3).basis[:1]])
    name, confidence = identify(duplicated)
    assert name == "so(3)" and confidence < 0.8


def test_identify_float32_and_numpy_input():
    assert identify(known.lorentz().to(torch.float32))[0] == "so(1,3)"
    assert identify(np.asarray(known.sl2().numpy()))[0] == "sl(2)"


def test_similarity_of_no_generators_as_json_writes_them():
    """A k = 0 result reads back as [] (its size lost): nothing in common with a truth, all with none."""
    assert float(similarity([], known.so(2))) == 0.0 and float(similarity(np.zeros((0, 3, 3)), known.so(3))) == 0.0
    assert float(similarity([], [])) == 1.0
