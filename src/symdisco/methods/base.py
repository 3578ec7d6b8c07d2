"""What every discovery method shares: knobs stored by the constructor, `fit` -> SymmetryResult.

The base class owns what no method should repeat: checking knobs (`KNOBS`, see knobs.py)
when a method is built, checking the data before training, and running every `fit` on
standardised data whose result is mapped back to the user's coordinates
(datasets/standardize.py).
"""
from __future__ import annotations

import functools
import inspect

import numpy as np
import torch

from ..datasets.base import SymmetryDataset
from ..datasets.standardize import check_not_degenerate, is_standardized, standardize
from ..errors import UserInputError
from ..lie.algebra import LieAlgebra
from ..result import SymmetryResult
from .knobs import check_knobs, merged_rules


class _CheckedOnConstruction(type):
    """Checks the knobs once the constructor (and any subclass's) has stored them."""

    def __call__(cls, *args, **kwargs):
        method = super().__call__(*args, **kwargs)
        method.check_params()
        return method


def _standardized_fit(fit):
    """Wrap a subclass's `fit`: check knobs and data, standardise, fit, map the result back."""

    @functools.wraps(fit)
    def wrapped(self, dataset, *args, **kwargs):
        if not isinstance(dataset, SymmetryDataset):
            raise UserInputError(f"{self.name}.fit takes a SymmetryDataset (symdisco.datasets.load or "
                                 f"SymmetryDataset(...)), got {type(dataset).__name__}")
        if is_standardized(dataset):  # a nested fit (multi-start, a baseline inside a method)
            return fit(self, dataset, *args, **kwargs)
        self.check(dataset)
        mode = self.standardization if getattr(self, "standardize", True) else "none"
        data, scales = standardize(dataset, mode)
        result = fit(self, data, *args, **kwargs)
        return self._to_user(result, dataset, scales) if scales is not None else result

    wrapped._standardized = True
    return wrapped


class DiscoveryMethod(metaclass=_CheckedOnConstruction):
    """Base estimator. Subclasses set `name` and implement `fit(dataset, *, out, progress, hardware)`;
    their training runs on `self.engine(...)` (symdisco.training), which owns the loop.

    `CLI_OPTIONS` maps constructor keywords to (type, help) for method-specific CLI flags.
    `KNOBS` maps constructor keywords to rules (knobs.Int, Float, Choice, ...), merged along
    the class hierarchy. `standardization` is how data are rescaled before `fit` sees them
    ("action", "global" or "none"; the `standardize` knob turns it off), and `min_samples`
    the fewest training samples the method can learn from.
    """

    name = "method"
    CLI_OPTIONS: dict = {}
    KNOBS: dict = {}
    standardization = "action"
    min_samples = 10

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fit = cls.__dict__.get("fit")
        if fit is not None and not getattr(fit, "_standardized", False):
            cls.fit = _standardized_fit(fit)

    def get_params(self) -> dict:
        """The constructor's knobs as stored (scikit-learn style), for result.json."""
        params = inspect.signature(type(self).__init__).parameters
        return {p: getattr(self, p) for p in params if p != "self" and hasattr(self, p)}

    def set_params(self, **params) -> "DiscoveryMethod":
        """Change knobs (scikit-learn style); they are checked at once.

        `part__setting=value` changes one setting of a part passed as an object (a coefficient
        law, a discriminator): `set_params(law__half_width=0.3)` rebuilds the law with it."""
        known = self.get_params()
        for key, value in params.items():
            if "__" in key:
                self._set_part_setting(key, value, known)
                continue
            if key not in known:
                raise UserInputError(f"{self.name}: unknown knob {key!r}; knobs are {', '.join(known)}")
            setattr(self, key, value)
        self.check_params()
        return self

    def _set_part_setting(self, key: str, value, known: dict) -> None:
        part_name, setting = key.split("__", 1)
        part = known.get(part_name)
        if part_name == "law" and isinstance(part, str) and hasattr(self, "law_recipe"):
            part = self.law_recipe()
        settings = getattr(part, "settings", None)
        if not callable(settings) or setting not in settings():
            allowed = ", ".join(settings()) if callable(settings) else "none (pass the part as an object)"
            raise UserInputError(f"{self.name}: {part_name!r} has no setting {setting!r}; settings: {allowed}")
        try:
            rebuilt = type(part)(**{**settings(), setting: value})
        except ValueError as error:
            raise UserInputError(f"{self.name}: {error}") from None
        setattr(self, part_name, rebuilt)

    def clone(self) -> "DiscoveryMethod":
        """A fresh, unfitted copy rebuilt from `get_params()` (like scikit-learn's `clone`)."""
        import copy

        return type(self)(**copy.deepcopy(self.get_params()))

    # -- checks --------------------------------------------------------------------------
    def check_params(self) -> None:
        """Every knob against its rule; UserInputError naming the knob and the allowed range."""
        check_knobs(merged_rules(type(self)), self.get_params(), self.name)

    def check(self, dataset: SymmetryDataset) -> None:
        """Everything that can be known before training: knobs, and knobs against the data.

        The CLI calls it before it touches the output folder; `fit` calls it again."""
        self.check_params()
        check_not_degenerate(dataset)
        n = len(dataset.x)
        if n < self.min_samples:
            raise UserInputError(f"{dataset.name}: {n} training sample(s); {self.name} needs at least "
                                 f"{self.min_samples} to learn from (more is better)")
        self.check_data(dataset)

    def check_data(self, dataset: SymmetryDataset) -> None:
        """Method-specific checks of knobs against the data (e.g. more generators than gl(n) has)."""

    def _to_user(self, result: SymmetryResult, dataset: SymmetryDataset, scales) -> SymmetryResult:
        """The result of a fit on standardised data, in the user's coordinates."""
        from ..lie.compare import similarity

        basis = scales.to_user(result.algebra.basis.double())
        base = np.asarray(scales.base, dtype=np.float64)
        uneven = base.size == basis.shape[-1] and base.max() > base.min()
        # named, measured and displayed in the units it was found in (see LieAlgebra's scales)
        result.algebra = LieAlgebra(basis, name=result.algebra.name, scales=base if uneven else None)
        if dataset.ground_truth is not None and dataset.ground_truth.n == result.algebra.n:
            result.similarity = float(similarity(result.algebra, dataset.ground_truth))
        result.extras["standardization"] = scales.describe()
        return result

    def describe_params(self) -> dict:
        """The knobs as JSON: plain values as they are, parts (laws, discriminators) by `describe()`;
        arrays and other objects are left out."""
        described = {}
        for key, value in self.get_params().items():
            if isinstance(value, (int, float, str, bool, type(None))):
                described[key] = value
            elif callable(getattr(value, "describe", None)):
                described[key] = value.describe()
        return described

    def fingerprint(self, dataset: SymmetryDataset, **extra) -> dict:
        """What a checkpoint must match to be resumed: method, data contents and knobs (the
        engine's one rule: never the epoch budget or the device)."""
        from ..training import fingerprint

        return fingerprint(self, dataset, **extra)

    def engine(self, out=None, progress: bool = True, hardware=None):
        """The training engine for this fit: `hardware` (a training.Hardware) or this method's `device`."""
        from ..training import CHECKPOINT_EVERY, Engine, default_hardware

        return Engine(hardware or default_hardware(getattr(self, "device", "cpu")), out=out, progress=progress,
                      checkpoint_every=getattr(self, "checkpoint_every", CHECKPOINT_EVERY))

    def fit(self, dataset: SymmetryDataset, *, out=None, progress: bool = True, hardware=None) -> SymmetryResult:
        raise NotImplementedError

    def make_result(self, basis: torch.Tensor, dataset: SymmetryDataset, seconds: float, scales=None,
                    **fields) -> SymmetryResult:
        """Wrap a learned basis with its similarity to the dataset's ground truth, if any; `scales`:
        the data's size along each coordinate (see `LieAlgebra`)."""
        from ..lie.compare import similarity

        algebra = LieAlgebra(basis.detach().cpu().double(), scales=scales)
        sim = None
        if dataset.ground_truth is not None and dataset.ground_truth.n == algebra.n:
            sim = float(similarity(algebra, dataset.ground_truth))
        if "time_series" in dataset.metadata:  # trajectory files: dt, derivative, split
            fields["extras"] = {"time_series": dataset.metadata["time_series"], **fields.get("extras", {})}
        return SymmetryResult(algebra=algebra, method=self.name, dataset=dataset.name, options=self.describe_params(),
                              seed=getattr(self, "seed", None), seconds=seconds, similarity=sim, **fields)


def check_option(name: str, value, allowed) -> None:
    if value not in allowed:
        raise UserInputError(f"unknown {name} {value!r}; choose from {', '.join(map(str, allowed))}")
