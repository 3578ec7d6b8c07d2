"""LieGAN and its baselines: parts, knobs, and discovery against known ground truth."""
import math

import pytest
import torch

import symdisco.datasets as datasets
from symdisco.lie import known
from symdisco.methods import get
from symdisco.methods.discriminators import make_discriminator
from symdisco.lie.sampling import IntegerGridLaw, UniformLaw
from symdisco.methods.liegan import LieGAN, rotation_angle
from symdisco.methods.regularizers import (nontrivial_penalty, orthogonality_penalty, sparsity_penalty,
                                           threshold_basis)


def test_orthogonality_penalty_is_zero_for_an_orthogonal_basis_and_positive_otherwise():
    so3 = known.so(3).basis.float()
    assert orthogonality_penalty(so3, "cosine") < 1e-12
    assert orthogonality_penalty(so3, "killing") < 1e-12
    parallel = torch.stack([so3[0], so3[0] + 0.1 * so3[1]])
    assert orthogonality_penalty(parallel, "cosine") > 0.4


def test_nontrivial_and_sparsity_penalties():
    x = torch.randn(64, 4)
    assert nontrivial_penalty(x, x, torch.eye(4)[None]) > 0.999  # the identity is penalised
    assert nontrivial_penalty(x, -x, torch.eye(4)[None]) < -0.999
    assert nontrivial_penalty(x, 2 * x, torch.eye(4)[None], "relative") == pytest.approx(-0.5)
    sparse, dense = torch.zeros(1, 3, 3), torch.ones(1, 3, 3)
    sparse[0, 0, 1] = 1.0
    assert sparsity_penalty(sparse) < sparsity_penalty(dense)
    kept = threshold_basis(torch.tensor([[[1.0, 0.05], [-0.5, 0.0]]]), 0.1)
    assert kept[0, 0, 1] == 0 and kept[0, 1, 0] == -0.5


@pytest.mark.parametrize("shape,action,n_classes", [((8, 6), "vector", None), ((8, 5, 4), "points", 2),
                                                    ((8, 1, 12, 12), "image", 10)])
def test_discriminators_give_one_logit_per_sample(shape, action, n_classes):
    x = torch.randn(*shape)
    y = torch.randint(0, n_classes, (8,)) if n_classes else torch.randn(8, 1)
    disc = make_discriminator(x, y, action, n_classes, hidden=16, layers=2)
    assert disc(x, y).shape == (8,)


def test_set_discriminator_is_permutation_invariant():
    x = torch.randn(4, 6, 4)
    disc = make_discriminator(x, None, "points", None, hidden=16, layers=2)
    assert torch.allclose(disc(x), disc(x[:, torch.randperm(6)]), atol=1e-6)


def test_rotation_angle_of_a_2x2_generator():
    j = torch.tensor([[0.0, -1.0], [1.0, 0.0]])
    assert rotation_angle(0.3 * j) == pytest.approx(0.3)
    assert rotation_angle(j, step=2 * math.pi / 7) == pytest.approx(2 * math.pi / 7)


def test_fit_is_repeatable_with_a_seed_and_records_the_law():
    data = datasets.load("so2-equivariant", n_train=512)
    a = LieGAN(epochs=2, seed=1).fit(data, progress=False)
    b = LieGAN(epochs=2, seed=1).fit(data, progress=False)
    assert torch.equal(a.algebra.basis, b.algebra.basis)
    assert a.coefficient_law["law"] == "normal" and len(a.history) == 2


def test_incremental_discovery_activates_channels_one_at_a_time():
    data = datasets.load("so3-invariant", n_train=512)
    method = LieGAN(n_generators=3, incremental=True, fooled_accuracy=1.01, epochs=3, early_stopping=False)
    result = method.fit(data, progress=False)
    assert [row["n_active"] for row in result.history] == [1, 2, 3]


def test_uniform_and_integer_laws_run_and_report():
    data = datasets.load("discrete-rotation", k=4, n_train=512)
    result = LieGAN(law=IntegerGridLaw(step=1.0), epochs=2).fit(data, progress=False)
    assert result.coefficient_law["law"] == "integer_grid" and len(result.extras["rotation_angle"]) == 1
    uniform = LieGAN(law=UniformLaw(learnable=True), epochs=2).fit(data, progress=False)
    assert uniform.coefficient_law["law"] == "uniform"


@pytest.mark.slow
def test_liegan_finds_so2_on_every_block_of_nbody2():
    data = datasets.load("nbody2")
    sims = [LieGAN(epochs=10, seed=seed).fit(data, progress=False).similarity for seed in range(5)]
    assert sum(s >= 0.99 for s in sims) >= 4, sims


@pytest.mark.slow
def test_liegan_finds_so3_on_three_vectors():
    result = LieGAN(n_generators=3, epochs=60, seed=0).fit(datasets.load("so3-invariant"), progress=False)
    assert result.similarity >= 0.9
    assert result.algebra.identify()[0] == "so(3)"


@pytest.mark.slow
def test_symmetrygan_baseline_runs_through_the_same_harness():
    result = get("symmetrygan")(epochs=10, seed=0).fit(datasets.load("nbody2"), progress=False)
    assert result.algebra.k == 1 and result.method == "symmetrygan"
    assert result.similarity > 0.9  # its single element is a rotation here


def _quality_benchmark():
    """benchmarks/liegan_quality.py, whose configurations the slow quality tests assert."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "liegan_quality.py"
    spec = importlib.util.spec_from_file_location("liegan_quality", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fourier_discriminator_and_multi_start_options():
    data = datasets.load("discrete-rotation", k=4, n_train=256, n_test=64)
    disc = make_discriminator(data.x, data.y, "vector", None, hidden=16, layers=2, kind="fourier")
    assert disc(data.x[:8], data.y[:8]).shape == (8,)
    result = LieGAN(law="integer", discriminator="fourier", n_starts=2, start_epochs=1, epochs=1,
                    lr_decay=0.1).fit(data, progress=False)
    assert len(result.extras["starts"]) == 2 and len(result.extras["rotation_angle"]) == 1


@pytest.mark.slow
def test_liegan_finds_so13_on_isotropic_lorentz_jets():
    record = _quality_benchmark().lorentz_run()
    assert record["similarity"] >= 0.9, record
    assert record["invariant_metric"] is not None, record  # what result.json reports
    metric = torch.tensor(record["invariant_metric"])
    assert torch.allclose(metric, torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0])), atol=0.1), record


@pytest.mark.slow
@pytest.mark.parametrize("k", [4, 7])
def test_liegan_finds_the_discrete_rotation_angle(k):
    record = _quality_benchmark().discrete_run(k)
    assert record["relative_error"] < 0.02, record


def _write_top_tagging_file(path, n_constituents=8, n_stored=10):
    """Toy jets written in the public top-tagging layout (pandas HDF5, key 'table')."""
    import numpy as np
    import pandas as pd

    jets = datasets.load("lorentz-jets", frame="isotropic", n_particles=n_stored, scale=1.0)
    x = torch.cat([jets.x, jets.x_test]).numpy()
    y = torch.cat([jets.y, jets.y_test]).numpy()
    columns = {}
    for i in range(n_stored):
        for j, name in enumerate(["E", "PX", "PY", "PZ"]):
            columns[f"{name}_{i}"] = x[:, i, j].astype(np.float32)
    frame = pd.DataFrame(columns)
    frame["truthE"], frame["ttv"], frame["is_signal_new"] = np.float32(0), np.int64(0), y.astype(np.int64)
    frame.to_hdf(path, key="table", mode="w", format="table")


@pytest.mark.slow
def test_liegan_on_a_top_tagging_file_uses_the_leading_constituents(tmp_path):
    import json

    from symdisco.cli import main

    path = tmp_path / "top.h5"
    _write_top_tagging_file(path)
    out = tmp_path / "run"
    args = ["discover", str(path), "--generators", "6", "--epochs", "40", "--law-scale", "0.2", "--w-nontrivial", "1",
            "-D", "n_constituents=8", "--out", str(out), "--quiet"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the seeded run is reproducible on one thread
    try:
        assert main(args) == 0
    finally:
        torch.set_num_threads(threads)
    record = json.loads((out / "result.json").read_text())
    assert record["action"] == {"action": "points"}
    assert torch.tensor(record["generators"]).shape == (6, 4, 4)
    assert record["similarity"] >= 0.9, record["similarity"]  # the file carries so(1,3) as truth
