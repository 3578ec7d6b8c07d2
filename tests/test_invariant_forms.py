"""One rule decides which bilinear forms approximate generators preserve (lie.nullspace), and
the algebra, the representation solver, LieGNN and identification all follow it."""
import warnings

import pytest
import torch

from symdisco.lie import LieAlgebra, identify, known
from symdisco.lie.nullspace import NULL_GAP, NULL_RTOL, null_count, nullspace
from symdisco.models.liegnn import metrics_from
from symdisco.models.representations import Group, invariant_forms as rep_invariant_forms

F64 = torch.float64


def noisy(basis, noise, seed):
    gen = torch.Generator().manual_seed(seed)
    return basis + noise * torch.randn(basis.shape, generator=gen, dtype=F64)


def conjugated(basis, seed):
    gen = torch.Generator().manual_seed(seed)
    g = torch.eye(basis.shape[-1], dtype=F64) + 0.3 * torch.randn(basis.shape[-2:], generator=gen, dtype=F64)
    return g @ basis @ torch.linalg.inv(g)


@pytest.mark.parametrize("values,expected", [
    ([0.0, 0.0, 1e-9, 1.0], 3),         # exact zeros and rounding: all null
    ([0.13, 0.9, 0.93, 1.0], 1),        # a discovered form: small and far from the rest
    ([0.21, 0.39, 0.45, 1.0], 0),       # small but no gap: a random span preserves nothing
    ([0.35, 0.99, 1.0], 0),             # a gap but beyond the tolerance
    ([0.01, 0.02, 0.5, 1.0], 2),        # the cut sits at the gap, not inside the kept group
    ([0.0, 0.2, 0.5, 1.0], 1),          # 0.2 is not separated from 0.5: only the exact one
    ([0.0, 0.0, 0.0], 3),               # no constraint at all
])
def test_the_rule_keeps_what_a_gap_separates(values, expected):
    assert null_count(torch.tensor(values, dtype=F64)) == expected
    assert null_count(torch.tensor(values[::-1], dtype=F64)) == expected       # order does not matter


def test_the_rule_has_one_tolerance_and_one_gap():
    rel = torch.tensor([0.05, 0.9, 1.0], dtype=F64)
    assert null_count(rel, tol=0.04) == 0 and null_count(rel, tol=0.06) == 1
    assert null_count(rel, min_gap=20.0) == 0
    assert NULL_RTOL * NULL_GAP <= 1.5            # a kept value can stand apart from a value near 1
    c = torch.diag(torch.tensor([1e-3, 1e-3, 0.9, 1.0], dtype=F64))
    basis = nullspace(c)
    assert basis.shape == (2, 4) and torch.allclose(basis.abs().sum(0), torch.tensor([1.0, 1, 0, 0], dtype=F64))


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_exact_and_noisy_so_n_keep_one_form(n):
    exact = LieAlgebra(conjugated(known.so(n).basis, n))
    assert exact.invariant_forms().shape[0] == 1
    metric = exact.invariant_metric()
    for generator in exact.basis:
        assert (generator.T @ metric + metric @ generator).abs().max() < 1e-9
    for seed in range(3):
        approximate = LieAlgebra(noisy(known.so(n).basis, 0.05, seed))
        assert approximate.invariant_forms().shape[0] == 1
        assert (approximate.invariant_metric() - torch.eye(n, dtype=F64)).abs().max() < 0.15


@pytest.mark.parametrize("seed", range(6))
def test_noisy_lorentz_forms_and_metric_agree(seed):
    """The issue's case: so(1,3) with 5% noise used to give no form but a metric."""
    algebra = LieAlgebra(noisy(known.lorentz().basis, 0.05, seed))
    forms, metric = algebra.invariant_forms(), algebra.invariant_metric()
    assert forms.shape[0] == 1 and metric is not None
    assert (metric - known.minkowski_metric()).abs().max() < 0.15
    torch.testing.assert_close(metric, forms[0] * metric[0, 0] / forms[0][0, 0], atol=1e-12, rtol=0)
    group_forms = rep_invariant_forms(Group(algebra).V)            # the representation solver agrees
    assert group_forms.shape[0] == 1
    torch.testing.assert_close(group_forms[0], metric, atol=1e-12, rtol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                              # no fallback, no warning
        torch.testing.assert_close(metrics_from(algebra)[0], metric, atol=1e-12, rtol=0)


@pytest.mark.parametrize("k", [2, 3, 6])
def test_random_spans_preserve_no_form(k):
    for seed in range(5):
        algebra = LieAlgebra(torch.randn(k, 4, 4, generator=torch.Generator().manual_seed(10 * k + seed),
                                         dtype=F64))
        assert algebra.invariant_forms().shape[0] == 0
        assert algebra.invariant_metric() is None
        assert rep_invariant_forms(Group(algebra).V).shape[0] == 0


def test_subgroups_keep_several_forms_everywhere():
    rotations = noisy(known.lorentz().basis[:3], 0.01, 0)           # E^2 and |p|^2 separately
    assert LieAlgebra(rotations).invariant_forms().shape[0] == 2
    assert rep_invariant_forms(Group(rotations).V).shape[0] == 2
    assert metrics_from(LieAlgebra(rotations)).shape[0] == 2


def test_discrete_generators_constrain_the_forms():
    swap = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]], dtype=F64)
    scale = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=F64)  # scaling preserves no form...
    assert rep_invariant_forms(Group(scale).V).shape[0] == 0
    forms = rep_invariant_forms(Group(discrete=swap).V)             # ...a swap keeps I and the swap
    assert forms.shape[0] == 2


def test_identification_follows_the_rule():
    for seed in range(3):
        assert identify(noisy(known.so_pq(1, 2).basis, 0.02, seed))[0] == "so(1,2)"
        assert identify(noisy(known.sl2().basis, 0.02, seed))[0] == "sl(2)"


@pytest.mark.parametrize("seed", range(5))
def test_a_single_boost_is_so11_like_a_rotation_is_so2(seed):
    boost = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]], dtype=F64)
    for noise in (0.0, 0.03):
        assert identify(noisy(boost, noise, seed))[0] == "so(1,1)"
        assert identify(noisy(known.so(2).basis, noise, seed))[0] == "so(2)"
    assert identify(noisy(known.lorentz().basis[3:4], 0.01, seed))[0] == "so(1,1)"


def _embedded(block, n):
    out = torch.zeros(block.shape[0], n, n, dtype=F64)
    out[:, : block.shape[-1], : block.shape[-1]] = block
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_a_family_of_forms_reports_its_definite_member(seed):
    """so(3) turning three of five coordinates keeps a (x1^2+x2^2+x3^2) + any form of x4, x5:
    the metric is a definite member whose first block is the one so(3) keeps and which does
    not couple the blocks, not a form of the fixed axes alone (which the spectrum may rank first)."""
    g = torch.eye(5, dtype=F64) + 0.3 * torch.randn(5, 5, generator=torch.Generator().manual_seed(seed), dtype=F64)
    basis = g @ _embedded(known.so(3).basis, 5) @ torch.linalg.inv(g)
    algebra = LieAlgebra(noisy(basis, 0.003, seed))
    assert algebra.invariant_forms().shape[0] == 4
    metric = algebra.invariant_metric()
    assert torch.linalg.eigvalsh(metric).min() > 0  # definite
    plain = g.T @ metric @ g  # in the coordinates where so(3) is the plain rotation
    size = plain[:3, :3].diagonal().mean()
    assert torch.allclose(plain[:3, :3] / size, torch.eye(3, dtype=F64), atol=0.03)
    assert plain[:3, 3:].abs().max() < 0.03 * size


def test_an_indefinite_family_reports_a_nondegenerate_member():
    """so(1,1) beside a fixed axis keeps a (t^2 - x^2) + b y^2: no member is definite, and the
    metric is one with no zero eigenvalue, keeping the boost's block."""
    metric = LieAlgebra(_embedded(known.so_pq(1, 1).basis, 3)).invariant_metric()
    values = torch.linalg.eigvalsh(metric)
    assert values.abs().min() > 0.5 and (values < 0).sum() in (1, 2)
    assert torch.allclose(metric[:2, :2], torch.diag(torch.tensor([1.0, -1.0], dtype=F64)), atol=1e-8)


def test_result_json_and_report_say_the_metric_is_one_of_a_family(tmp_path):
    from symdisco.report import write_report
    from symdisco.result import SymmetryResult

    ellipse = torch.tensor([[[0.0, -2.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]]], dtype=F64)
    result = SymmetryResult(LieAlgebra(ellipse, scales=[1.0, 0.5, 2.0]), method="liesd", dataset="x",
                            options={}, seed=0, seconds=0.0)
    record = result.to_dict()
    assert record["invariant_forms"] == 2
    metric = torch.tensor(record["invariant_metric"], dtype=F64)
    assert torch.allclose(metric, torch.diag(torch.tensor([0.25, 1.0, 0.0625], dtype=F64)), atol=1e-6)
    result.save(tmp_path)
    assert "2-dimensional family of invariant forms" in write_report(tmp_path)
    assert SymmetryResult.load(tmp_path).to_dict()["invariant_forms"] == 2
