"""Property-based tests of the file loaders: every input either loads or ends in UserInputError.

Random shapes, dtypes, NaN/Inf/huge values at random places, random loader options, files
cut short at a random byte, and CSV dialects (separators, quoting, decimal commas, missing
cells, no header). A dataset that loads must be usable: finite float32 inputs of the
promised rank, targets as long as the inputs.
"""
from __future__ import annotations

import csv
import io as text_io
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from symdisco.datasets.io import load_file  # noqa: E402
from symdisco.errors import UserInputError  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DTYPES = st.sampled_from(["float64", "float32", "float16", "int8", "int32", "int64", "uint8", "bool",
                          "complex64"])
SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 1e39, -1e30, 0.0, 1e-40])


@st.composite
def arrays(draw, min_dims=1, max_dims=5, min_side=0):
    """A random array with, sometimes, special values at random places."""
    dtype = np.dtype(draw(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=6))
    elements = (st.floats(-1e3, 1e3, width=16 if dtype == np.float16 else 64)
                if dtype.kind in "fc" else None)
    array = draw(hnp.arrays(dtype, shape, elements=elements))
    if dtype.kind == "f" and array.size and draw(st.integers(0, 3)) == 0:
        flat = array.reshape(-1).astype(np.float64)
        for _ in range(draw(st.integers(1, 3))):
            flat[draw(st.integers(0, flat.size - 1))] = draw(SPECIAL)
        with np.errstate(over="ignore"):
            array = flat.astype(dtype if draw(st.booleans()) else np.float64).reshape(shape)
    return array


DAMAGED_OPTIONS = st.fixed_dictionaries({}, optional={
    "task": st.sampled_from([None, "equivariant", "invariant", "classification", "unsupervised", "dynamics"]),
    "action": st.sampled_from([None, "vector", "blocks", "points", "image", "bogus"]),
    "block_dim": st.sampled_from([None, 1, 2, 3, 0, "x"]),
    "y_key": st.sampled_from(["y", None, "none", "missing"]),
    "test_fraction": st.sampled_from([0.0, 0.2, 0.9, 1.0, -1, "a"]),
    "max_samples": st.sampled_from([None, 1, 3, 0]),
})
OPTIONS = st.one_of(st.just({}), st.just({"y_key": None}), DAMAGED_OPTIONS)
GOOD_X = arrays(min_dims=2, max_dims=4, min_side=1)
X = st.one_of(GOOD_X, GOOD_X, arrays())
Y = st.one_of(st.none(), arrays(min_dims=1, max_dims=2, min_side=1), arrays(max_dims=3))


def check_loads_or_refuses(path: Path, options: dict) -> None:
    try:
        data = load_file(path, **options)
    except UserInputError as error:
        message = str(error)
        assert message and "\n" not in message.strip(), message
        event("refused: " + message.split(": ", 1)[-1][:28])
        return
    event("loaded")
    assert data.x.dtype == torch.float32 and data.x.ndim in (2, 3, 4)
    assert torch.isfinite(data.x).all() and torch.isfinite(data.x_test).all()
    assert len(data.x) >= 1
    if data.y is not None:
        assert len(data.y) == len(data.x)
        if data.y.is_floating_point():
            assert torch.isfinite(data.y).all()


def draw_same_length(x, y) -> bool:
    """Mostly give y as many samples as x (else nearly every case fails on the count)."""
    return (x.size + y.size) % 4 != 0


def save(kind: str, path: Path, content: dict) -> None:
    if kind == "npz":
        np.savez(path, **content)
    elif kind == "pt":
        torch.save({key: torch.from_numpy(np.ascontiguousarray(value)) if value.dtype != np.uint16 else value
                    for key, value in content.items()}, path)
    else:
        import h5py

        with h5py.File(path, "w") as handle:
            for key, value in content.items():
                handle.create_dataset(key, data=value)


@pytest.mark.parametrize("kind", ["npz", "pt", "h5"])
@SETTINGS
@given(x=X, y=Y, test=st.booleans(), options=OPTIONS,
       cut=st.one_of(st.none(), st.none(), st.floats(0.0, 0.99)))
def test_binary_files_load_or_refuse(kind, x, y, test, options, cut):
    if y is not None and x.ndim and y.ndim and draw_same_length(x, y):
        y = np.resize(y, (len(x),) + y.shape[1:])
    content = {"x": x} if y is None else {"x": x, "y": y}
    if test:
        content.update({f"{key}_test": value[: max(1, len(value) // 2)] if value.ndim else value
                        for key, value in list(content.items())})
    if y is None and "y_key" not in options and (x.size % 5):
        options = {**options, "y_key": None}  # mostly say that there are no targets
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data.{kind}"
        save(kind, path, content)
        if cut is not None:  # what a killed writer or an interrupted copy leaves
            raw = path.read_bytes()
            path.write_bytes(raw[: int(len(raw) * cut)])
        check_loads_or_refuse(path, options)


@st.composite
def csv_texts(draw):
    """A table written in a random dialect; half the time clean, otherwise with damage."""
    clean = draw(st.booleans())
    columns = draw(st.integers(1, 4))
    rows = draw(st.integers(1 if clean else 0, 6))
    header = ["y"] + [f"x{i}" for i in range(columns - 1)] if clean or draw(st.integers(0, 3)) else \
        [draw(st.sampled_from(["a", "b b", "ü", "", "1"])) for _ in range(columns)]
    good = st.one_of(st.floats(-1e6, 1e6).map(repr), st.integers(-10, 10).map(str))
    odd = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["", "NA", "nan", "1e39", "x", "1,5", " 2 ", "1e-50"]))
    cells = good if clean or draw(st.integers(0, 2)) else st.one_of(*[good] * 6, odd)
    ragged = st.just(0) if clean else st.sampled_from([0, 0, 0, 0, 0, 1, -1])
    table = [[draw(cells) for _ in range(columns + draw(ragged))] for _ in range(rows)]
    delimiter = "," if clean else draw(st.sampled_from([",", ",", ";", "\t", " "]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE if clean
                                    else csv.QUOTE_NONNUMERIC]))
    buffer = text_io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, escapechar="\\",
                        lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    if clean or draw(st.integers(0, 3)):
        writer.writerow(header)
    for row in table:
        writer.writerow(row)
    text = buffer.getvalue()
    if not clean and draw(st.integers(0, 3)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


@SETTINGS
@given(text=csv_texts(), options=OPTIONS, encoding=st.sampled_from(["utf-8", "utf-8", "latin-1", "utf-16"]))
def test_csv_files_load_or_refuse(text, options, encoding):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        path.write_bytes(text.encode(encoding, errors="replace"))
        check_loads_or_refuse(path, options)


def check_loads_or_refuse(path, options):
    check_loads_or_refuses(path, options)
