"""User data files as `SymmetryDataset`s: .npz, .csv, .h5/.hdf5, .pt, and top-tagging HDF5.

    load_file("data.npz")                     # arrays "x" and "y"
    load_file("data.npz", y_key=None)         # no targets: task "unsupervised"
    load_file("table.csv", y_key="energy")    # y = that column, x = all the other columns
    load_file("train.h5", n_constituents=30)  # the public top-tagging format, detected

Formats:

* `.npz` (numpy.savez): arrays `x_key` and `y_key`; pickled object arrays are refused.
* `.csv`: a header row of column names; y is the column `y_key` (default "y"), x all the other
  columns (or the columns listed in `x_key`, a list or a comma-separated string).
* `.h5` / `.hdf5` (h5py): datasets `x_key` and `y_key` (paths inside the file allowed).
  A file written by pandas with key "table" and columns E_0, PX_0, PY_0, PZ_0, E_1, ... and
  `is_signal_new` (the public top-quark tagging data) is detected: x = the leading
  `n_constituents` four-vectors (N, n_constituents, 4) divided by `scale` (default 100, so in
  units of 100 GeV; `scale` applies to this format only), y = the label; task
  "classification", action "points", truth lorentz().
* `.pt`: `torch.save` of a dict of tensors, read with `torch.load(weights_only=True)`.

`y_key=None` (or the string "none") reads no targets. When the file also holds `<x_key>_test` (and `<y_key>_test`)
those are the test split; otherwise the last `test_fraction` (default 0.2) of the samples are
held out, in file order. Defaults: task "unsupervised" without y, "classification" for
integer y, "equivariant" when y has the shape of x, else "invariant"; action "vector" for
x (N, d), "points" for (N, n, d), "image" for (N, C, H, W); `task=` and `action=` (with
`block_dim=` for "blocks") override. User files carry no ground truth.

Every problem with a file raises `UserInputError` with one line naming the file and array.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from symdisco.errors import UserInputError

from .base import ACTIONS, FLOAT32_MAX, TASKS, SymmetryDataset

SUFFIXES = (".npz", ".csv", ".h5", ".hdf5", ".pt")
TOP_TAGGING_LABEL = "is_signal_new"
_ACTION_NDIM = {"vector": 2, "blocks": 2, "points": 3, "image": 4}


def printable(text: str) -> str:
    """A file name as text: bytes that are not UTF-8 (held as surrogates) shown as U+FFFD, so
    titles, JSON and the terminal can all take it."""
    return os.fsencode(text).decode("utf-8", "replace")


def _fail(path, message) -> UserInputError:
    return UserInputError(f"{path}: {message}")


def _shape(array) -> str:
    return "(" + ", ".join(map(str, array.shape)) + ("," if array.ndim == 1 else "") + ")"


# -- readers: path, keys -> dict of numpy arrays (missing keys absent) ---------------------

def _missing_key(path, key, present):
    shown = ", ".join(repr(k) for k in list(present)[:20]) or "none"
    more = f" (and {len(present) - 20} more)" if len(present) > 20 else ""
    hint = "; for data without targets pass y_key=None (command line: --y-key none)" if key == "y" else ""
    return _fail(path, f"no array {key!r}; the file holds {shown}{more}{hint}")


def _read_npz(path, keys):
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - any failure to parse is the user's file
        raise _fail(path, f"cannot read as .npz ({type(error).__name__}: {error})") from None
    with archive:
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise _fail(path, "is a single .npy array, not an .npz archive of named arrays")
        present = list(archive.files)
        out = {}
        for key in keys:
            if key in archive.files:
                try:
                    out[key] = archive[key]
                except ValueError:
                    raise _fail(path, f"array {key!r} holds Python objects (ragged or mixed "
                                      f"rows?); save a rectangular numeric array") from None
    return out, present


def _read_pt(path, keys):
    import torch

    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise _fail(path, f"cannot read with torch.load(weights_only=True) "
                          f"({type(error).__name__}: {first[:200]}); save a dict of tensors") from None
    if not isinstance(content, dict):
        raise _fail(path, f"holds a {type(content).__name__}; expected a dict of tensors "
                          f"such as {{'x': ..., 'y': ...}}")
    out = {}
    for key in keys:
        if key in content:
            value = content[key]
            if torch.is_tensor(value):
                out[key] = value.detach().cpu().numpy()
            else:
                try:
                    out[key] = np.asarray(value)
                except ValueError:
                    raise _fail(path, f"array {key!r} is ragged; expected a rectangular "
                                      f"tensor") from None
    return out, [str(k) for k in content]


def _h5_dataset_names(handle) -> list[str]:
    import h5py

    found = []
    handle.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return found


def _read_h5_arrays(path, handle, keys):
    import h5py

    out = {}
    for key in keys:
        if key in handle and isinstance(handle[key], h5py.Dataset):
            dataset = handle[key]
            if dataset.dtype.kind in "OV" or h5py.check_vlen_dtype(dataset.dtype) is not None:
                raise _fail(path, f"array {key!r} has variable-length or compound entries "
                                  f"(dtype {dataset.dtype}); save a rectangular numeric array")
            out[key] = dataset[()]
    return out, _h5_dataset_names(handle)


def _read_csv(path, x_key, y_key, *, optional_y=False):
    """x (and y) columns of a CSV file.  With `optional_y` (a trajectory file, whose
    derivatives are computed when absent) a missing y column means no y, not an error."""
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise _fail(path, "is empty (expected a header row of column names, then rows)") from None
    except Exception as error:  # noqa: BLE001
        raise _fail(path, f"cannot read as CSV ({type(error).__name__}: "
                          f"{str(error).strip().splitlines()[0][:200]})") from None
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if len(frame) == 0:
        raise _fail(path, f"array 'x' is empty: a header ({', '.join(columns)}) but no rows")
    for column in columns:
        if not pd.api.types.is_numeric_dtype(frame[column]) and len(frame):
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = int(np.flatnonzero(values.isna() & frame[column].notna())[0]) \
                if (values.isna() & frame[column].notna()).any() else 0
            raise _fail(path, f"column {column!r} is not numeric (row {bad + 1} holds "
                              f"{frame[column].iloc[bad]!r})")
    if y_key is not None and y_key not in columns:
        if not optional_y:
            raise _missing_key(path, y_key, columns)
        y_key = None
    if isinstance(x_key, str) and "," in x_key:
        x_key = [k.strip() for k in x_key.split(",")]
    if isinstance(x_key, (list, tuple)):
        for key in x_key:
            if key not in columns:
                raise _missing_key(path, key, columns)
        x_columns = list(x_key)
    else:
        x_columns = [c for c in columns if c != y_key]
    if not x_columns:
        raise _fail(path, f"has no input columns besides the target {y_key!r}")
    x = frame[x_columns].to_numpy()
    y = None if y_key is None else frame[y_key].to_numpy()
    return x, y, x_columns, y_key


# -- the public top-tagging format (pandas HDF5, key "table") -----------------------------

def _is_pandas_table(handle) -> bool:
    import h5py

    return ("table" in handle and isinstance(handle["table"], h5py.Group)
            and "pandas_type" in handle["table"].attrs)


def _pandas_columns(path, handle, wanted, max_samples):
    """{column: values} for the wanted columns of a pandas frame stored under key "table"."""
    group = handle["table"]
    kind = group.attrs["pandas_type"]
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    stop = max_samples
    if kind == "frame":          # fixed format: blocks of columns, one per dtype
        out, all_columns = {}, []
        nblocks = int(group.attrs.get("nblocks", 0))
        for block in range(nblocks):
            items = [i.decode() if isinstance(i, bytes) else str(i)
                     for i in group[f"block{block}_items"][()]]
            all_columns += items
            take = sorted(items.index(c) for c in wanted if c in items)
            if take:
                values = group[f"block{block}_values"][:stop, take]
                for position, index in enumerate(take):
                    out[items[index]] = values[:, position]
        return out, all_columns
    import pandas as pd

    try:
        frame = pd.read_hdf(path, key="table", stop=stop)
    except Exception as error:  # noqa: BLE001
        raise _fail(path, f"cannot read the pandas table ({type(error).__name__}: {error})") from None
    return {c: frame[c].to_numpy() for c in wanted if c in frame.columns}, [str(c) for c in frame.columns]


def _read_top_tagging(path, handle, n_constituents, y_key, max_samples):
    names = [f"{q}_{i}" for i in range(n_constituents) for q in ("E", "PX", "PY", "PZ")]
    label = None if y_key is None else (TOP_TAGGING_LABEL if y_key == "y" else y_key)
    wanted = names + ([label] if label else [])
    columns, all_columns = _pandas_columns(path, handle, wanted, max_samples)
    if "E_0" not in columns:
        shown = ", ".join(all_columns[:8]) + (", ..." if len(all_columns) > 8 else "")
        raise _fail(path, f"pandas table has no four-vector columns E_0, PX_0, PY_0, PZ_0 "
                          f"(columns: {shown}); for plain arrays write datasets with h5py")
    available = max(int(m.group(1)) + 1 for c in all_columns
                    if (m := re.fullmatch(r"E_(\d+)", c)))
    if n_constituents > available:
        raise _fail(path, f"n_constituents={n_constituents} but the table holds only "
                          f"{available} constituents per jet (E_0 ... E_{available - 1})")
    missing = [c for c in names if c not in columns]
    if missing:
        raise _fail(path, f"table lacks column {missing[0]!r} of the four-vectors")
    if label and label not in columns:
        raise _missing_key(path, label, all_columns)
    x = np.stack([columns[c] for c in names], axis=1).reshape(-1, n_constituents, 4)
    y = None if label is None else columns[label]
    return x, y


# -- validation ----------------------------------------------------------------------------

def _check(path, key, array, role):
    """A numeric, finite, non-empty array of a sensible rank, else UserInputError."""
    array = np.asarray(array)
    if array.dtype.kind == "O":
        raise _fail(path, f"array {key!r} holds Python objects (ragged or mixed rows?); "
                          f"save a rectangular numeric array")
    if array.dtype.kind not in "biuf":
        raise _fail(path, f"array {key!r} is not numeric (dtype {array.dtype})")
    allowed = (2, 3, 4) if role == "x" else (1, 2)
    if array.ndim not in allowed:
        expected = ("(samples, features), (samples, points, dims) or (samples, C, H, W)"
                    if role == "x" else "(samples,) or (samples, outputs)")
        raise _fail(path, f"array {key!r} has shape {_shape(array)}; expected {expected}")
    if array.size == 0:
        raise _fail(path, f"array {key!r} is empty (shape {_shape(array)})")
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            where = first[0] if len(first) == 1 else first
            raise _fail(path, f"array {key!r} holds {int(bad.sum())} NaN/Inf value"
                              f"{'s' if bad.sum() > 1 else ''} (first at index {where})")
        largest = float(np.abs(array).max())
        if largest > FLOAT32_MAX:
            raise _fail(path, f"array {key!r} holds values up to {largest:.3g}, beyond float32's range "
                              f"({FLOAT32_MAX:.3g}); divide it by a constant (the scale does not change "
                              f"the symmetry)")
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    return array


def _number(path, option, value, kind=int, minimum=1):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise _fail(path, f"{option} must be {'an integer' if kind is int else 'a number'}, "
                          f"got {value!r}") from None
    if not number >= minimum or (kind is float and not np.isfinite(number)):
        raise _fail(path, f"{option} must be >= {minimum}, got {value!r}")
    return number


def _default_task(x, y):
    if y is None:
        return "unsupervised"
    if y.dtype.kind in "iu" and y.ndim == 1:
        return "classification"
    if y.shape[1:] == x.shape[1:]:
        return "equivariant"
    return "invariant"


def _split(n, test_fraction):
    n_test = int(round(n * test_fraction))
    return max(n - n_test, 1)


def load_file(path, x_key="x", y_key="y", *, task=None, action=None, block_dim=None,
              test_fraction=0.2, n_constituents=20, scale=None, max_samples=None,
              name=None, dt=None, trajectories=None, derivative=None,
              target=None) -> SymmetryDataset:
    """Read a user data file into a `SymmetryDataset` (see the module docstring)."""
    path = Path(os.fspath(path))
    if isinstance(y_key, str) and y_key.strip().lower() in ("", "none"):
        y_key = None                       # as a command line spells "no targets"
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise _fail(path, f"unknown file type {path.suffix or '(none)'!r}; "
                          f"use one of {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise _fail(path, "no such file" if not path.exists() else "is not a file")
    if task is not None and task not in TASKS:
        raise _fail(path, f"task {task!r} is not one of {', '.join(TASKS)}")
    if action is not None and action not in ACTIONS:
        raise _fail(path, f"action {action!r} is not one of {', '.join(ACTIONS)}")
    try:
        test_fraction = float(test_fraction)
    except (TypeError, ValueError):
        raise _fail(path, f"test_fraction must be a number, got {test_fraction!r}") from None
    if not 0.0 <= test_fraction < 1.0:
        raise _fail(path, f"test_fraction must be in [0, 1), got {test_fraction}")
    if max_samples is not None:
        max_samples = _number(path, "max_samples", max_samples)

    x_key_name = x_key if isinstance(x_key, str) else ",".join(x_key)
    test = {}
    metadata = {"source": str(path), "format": suffix.lstrip(".")}
    truth = None
    timed = False
    if suffix == ".csv":
        timed = _is_timed({}, dt, trajectories)
        x, y, x_columns, y_key = _read_csv(path, x_key, y_key, optional_y=timed)
        metadata["columns"] = {"x": x_columns, "y": y_key}
        arrays, present = {x_key_name: x, **({} if y is None else {y_key: y})}, x_columns
    elif suffix in (".h5", ".hdf5"):
        import h5py

        try:
            handle = h5py.File(path, "r")
        except Exception as error:  # noqa: BLE001
            raise _fail(path, f"cannot open as HDF5 ({type(error).__name__}: {error})") from None
        with handle:
            if _is_pandas_table(handle):
                n_constituents = _number(path, "n_constituents", n_constituents)
                x, y = _read_top_tagging(path, handle, n_constituents, y_key, max_samples)
                scale = 100.0 if scale is None else _number(path, "scale", scale, float, 1e-30)
                x = x / scale
                metadata.update(format="top-tagging", layout=["E", "px", "py", "pz"],
                                units_gev=scale, n_constituents=n_constituents)
                x_key_name = "table[E_i, PX_i, PY_i, PZ_i]"
                if y_key == "y":
                    y_key = TOP_TAGGING_LABEL
                if task is None and y is not None:
                    task = "classification"
                from symdisco.lie.known import lorentz

                truth = lorentz()
            else:
                arrays, present = _read_h5_arrays(path, handle, _keys(x_key, y_key))
                timed = _is_timed(arrays, dt, trajectories)
                if not timed:
                    _plain_file(path, derivative, target)
                    x, y, test = _pick(path, arrays, present, x_key, y_key)
    else:
        reader = _read_npz if suffix == ".npz" else _read_pt
        arrays, present = reader(path, _keys(x_key, y_key))
        timed = _is_timed(arrays, dt, trajectories)
        if not timed:
            _plain_file(path, derivative, target)
            x, y, test = _pick(path, arrays, present, x_key, y_key)
    if timed:  # a trajectory file: its own layout, split and derivatives
        return _trajectory_dataset(path, arrays, present, x_key, y_key, x_key_name, metadata,
                                   task=task, action=action, block_dim=block_dim, dt=dt,
                                   trajectories=trajectories, derivative=derivative,
                                   target=target, test_fraction=test_fraction, name=name)
    _plain_file(path, derivative, target)

    x = _check(path, x_key_name, x, "x")
    if y is not None:
        y = _check(path, y_key, y, "y")
        if y.ndim == 2 and y.shape[1] == 1 and y.dtype.kind in "iu":
            y = y[:, 0]
        if len(y) != len(x):
            raise _fail(path, f"array {x_key_name!r} has {len(x)} samples but {y_key!r} has "
                              f"{len(y)}")
    if max_samples is not None:
        x = x[:max_samples]
        y = None if y is None else y[:max_samples]
    if test:
        x_test = _check(path, f"{x_key}_test", test["x"], "x")
        if x_test.shape[1:] != x.shape[1:]:
            raise _fail(path, f"array '{x_key}_test' has shape {_shape(x_test)} but {x_key!r} "
                              f"has {_shape(x)}: the sample shapes differ")
        y_test = None
        if y is not None:
            if "y" not in test:
                raise _fail(path, f"has '{x_key}_test' but no '{y_key}_test'")
            y_test = _check(path, f"{y_key}_test", test["y"], "y")
            if y_test.ndim == 2 and y_test.shape[1] == 1 and y_test.dtype.kind in "iu":
                y_test = y_test[:, 0]
            if len(y_test) != len(x_test):
                raise _fail(path, f"array '{x_key}_test' has {len(x_test)} samples but "
                                  f"'{y_key}_test' has {len(y_test)}")
        metadata["split"] = f"arrays {x_key}_test / {y_key}_test"
    else:
        n_train = _split(len(x), test_fraction)
        x, x_test = x[:n_train], x[n_train:]
        y, y_test = (None, None) if y is None else (y[:n_train], y[n_train:])
        metadata["split"] = f"last {len(x_test)} of {len(x) + len(x_test)} samples held out"

    task = task or _default_task(x, y)
    if task in ("invariant", "equivariant", "classification") and y is None:
        raise _fail(path, f"task {task!r} needs targets but no y was read (y_key=None)")
    if task == "classification":
        for key, labels in ((y_key, y), (f"{y_key}_test", y_test)):
            if labels.ndim != 1 or (labels.dtype.kind == "f" and np.any(labels != np.round(labels))):
                raise _fail(path, f"array {key!r} must hold whole-number class labels of shape "
                                  f"(samples,) for task 'classification'")
        y, y_test = y.astype(np.int64), y_test.astype(np.int64)
    elif y is not None:
        y = y.astype(np.float32)[:, None] if y.ndim == 1 else y.astype(np.float32)
        y_test = y_test.astype(np.float32)[:, None] if y_test.ndim == 1 else y_test.astype(np.float32)
    if task == "equivariant" and y.shape[1:] != x.shape[1:]:
        raise _fail(path, f"task 'equivariant' needs y shaped like x per sample; "
                          f"{x_key_name!r} is {_shape(x)}, {y_key!r} is {_shape(y)}")

    action = action or {2: "vector", 3: "points", 4: "image"}[x.ndim]
    if _ACTION_NDIM[action] != x.ndim:
        raise _fail(path, f"action {action!r} needs x of {_ACTION_NDIM[action]} dimensions; "
                          f"{x_key_name!r} has shape {_shape(x)}")
    action_options = _block_options(path, action, block_dim, x, x_key_name)
    metadata["keys"] = {"x": x_key_name, "y": y_key}
    return SymmetryDataset(name=name or printable(path.name), x=x, y=y, x_test=x_test, y_test=y_test,
                           task=task, action=action, action_options=action_options,
                           ground_truth=truth, description=f"user data from {printable(path.name)}",
                           metadata=metadata)


def _pick(path, arrays, present, x_key, y_key):
    if x_key not in arrays:
        raise _missing_key(path, x_key, present)
    if y_key is not None and y_key not in arrays:
        raise _missing_key(path, y_key, present)
    test = {}
    if f"{x_key}_test" in arrays:
        test["x"] = arrays[f"{x_key}_test"]
        if y_key is not None and f"{y_key}_test" in arrays:
            test["y"] = arrays[f"{y_key}_test"]
    return arrays[x_key], arrays.get(y_key) if y_key else None, test


# -- trajectory files ----------------------------------------------------------------------

def _keys(x_key, y_key) -> list:
    """The arrays to read: x, y, their test splits, and the time keys of trajectory files."""
    from .trajectories import TIME_KEYS

    keys = [x_key] + ([y_key] if y_key else [])
    keys += [f"{x_key}_test"] + ([f"{y_key}_test"] if y_key else [])
    return keys + [k for k in TIME_KEYS if k not in keys]


def _plain_file(path, derivative, target) -> None:
    if derivative is not None or target is not None:
        raise _fail(path, "derivative= and target= apply to trajectory files only "
                          "(give the time step: an array 'dt' or 't', or dt=)")


def _is_timed(arrays, dt, trajectories) -> bool:
    """A trajectory file: it holds 't', 'dt' or 'trajectories', or dt=/trajectories= was given."""
    return dt is not None or trajectories is not None or any(
        k in arrays for k in ("t", "dt", "trajectories"))


def _trajectory_dataset(path, arrays, present, x_key, y_key, x_key_name, metadata, *, task,
                        action, block_dim, dt, trajectories, derivative, target, test_fraction,
                        name) -> SymmetryDataset:
    from .trajectories import read_trajectories

    if x_key_name not in arrays:
        raise _missing_key(path, x_key_name, present)
    renamed = {"x": arrays[x_key_name], "y": arrays.get(y_key) if y_key else None}
    for key in ("t", "dt", "trajectories"):
        if key in arrays and key not in (x_key_name, y_key):
            renamed[key] = arrays[key]
    if f"{x_key_name}_test" in arrays:
        renamed["x_test"] = arrays[f"{x_key_name}_test"]
        if y_key and f"{y_key}_test" in arrays:
            renamed["y_test"] = arrays[f"{y_key}_test"]
    read = read_trajectories(lambda message: _fail(path, message), renamed, x_key_name,
                             y_key, dt=dt, trajectories=trajectories, derivative=derivative,
                             target=target, action=action, test_fraction=test_fraction)
    task = task or read["task"]
    if task not in ("dynamics", "equivariant"):
        raise _fail(path, f"task {task!r} does not fit a trajectory file; use task=dynamics "
                          f"(y = dx/dt) or target=next (y = the next step, task equivariant)")
    x = read["x"]
    action = action or {2: "vector", 3: "points", 4: "image"}.get(x.ndim)
    if action is None or _ACTION_NDIM[action] != x.ndim:
        raise _fail(path, f"samples of shape {list(x.shape[1:])} fit no action; "
                          f"expected (d,), (points, dims) or (C, H, W)")
    action_options = _block_options(path, action, block_dim, x, x_key_name)
    metadata.update(read["metadata"])
    metadata["keys"] = {"x": x_key_name, "y": y_key}
    summary = read["metadata"]["time_series"]
    return SymmetryDataset(name=name or path.name, x=x, y=read["y"], x_test=read["x_test"],
                           y_test=read["y_test"], task=task, action=action,
                           action_options=action_options, ground_truth=None,
                           description=f"trajectories from {path.name}: {summary['trajectories']} "
                                       f"train, {summary['test_trajectories']} test, "
                                       f"{summary['steps']} steps of dt={summary['dt']}",
                           metadata=metadata)


def _block_options(path, action, block_dim, x, x_key_name) -> dict:
    """The action's options: for "blocks", a block size that divides the features."""
    if action != "blocks":
        return {}
    if block_dim is None:
        raise _fail(path, "action 'blocks' needs block_dim (the size of each block)")
    block_dim = _number(path, "block_dim", block_dim)
    if x.shape[1] % block_dim:
        raise _fail(path, f"block_dim={block_dim} does not divide the {x.shape[1]} "
                          f"features of {x_key_name!r}")
    return {"block_dim": block_dim}
