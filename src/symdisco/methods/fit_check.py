"""How well the predictor whose derivatives closed-form discovery reads generalises.

Why: the constraints are only as good as the derivatives. A classifier that memorised its
training set (raw four-momenta of 4,000 jets: held-out accuracy 0.7) has derivatives that
reflect where its inputs leave the data, not the task, and the spectrum then shows a wrong
dimension without any sign of it. Scoring the fitted predictor on held-out data, and warning
when it is poor, turns that silent failure into a stated doubt.
"""
from __future__ import annotations

import torch

WEAK_FIT = {"accuracy": 0.9, "r2": 0.8}
"""Held-out accuracy (classes) or R^2 (regression) below which the derivatives are not trusted.
(A cubic fit of a random tanh network, no symmetry at all, explains 0.88 of it and still
gives the right k = 0; a classifier of jets at 0.77 gives a wrong one.)"""


def held_out_score(task: str, predictors: list, z: torch.Tensor, targets: torch.Tensor) -> dict | None:
    """{"metric": "accuracy" | "r2", "held_out": value} of the predictors' mean on (z, targets)."""
    if not predictors or targets is None or len(z) == 0:
        return None
    with torch.no_grad():
        outputs = sum(predict(z).double() for predict in predictors) / len(predictors)
    if task == "classification":
        return {"metric": "accuracy", "held_out": float((outputs.argmax(1) == targets).double().mean())}
    targets = targets.double().reshape(len(targets), -1)
    outputs = outputs.reshape(targets.shape)
    spread = (targets - targets.mean(0)).pow(2).sum()
    r2 = 1.0 - float((outputs - targets).pow(2).sum() / spread.clamp_min(1e-300))
    return {"metric": "r2", "held_out": r2}


def weak_fit_message(score: dict | None) -> str | None:
    """The warning for a poor held-out score, or None."""
    if score is None or score["held_out"] >= WEAK_FIT[score["metric"]]:
        return None
    what = "accuracy" if score["metric"] == "accuracy" else "R^2"
    return (f"liesd: the fitted predictor's held-out {what} is {score['held_out']:.2f} (< {WEAK_FIT[score['metric']]}): its "
            "derivatives, and the dimension read from them, are not reliable; give it more data, "
            "--epochs, or your own predictor")


def dilation_message(name: str, k: int, kept: dict | None = None) -> str | None:
    """The warning for a found span that holds the dilation next to a group g, or None.

    Why: derivatives read from data cannot tell an exact scale symmetry from a dependence on scale
    that is weak next to the task's sensitivity in other directions (the jet mass in the collider
    frame: a dilation moves it by m, a move off the light cone by up to E^2/m), so g+dilation may be
    g plus a near-symmetry. A dilation found alone (a scale-invariant task) is not doubted here.
    """
    if not name.endswith("+dilation") or k < 2:
        return None
    rest = name[: -len("+dilation")]
    drift = ""
    if kept:   # `methods/drift`: the independent fits agreed on no mean shift along it
        drift = (f" (no mean shift along it that the independent fits agree on: {kept['mean_shift_share']:.0%} "
                 f"of its constraint, so it is kept)")
    return (f"liesd: the found span holds the dilation next to {rest}{drift}; a weak dependence on scale can look "
            f"the same as none to derivatives read from data: if the task can depend on scale, "
            f"--generators {k - 1} gives {rest} alone")
