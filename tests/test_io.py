"""User files: round trips of every format, defaults, and one clear error per bad input."""
from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

import symdisco.datasets as datasets
from symdisco.datasets.io import load_file
from symdisco.errors import UserInputError

RNG = np.random.default_rng(0)
X = RNG.standard_normal((50, 3)).astype(np.float32)
Y = RNG.standard_normal((50, 1)).astype(np.float32)


def fails(path, *fragments, **options) -> str:
    """load_file must raise one UserInputError line naming the file and every fragment."""
    with pytest.raises(UserInputError) as info:
        datasets.load(str(path), **options)
    message = str(info.value)
    assert "\n" not in message and str(path.name) in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def check_split(data, x, y=None, n_train=40):
    assert torch.equal(data.x, torch.from_numpy(x[:n_train]).float())
    assert torch.equal(data.x_test, torch.from_numpy(x[n_train:]).float())
    if y is not None:
        assert np.array_equal(data.y.numpy().reshape(y[:n_train].shape), y[:n_train])
        assert np.array_equal(data.y_test.numpy().reshape(y[n_train:].shape), y[n_train:])


# -- round trips ---------------------------------------------------------------------------

def test_npz_round_trip_and_defaults(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, x=X, y=Y)
    data = datasets.load(str(path))
    check_split(data, X, Y)
    assert (data.task, data.action, data.ground_truth) == ("invariant", "vector", None)
    assert data.name == "data.npz" and data.metadata["format"] == "npz"
    assert data.x.dtype == data.y.dtype == torch.float32


def test_npz_without_targets_and_with_custom_keys(tmp_path):
    path = tmp_path / "points.npz"
    np.savez(path, inputs=X.reshape(50, 1, 3), labels=np.arange(50) % 3)
    plain = load_file(path, x_key="inputs", y_key=None)
    assert (plain.task, plain.action, plain.y, plain.y_test) == ("unsupervised", "points", None, None)
    assert plain.x.shape == (40, 1, 3) and plain.x_test.shape == (10, 1, 3)
    labelled = load_file(path, x_key="inputs", y_key="labels")
    assert labelled.task == "classification" and labelled.y.dtype == torch.int64
    assert labelled.y.tolist() == (np.arange(40) % 3).tolist()


def test_explicit_test_arrays_and_equivariant_default(tmp_path):
    path = tmp_path / "pairs.npz"
    np.savez(path, x=X, y=2 * X, x_test=X[:7], y_test=2 * X[:7])
    data = load_file(path)
    assert data.task == "equivariant"
    assert data.x.shape == (50, 3) and data.x_test.shape == (7, 3)
    assert torch.allclose(data.y_test, 2 * torch.from_numpy(X[:7]))


def test_test_fraction_and_overrides(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, x=np.tile(X, (1, 2)), y=Y)
    data = load_file(path, test_fraction=0.5, task="invariant", action="blocks", block_dim=3)
    assert data.x.shape == (25, 6) and data.x_test.shape == (25, 6)
    assert data.action_options == {"block_dim": 3} and data.task == "invariant"
    none_held = load_file(path, test_fraction=0)
    assert none_held.x.shape == (50, 6) and none_held.x_test.shape == (0, 6)


def test_csv_round_trip(tmp_path):
    path = tmp_path / "table.csv"
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": Y[:, 0]})
    frame.to_csv(path, index=False)
    data = datasets.load(str(path))
    check_split(data, np.array(frame[["a", "b", "c"]], dtype=np.float32), Y)
    assert data.metadata["columns"] == {"x": ["a", "b", "c"], "y": "y"}
    chosen = load_file(path, x_key="a,c", y_key="b")
    assert torch.equal(chosen.x, torch.from_numpy(X[:40][:, [0, 2]]))
    assert torch.equal(chosen.y[:, 0], torch.from_numpy(X[:40, 1]))
    everything = load_file(path, y_key=None)
    assert everything.x.shape == (40, 4) and everything.task == "unsupervised"


def test_h5_round_trip(tmp_path):
    path = tmp_path / "data.hdf5"
    with h5py.File(path, "w") as handle:
        handle["x"] = X
        handle["y"] = Y
        handle["group/inputs"] = X[:, :2]
    check_split(datasets.load(str(path)), X, Y)
    nested = load_file(path, x_key="group/inputs", y_key=None)
    assert nested.x.shape == (40, 2) and nested.task == "unsupervised"


def test_pt_round_trip(tmp_path):
    path = tmp_path / "data.pt"
    torch.save({"x": torch.from_numpy(X), "y": torch.arange(50) % 2}, path)
    data = datasets.load(str(path))
    check_split(data, X, np.arange(50) % 2)
    assert data.task == "classification" and data.y.dtype == torch.int64


def _top_tagging_frame(n_jets=30, n_stored=5):
    rng = np.random.default_rng(1)
    columns = {}
    for i in range(n_stored):
        momenta = rng.normal(0, 50, size=(n_jets, 3)) * (i < 3)
        columns[f"E_{i}"] = np.linalg.norm(momenta, axis=1)
        columns[f"PX_{i}"], columns[f"PY_{i}"], columns[f"PZ_{i}"] = momenta.T
    frame = pd.DataFrame(columns).astype(np.float32)
    frame["truthE"] = np.float32(1.0)
    frame["ttv"] = np.int64(0)
    frame["is_signal_new"] = (np.arange(n_jets) % 2).astype(np.int64)
    return frame


@pytest.mark.parametrize("format", ["fixed", "table"])
def test_top_tagging_format(tmp_path, format):
    frame = _top_tagging_frame()
    path = tmp_path / "train.h5"
    frame.to_hdf(path, key="table", mode="w", format=format)
    data = datasets.load(str(path), n_constituents=4)
    assert data.metadata["format"] == "top-tagging" and data.task == "classification"
    assert data.action == "points" and data.ground_truth.name == "so(1,3)"
    assert data.x.shape == (24, 4, 4) and data.x_test.shape == (6, 4, 4)
    expected = np.stack([frame[[f"E_{i}", f"PX_{i}", f"PY_{i}", f"PZ_{i}"]].to_numpy()
                         for i in range(4)], axis=1) / 100.0
    np.testing.assert_allclose(data.x.numpy(), expected[:24], rtol=1e-6)
    assert data.y.tolist() == frame["is_signal_new"].tolist()[:24]
    raw = load_file(path, n_constituents=2, scale=1.0, max_samples=10, test_fraction=0.2)
    assert raw.x.shape == (8, 2, 4)
    np.testing.assert_allclose(raw.x[0, 1].numpy(), expected[0, 1] * 100, rtol=1e-6)
    fails(path, "n_constituents=6", "only 5 constituents", n_constituents=6)


def test_pandas_table_without_four_vectors(tmp_path):
    path = tmp_path / "other.h5"
    pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}).to_hdf(path, key="table", mode="w")
    fails(path, "no four-vector columns E_0", "a, b")


# -- errors --------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    fails(tmp_path / "absent.npz", "no such file")


def test_unknown_extension(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("1 2 3\n")
    fails(path, "unknown file type '.txt'", ".npz", ".csv", ".h5", ".pt")


@pytest.mark.parametrize("suffix", [".npz", ".h5", ".pt", ".csv"])
def test_missing_key_lists_the_keys(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    if suffix == ".npz":
        np.savez(path, inputs=X, targets=Y)
    elif suffix == ".h5":
        with h5py.File(path, "w") as handle:
            handle["inputs"], handle["targets"] = X, Y
    elif suffix == ".pt":
        torch.save({"inputs": torch.from_numpy(X), "targets": torch.from_numpy(Y)}, path)
    else:
        pd.DataFrame({"inputs": X[:, 0], "targets": Y[:, 0]}).to_csv(path, index=False)
    if suffix != ".csv":
        fails(path, "no array 'x'", "'inputs'", "'targets'")
    message = fails(path, "no array 'y'", "'inputs'", "'targets'", "y_key=None", x_key="inputs")
    assert message.count("\n") == 0


def test_object_and_ragged_arrays(tmp_path):
    path = tmp_path / "ragged.npz"
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.zeros(3), np.zeros(2)
    np.savez(path, x=ragged, y=np.zeros(2))
    fails(path, "array 'x'", "Python objects", "rectangular")
    path = tmp_path / "ragged.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", (2,), dtype=h5py.vlen_dtype(np.float32))
        handle["y"] = np.zeros(2)
    fails(path, "array 'x'", "variable-length")
    path = tmp_path / "ragged.pt"
    torch.save({"x": [[1.0, 2.0], [3.0]], "y": torch.zeros(2)}, path)
    fails(path, "array 'x'", "ragged")


def test_wrong_number_of_dimensions(tmp_path):
    path = tmp_path / "flat.npz"
    np.savez(path, x=np.zeros(10), y=np.zeros(10))
    fails(path, "array 'x' has shape (10,)", "expected (samples, features)")
    np.savez(path, x=np.zeros((10, 2)), y=np.zeros((10, 2, 2)))
    fails(path, "array 'y' has shape (10, 2, 2)", "expected (samples,) or (samples, outputs)")


def test_nan_and_inf_are_counted_and_located(tmp_path):
    path = tmp_path / "holes.npz"
    x = X.copy()
    x[7, 2], x[9, 0] = np.nan, np.inf
    np.savez(path, x=x, y=Y)
    fails(path, "array 'x'", "2 NaN/Inf values", "first at index (7, 2)")
    y = Y.copy()
    y[3] = np.nan
    np.savez(path, x=X, y=y)
    fails(path, "array 'y'", "1 NaN/Inf value", "(3, 0)")


def test_empty_arrays(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, x=np.zeros((0, 3)), y=np.zeros((0, 1)))
    fails(path, "array 'x' is empty", "(0, 3)")
    csv = tmp_path / "empty.csv"
    csv.write_text("")
    fails(csv, "is empty")
    csv.write_text("a,b,y\n")
    fails(csv, "array", "is empty")


def test_length_mismatch(tmp_path):
    path = tmp_path / "mismatch.h5"
    with h5py.File(path, "w") as handle:
        handle["x"], handle["y"] = X, Y[:40]
    fails(path, "'x' has 50 samples", "'y' has 40")


def test_other_bad_inputs(tmp_path):
    csv = tmp_path / "words.csv"
    csv.write_text("a,y\n1.0,2.0\nhello,3.0\n")
    fails(csv, "column 'a' is not numeric", "row 2", "'hello'")
    pt = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3, 2), pt)
    fails(pt, "holds a Tensor", "dict of tensors")
    pickled = tmp_path / "pickled.pt"
    torch.save({"x": torch.zeros(3, 2), "y": pd.Timestamp("2020-01-01")}, pickled)
    fails(pickled, "weights_only=True")
    path = tmp_path / "labels.npz"
    np.savez(path, x=X, y=Y[:, 0] + 0.5)
    fails(path, "whole-number class labels", task="classification")
    fails(path, "task 'equivariant' needs y shaped like x", task="equivariant")
    fails(path, "action 'points' needs x of 3 dimensions", action="points")
    fails(path, "action 'blocks' needs block_dim", action="blocks")
    fails(path, "block_dim=2 does not divide the 3 features", action="blocks", block_dim=2)
    fails(path, "task 'fancy' is not one of", task="fancy")
    fails(path, "test_fraction must be in [0, 1)", test_fraction=1.5)
    fails(path, "block_dim must be an integer, got 'two'", action="blocks", block_dim="two")
    fails(path, "max_samples must be >= 1", max_samples=0)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not an hdf5 file")
    fails(garbage, "cannot open as HDF5")


def test_load_routes_paths_and_names(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, x=X, y=Y)
    assert datasets.load(path).x.shape == (40, 3)               # a Path object too
    with pytest.raises(UserInputError, match="no such file"):
        datasets.load("nowhere/data.csv")
    fails(path, "no file option n_constituent", "x_key", "test_fraction", n_constituent=3)
    # options as a command line gives them: strings
    data = datasets.load(str(path), y_key="none", test_fraction="0.5", max_samples="20")
    assert data.task == "unsupervised" and data.x.shape == (10, 3)
