"""Near-null directions along which the prediction drifts: weak dependences, not symmetries.

The SVD reads a symmetry off the size of grad f . (L x) over the data: its root mean square.
A fitted predictor is never exactly invariant, so the symmetries' values sit at the fit's
residual, and a real dependence that is weak next to the task's sensitivity in other
directions can sit among them. The jet mass in the collider frame is one: a dilation moves
it by m, a move off the light cone by up to E^2/m, so on boosted jets its value is (m/E)^2
of a generic direction's and lands inside the gap with so(1,3).

The two differ in their mean. d/de E[f(exp(e L) x)] = E[grad f . (L x)]: along a symmetry the
average prediction does not move, and what a fit leaves behind changes sign from sample to
sample (the six Lorentz directions there: |mean| / rms 0.002-0.045). A dependence on scale
pushes the prediction one way on every sample (the dilation: 0.58). So within the chosen
null space the direction that maximises the share of its constraint that is a mean shift,
a^T D a / a^T G a (D the Gram matrix of the per-output means, G the whole), is left out when
that share is large and clearly above what zero-mean noise gives; then the next, and so on.

Compact directions under a law they keep cannot drift (the mean is zero for any f), so the
test has no power there, and no false alarms either. For data without targets the mean of
s(x) . (L x) + tr L is zero for every L (the divergence theorem): the test is not applied.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch

from .closed_form import Spectrum

DRIFT_SHARE = 0.1
"""Share of a direction's constraint (mean^2 / mean square) above which it drifts: |mean| / rms
above 0.32. (Collider-frame jets at 100,000: the dilation 0.34; the six Lorentz directions at most
0.002; directions that are no symmetry at all, with large values, at most 0.004.)"""

RESOLVED = 1e-6
"""Directions whose singular value is below this share of the largest are kept whatever their mean:
there the derivatives are exact to rounding (a polynomial fit of a polynomial task), and the mean
of rounding errors says nothing."""

NOISE_MARGIN = 10.0
"""The share must also be this many times what zero-mean noise gives: about k R / N for k
directions, R outputs and N samples."""


def row_sums(constraints: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Per-output sums over samples (R, p) of the rows <C, B_j> of constraints C (N, R, n, n)."""
    n = basis.shape[-1]
    rows = constraints.reshape(*constraints.shape[:2], n * n) @ basis.reshape(basis.shape[0], -1).T
    return rows.sum(dim=0)


def mean_gram(sums: torch.Tensor, samples: int) -> torch.Tensor:
    """D = sum over outputs of N mean mean^T (p, p), from per-output sums (R, p) over N samples."""
    return sums.T @ sums / max(samples, 1)


def drop_drifting(spectrum: Spectrum, gram: torch.Tensor, drift: torch.Tensor, samples: int,
                  outputs: int) -> tuple[Spectrum, list[dict]]:
    """The spectrum with drifting directions moved out of the chosen k, and what was moved:
    [{"coefficients" (p,), "share", "value"}] (value: sigma along it over sigma_max).

    Forced k is left alone: the user chose it."""
    if spectrum.forced or spectrum.k == 0:
        return spectrum, []
    vectors = torch.as_tensor(spectrum.vectors, dtype=torch.float64)
    kept, rest = vectors[:, :spectrum.k], vectors[:, spectrum.k:]
    top = float(torch.linalg.eigvalsh(gram.double())[-1].clamp_min(1e-300))
    dropped = []
    while kept.shape[1] > 0:
        share, direction = _largest_share(kept, gram.double(), drift.double(), RESOLVED ** 2 * top)
        noise = kept.shape[1] * outputs / max(samples, 1)
        if share <= max(DRIFT_SHARE, NOISE_MARGIN * noise):
            break
        coefficients = kept @ direction
        value = math.sqrt(max(float(coefficients @ gram.double() @ coefficients), 0.0) / top)
        dropped.append({"coefficients": coefficients, "share": share, "value": value})
        kept = _complement(kept, direction)
    if not dropped:
        return spectrum, []
    moved = torch.stack([d["coefficients"] for d in dropped], dim=1)
    new_vectors = torch.cat([kept, moved, rest], dim=1).numpy()
    return replace(spectrum, vectors=new_vectors, k=kept.shape[1]), dropped


def _largest_share(kept: torch.Tensor, gram: torch.Tensor, drift: torch.Tensor,
                   floor: float) -> tuple[float, torch.Tensor]:
    """max over a of a^T D a / a^T G a within the columns of `kept` (p, k), among directions
    whose a^T G a is above `floor`: its value and a (k,) (share 0 when there are none)."""
    g = kept.T @ gram @ kept
    d = kept.T @ drift @ kept
    values, vectors = torch.linalg.eigh(g)
    resolved = values > floor
    if not bool(resolved.any()):
        return 0.0, vectors[:, -1]
    whiten = vectors[:, resolved] / values[resolved].sqrt()                  # W^T g W = I
    shares, inner = torch.linalg.eigh(whiten.T @ d @ whiten)
    direction = whiten @ inner[:, -1]
    return float(shares[-1].clamp(0.0, 1.0)), direction / direction.norm()


def _complement(kept: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """The columns of `kept` (p, k), orthonormal, spanning its part orthogonal to kept @ direction."""
    _, _, vt = torch.linalg.svd(direction[None, :])
    return kept @ vt[1:].T


def describe(generator) -> str:
    """"the dilation" for a multiple of the identity, else "a direction"."""
    g = np.asarray(generator, dtype=np.float64)
    eye = np.eye(len(g))
    cosine = abs(np.sum(g * eye)) / max(np.linalg.norm(g) * np.linalg.norm(eye), 1e-300)
    return "the dilation" if cosine > 0.95 else "a direction"


def drift_message(drifting: list[dict], k: int) -> str | None:
    """The warning for directions left out as drifting (result.json's "drifting"), or None."""
    if not drifting:
        return None
    what = "; ".join(f"{describe(d['generator'])} (singular value {d['singular_value']:.3g}, "
                     f"{d['mean_shift_share']:.0%} of it a mean shift)" for d in drifting)
    return (f"liesd: left out what the spectrum alone would take for {len(drifting)} more generator(s): {what}. "
            f"Along it the prediction moves the same way on sample after sample, which a symmetry's residual "
            f"does not: a weak dependence, not a symmetry (--generators {k + len(drifting)} keeps it)")
