"""A toy jet generator whose labels depend only on Lorentz invariants.

Each jet is a set of up to `n_particles` massless four-vectors (E, px, py, pz), sorted by
energy (largest first) and zero-padded. Two classes:

* "top-like" (label 1): a heavy particle of mass ~ N(175, 2) GeV decays t -> b W, W -> q q'
  (W mass ~ N(80.4, 1) GeV); each of the three prongs (mass U(2, 15) GeV) fragments into at
  least two massless constituents, isotropically in its rest frame (RAMBO phase space).
* "QCD-like" (label 0): a light jet of mass log-uniform in [5, 50] GeV fragments the same way
  into massless constituents.

Every jet is made in its rest frame (whose orientation is uniformly random) and then boosted
to transverse momentum U(pt_min, pt_max), pseudorapidity U(-eta_max, eta_max) and uniform
azimuth. The class is thus a function of invariant masses only (the jet mass separates the
classes: top > 160 GeV, QCD < 50 GeV), so the task is invariant under so(1,3), the ground
truth `lorentz()` acting on every four-vector (action "points"). Momenta are in units of
`scale` GeV (default 100 GeV, so that numbers are of order one). `target="mass"` swaps the
label for the jet invariant mass (same units) as a regression target.
"""
from __future__ import annotations

import math

import numpy as np

from .base import SymmetryDataset, check_choice, check_float, check_int
from .registry import register

METRIC = np.array([1.0, -1.0, -1.0, -1.0])
TOP_MASS, TOP_WIDTH, W_MASS, W_WIDTH = 175.0, 2.0, 80.4, 1.0
PRONG_MASS = (2.0, 15.0)
QCD_MASS = (5.0, 50.0)


def minkowski_square(p: np.ndarray) -> np.ndarray:
    """E^2 - |p|^2 of (..., 4) four-vectors."""
    return np.sum(METRIC * p * p, axis=-1)


def invariant_mass(p: np.ndarray) -> np.ndarray:
    """Invariant mass of the sum of a set of four-vectors: (..., N, 4) -> (...)."""
    return np.sqrt(np.maximum(minkowski_square(p.sum(axis=-2)), 0.0))


def boost_from_rest(p: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Four-vectors p (..., 4) given in the rest frame of `parent` (..., 4), seen in the frame
    where the parent has four-momentum `parent` (a pure boost)."""
    mass = np.sqrt(np.maximum(minkowski_square(parent), 1e-300))[..., None]
    energy, momentum = parent[..., :1], parent[..., 1:]
    dot = np.sum(momentum * p[..., 1:], axis=-1, keepdims=True)
    new_energy = (energy * p[..., :1] + dot) / mass
    new_momentum = p[..., 1:] + momentum * (dot / (mass * (energy + mass)) + p[..., :1] / mass)
    return np.concatenate([new_energy, new_momentum], axis=-1)


def _isotropic(rng, shape):
    cos_theta = rng.uniform(-1, 1, size=shape)
    phi = rng.uniform(0, 2 * math.pi, size=shape)
    sin_theta = np.sqrt(1 - cos_theta ** 2)
    return np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=-1)


def rambo(mass: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Massless momenta (B, N, 4) summing to (mass, 0, 0, 0) over the slots where `mask` (B, N)
    is true (at least two per row), zero elsewhere: uniform n-body phase space (Kleiss,
    Stirling and Ellis' RAMBO)."""
    q0 = -np.log(rng.uniform(1e-12, 1, size=mask.shape) * rng.uniform(1e-12, 1, size=mask.shape))
    q = np.concatenate([q0[..., None], q0[..., None] * _isotropic(rng, mask.shape)], axis=-1)
    q = q * mask[..., None]
    total = q.sum(axis=1)                                                   # (B, 4)
    total_mass = np.sqrt(np.maximum(minkowski_square(total), 1e-300))
    b = -total[:, 1:] / total_mass[:, None]
    gamma = total[:, 0] / total_mass
    a = 1 / (1 + gamma)
    x = mass / total_mass
    bq = np.einsum("bi,bni->bn", b, q[..., 1:])
    energy = x[:, None] * (gamma[:, None] * q[..., 0] + bq)
    momentum = x[:, None, None] * (q[..., 1:] + b[:, None, :] * q[..., :1]
                                   + a[:, None, None] * bq[..., None] * b[:, None, :])
    return np.concatenate([energy[..., None], momentum], axis=-1) * mask[..., None]


def two_body_decay(mass, mass1, mass2, rng):
    """Isotropic decay of a particle at rest: (B,) masses -> two (B, 4) four-momenta."""
    lam = (mass ** 2 - (mass1 + mass2) ** 2) * (mass ** 2 - (mass1 - mass2) ** 2)
    momentum = np.sqrt(np.maximum(lam, 0.0)) / (2 * mass)
    direction = _isotropic(rng, mass.shape) * momentum[:, None]
    e1 = np.sqrt(momentum ** 2 + mass1 ** 2)
    e2 = np.sqrt(momentum ** 2 + mass2 ** 2)
    return (np.concatenate([e1[:, None], direction], axis=-1),
            np.concatenate([e2[:, None], -direction], axis=-1))


def _fragment(prongs, counts, rng, n_particles):
    """Constituents (B, N, 4) of prongs (P, B, 4) with counts (B, P), each >= 2."""
    b = counts.shape[0]
    slot = np.arange(n_particles)[None, :]
    edges = np.cumsum(counts, axis=1)
    owner = np.sum(slot[..., None] >= edges[:, None, :], axis=-1)          # (B, N) prong index
    constituents = np.zeros((b, n_particles, 4))
    for index, prong in enumerate(prongs):
        mask = owner == index
        rest = rambo(np.sqrt(np.maximum(minkowski_square(prong), 0.0)), mask, rng)
        constituents += boost_from_rest(rest, prong[:, None, :]) * mask[..., None]
    return constituents


def _lab_momentum(mass, rng, pt_range, eta_max):
    pt = rng.uniform(*pt_range, size=mass.shape)
    eta = rng.uniform(-eta_max, eta_max, size=mass.shape)
    phi = rng.uniform(0, 2 * math.pi, size=mass.shape)
    momentum = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=-1)
    energy = np.sqrt(np.sum(momentum ** 2, axis=-1) + mass ** 2)
    return np.concatenate([energy[:, None], momentum], axis=-1)


def _isotropic_momentum(mass, rng, rapidity):
    """Jet four-momenta of the given masses with an isotropic direction and a rapidity vector
    u ~ N(0, rapidity^2 I_3) (|u| the jet's rapidity in its direction of flight)."""
    u = rng.normal(0.0, rapidity, size=mass.shape + (3,))
    eta = np.linalg.norm(u, axis=-1)
    direction = u / np.maximum(eta, 1e-300)[:, None]
    momentum = (mass * np.sinh(eta))[:, None] * direction
    return np.concatenate([(mass * np.cosh(eta))[:, None], momentum], axis=-1)


def _jet_frame(mass, rng, pt_range, eta_max, frame, rapidity):
    if frame == "isotropic":
        return _isotropic_momentum(mass, rng, rapidity)
    return _lab_momentum(mass, rng, pt_range, eta_max)


def _counts(rng, n_jets, n_particles, n_prongs):
    low = max(2 * n_prongs, n_particles // 2)
    total = rng.integers(low, n_particles + 1, size=n_jets)
    extra = rng.multinomial(total - 2 * n_prongs, [1.0 / n_prongs] * n_prongs)
    return 2 + extra


def top_jets(n_jets, rng, n_particles=20, pt_range=(550.0, 650.0), eta_max=2.0, frame="collider",
             rapidity=1.0):
    """(n_jets, n_particles, 4) top-like jets in GeV, unsorted, with their masses."""
    prong_mass = rng.uniform(*PRONG_MASS, size=(3, n_jets))
    w_mass = np.maximum(rng.normal(W_MASS, W_WIDTH, n_jets), prong_mass[1] + prong_mass[2] + 1)
    top_mass = np.maximum(rng.normal(TOP_MASS, TOP_WIDTH, n_jets), w_mass + prong_mass[0] + 1)
    b_quark, w_boson = two_body_decay(top_mass, prong_mass[0], w_mass, rng)
    quark1, quark2 = two_body_decay(w_mass, prong_mass[1], prong_mass[2], rng)
    prongs = [b_quark, boost_from_rest(quark1, w_boson), boost_from_rest(quark2, w_boson)]
    rest = _fragment(prongs, _counts(rng, n_jets, n_particles, 3), rng, n_particles)
    jet = _jet_frame(top_mass, rng, pt_range, eta_max, frame, rapidity)
    return boost_from_rest(rest, jet[:, None, :]) * (rest[..., :1] > 0), top_mass


def qcd_jets(n_jets, rng, n_particles=20, pt_range=(550.0, 650.0), eta_max=2.0, frame="collider",
             rapidity=1.0):
    """(n_jets, n_particles, 4) light (QCD-like) jets in GeV, unsorted, with their masses."""
    mass = np.exp(rng.uniform(math.log(QCD_MASS[0]), math.log(QCD_MASS[1]), n_jets))
    rest_jet = np.concatenate([mass[:, None], np.zeros((n_jets, 3))], axis=-1)
    rest = _fragment([rest_jet], _counts(rng, n_jets, n_particles, 1), rng, n_particles)
    jet = _jet_frame(mass, rng, pt_range, eta_max, frame, rapidity)
    return boost_from_rest(rest, jet[:, None, :]) * (rest[..., :1] > 0), mass


def sort_by_energy(jets: np.ndarray) -> np.ndarray:
    """Constituents ordered by energy, largest first (zero padding goes last)."""
    order = np.argsort(-jets[..., 0], axis=1, kind="stable")
    return np.take_along_axis(jets, order[..., None], axis=1)


def make_jets(n_jets: int, seed: int = 0, n_particles: int = 20, pt_range=(550.0, 650.0),
              eta_max: float = 2.0, frame: str = "collider", rapidity: float = 1.0):
    """Balanced mixture: jets (n_jets, n_particles, 4) in GeV sorted by energy, labels
    (n_jets,) with 1 = top-like, 0 = QCD-like. `frame` "collider" (pT, eta ranges) or
    "isotropic" (isotropic direction, rapidity vector ~ N(0, rapidity^2 I_3))."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_jets) < n_jets // 2).astype(np.int64)
    jets = np.zeros((n_jets, n_particles, 4))
    n_top = int(labels.sum())
    jets[labels == 1] = top_jets(n_top, rng, n_particles, pt_range, eta_max, frame, rapidity)[0]
    jets[labels == 0] = qcd_jets(n_jets - n_top, rng, n_particles, pt_range, eta_max, frame,
                                        rapidity)[0]
    return sort_by_energy(jets), labels


@register("lorentz-jets", "toy top-vs-QCD jets of massless four-vectors, boosted and rotated; "
                          "labels depend on invariant masses only")
def load_lorentz_jets(n_train=4000, n_test=1000, n_particles=20, target="class", scale=100.0,
                      pt_min=550.0, pt_max=650.0, eta_max=2.0, frame="collider", rapidity=1.0,
                      seed=0) -> SymmetryDataset:
    """x (N, n_particles, 4) four-vectors (E, px, py, pz) in units of `scale` GeV, sorted by
    energy and zero-padded; y (N,) int64 labels (1 = top-like) or, with `target="mass"`,
    (N, 1) jet invariant masses. Truth: lorentz() = so(1,3) acting on each four-vector.

    frame="collider" (default) boosts each jet to pT U(pt_min, pt_max), pseudorapidity
    U(-eta_max, eta_max): a distribution of x that rotations about the beam and (nearly)
    boosts along it leave alone, but the other four generators change. frame="isotropic"
    gives the jet an isotropic direction and a rapidity vector ~ N(0, rapidity^2 I_3), so
    rotations leave the whole distribution of x exactly invariant and small boosts nearly
    so (the frame distribution on the hyperboloid changes by a log-density of about 2 per
    unit of rapidity; no finite distribution does better): the set-up in which LieGAN, which
    compares distributions of (x, y), can recover all of so(1,3)."""
    name = "lorentz-jets"
    n_train = check_int(name, "n_train", n_train, 1)
    n_test = check_int(name, "n_test", n_test, 1)
    n_particles = check_int(name, "n_particles", n_particles, 6, 500)
    target = check_choice(name, "target", target, ("class", "mass"))
    scale = check_float(name, "scale", scale, 0.0, strict=True)
    pt_min = check_float(name, "pt_min", pt_min, 0.0)
    pt_max = check_float(name, "pt_max", pt_max, pt_min)
    eta_max = check_float(name, "eta_max", eta_max, 0.0, 5.0)
    frame = check_choice(name, "frame", frame, ("collider", "isotropic"))
    rapidity = check_float(name, "rapidity", rapidity, 0.0, 5.0)
    seed = check_int(name, "seed", seed)
    jets, labels = make_jets(n_train + n_test, seed, n_particles, (pt_min, pt_max), eta_max, frame, rapidity)
    x = jets / scale
    if target == "class":
        y, task = labels, "classification"
    else:
        y, task = invariant_mass(x)[:, None], "invariant"
    from symdisco.lie.known import lorentz

    return SymmetryDataset(
        name=name, x=x[:n_train], y=y[:n_train], x_test=x[n_train:], y_test=y[n_train:],
        task=task, action="points", ground_truth=lorentz(),
        description="toy top-vs-QCD jets; the label depends only on invariant masses",
        metadata={"layout": ["E", "px", "py", "pz"], "units_gev": scale, "target": target,
                  "classes": {"0": "QCD-like", "1": "top-like"}, "n_particles": n_particles,
                  "pt_range_gev": [pt_min, pt_max], "eta_max": eta_max, "seed": seed,
                  "frame": frame, "rapidity": rapidity,
                  "top_mass_gev": TOP_MASS, "qcd_mass_range_gev": list(QCD_MASS),
                  "metric": METRIC.tolist(), "order": "energy, descending; zero padding last"})
