"""LieSD scores the predictor it reads derivatives from on held-out data, and says when it is poor."""
import warnings

import numpy as np
import pytest
import torch

from symdisco.cli import main
from symdisco.datasets import symmetry_cases as sc
from symdisco.datasets.base import SymmetryDataset
from symdisco.lie.algebra import LieAlgebra
from symdisco.methods.fit_check import held_out_score, weak_fit_message
from symdisco.methods.liesd import LieSD


def split(x, y, task, truth=()):
    n = int(0.8 * len(x))
    return SymmetryDataset("case", x[:n], y[:n], x[n:], y[n:], task, "vector", {},
                           LieAlgebra(torch.as_tensor(np.asarray(truth))) if len(truth) else None)


def test_scores_are_accuracy_and_r2():
    z = torch.randn(200, 3, dtype=torch.float64)
    labels = (z[:, 0] > 0).long()
    logits = lambda t: torch.stack([-t[:, 0], t[:, 0]], dim=1)
    assert held_out_score("classification", [logits], z, labels) == {"metric": "accuracy", "held_out": 1.0}
    target = z[:, :1] * 2
    assert held_out_score("invariant", [lambda t: t[:, :1] * 2], z, target)["held_out"] == pytest.approx(1.0)
    assert held_out_score("invariant", [lambda t: torch.zeros(len(t), 1, dtype=t.dtype)], z, target)["held_out"] \
        == pytest.approx(0.0, abs=0.05)
    assert weak_fit_message({"metric": "r2", "held_out": 0.95}) is None
    assert "0.50" in weak_fit_message({"metric": "accuracy", "held_out": 0.5})


def test_a_good_fit_is_reported_without_warning():
    x, y, truth = sc.rotation_in_disguise_task(3000, np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = LieSD(seed=0, derivatives="polynomial").fit(split(x, y, "invariant", truth), progress=False)
    assert result.extras["predictor_check"]["metric"] == "r2"
    assert result.extras["predictor_check"]["held_out"] > 0.9


def test_labels_no_predictor_can_learn_are_flagged(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 3))
    y = rng.integers(0, 2, size=3000)           # labels independent of x: nothing generalises
    with pytest.warns(UserWarning, match="held-out accuracy"):
        result = LieSD(seed=0, fit_steps=200).fit(split(x, y, "classification"), progress=False)
    assert result.extras["predictor_check"]["held_out"] < 0.65
    np.savez(tmp_path / "noise.npz", x=x, y=y)
    code = main(["discover", str(tmp_path / "noise.npz"), "-D", "task=classification", "--method", "liesd",
                 "--fit-steps", "200", "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 0
    assert "symdisco: warning: liesd: the fitted predictor's held-out accuracy" in capsys.readouterr().err


@pytest.mark.slow
def test_a_poor_polynomial_fit_is_followed_by_a_network_that_finds_the_right_metric():
    """y = tanh(x0^2 - x1^2 - x2^2) on anisotropic x saturates: a cubic explains ~0.6 of it and
    its derivatives give a sheared so(1,2) (metric diag(1, -0.95, -0.49)); the network's do not."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3)) * np.array([1.0, 0.7, 1.3])
    y = np.tanh(x[:, 0] ** 2 - x[:, 1] ** 2 - x[:, 2] ** 2)[:, None]
    from symdisco.lie.known import so_pq
    truth = so_pq(1, 2)
    result = LieSD(seed=0).fit(split(x, y, "invariant", truth.basis.numpy()), progress=False)
    tried = result.extras["derivatives_tried"]
    assert [t["derivatives"] for t in tried] == ["polynomial", "mlp"] and tried[0]["held_out"] < 0.9
    assert result.extras["derivatives"] == "mlp" and result.extras["predictor_check"]["held_out"] > 0.99
    assert result.algebra.identify()[0] == "so(1,2)" and result.similarity > 0.95
    metric = np.diag(result.algebra.invariant_metric().numpy())
    assert np.allclose(metric / metric[0], [1.0, -1.0, -1.0], atol=0.1)


def test_the_reports_show_the_held_out_score_and_its_doubt(tmp_path):
    from symdisco.html_report import run_cells
    from symdisco.report import write_report
    from symdisco.saved_runs import load_run

    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(1500, 3)), rng.integers(0, 2, size=1500)
    with pytest.warns(UserWarning):
        LieSD(seed=0, fit_steps=100).fit(split(x, y, "classification"), progress=False).save(tmp_path)
    text = write_report(tmp_path)
    assert "held-out accuracy" in text and "not reliable" in text
    assert "held-out accuracy" in run_cells(load_run(tmp_path), load_builtin=False)["overview"]


def _algebra_keeping(form: np.ndarray) -> np.ndarray:
    """All L with L^T J + J L = 0, as a basis (k, n, n)."""
    n = len(form)
    rows = np.stack([(e.reshape(n, n).T @ form + form @ e.reshape(n, n)).ravel() for e in np.eye(n * n)], axis=1)
    _, s, vt = np.linalg.svd(rows)
    return vt[(s > 1e-9).sum():].reshape(-1, n, n)


@pytest.mark.slow
def test_a_quadratic_form_of_signature_2_2_gives_all_of_so22():
    """y = sin(q) + q/10, q = x1 x4 - x2 x3, on anisotropic x: six symmetry values (0.05-0.10) sit
    below a gap of 4.4; a null tolerance of 0.1 used to cut them off (k = 0). A quartic reads k = 2,
    the network (kept, better on held-out data) k = 6, and LieSD says that the two disagree."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(8000, 4)) * np.array([1.2, 0.8, 1.0, 0.6])
    q = x[:, 0] * x[:, 3] - x[:, 1] * x[:, 2]
    form = np.array([[0, 0, 0, 0.5], [0, 0, -0.5, 0], [0, -0.5, 0, 0], [0.5, 0, 0, 0]])
    truth = _algebra_keeping(form)
    with pytest.warns(UserWarning, match="derivatives from the mlp fit give k = 6, from the polynomial fit k = 2"):
        result = LieSD(seed=0).fit(split(x, (np.sin(q) + 0.1 * q)[:, None], "invariant", truth), progress=False)
    assert result.algebra.k == 6 and result.algebra.identify()[0] == "so(2,2)"
    assert result.similarity > 0.95
