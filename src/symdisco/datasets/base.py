"""`SymmetryDataset`: the data of a task together with how a group acts on it.

A dataset is plain tensors plus three words of meaning: the `task` (what y is to x), the
`action` (how a group element acts on x, and on y for equivariant tasks) and, when known,
the `ground_truth` Lie algebra in the action's base space.

The small option checkers at the bottom turn bad option values into `UserInputError`s that
name the dataset and the option; numeric strings (as a command line gives them) are accepted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from symdisco.errors import UserInputError

TASKS = ("equivariant", "invariant", "classification", "unsupervised", "dynamics")
ACTIONS = ("vector", "blocks", "points", "image")


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_finite(name: str, role: str, array) -> None:
    """NaN, Inf, or values float32 cannot hold make every method return garbage: refuse them."""
    if torch.is_tensor(array):
        if not array.is_floating_point() or array.numel() == 0:
            return
        # max and min pass NaN and Inf through, with no temporary the size of the data (the
        # reaction-diffusion snapshots are 800 MB); only a bad array is counted element by element
        largest = max(abs(float(array.amax())), abs(float(array.amin())))
        bad = 0 if math.isfinite(largest) else int((~torch.isfinite(array)).sum())
    else:
        if array.dtype.kind not in "fc" or array.size == 0:
            return
        largest = float(np.abs(array).max() if array.dtype.kind == "c" else np.abs([array.max(), array.min()]).max())
        bad = 0 if math.isfinite(largest) else int((~np.isfinite(array)).sum())
    if bad:
        raise UserInputError(f"dataset {name!r}: {role} holds {bad} NaN/Inf value{'s' if bad > 1 else ''}; "
                             f"remove or impute them first")
    if largest > FLOAT32_MAX:
        raise UserInputError(f"dataset {name!r}: {role} holds values up to {largest:.3g}, beyond float32's "
                             f"range ({FLOAT32_MAX:.3g}); divide the data by a constant (the scale does not "
                             f"change the symmetry)")


def _as_tensor(value, *, labels: bool = False, name: str = "?", role: str = "x") -> torch.Tensor | None:
    """float32 tensor (int64 for integer labels), sharing memory with value when possible.

    NaN, Inf and values beyond float32's range are refused with a `UserInputError`."""
    if value is None:
        return None
    if torch.is_tensor(value):
        _check_finite(name, role, value)
        keep = labels and not value.is_floating_point()
        return value.to(torch.int64) if keep else value.to(torch.float32)
    array = np.asarray(value)
    if array.dtype.kind == "O":
        raise UserInputError(f"dataset {name!r}: {role} holds Python objects; pass a numeric array")
    _check_finite(name, role, array)
    dtype = np.int64 if labels and array.dtype.kind in "biu" else np.float32
    array = array.astype(dtype, copy=False)
    if not array.flags.writeable:
        array = array.copy()
    return torch.from_numpy(np.ascontiguousarray(array))


@dataclass
class SymmetryDataset:
    """A task with its symmetry: train/test tensors, task, action and ground truth.

    `x`, `x_test` are float32 tensors; `y`, `y_test` are float32 tensors, int64 class labels
    (task "classification") or None (task "unsupervised"). `ground_truth` is a
    `symdisco.lie.algebra.LieAlgebra` acting on the action's base space (e.g. 2x2 for
    `action="blocks"` with `block_dim=2`), or None when unknown. `metadata` is JSON-serialisable.
    """

    name: str
    x: torch.Tensor
    y: torch.Tensor | None
    x_test: torch.Tensor
    y_test: torch.Tensor | None
    task: str
    action: str
    action_options: dict = field(default_factory=dict)
    ground_truth: Any = None
    description: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"dataset {self.name!r}: task {self.task!r} is not one of {TASKS}")
        if self.action not in ACTIONS:
            raise ValueError(f"dataset {self.name!r}: action {self.action!r} is not one of {ACTIONS}")
        labels = self.task == "classification"
        self.x = _as_tensor(self.x, name=self.name, role="x")
        self.x_test = _as_tensor(self.x_test, name=self.name, role="x_test")
        self.y = _as_tensor(self.y, labels=labels, name=self.name, role="y")
        self.y_test = _as_tensor(self.y_test, labels=labels, name=self.name, role="y_test")
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"dataset {self.name!r}: {len(self.x)} inputs but {len(self.y)} targets")
        if self.y_test is not None and len(self.y_test) != len(self.x_test):
            raise ValueError(f"dataset {self.name!r}: {len(self.x_test)} test inputs but "
                             f"{len(self.y_test)} test targets")
        self.action_options = dict(self.action_options)
        self.metadata = dict(self.metadata)

    # -- the group's action on the task ------------------------------------------------
    def x_action(self):
        """The `symdisco.lie.actions.Action` acting on x."""
        from symdisco.lie.actions import get_action

        return get_action(self.action, **self.action_options)

    def task_action(self):
        """A `TaskAction`: g acts on x, and on y too when the task is equivariant."""
        from symdisco.lie.actions import TaskAction

        action = self.x_action()
        return TaskAction(action, action if self.task == "equivariant" else None)

    # -- description -------------------------------------------------------------------
    @property
    def ground_truth_name(self) -> str | None:
        if self.ground_truth is None:
            return None
        return getattr(self.ground_truth, "name", None) or "unnamed"

    def sizes(self) -> dict:
        """Shapes of the arrays: {"train": {"x": [...], "y": [...]}, "test": {...}}."""

        def shape(t):
            return None if t is None else list(t.shape)

        return {"train": {"x": shape(self.x), "y": shape(self.y)},
                "test": {"x": shape(self.x_test), "y": shape(self.y_test)}}

    def describe(self) -> dict:
        """A JSON-serialisable summary (name, description, sizes, task, action, ground truth)."""
        return {"name": self.name, "description": self.description, "sizes": self.sizes(),
                "task": self.task, "action": self.action,
                "action_options": dict(self.action_options),
                "ground_truth": self.ground_truth_name, "metadata": dict(self.metadata)}

    def __repr__(self) -> str:
        sizes = self.sizes()
        return (f"SymmetryDataset({self.name!r}, task={self.task!r}, action={self.action!r}, "
                f"x={sizes['train']['x']}, y={sizes['train']['y']}, "
                f"x_test={sizes['test']['x']}, ground_truth={self.ground_truth_name!r})")


# -- option checking -----------------------------------------------------------------------

def check_int(dataset: str, option: str, value, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """`value` as an int in [minimum, maximum], else a `UserInputError` naming the option."""
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, str):
            value = value.strip()
        number = int(value)
        if isinstance(value, float) and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise UserInputError(f"{dataset}: option {option} must be an integer, got {value!r}") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        bounds = (f">= {minimum}" if maximum is None else
                  f"between {minimum} and {maximum}" if minimum is not None else f"<= {maximum}")
        raise UserInputError(f"{dataset}: option {option} must be {bounds}, got {number}")
    return number


def check_float(dataset: str, option: str, value, minimum: float | None = None,
                maximum: float | None = None, strict: bool = False) -> float:
    """`value` as a finite float in range (`strict`: minimum excluded), else `UserInputError`."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise UserInputError(f"{dataset}: option {option} must be a number, got {value!r}") from None
    too_low = minimum is not None and (number <= minimum if strict else number < minimum)
    if not math.isfinite(number) or too_low or (maximum is not None and number > maximum):
        lower = "" if minimum is None else (f"> {minimum}" if strict else f">= {minimum}")
        upper = "" if maximum is None else f"<= {maximum}"
        bounds = " and ".join(b for b in (lower, upper) if b) or "finite"
        raise UserInputError(f"{dataset}: option {option} must be {bounds}, got {value!r}")
    return number


def check_choice(dataset: str, option: str, value, choices) -> str:
    if value not in choices:
        raise UserInputError(f"{dataset}: option {option} must be one of "
                             f"{', '.join(map(str, choices))}; got {value!r}")
    return value
