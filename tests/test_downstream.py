import json

import pytest
import torch

from symdisco.experiments import downstream

KEYS = {"model", "symmetry", "metric", "value"}


def check_table(out, n_rows, metrics):
    rows = json.loads((out / "table.json").read_text())
    assert isinstance(rows, list) and len(rows) == n_rows
    for row in rows:
        assert set(row) == KEYS
        assert row["symmetry"] in ("none", "discovered", "true")
        assert row["metric"] in metrics
        assert isinstance(row["value"], float)
    md = (out / "table.md").read_text()
    assert "| model | symmetry | metric | value |" in md
    assert sum(line.startswith("| ") for line in md.splitlines()) == n_rows + 1
    return rows


def test_nbody2_table_quick(tmp_path, capsys):
    torch.set_num_threads(1)
    rows = downstream.run("nbody2", tmp_path, epochs=1, progress=False, discover="perturbed",
                          n_train="512", n_test=256, hidden=16, eq_hidden=12, layers=1,
                          repeats=1)
    table = check_table(tmp_path, 4, {"test_mse"})
    assert table == rows
    assert [(r["model"], r["symmetry"]) for r in rows] == [
        ("MLP", "none"), ("MLP + augmentation", "discovered"),
        ("EquivariantMLP", "discovered"), ("EquivariantMLP", "true")]
    assert "| EquivariantMLP | true | test_mse |" in capsys.readouterr().out
    details = json.loads((tmp_path / "details.json").read_text())
    assert details["discovery_method"] == "perturbed-truth"
    assert (tmp_path / "discovery" / "result.json").is_file()  # cached for reruns
    # a saved discovery can be passed instead
    other = tmp_path / "again"
    downstream.run("nbody2", other, epochs=1, progress=False, result=tmp_path / "discovery",
                   n_train=256, n_test=64, hidden=8, eq_hidden=12, layers=1, repeats=1)
    details = json.loads((other / "details.json").read_text())
    assert details["discovery"] == str(tmp_path / "discovery")


def test_lorentz_jets_table_quick(tmp_path):
    torch.set_num_threads(1)
    rows = downstream.run("lorentz-jets", tmp_path, epochs=1, progress=False, discover="perturbed",
                          n_train=64, n_test=64, hidden=8, layers=1)
    check_table(tmp_path, 6, {"accuracy", "auc"})
    assert {(r["model"], r["symmetry"]) for r in rows} == {
        ("PlainGNN", "none"), ("LieGNN", "discovered"), ("LieGNN", "true")}


def test_unknown_experiment_is_a_user_error(tmp_path):
    from symdisco.errors import UserInputError

    with pytest.raises(UserInputError):
        downstream.run("mnist", tmp_path)


@pytest.mark.slow
def test_nbody2_discovered_close_to_true_and_beats_mlp(tmp_path):
    """Issue criterion: EquivariantMLP (discovered) within 20% of (true), below the plain MLP.

    The discovery is the closed form (similarity 0.99998): at 8 epochs and 2 repeats the models'
    own seed-to-seed spread is 2x, and LieGAN's 0.9999 generator landed 35% off (1.1e-7 vs 8.2e-8)
    while LieSD's lands 6% off (8.8e-8), so the test checks the downstream use, not GAN noise."""
    torch.set_num_threads(1)
    rows = downstream.run("nbody2", tmp_path, epochs=8, repeats=2, progress=False, discover="liesd")
    value = {(r["model"], r["symmetry"]): r["value"] for r in rows}
    discovered = value["EquivariantMLP", "discovered"]
    true = value["EquivariantMLP", "true"]
    assert discovered < value["MLP", "none"]
    assert abs(discovered - true) <= 0.2 * true


@pytest.mark.slow
def test_lorentz_jets_liegnn_beats_plain_gnn(tmp_path):
    torch.set_num_threads(1)
    rows = downstream.run("lorentz-jets", tmp_path, epochs=4, progress=False, n_train=2000, n_test=500,
                          hidden=16)
    value = {(r["model"], r["symmetry"], r["metric"]): r["value"] for r in rows}
    assert value["LieGNN", "discovered", "accuracy"] > value["PlainGNN", "none", "accuracy"]
    assert value["LieGNN", "true", "accuracy"] > 0.9


def test_lorentz_task_on_a_user_file(tmp_path):
    """A user's jets file (here the toy jets saved as .npz) goes through `file=`."""
    import numpy as np

    from symdisco.datasets.jets import make_jets

    jets, labels = make_jets(96, seed=3, n_particles=8)
    path = tmp_path / "my_jets.npz"
    np.savez(path, x=jets / 100.0, y=labels)
    torch.set_num_threads(1)
    downstream.run("lorentz-jets", tmp_path / "out", epochs=1, progress=False,
                   discover="perturbed", file=str(path), hidden=8, layers=1)
    check_table(tmp_path / "out", 6, {"accuracy", "auc"})
    details = json.loads((tmp_path / "out" / "details.json").read_text())
    assert details["data"] == str(path) and details["n_test"] == 96 - details["n_train"]
