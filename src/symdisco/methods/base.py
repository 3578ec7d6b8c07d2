"""What every discovery method shares: knobs stored by the constructor, `fit` -> SymmetryResult."""
from __future__ import annotations

import inspect

import torch

from ..datasets.base import SymmetryDataset
from ..errors import UserInputError
from ..lie.algebra import LieAlgebra
from ..result import SymmetryResult


class DiscoveryMethod:
    """Base estimator. Subclasses set `name` and implement `fit(dataset, *, out, progress)`.

    `CLI_OPTIONS` maps constructor keywords to (type, help) for method-specific CLI flags.
    """

    name = "method"
    CLI_OPTIONS: dict = {}

    def get_params(self) -> dict:
        """The constructor's knobs as stored (scikit-learn style), for result.json."""
        params = inspect.signature(type(self).__init__).parameters
        return {p: getattr(self, p) for p in params if p != "self" and hasattr(self, p)}

    def fingerprint(self, dataset: SymmetryDataset, ignore=("epochs", "device")) -> dict:
        """What a checkpoint must match to be resumed: method, data and knobs (not the epoch budget)."""
        params = {k: v for k, v in self.get_params().items()
                  if k not in ignore and isinstance(v, (int, float, str, bool, type(None)))}
        return {"method": self.name, "dataset": dataset.name, "x_shape": list(dataset.x.shape), "params": params}

    def fit(self, dataset: SymmetryDataset, *, out=None, progress: bool = True) -> SymmetryResult:
        raise NotImplementedError

    def make_result(self, basis: torch.Tensor, dataset: SymmetryDataset, seconds: float, **fields) -> SymmetryResult:
        """Wrap a learned basis with its similarity to the dataset's ground truth, if any."""
        from ..lie.compare import similarity

        algebra = LieAlgebra(basis.detach().cpu().double())
        sim = None
        if dataset.ground_truth is not None and dataset.ground_truth.n == algebra.n:
            sim = float(similarity(algebra, dataset.ground_truth))
        options = {k: v for k, v in self.get_params().items() if isinstance(v, (int, float, str, bool, type(None)))}
        if "time_series" in dataset.metadata:  # trajectory files: dt, derivative, split
            fields["extras"] = {"time_series": dataset.metadata["time_series"], **fields.get("extras", {})}
        return SymmetryResult(algebra=algebra, method=self.name, dataset=dataset.name, options=options,
                              seed=getattr(self, "seed", None), seconds=seconds, similarity=sim, **fields)


def check_option(name: str, value, allowed) -> None:
    if value not in allowed:
        raise UserInputError(f"unknown {name} {value!r}; choose from {', '.join(map(str, allowed))}")
