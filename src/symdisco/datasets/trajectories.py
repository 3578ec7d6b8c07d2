"""Trajectories: many time series stacked in one array, with their time step.

A dynamics dataset keeps its samples as rows in time order, trajectory after trajectory
(`dataset.x` of shape (N, d...)); `Trajectories` says where each one ends and how far apart
its samples are, so that every window, pair, split and prediction stays inside one trajectory:

    run = Trajectories.of(dataset)          # from metadata "trajectory_lengths" and "dt"
    x_t, x_next = run.pairs(dataset.x)      # (x_t, x_{t+1}) pairs, none across a boundary
    rows = run.windows(span=2)              # row indices (N, 2) of consecutive samples
    for piece in run.split(dataset.x): ...  # one array per trajectory

`read_trajectories` turns the arrays of a user file into that layout: `x` shaped
(trajectories, steps, d...) or (steps, d...) (or stacked rows with `trajectories=K`), the time
step as `dt` or the sample times as `t`, and the time derivatives `y` when given, else computed
with pysindy's differentiation (`derivative=`: "finite_difference" or
"smoothed_finite_difference").  The test split holds whole trajectories out (a single
trajectory: its last steps).  Every bad layout raises `UserInputError` naming the file.

Metadata written (the convention of the built-in simulators, JSON-serialisable): "dt",
"trajectory_lengths", "test_trajectory_lengths", and "time_series", a summary that methods
copy into result.json (layout, counts, dt, derivative, target).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from symdisco.errors import UserInputError

__all__ = ["Trajectories", "read_trajectories", "differentiate", "DERIVATIVES", "TARGETS",
           "TIME_KEYS"]

DERIVATIVES = ("finite_difference", "smoothed_finite_difference")
TARGETS = ("derivative", "next")
TIME_KEYS = ("t", "dt", "trajectories")
_SAMPLE_RANK = {"vector": 1, "blocks": 1, "points": 2, "image": 3}
_UNIFORM_RTOL = 1e-4


@dataclass(frozen=True)
class Trajectories:
    """Lengths of the stacked trajectories, in row order, and their time step (None: unknown
    or not uniform)."""

    lengths: tuple
    dt: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "lengths", tuple(int(n) for n in self.lengths))
        if any(n < 1 for n in self.lengths):
            raise ValueError(f"trajectory lengths must be >= 1, got {self.lengths}")

    @classmethod
    def of(cls, dataset, test: bool = False) -> "Trajectories":
        """The train (or test) trajectories of a dataset: metadata "trajectory_lengths"
        ("test_trajectory_lengths") and "dt"; one trajectory when the metadata say nothing."""
        x = dataset.x_test if test else dataset.x
        rows = 0 if x is None else len(x)
        key = "test_trajectory_lengths" if test else "trajectory_lengths"
        lengths = dataset.metadata.get(key) or ([rows] if rows else [])
        if sum(int(n) for n in lengths) != rows:
            raise UserInputError(f"dataset {dataset.name!r}: metadata {key} sums to "
                                 f"{sum(int(n) for n in lengths)}, but there are {rows} rows")
        dt = dataset.metadata.get("dt")
        return cls(lengths, None if dt is None else float(dt))

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def rows(self) -> int:
        return sum(self.lengths)

    @property
    def starts(self) -> np.ndarray:
        """Row index of each trajectory's first sample."""
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)

    def windows(self, span: int = 2, stride: int = 1) -> torch.Tensor:
        """Row indices (N, span) of `span` samples `stride` steps apart, each window inside
        one trajectory (trajectories too short for a window contribute none)."""
        reach = (span - 1) * stride
        firsts = [start + np.arange(n - reach) for start, n in zip(self.starts, self.lengths)
                  if n > reach]
        if not firsts:
            raise UserInputError(f"trajectories of {max(self.lengths, default=0)} steps are too "
                                 f"short for windows of {span} samples {stride} apart")
        first = torch.from_numpy(np.concatenate(firsts))
        return first[:, None] + stride * torch.arange(span)[None]

    def pairs(self, x, stride: int = 1):
        """(x_t, x_{t+stride}) for every t inside a trajectory: LieGAN's one-step pairs."""
        rows = self.windows(2, stride)
        return x[rows[:, 0]], x[rows[:, 1]]

    def split(self, x) -> list:
        """One array per trajectory (views of x)."""
        return [x[start:start + n] for start, n in zip(self.starts, self.lengths)]

    def truncate(self, steps: int) -> "Trajectories":
        return Trajectories([min(n, steps) for n in self.lengths], self.dt)


def differentiate(x: np.ndarray, t: np.ndarray, method: str = "finite_difference") -> np.ndarray:
    """dx/dt along axis 1 of x (trajectories, steps, d...), times t (trajectories, steps),
    with pysindy's differentiation (second-order finite differences, optionally after a
    Savitzky-Golay smoothing); float64."""
    import pysindy as ps

    flat = np.asarray(x, dtype=np.float64).reshape(x.shape[0], x.shape[1], -1)
    out = np.empty_like(flat)
    for k in range(len(flat)):
        if method == "finite_difference":
            estimator = ps.FiniteDifference(order=2, axis=0)
        else:
            window = min(9, flat.shape[1] - (1 - flat.shape[1] % 2))  # odd, <= steps
            estimator = ps.SmoothedFiniteDifference(
                smoother_kws={"window_length": window, "polyorder": min(3, window - 1), "axis": 0},
                axis=0)
        out[k] = estimator(flat[k], t[k])
    return out.reshape(x.shape)


# -- reading a trajectory file -------------------------------------------------------------

def _shape(array) -> str:
    return "(" + ", ".join(map(str, array.shape)) + ("," if array.ndim == 1 else "") + ")"


def _numeric(fail, key, value, ndim=None) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise fail(f"array {key!r} is not numeric (dtype {array.dtype}); save a rectangular "
                   f"numeric array (equal-length trajectories)")
    if array.size == 0:
        raise fail(f"array {key!r} is empty (shape {_shape(array)})")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise fail(f"array {key!r} holds NaN/Inf (first at index {tuple(int(i) for i in bad)})")
    return array


def _scalar(fail, key, value, source) -> float:
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        try:
            array = np.asarray(float(str(value).strip()))
        except (TypeError, ValueError):
            raise fail(f"{source} {key} must be one number, got "
                       f"{'shape ' + _shape(array) if array.ndim else repr(value)}") from None
    number = float(array.reshape(()))
    if not np.isfinite(number) or number <= 0:
        raise fail(f"{source} {key} must be a positive time step, got {number}")
    return number


def _count(fail, value, source) -> int:
    try:
        array = np.asarray(value if not isinstance(value, str) else value.strip())
        number = int(float(array.reshape(())))
        if number != float(array.reshape(())):
            raise ValueError
    except (TypeError, ValueError):
        raise fail(f"{source} trajectories must be a whole number, got {value!r}") from None
    if number < 1:
        raise fail(f"{source} trajectories must be >= 1, got {number}")
    return number


def _layout(fail, x, x_key, action, stacked, t):
    """x as (trajectories, steps, d...) and the layout's name."""
    sample_rank = _SAMPLE_RANK.get(action) if action else None
    if stacked is not None:
        if x.shape[0] % stacked:
            raise fail(f"array {x_key!r} has {x.shape[0]} rows, which do not split into "
                       f"{stacked} trajectories of equal length (ragged trajectories)")
        return x.reshape(stacked, x.shape[0] // stacked, *x.shape[1:]), \
            f"{stacked} stacked trajectories of (steps, d...)"
    if sample_rank is None:
        if t is not None and t.ndim == 2 and x.ndim >= 3 and x.shape[:2] == t.shape:
            sample_rank = x.ndim - 2
        else:
            sample_rank = 1 if x.ndim in (2, 3) else 3
    leading = x.ndim - sample_rank
    if leading == 2:
        return x, "(trajectories, steps, d...)"
    if leading == 1:
        return x[None], "(steps, d...)"
    raise fail(f"array {x_key!r} has shape {_shape(x)}; a trajectory file needs "
               f"(trajectories, steps, d...) or (steps, d...)"
               + (f" with {sample_rank}-dimensional samples for action {action!r}" if action else ""))


def _times(fail, t, dt, shape, dt_source):
    """Times (K, T) from t (T,), (K, T) or (K*T,), or from dt; and the uniform dt or None."""
    trajectories, steps = shape
    if t is None:
        times = np.broadcast_to(dt * np.arange(steps, dtype=np.float64), (trajectories, steps))
        return times, dt
    t = np.asarray(t, dtype=np.float64)
    if t.shape == (steps,):
        times = np.broadcast_to(t, (trajectories, steps))
    elif t.size == trajectories * steps and t.ndim in (1, 2):
        times = t.reshape(trajectories, steps)
    else:
        raise fail(f"array 't' has shape {_shape(t)}; expected ({steps},) or "
                   f"({trajectories}, {steps}) for {trajectories} trajectories of {steps} steps")
    steps_taken = np.diff(times, axis=1)
    if (steps_taken <= 0).any():
        k, j = (int(i) for i in np.argwhere(steps_taken <= 0)[0])
        raise fail(f"array 't' is not increasing: trajectory {k}, step {j + 1} "
                   f"(t={times[k, j + 1]:g} after {times[k, j]:g})")
    typical = float(np.median(steps_taken))
    uniform = bool(np.abs(steps_taken - typical).max() <= _UNIFORM_RTOL * typical)
    if dt is not None:
        if not uniform or abs(typical - dt) > _UNIFORM_RTOL * dt:
            raise fail(f"{dt_source} dt={dt:g} disagrees with array 't' (steps of "
                       f"{typical:g}{'' if uniform else ', not uniform'}); give one of them")
    return np.ascontiguousarray(times), (typical if uniform else None)


def _test_count(trajectories: int, test_fraction: float) -> int:
    if trajectories < 2 or test_fraction <= 0:
        return 0
    return min(max(1, int(round(trajectories * test_fraction))), trajectories - 1)


def read_trajectories(fail, arrays: dict, x_key: str, y_key: str | None, *, dt=None,
                      trajectories=None, derivative=None, target=None, action=None,
                      test_fraction: float = 0.2) -> dict:
    """The arrays of a trajectory file -> {"x", "y", "x_test", "y_test", "metadata", "task"}.

    `arrays` holds x (and y, x_test, y_test, t, dt, trajectories when the file has them);
    `fail(message)` makes the UserInputError naming the file.  x rows come back stacked,
    trajectory after trajectory; y is dx/dt (target "derivative", task "dynamics") or
    x_{t+1} (target "next", task "equivariant": LieGAN's one-step pairs)."""
    target = target or "derivative"
    if target not in TARGETS:
        raise fail(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    if derivative is not None and derivative not in DERIVATIVES:
        raise fail(f"derivative must be one of {', '.join(DERIVATIVES)}, got {derivative!r}")
    for key, option in (("dt", dt), ("trajectories", trajectories)):
        if key in arrays and option is not None:
            raise fail(f"the file holds array {key!r} and the option {key}= was given too; "
                       f"give one")
    dt_source = "option" if dt is not None else "array"
    if dt is None and "dt" in arrays:
        dt = arrays["dt"]
    dt = None if dt is None else _scalar(fail, "dt", dt, dt_source)
    stacked = trajectories if trajectories is not None else arrays.get("trajectories")
    stacked = None if stacked is None else _count(fail, stacked, "option" if trajectories is not None
                                                  else "array")
    t = None if "t" not in arrays else _numeric(fail, "t", arrays["t"])
    if t is None and dt is None:
        raise fail("a trajectory file needs its time step: an array 'dt' (or sample times 't') "
                   "in the file, or the option dt= (command line: -D dt=0.05)")

    x = _numeric(fail, x_key, arrays["x"])
    x3, layout = _layout(fail, x, x_key, action, stacked, t)
    n_traj, steps = x3.shape[:2]
    if steps < 3:
        raise fail(f"array {x_key!r} holds trajectories of {steps} step{'s' * (steps != 1)}; "
                   f"at least 3 are needed for time derivatives")
    times, dt = _times(fail, t, dt, (n_traj, steps), dt_source)

    y3 = None
    if y_key is not None and arrays.get("y") is not None:
        y = _numeric(fail, y_key, arrays["y"])
        if y.size != x.size:
            raise fail(f"array {y_key!r} (the time derivatives) has shape {_shape(y)}; "
                       f"expected the shape of {x_key!r}, {_shape(x)}")
        y3 = y.reshape(x3.shape)
        if derivative is not None:
            raise fail(f"the file holds the derivatives {y_key!r} and the option derivative= "
                       f"was given too; drop one (or pass y_key=None to compute them)")
        how = f"given (array {y_key!r})"
    else:
        derivative = derivative or "finite_difference"
        y3 = differentiate(x3, times, derivative)
        how = f"pysindy {derivative}"

    x3 = x3.astype(np.float32, copy=False)
    y3 = y3.astype(np.float32, copy=False)
    n_test = _test_count(n_traj, test_fraction)
    if n_traj >= 2:
        train_x, test_x = x3[:n_traj - n_test], x3[n_traj - n_test:]
        train_y, test_y = y3[:n_traj - n_test], y3[n_traj - n_test:]
        split = f"last {n_test} of {n_traj} trajectories held out"
    else:
        cut = steps - int(round(steps * test_fraction)) if test_fraction > 0 else steps
        cut = min(max(cut, 3), steps)
        train_x, test_x = x3[:, :cut], x3[:, cut:]
        train_y, test_y = y3[:, :cut], y3[:, cut:]
        split = (f"last {steps - cut} of {steps} steps of the single trajectory held out"
                 if steps > cut else "no test split (a single trajectory)")
    if "x_test" in arrays:  # an explicit test split: same layout, same time step
        if t is not None and dt is None:
            raise fail("an explicit test split ('x_test') needs a uniform time step")
        test_x3, _ = _layout(fail, _numeric(fail, f"{x_key}_test", arrays["x_test"]), f"{x_key}_test",
                             action, stacked, None)
        if test_x3.shape[2:] != x3.shape[2:]:
            raise fail(f"array '{x_key}_test' holds samples of shape {list(test_x3.shape[2:])}, "
                       f"but {x_key!r} holds {list(x3.shape[2:])}")
        if y_key is not None and arrays.get("y_test") is not None and arrays.get("y") is not None:
            test_y3 = _numeric(fail, f"{y_key}_test", arrays["y_test"]).reshape(test_x3.shape)
        else:
            test_y3 = differentiate(test_x3, dt * np.broadcast_to(np.arange(test_x3.shape[1]),
                                                                  test_x3.shape[:2]),
                                    derivative or "finite_difference")
        train_x, train_y = x3, y3
        test_x, test_y = test_x3.astype(np.float32), test_y3.astype(np.float32)
        split = f"arrays {x_key}_test / {y_key}_test"

    def stack(a):
        return a.reshape(-1, *a.shape[2:])

    if target == "next":  # x_t -> x_{t+1} inside each trajectory
        inputs, outputs = stack(train_x[:, :-1]), stack(train_x[:, 1:])
        test_inputs, test_outputs = stack(test_x[:, :-1]), stack(test_x[:, 1:])
        lengths, test_lengths = [train_x.shape[1] - 1] * len(train_x), \
            [max(test_x.shape[1] - 1, 0)] * len(test_x)
    else:
        inputs, outputs, test_inputs, test_outputs = (stack(train_x), stack(train_y),
                                                      stack(test_x), stack(test_y))
        lengths, test_lengths = [train_x.shape[1]] * len(train_x), [test_x.shape[1]] * len(test_x)
    test_lengths = [n for n in test_lengths if n > 0]
    summary = {"layout": layout, "trajectories": len(train_x), "test_trajectories": len(test_lengths),
               "steps": int(steps), "dt": dt, "uniform_dt": dt is not None,
               "time_from": "array 't'" if t is not None else f"{dt_source} dt",
               "derivative": how, "target": target, "split": split}
    metadata = {"dt": dt, "trajectory_lengths": lengths, "test_trajectory_lengths": test_lengths,
                "time_series": summary, "split": split}
    return {"x": inputs, "y": outputs, "x_test": test_inputs, "y_test": test_outputs,
            "metadata": metadata, "task": "dynamics" if target == "derivative" else "equivariant"}
