"""Algebras holding the dilation: named as g+dilation, with the metric g keeps (up to scale)."""
import numpy as np
import pytest
import torch

from symdisco.lie.algebra import LieAlgebra
from symdisco.lie.dilation import holds_dilation, identity_distance, without_dilation
from symdisco.lie.known import lorentz, so

ETA = np.diag([1.0, -1.0, -1.0, -1.0])


def conjugated_with_dilation(base: np.ndarray, rng, noise: float = 0.0):
    """A random mix of base + R I, seen through a random change of coordinates g, plus noise."""
    n = base.shape[-1]
    g = rng.normal(size=(n, n)) + 3 * np.eye(n)
    span = np.concatenate([base, np.eye(n)[None]])
    mix, _ = np.linalg.qr(rng.normal(size=(len(span), len(span))))
    mixed = np.einsum("jk,kab->jab", mix, span)
    conj = np.einsum("ab,kbc,cd->kad", g, mixed, np.linalg.inv(g))
    return conj + noise * rng.normal(size=conj.shape), g


def same_up_to_sign_and_scale(a, b) -> float:
    a, b = np.asarray(a) / np.abs(a).max(), np.asarray(b) / np.abs(b).max()
    return min(np.abs(a - b).max(), np.abs(a + b).max())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("noise", [0.0, 0.005])
def test_lorentz_plus_dilation_is_named_and_keeps_the_metric_up_to_scale(seed, noise):
    rng = np.random.default_rng(seed)
    basis, g = conjugated_with_dilation(lorentz().basis.numpy(), rng, noise)
    algebra = LieAlgebra(torch.tensor(basis))
    name, confidence = algebra.identify()
    assert name == "so(1,3)+dilation" and confidence > 0.8
    assert algebra.invariant_metric() is None          # the dilation keeps no form exactly
    g_inv = np.linalg.inv(g)
    expected = g_inv.T @ ETA @ g_inv                     # what g L g^-1 keeps
    assert same_up_to_sign_and_scale(algebra.conformal_metric().numpy(), expected) < 0.05 + 5 * noise


def test_rotations_plus_dilation_and_the_plane():
    assert LieAlgebra(torch.cat([so(3).basis.double(), torch.eye(3, dtype=torch.float64)[None]])
                      ).identify()[0] == "so(3)+dilation"
    rotation_and_scale = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, -1.0], [1.0, 0.0]]])
    assert LieAlgebra(rotation_and_scale).identify()[0] == "so(2)+dilation"


def test_algebras_without_the_identity_are_unchanged():
    rng = np.random.default_rng(3)
    so13 = lorentz().basis.numpy()
    assert not holds_dilation(so13) and identity_distance(so13) > 0.99
    algebra = LieAlgebra(torch.tensor(so13))
    assert algebra.identify()[0] == "so(1,3)" and algebra.conformal_metric() is None
    traceless = rng.normal(size=(2, 3, 3))
    traceless -= np.trace(traceless, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    assert not holds_dilation(traceless)


def test_without_dilation_leaves_the_traceless_algebra():
    basis, _ = conjugated_with_dilation(so(3).basis.numpy(), np.random.default_rng(4))
    rest = without_dilation(basis)
    assert rest.shape == (3, 3, 3)
    assert torch.allclose(rest.diagonal(dim1=-2, dim2=-1).sum(-1), torch.zeros(3, dtype=rest.dtype), atol=1e-12)
    assert LieAlgebra(rest).identify()[0] == "so(3)"


def test_result_json_and_report_carry_the_metric_kept_up_to_scale(tmp_path):
    from symdisco.report import write_report
    from symdisco.result import SymmetryResult

    basis = torch.cat([lorentz().basis.double(), torch.eye(4, dtype=torch.float64)[None]])
    SymmetryResult(algebra=LieAlgebra(basis), method="liesd", dataset="case").save(tmp_path)
    record = __import__("json").loads((tmp_path / "result.json").read_text())
    assert record["algebra"] == "so(1,3)+dilation" and record["invariant_metric"] is None
    assert np.allclose(record["conformal_metric"], ETA, atol=1e-9)
    assert "kept up to scale" in write_report(tmp_path)
    assert SymmetryResult.load(tmp_path).extras.get("conformal_metric") is None   # a computed field, not an extra
