"""Gravitational n-body orbits in the plane: LieGAN's 2-body data and a simulator.

State layout (every n-body dataset here): positions, then velocities, one 2-D block per body
and quantity,

    [x1, y1, x2, y2, ..., xn, yn, vx1, vy1, ..., vxn, vyn]      (4n numbers per time step)

so a rotation of the plane acts on every consecutive 2-D block alike: action "blocks" with
`block_dim=2`, ground truth so(2) as a 2x2 generator. Samples are windows of a trajectory
(as in LieGAN): x = `input_timesteps` consecutive states flattened, y = the next
`output_timesteps` states flattened; a trajectory of T steps gives T - in - out + 1 windows.
The task is "equivariant": a rotation acts on x and y alike.

Datasets: "nbody2" (LieGAN's data, stored in data/nbody2.npz), "nbody2-sim" and "nbody3"
(simulated here: `simulate_orbits`, a vectorised fourth-order symplectic integrator; the
three-body default is the figure-eight orbit, perturbed, scaled and rotated at random).
Units: G = 1, unit masses, positions of order 1 about the centre of mass (which is at rest
at the origin).
"""
from __future__ import annotations

import math
from importlib import resources

import numpy as np

from symdisco.errors import UserInputError

from .base import SymmetryDataset, check_choice, check_float, check_int
from .registry import register

# the pickle's layout [x1, x2, y1, y2, vx1, vx2, vy1, vy2] -> [x1, y1, x2, y2, vx1, vy1, vx2, vy2]
NBODY2_TO_BLOCKS = np.array([0, 2, 1, 3, 4, 6, 5, 7])


def state_layout(n_bodies: int) -> list[str]:
    """Names of the 4n entries of a state, e.g. ['x1', 'y1', 'x2', ..., 'vy2']."""
    positions = [f"{c}{i}" for i in range(1, n_bodies + 1) for c in ("x", "y")]
    return positions + [f"v{name}" for name in positions]


def window(trajectories: np.ndarray, input_timesteps: int = 1, output_timesteps: int = 1):
    """Cut (N, T, D) trajectories into x (N*W, in*D) and y (N*W, out*D), W = T - in - out + 1.

    Windows are ordered trajectory by trajectory, then by start time.
    """
    n, steps, dim = trajectories.shape
    count = steps - input_timesteps - output_timesteps + 1
    if count < 1:
        raise ValueError(f"trajectories of {steps} steps are too short for "
                         f"{input_timesteps} input + {output_timesteps} output steps")
    starts = np.arange(count)
    x_index = starts[:, None] + np.arange(input_timesteps)[None, :]
    y_index = starts[:, None] + input_timesteps + np.arange(output_timesteps)[None, :]
    x = trajectories[:, x_index].reshape(n * count, input_timesteps * dim)
    y = trajectories[:, y_index].reshape(n * count, output_timesteps * dim)
    return x, y


def _so2_blocks():
    from symdisco.lie.known import so

    return so(2)


def _check_windows(name: str, input_timesteps, output_timesteps, steps: int):
    input_timesteps = check_int(name, "input_timesteps", input_timesteps, 1)
    output_timesteps = check_int(name, "output_timesteps", output_timesteps, 1)
    if input_timesteps + output_timesteps > steps:
        raise UserInputError(f"{name}: input_timesteps + output_timesteps = "
                             f"{input_timesteps + output_timesteps} exceeds the {steps} steps "
                             f"of a trajectory")
    return input_timesteps, output_timesteps


def _orbit_dataset(name, train, test, input_timesteps, output_timesteps, metadata, description):
    x, y = window(train, input_timesteps, output_timesteps)
    x_test, y_test = window(test, input_timesteps, output_timesteps)
    n_bodies = train.shape[-1] // 4
    metadata = {"layout": state_layout(n_bodies), "n_bodies": n_bodies,
                "input_timesteps": input_timesteps, "output_timesteps": output_timesteps,
                "trajectories": {"train": int(train.shape[0]), "test": int(test.shape[0])},
                "steps_per_trajectory": int(train.shape[1]),
                "windows_per_trajectory": int(train.shape[1] - input_timesteps - output_timesteps + 1),
                **metadata}
    return SymmetryDataset(name=name, x=x, y=y, x_test=x_test, y_test=y_test, task="equivariant",
                           action="blocks", action_options={"block_dim": 2},
                           ground_truth=_so2_blocks(), description=description,
                           metadata=metadata)


def nbody2_trajectories() -> tuple[np.ndarray, np.ndarray, float]:
    """LieGAN's 2-body orbits in block layout: train (814, 20, 8), test (790, 20, 8), dt."""
    with resources.files("symdisco.datasets").joinpath("data/nbody2.npz").open("rb") as handle:
        with np.load(handle, allow_pickle=False) as data:
            train = data["coords"][..., NBODY2_TO_BLOCKS]
            test = data["test_coords"][..., NBODY2_TO_BLOCKS]
            dt = float(data["dt"])
    return train, test, dt


@register("nbody2", "LieGAN's two-body orbits (814 train / 790 test trajectories of 20 steps); "
                    "predict the next state; rotations act on every 2-D block")
def load_nbody2(input_timesteps=1, output_timesteps=1) -> SymmetryDataset:
    """Two equal masses orbiting their centre of mass (the data of LieGAN's n-body experiment).

    Each state is [x1, y1, x2, y2, vx1, vy1, vx2, vy2] (reordered from the original
    [x1, x2, y1, y2, vx1, vx2, vy1, vy2]); x = `input_timesteps` states, y = the following
    `output_timesteps` states, flattened. With the defaults: x (15466, 8), x_test (15010, 8).
    """
    train, test, dt = nbody2_trajectories()
    input_timesteps, output_timesteps = _check_windows("nbody2", input_timesteps,
                                                       output_timesteps, train.shape[1])
    return _orbit_dataset("nbody2", train, test, input_timesteps, output_timesteps,
                          {"dt": dt, "source": "LieGAN 2body-orbits-dataset.pkl",
                           "original_layout": ["x1", "x2", "y1", "y2", "vx1", "vx2", "vy1", "vy2"]},
                          load_nbody2.__doc__.split("\n")[0])


# -- simulator -----------------------------------------------------------------------------

def accelerations(positions: np.ndarray, masses: np.ndarray, gravity: float = 1.0,
                  softening: float = 0.0) -> np.ndarray:
    """Gravitational accelerations of (B, n, d) positions; `masses` (n,) or (B, n)."""
    masses = np.broadcast_to(masses, positions.shape[:2])
    separation = positions[:, None, :, :] - positions[:, :, None, :]     # [b, i, j] = q_j - q_i
    distance2 = np.sum(separation ** 2, axis=-1) + softening ** 2
    n = positions.shape[1]
    distance2[:, np.arange(n), np.arange(n)] = np.inf
    weight = gravity * masses[:, None, :] * distance2 ** -1.5
    return np.einsum("bij,bijd->bid", weight, separation)


def energy(positions: np.ndarray, velocities: np.ndarray, masses, gravity: float = 1.0):
    """Total energy (kinetic + potential) of (..., n, d) states -> (...)."""
    masses = np.asarray(masses, dtype=float)
    kinetic = 0.5 * np.sum(masses[..., :, None] * velocities ** 2, axis=(-1, -2))
    separation = positions[..., None, :, :] - positions[..., :, None, :]
    distance = np.sqrt(np.sum(separation ** 2, axis=-1))
    i, j = np.triu_indices(positions.shape[-2], k=1)
    pair_masses = masses[..., i] * masses[..., j]
    potential = -gravity * np.sum(pair_masses / distance[..., i, j], axis=-1)
    return kinetic + potential


def angular_momentum(positions: np.ndarray, velocities: np.ndarray, masses) -> np.ndarray:
    """Total angular momentum sum m (x vy - y vx) of planar (..., n, 2) states -> (...)."""
    masses = np.asarray(masses, dtype=float)
    cross = positions[..., 0] * velocities[..., 1] - positions[..., 1] * velocities[..., 0]
    return np.sum(masses * cross, axis=-1)


# Yoshida's fourth-order composition of leapfrog: symplectic and, for central forces,
# conserving angular momentum exactly (each drift and kick does).
_CBRT2 = 2.0 ** (1.0 / 3.0)
_W1 = 1.0 / (2.0 - _CBRT2)
_W0 = -_CBRT2 / (2.0 - _CBRT2)
_DRIFTS = (_W1 / 2, (_W0 + _W1) / 2, (_W0 + _W1) / 2, _W1 / 2)
_KICKS = (_W1, _W0, _W1)


def integrate(positions: np.ndarray, velocities: np.ndarray, steps: int, dt: float,
              masses=None, gravity: float = 1.0, max_substep: float = 0.02,
              softening: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Integrate (B, n, d) initial states; returns positions and velocities (B, steps, n, d).

    Step 0 is the initial state; consecutive recorded states are `dt` apart, each reached by
    ceil(dt / max_substep) fourth-order symplectic (Yoshida) substeps.
    """
    q = np.array(positions, dtype=np.float64)
    v = np.array(velocities, dtype=np.float64)
    masses = np.ones(q.shape[1]) if masses is None else np.asarray(masses, dtype=np.float64)
    substeps = max(1, math.ceil(dt / max_substep))
    h = dt / substeps
    q_out = np.empty((q.shape[0], steps) + q.shape[1:])
    v_out = np.empty_like(q_out)
    for step in range(steps):
        q_out[:, step], v_out[:, step] = q, v
        for _ in range(substeps):
            for drift, kick in zip(_DRIFTS, _KICKS + (None,)):
                q += drift * h * v
                if kick is not None:
                    v += kick * h * accelerations(q, masses, gravity, softening)
    return q_out, v_out


def random_initial_conditions(n_trajectories: int, n_bodies: int, rng: np.random.Generator,
                              orbit_noise: float = 0.05, min_radius: float = 0.5,
                              max_radius: float = 1.5, gravity: float = 1.0,
                              configuration: str = "polygon"):
    """Random initial states of unit masses, centre of mass at rest at the origin.

    "polygon": the bodies start on a regular n-gon of radius R ~ U(min_radius, max_radius),
    rotated by a uniform random angle, with the tangential speed of the rigidly rotating
    polygon; then each body's radius, speed and direction are perturbed by relative noise
    `orbit_noise` (LieGAN's 2-body data used this recipe). For three or more bodies the
    polygon is unstable and close encounters are common.
    "figure-eight" (three bodies): a point at a uniformly random phase of the
    Chenciner-Montgomery figure-eight choreography, scaled by s ~ U(0.75, 1.5) (velocities by
    s^-1/2), rotated by a uniform random angle and perturbed by `orbit_noise`; stable orbits
    without close encounters.
    Returns positions, velocities (B, n, 2).
    """
    b, n = n_trajectories, n_bodies
    if configuration == "figure-eight":
        if n != 3:
            raise ValueError("the figure-eight configuration has three bodies")
        phase_q, phase_v = _figure_eight_phases()
        pick = rng.integers(0, len(phase_q), size=b)
        scale = rng.uniform(0.75, 1.5, size=(b, 1, 1))
        positions = phase_q[pick] * scale * (1 + orbit_noise * rng.standard_normal((b, n, 1)))
        velocities = phase_v[pick] / np.sqrt(scale) * (1 + orbit_noise * rng.standard_normal((b, n, 1)))
        angle = rng.uniform(0, 2 * math.pi, size=b)
        rotation = np.stack([np.stack([np.cos(angle), -np.sin(angle)], -1),
                             np.stack([np.sin(angle), np.cos(angle)], -1)], -2)   # (b, 2, 2)
        positions = np.einsum("bij,bnj->bni", rotation, positions)
        velocities = np.einsum("bij,bnj->bni", rotation, velocities)
    elif configuration == "polygon":
        radius = rng.uniform(min_radius, max_radius, size=(b, 1))
        angle = rng.uniform(0, 2 * math.pi, size=(b, 1)) + 2 * math.pi * np.arange(n) / n
        # net inward force on each body of a regular n-gon of unit masses: G S / (4 R^2)
        s = sum(1.0 / math.sin(math.pi * k / n) for k in range(1, n))
        speed = np.sqrt(gravity * s / (4 * radius))
        radius = radius * (1 + orbit_noise * rng.standard_normal((b, n)))
        angle = angle + orbit_noise * rng.standard_normal((b, n)) / max(n - 1, 1)
        heading = angle + math.pi / 2 + orbit_noise * rng.standard_normal((b, n))
        speed = speed * (1 + orbit_noise * rng.standard_normal((b, n)))
        positions = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)
        velocities = np.stack([speed * np.cos(heading), speed * np.sin(heading)], axis=-1)
    else:
        raise ValueError(f"unknown configuration {configuration!r}")
    positions -= positions.mean(axis=1, keepdims=True)
    velocities -= velocities.mean(axis=1, keepdims=True)
    return positions, velocities


FIGURE_EIGHT_PERIOD = 6.32591398
_FIGURE_EIGHT = None


def _figure_eight_phases(count: int = 96):
    """States (count, 3, 2) at evenly spaced phases of the figure-eight (G = m = 1)."""
    global _FIGURE_EIGHT
    if _FIGURE_EIGHT is None:
        q1 = np.array([0.97000436, -0.24308753])
        v3 = np.array([-0.93240737, -0.86473146])
        q0 = np.array([[q1, -q1, np.zeros(2)]])
        v0 = np.array([[-v3 / 2, -v3 / 2, v3]])
        q, v = integrate(q0, v0, count, FIGURE_EIGHT_PERIOD / count, max_substep=0.005)
        _FIGURE_EIGHT = (q[0], v[0])
    return _FIGURE_EIGHT


def to_states(positions: np.ndarray, velocities: np.ndarray) -> np.ndarray:
    """(..., n, 2) positions and velocities -> (..., 4n) states in block layout."""
    shape = positions.shape[:-2] + (-1,)
    return np.concatenate([positions.reshape(shape), velocities.reshape(shape)], axis=-1)


def simulate_orbits(n_trajectories: int, n_bodies: int = 2, steps: int = 20, dt: float = 0.4,
                    seed: int = 0, orbit_noise: float = 0.05, energy_tolerance: float = 1e-4,
                    configuration: str = "polygon") -> np.ndarray:
    """Random orbits of `n_bodies` unit masses: (n_trajectories, steps, 4 n_bodies) states.

    Three or more bodies meet closely now and then, and a fixed step cannot follow such an
    encounter; trajectories whose relative energy drift exceeds `energy_tolerance` are
    dropped and replaced by fresh ones (deterministic given `seed`).
    """
    rng = np.random.default_rng(seed)
    kept, count = [], 0
    while count < n_trajectories:
        batch = n_trajectories - count + (n_trajectories - count) // 2 + 8 if n_bodies > 2 \
            else n_trajectories
        positions, velocities = random_initial_conditions(batch, n_bodies, rng, orbit_noise,
                                                          configuration=configuration)
        q, v = integrate(positions, velocities, steps, dt)
        total = energy(q, v, np.ones(n_bodies))
        drift = np.max(np.abs(total - total[:, :1]), axis=1) / np.abs(total[:, 0])
        good = to_states(q, v)[drift <= energy_tolerance]
        kept.append(good)
        count += len(good)
    return np.concatenate(kept)[:n_trajectories]


def _load_simulated(name, n_bodies, n_train, n_test, steps, dt, seed, orbit_noise,
                    input_timesteps, output_timesteps, description, configuration="polygon"):
    n_train = check_int(name, "n_train", n_train, 1)
    n_test = check_int(name, "n_test", n_test, 1)
    steps = check_int(name, "steps", steps, 2)
    dt = check_float(name, "dt", dt, 0.0, 10.0, strict=True)
    seed = check_int(name, "seed", seed)
    orbit_noise = check_float(name, "orbit_noise", orbit_noise, 0.0, 0.5)
    input_timesteps, output_timesteps = _check_windows(name, input_timesteps, output_timesteps,
                                                       steps)
    states = simulate_orbits(n_train + n_test, n_bodies, steps, dt, seed, orbit_noise,
                             configuration=configuration)
    return _orbit_dataset(name, states[:n_train], states[n_train:], input_timesteps,
                          output_timesteps,
                          {"dt": dt, "seed": seed, "orbit_noise": orbit_noise, "gravity": 1.0,
                           "masses": [1.0] * n_bodies, "configuration": configuration,
                           "source": "simulated (Yoshida 4th order)"},
                          description)


@register("nbody3", "simulated three-body orbits (unit masses, G=1); predict the next state; "
                    "rotations act on every 2-D block")
def load_nbody3(n_train=800, n_test=200, steps=20, dt=0.4, seed=0, orbit_noise=0.02,
                configuration="figure-eight", input_timesteps=1,
                output_timesteps=1) -> SymmetryDataset:
    """Three unit masses, layout [x1, y1, x2, y2, x3, y3, vx1, ..., vy3]; defaults give
    x (15200, 12), x_test (3800, 12).

    `configuration="figure-eight"`: perturbed, scaled and rotated figure-eight orbits from a
    random phase (stable); "polygon": a perturbed rotating triangle (chaotic, close encounters;
    orbits the fixed step cannot follow are replaced)."""
    configuration = check_choice("nbody3", "configuration", configuration,
                                 ("figure-eight", "polygon"))
    return _load_simulated("nbody3", 3, n_train, n_test, steps, dt, seed, orbit_noise,
                           input_timesteps, output_timesteps,
                           "simulated three-body orbits, windowed into next-state prediction",
                           configuration)


@register("nbody2-sim", "simulated two-body orbits (any size, like nbody2); predict the next "
                        "state; rotations act on every 2-D block")
def load_nbody2_sim(n_train=800, n_test=200, steps=20, dt=0.4, seed=0, orbit_noise=0.05,
                    input_timesteps=1, output_timesteps=1) -> SymmetryDataset:
    """Two unit masses on perturbed circular orbits; layout [x1, y1, x2, y2, vx1, ..., vy2]."""
    return _load_simulated("nbody2-sim", 2, n_train, n_test, steps, dt, seed, orbit_noise,
                           input_timesteps, output_timesteps,
                           "simulated two-body orbits, windowed into next-state prediction")
