"""The dilation left out when the prediction drifts along it (`methods/drift.py`)."""
import warnings

import numpy as np
import pytest
import torch

from symdisco.datasets.registry import load
from symdisco.html_report import run_cells
from symdisco.report import write_report
from symdisco.saved_runs import load_run
from symdisco.lie import known
from symdisco.lie.compare import similarity
from symdisco.methods import closed_form as cf
from symdisco.methods import drift
from symdisco.methods.liesd import LieSD

N = 3
ROTATION = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]) / 2 ** 0.5
IDENTITY = torch.eye(N, dtype=torch.float64) / N ** 0.5


def constraints(rng, samples, along_identity, fits=2, error=0.01):
    """Per-fit constraints (samples, 1, 3, 3) of a task kept by the rotation of the (x1, x2) plane:
    large along every direction off span(rotation, identity); along the rotation each fit's own
    zero-mean error; along the identity `along_identity(fit, samples)` plus such an error."""
    basis = cf.search_basis("full", N)
    null = torch.stack([ROTATION.double(), IDENTITY]).reshape(2, -1)
    off = torch.eye(N * N, dtype=torch.float64) - null.T @ null
    generic = torch.as_tensor(rng.normal(size=(samples, N * N))) @ off
    result = []
    for fit in range(fits):
        rows = generic + error * torch.as_tensor(rng.normal(size=(samples, 1))) * null[0]
        rows = rows + (torch.as_tensor(along_identity(fit, samples))[:, None]
                       + error * torch.as_tensor(rng.normal(size=(samples, 1)))) * null[1]
        result.append(rows.reshape(samples, 1, N, N))
    return result, basis


def solve(per_fit, basis, n_generators=None):
    mean = sum(per_fit) / len(per_fit)
    gram = cf.gram(mean, basis)
    spectrum = cf.solve(gram, n_generators)
    sums = [cf.rows(c, basis).sum(dim=0) for c in per_fit]
    return drift.drop_dilation(spectrum, gram, drift.agreed_drift(sums, len(mean)), basis)


def found(spectrum, basis):
    coefficients = torch.as_tensor(spectrum.vectors[:, :spectrum.k].T)
    return torch.einsum("kp,pij->kij", coefficients, basis)


def test_a_dilation_the_prediction_drifts_along_is_left_out():
    rng = np.random.default_rng(0)
    per_fit, basis = constraints(rng, 2000, lambda fit, n: 0.01 + 0.005 * rng.normal(size=n))
    spectrum, judged = solve(per_fit, basis)
    assert judged["left_out"] and judged["share"] > 0.5
    assert spectrum.k == 1 and float(similarity(found(spectrum, basis), ROTATION[None].double())) > 0.999


def test_a_dilation_whose_residual_changes_sign_is_kept():
    rng = np.random.default_rng(1)
    per_fit, basis = constraints(rng, 2000, lambda fit, n: 0.01 * rng.normal(size=n))
    spectrum, judged = solve(per_fit, basis)
    assert not judged["left_out"] and judged["share"] < drift.DRIFT_SHARE and spectrum.k == 2


def test_a_drift_the_independent_fits_do_not_share_is_not_a_dependence():
    """One fit's error tilts along the identity, the other's does not: their mean drifts, their
    agreement does not."""
    rng = np.random.default_rng(2)
    per_fit, basis = constraints(rng, 2000, lambda fit, n: (0.02 if fit == 0 else 0.0) + 0.002 * rng.normal(size=n))
    spectrum, judged = solve(per_fit, basis)
    assert not judged["left_out"] and spectrum.k == 2


def test_a_forced_dimension_keeps_the_dilation():
    rng = np.random.default_rng(3)
    per_fit, basis = constraints(rng, 2000, lambda fit, n: 0.01 + 0.005 * rng.normal(size=n))
    spectrum, left_out = solve(per_fit, basis, n_generators=2)
    assert left_out is None and spectrum.k == 2


def test_exact_derivatives_keep_an_exact_dilation():
    """Values below a millionth of the largest (exact derivatives, to rounding): their mean says nothing."""
    rng = np.random.default_rng(4)
    per_fit, basis = constraints(rng, 500, lambda fit, n: np.full(n, 1e-8), error=0.0)
    spectrum, left_out = solve(per_fit, basis)
    assert left_out is None and spectrum.k == 2


@pytest.mark.slow
def test_a_true_dilation_with_fitted_derivatives_is_kept():
    """y = z / |x|, kept by rotations about z and by scalings: the fitted networks' residual along
    the dilation has no shared mean shift, so so(2)+dilation stands (with the doubt)."""
    from symdisco.datasets.base import SymmetryDataset

    x = torch.randn(4000, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = (x[:, 2] / x.norm(dim=1))[:, None]
    data = SymmetryDataset("polar", x[:3000], y[:3000], x[3000:], y[3000:], "invariant", "vector", {}, None)
    with warnings.catch_warnings(record=True) as caught:   # the fits' disagreement on k is said too
        warnings.simplefilter("always")
        result = LieSD(seed=1).fit(data, progress=False)
    assert any("no mean shift along it that the independent fits agree on" in str(w.message) for w in caught)
    assert result.algebra.identify()[0] == "so(2)+dilation"
    assert result.extras["dilation_kept"]["mean_shift_share"] < drift.DRIFT_SHARE
    assert "dilation_left_out" not in result.extras


@pytest.mark.slow
def test_collider_frame_jets_give_so13_and_leave_the_dilation_out(recwarn, tmp_path):
    """The label is Lorentz invariant, and the classifier's score grows with the jet mass: the
    spectrum alone shows seven near-zero values (so(1,3) + dilation, the dilation's value
    (m/E)^2 of a generic direction's on boosted jets), and the mean shift along the dilation,
    which both fits share, leaves it out. (8 constituents per jet, for time.)"""
    data = load("lorentz-jets", frame="collider", n_train=40000, n_particles=8)
    result = LieSD(epochs=80).fit(data, progress=False)
    values = np.asarray(result.extras["singular_values"])
    assert int(np.argmax(values[1:8] / values[:7])) + 1 == 7          # where the spectrum's gap is
    assert result.algebra.k == 6 and result.algebra.identify()[0] == "so(1,3)"
    assert result.extras["dilation_left_out"]["mean_shift_share"] > drift.DRIFT_SHARE
    assert float(similarity(result.algebra.basis, known.lorentz().basis)) > 0.99
    metric = np.asarray(result.algebra.invariant_metric())
    assert np.allclose(metric, np.diag([1.0, -1.0, -1.0, -1.0]), atol=0.1)
    assert any("left out the dilation" in str(w.message) for w in recwarn)
    result.save(tmp_path)                                        # result.json and both reports say so
    assert "dilation left out" in write_report(tmp_path)
    assert "dilation left out" in run_cells(load_run(tmp_path), load_builtin=False)["overview"]


def test_no_symmetry_because_the_dilation_was_left_out_is_not_called_unsure():
    from symdisco.methods.liesd import unclear_gap_message

    extras = {"gap": 2.5, "singular_values": [0.04, 0.1, 1.0], "chosen_k": 0, "noise": None}
    assert "not surely" in unclear_gap_message(extras, 3.0)
    left_out = {**extras, "dilation_left_out": {"mean_shift_share": 0.4, "singular_value": 0.04}}
    assert unclear_gap_message(left_out, 3.0) is None
    assert "left out the dilation" in drift.drift_message(left_out["dilation_left_out"], 0)
