"""Saved runs as the reports read them: result.json as stored (checked, never rewritten),
the training log, and the ground truth to show next to the found generators."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import UserInputError
from .result import read_record


def _read_history(directory: Path) -> list[dict]:
    """Per-epoch rows from history.json, else losses.jsonl (a torn or non-JSON line is skipped)."""
    path = directory / "history.json"
    if path.is_file():
        try:
            rows = json.loads(path.read_text())
            if isinstance(rows, list):
                return [r for r in rows if isinstance(r, dict)]
        except (OSError, ValueError):
            pass
    path = directory / "losses.jsonl"
    rows = []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def load_run(directory) -> dict:
    """{"label", "directory", "record", "history"} for a result folder (DIR/verify.json, when
    present, as the record's `verify`); UserInputError when DIR/result.json is missing or
    not a result."""
    directory = Path(directory)
    record = read_record(directory)
    verify_path = directory / "verify.json"          # what `symdisco verify DIR` leaves
    if record.get("verify") is None and verify_path.is_file():
        try:
            record = {**record, "verify": json.loads(verify_path.read_text())}
        except (OSError, ValueError):
            pass
    return {"label": directory.resolve().name or str(directory), "directory": str(directory),
            "record": record, "history": _read_history(directory)}


def run_from_result(result, label: str | None = None) -> dict:
    """The same view of an in-memory SymmetryResult (no folder)."""
    return {"label": label or f"{result.method} on {result.dataset}", "directory": None,
            "record": result.to_dict(), "history": list(result.history)}


_TRUTH_CACHE: dict[str, tuple[str, np.ndarray] | None] = {}


def ground_truth(run: dict, load_builtin: bool = True) -> tuple[str, str, np.ndarray] | None:
    """(name, source, basis (m, n, n)) of the run's ground truth: `ground_truth` stored in
    result.json, else the built-in dataset of that name (default options; repeated on every
    block when the run acts on a stacked state); None when unknown or on another space."""
    record = run["record"]
    found = np.asarray(record["generators"])
    n = found.shape[-1] if found.size else None   # no symmetry found: the truth on its own space
    stored = record.get("ground_truth")
    if stored is not None:
        name = stored.get("name", "ground truth") if isinstance(stored, dict) else "ground truth"
        basis = stored.get("generators") if isinstance(stored, dict) else stored
        try:
            basis = np.asarray(basis, dtype=np.float64)
        except (TypeError, ValueError):
            basis = None
        if basis is not None and basis.ndim == 3 and n in (None, basis.shape[-1]):
            return str(name), "result.json", basis
    dataset = record.get("dataset")
    if not load_builtin or not isinstance(dataset, str):
        return None
    if dataset not in _TRUTH_CACHE:
        from . import datasets

        truth = None
        if dataset in datasets.names():
            try:
                algebra = datasets.load(dataset).ground_truth
            except (UserInputError, OSError, ValueError):
                algebra = None
            if algebra is not None:
                truth = (algebra.name or "ground truth", algebra.numpy().astype(np.float64))
        _TRUTH_CACHE[dataset] = truth
    truth = _TRUTH_CACHE[dataset]
    if truth is None or (n is not None and n % truth[1].shape[-1]):
        return None
    blocks = 1 if n is None else n // truth[1].shape[-1]
    if blocks == 1:
        return truth[0], f"built-in dataset {dataset}", truth[1]
    repeated = np.stack([np.kron(np.eye(blocks), m) for m in truth[1]])   # the truth on every block
    return truth[0], f"built-in dataset {dataset}, on each of {blocks} blocks", repeated
