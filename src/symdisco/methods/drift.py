"""A dilation in the found span along which the prediction drifts: a weak dependence on scale.

The SVD reads a symmetry off the size of grad f . (L x) over the data: its root mean square.
A fitted predictor is never exactly invariant, so the symmetries' values sit at the fit's
residual, and a real dependence that is weak next to the task's sensitivity in other
directions can sit among them. Scale is the common case: the jet mass in the collider frame
moves by m under a dilation and by up to E^2/m under a move off the light cone, so on boosted
jets the dilation's value is (m/E)^2 of a generic direction's and lands inside the gap with
so(1,3) (`lie/dilation`: g + dilation, which derivatives alone cannot tell from g).

The two differ in their mean. d/de E[f(exp(e L) x)] = E[grad f . (L x)]: along a symmetry the
average prediction does not move, while a dependence on size pushes it one way on every
sample (the dilation on those jets: |mean| / rms 0.54; the six Lorentz directions 0.002-0.045).
A fit's own error may drift as well, a smooth error tilting across the data, but it differs
from one independent fit to the next, while a dependence of the task drifts alike in all of
them; so the mean used is the part the fits agree on (`agreed_drift`). With one fit (a
user's predictor) there is nothing to compare, and the test is not applied.

Only the dilation is tested. It commutes with every generator, so leaving it out leaves an
algebra, and scaling up moves any function of size the same way everywhere. Other directions
can drift through a bias the fits share (polynomial fits on halves of the data share their
approximation error: so(1,2) directions with mean shares of 0.12 at values 1e-4) and are not
judged by it. For data without targets the mean of s(x) . (L x) + tr L is zero for every L (the
divergence theorem): the test does not apply there.
"""
from __future__ import annotations

import math
from dataclasses import replace

import torch

from ..lie.dilation import DILATION_TOL
from .closed_form import Spectrum

DRIFT_SHARE = 0.1
"""Share of the dilation's constraint (mean^2 / mean square, the mean being the part the fits agree
on) above which it drifts: |mean| / rms above 0.32. (Collider-frame jets at 100,000: 0.29.)"""

RESOLVED = 1e-6
"""A dilation whose singular value is below this share of the largest is kept whatever its mean:
there the derivatives are exact to rounding, and the mean of rounding errors says nothing."""

def agreed_drift(sums: list[torch.Tensor], samples: int) -> torch.Tensor:
    """The Gram matrix (p, p) of the mean shift that independent fits agree on, from each fit's
    per-output sums of its rows (R, p, `closed_form.rows`) over N samples: that of the fits' mean, less that of their spread.

    Why less the spread: a fit's own error can drift too (a smooth error that tilts across the
    data), but independently from fit to fit, so its part in the mean's Gram matrix is what the
    spread estimates (for two fits, what is left is the symmetrised product of their means: what
    they share). A dependence of the task drifts alike in every fit and survives."""
    if len(sums) < 2:
        raise ValueError("agreed_drift needs at least two independent fits")
    mean = sum(sums) / len(sums)
    spread = sum((s - mean).T @ (s - mean) for s in sums) / (len(sums) * (len(sums) - 1))
    return (mean.T @ mean - spread) / max(samples, 1)


def drop_dilation(spectrum: Spectrum, gram: torch.Tensor, drift: torch.Tensor,
                  basis: torch.Tensor) -> tuple[Spectrum, dict | None]:
    """The spectrum without the dilation when the found span holds it and the prediction drifts
    along it; and how the dilation was judged, {"share", "value", "left_out"} (value: sigma along
    it over sigma_max), or None when the span does not hold it. `basis` (p, n, n): the
    orthonormal search space.

    Forced k is left alone: the user chose it."""
    if spectrum.forced or spectrum.k == 0:
        return spectrum, None
    gram, drift = gram.double(), drift.double()
    vectors = torch.as_tensor(spectrum.vectors, dtype=torch.float64)
    kept, rest = vectors[:, :spectrum.k], vectors[:, spectrum.k:]
    n = basis.shape[-1]
    identity = torch.einsum("pab,ab->p", basis.double(), torch.eye(n, dtype=torch.float64) / math.sqrt(n))
    inside = kept.T @ identity                                                        # (k,)
    if float(1.0 - inside.pow(2).sum()) > DILATION_TOL ** 2:   # as `lie.dilation.holds_dilation`
        return spectrum, None
    coefficients = kept @ (inside / inside.norm())
    size = float(coefficients @ gram @ coefficients)
    top = float(torch.linalg.eigvalsh(gram)[-1].clamp_min(1e-300))
    if size <= RESOLVED ** 2 * top:
        return spectrum, None
    share = float(coefficients @ drift @ coefficients) / size
    judged = {"share": min(max(share, 0.0), 1.0), "value": math.sqrt(size / top), "left_out": share > DRIFT_SHARE}
    if not judged["left_out"]:
        return spectrum, judged
    _, _, vt = torch.linalg.svd(inside[None, :])
    rest_of_span = kept @ vt[1:].T                                                    # (p, k - 1)
    new_vectors = torch.cat([rest_of_span, coefficients[:, None], rest], dim=1).numpy()
    return replace(spectrum, vectors=new_vectors, k=spectrum.k - 1), judged


def drift_message(left_out: dict | None, k: int) -> str | None:
    """The warning for a dilation left out as drifting (result.json's "dilation_left_out"), or None.
    (One kept is doubted by `fit_check.dilation_message`.)"""
    if not left_out:
        return None
    return (f"liesd: left out the dilation, which the spectrum alone would take for one more generator (singular "
            f"value {left_out['singular_value']:.3g}): the prediction moves the same way along it on sample "
            f"after sample ({left_out['mean_shift_share']:.0%} of its constraint is a mean shift the independent "
            f"fits agree on), which a symmetry's residual does not: a weak dependence on scale, not a symmetry "
            f"(--generators {k + 1} keeps it)")
