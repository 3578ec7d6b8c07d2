"""SymmetryResult: what every discovery method returns and every downstream use consumes."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .errors import UserInputError
from .io_utils import atomic_save, atomic_write_json
from .lie.algebra import LieAlgebra


def _finite_or_none(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def check_record(record, where: str) -> dict:
    """A result.json's content, checked for what every report needs: a `method` and
    generators shaped (k, n, n)."""
    if not isinstance(record, dict):
        raise UserInputError(f"{where}: not a symdisco result (expected a JSON object)")
    if not isinstance(record.get("method"), str):
        raise UserInputError(f"{where}: not a symdisco result (no 'method')")
    if record.get("generators") == []:  # no generators: "no symmetry" is a valid result
        return record
    try:
        generators = np.asarray(record.get("generators"), dtype=np.float64)
    except (TypeError, ValueError):
        generators = np.zeros(0)
    if generators.ndim != 3 or generators.shape[-1] != generators.shape[-2] or generators.shape[-1] == 0:
        raise UserInputError(f"{where}: 'generators' must be a list of square matrices (k, n, n)")
    return record


def read_record(directory) -> dict:
    """DIR/result.json as stored, checked by `check_record`; a missing or unreadable file is
    one UserInputError naming it."""
    path = Path(directory) / "result.json"
    if not path.is_file():
        raise UserInputError(f"{path}: no result.json here (run `symdisco discover` first)")
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserInputError(f"{path}: not a symdisco result ({exc})") from None
    return check_record(record, str(path))


@dataclass
class SymmetryResult:
    """The discovered Lie algebra plus how it was found; `save` writes the result.json contract."""

    algebra: LieAlgebra
    method: str
    dataset: str
    options: dict = field(default_factory=dict)
    seed: int | None = None
    seconds: float = 0.0
    similarity: float | None = None
    coefficient_law: dict | None = None
    history: list = field(default_factory=list)
    extras: dict = field(default_factory=dict)
    action: dict | None = None

    def __post_init__(self):
        if not isinstance(self.algebra, LieAlgebra):
            self.algebra = LieAlgebra(self.algebra)

    @property
    def generators(self) -> np.ndarray:
        return self.algebra.numpy()

    def similarity_to(self, truth) -> float:
        from .lie.compare import similarity

        return float(similarity(self.algebra, truth))

    def to_dict(self) -> dict:
        name, confidence = self.algebra.identify()
        metric, family = self.algebra.metric_and_family()
        conformal = self.algebra.conformal_metric() if metric is None else None
        record = {
            "method": self.method,
            "dataset": self.dataset,
            "generators": self.generators.tolist(),
            "similarity": _finite_or_none(self.similarity),
            "algebra": name,
            "algebra_confidence": _finite_or_none(confidence),
            "closure_residual": _finite_or_none(self.algebra.closure_residual()),
            "invariant_metric": None if metric is None else np.asarray(metric).tolist(),
            "invariant_forms": family,  # > 1: the metric is one member of a family, all invariant
            "conformal_metric": None if conformal is None else np.asarray(conformal).tolist(),
            "seconds": round(float(self.seconds), 3),
            "seed": self.seed,
            "options": self.options,
            "coefficient_law": self.coefficient_law,
            "action": self.action,
        }
        if self.algebra.scales is not None:
            record["feature_scales"] = self.algebra.scales.tolist()
        record.update(self.extras)
        return record

    def save(self, directory) -> Path:
        """Write result.json, generators.npy, history.json and generators.png into `directory`."""
        from .plots import basis_figure, history_figure, save_figure

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        record = self.to_dict()
        atomic_save(directory / "generators.npy", lambda tmp: np.save(tmp, self.generators))
        atomic_write_json(directory / "history.json", list(self.history))
        title = self.summary_line((record["algebra"], record["algebra_confidence"] or 0.0))
        save_figure(basis_figure(self.algebra.canonical().numpy(), title=title), directory / "generators.png")
        if self.history:
            save_figure(history_figure(self.history), directory / "losses.png")
        atomic_write_json(directory / "result.json", record)  # last: its presence means done
        return directory

    @classmethod
    def load(cls, directory) -> "SymmetryResult":
        record = read_record(directory)
        generators = np.asarray(record["generators"], dtype=np.float64)
        if generators.size == 0:  # no generators: JSON's [] forgets n, generators.npy keeps (0, n, n)
            stored = Path(directory) / "generators.npy"
            generators = np.load(stored) if stored.is_file() else np.zeros((0, 1, 1))
        history_path = Path(directory) / "history.json"
        history = json.loads(history_path.read_text()) if history_path.is_file() else []
        known = {"method", "dataset", "generators", "similarity", "algebra", "algebra_confidence",
                 "closure_residual", "invariant_metric", "invariant_forms", "conformal_metric", "seconds", "seed", "options",
                 "coefficient_law", "action", "feature_scales"}
        return cls(
            algebra=LieAlgebra(torch.as_tensor(generators), scales=record.get("feature_scales")),
            method=record["method"], dataset=str(record.get("dataset", "?")), options=record.get("options") or {},
            seed=record.get("seed"), seconds=record.get("seconds", 0.0),
            similarity=record.get("similarity"), coefficient_law=record.get("coefficient_law"),
            history=history, action=record.get("action"),
            extras={k: v for k, v in record.items() if k not in known},
        )

    def verify(self, data, **options) -> dict:
        """Check each generator on `data` with tests that took no part in finding it (held-out
        predictor, fresh discriminator); see `symdisco.verify`. Flags spurious generators."""
        from .verify import verify

        return verify(self, data, **options)

    def summary_line(self, identified: tuple[str, float] | None = None) -> str:
        name, confidence = identified or self.algebra.identify()
        sim = "n/a" if self.similarity is None else f"{self.similarity:.3f}"
        return f"{self.method} on {self.dataset}: {self.algebra.k} generator(s) of {self.algebra.n}x{self.algebra.n}, " \
               f"identified {name} ({confidence:.2f}), similarity to truth {sim}"

    def _repr_html_(self) -> str:
        """Jupyter: the same summary as `symdisco report --html` (one column)."""
        from .html_report import result_html

        return result_html(self)

    def __str__(self) -> str:
        return self.summary_line() + "\n" + str(self.algebra)
