import math

import pytest
import torch

from equivariance import assert_equivariant, equivariance_error
from symdisco.models.baselines import PlainGNN
from symdisco.models.liegnn import LieGNN, metric_from, metrics_from, minkowski


def lorentz_element(generator, max_rapidity=1.0):
    """A random proper orthochronous Lorentz transformation: rotation, boost, rotation."""

    def rotation():
        q, _ = torch.linalg.qr(torch.randn(3, 3, generator=generator, dtype=torch.float64))
        if torch.det(q) < 0:
            q[:, 0] = -q[:, 0]
        m = torch.eye(4, dtype=torch.float64)
        m[1:, 1:] = q
        return m

    eta = float(torch.rand(1, generator=generator, dtype=torch.float64)) * max_rapidity
    boost = torch.eye(4, dtype=torch.float64)
    boost[0, 0] = boost[1, 1] = math.cosh(eta)
    boost[0, 1] = boost[1, 0] = math.sinh(eta)
    return rotation() @ boost @ rotation()


def points_action(g, x):
    return torch.einsum("ij,bnj->bni", g.to(x.dtype), x)


def jets(generator, batch=6, n=10):
    """Massless-ish four-vectors with a few zero-padded slots."""
    p = torch.randn(batch, n, 3, generator=generator, dtype=torch.float64) * 2
    e = p.norm(dim=-1, keepdim=True) + 0.1 * torch.rand(batch, n, 1, generator=generator, dtype=torch.float64)
    x = torch.cat([e, p], dim=-1)
    x[:, -3:] = 0  # padding
    return x


def test_lorentz_element_preserves_metric():
    g = lorentz_element(torch.Generator().manual_seed(0))
    eta = minkowski()
    assert torch.allclose(g.T @ eta @ g, eta, atol=1e-12)


def test_liegnn_lorentz_invariant_float64():
    torch.manual_seed(0)
    model = LieGNN("minkowski", n_outputs=2, hidden=16, n_layers=3, c=1e-2).double()
    assert_equivariant(model, jets, lambda gen: lorentz_element(gen, 1.0), points_action, None,
                       atol=1e-4, rtol=0.0, n_trials=5)
    err = equivariance_error(model, jets, lambda gen: lorentz_element(gen, 1.0), points_action,
                             None, relative=False)
    assert err < 1e-10


def test_metric_from_algebras():
    from symdisco.lie.known import lorentz

    assert torch.allclose(metric_from(lorentz()), minkowski(), atol=1e-8)
    assert torch.allclose(metric_from(lorentz().basis), minkowski(), atol=1e-8)
    noisy = lorentz().basis + 0.01 * torch.randn(6, 4, 4, dtype=torch.float64)
    j = metric_from(noisy)
    assert (j - minkowski()).abs().max() < 0.1


def test_plain_gnn_is_not_invariant_but_permutation_invariant():
    torch.manual_seed(0)
    model = PlainGNN(hidden=16).double()
    gen = torch.Generator().manual_seed(1)
    x = jets(gen)
    err = equivariance_error(model, x, lambda g: lorentz_element(g, 1.0), points_action, None)
    assert err > 1e-3
    perm = torch.randperm(x.shape[1])
    assert torch.allclose(model(x), model(x[:, perm]), atol=1e-10)


def test_padding_does_not_change_output():
    torch.manual_seed(0)
    model = LieGNN("minkowski", hidden=8, n_layers=2).double()
    x = jets(torch.Generator().manual_seed(2))
    padded = torch.cat([x, torch.zeros(x.shape[0], 4, 4, dtype=torch.float64)], dim=1)
    assert torch.allclose(model(x), model(padded), atol=1e-10)


def test_liegnn_with_several_invariant_forms_rotations_only():
    """A discovered group of rotations only keeps E^2 and |p|^2 apart: LieGNN uses both forms
    (and learned combinations) and stays invariant under rotations."""
    from symdisco.lie.known import lorentz

    rotations = lorentz().basis[:3]
    torch.manual_seed(0)
    model = LieGNN(rotations, hidden=8, n_layers=2).double()
    assert model.metrics.shape[0] == 2 and model.mixing is not None

    def rotation(gen):
        w = torch.randn(3, generator=gen, dtype=torch.float64)
        return torch.linalg.matrix_exp(torch.einsum("k,kij->ij", w, rotations))

    assert_equivariant(model, jets, rotation, points_action, None, atol=1e-8)


def test_metric_fallback_for_a_symmetry_without_invariant_form():
    from symdisco.errors import UserInputError
    from symdisco.lie.algebra import LieAlgebra

    torch.manual_seed(0)
    junk = LieAlgebra(torch.randn(6, 4, 4, dtype=torch.float64))
    with pytest.warns(UserWarning):
        forms = metrics_from(junk)
    assert forms.shape == (1, 4, 4)
    with pytest.raises(UserInputError):
        metrics_from(junk, approximate=False)
