"""Convert the LieGAN 2-body orbit pickle into the package's nbody2.npz (run once).

    python scripts/convert_nbody_pickle.py [/work/shared/data/2body-orbits-dataset.pkl]

The pickle is a dict with 'coords' (814, 20, 8) and 'test_coords' (790, 20, 8), float64, each
step laid out [x1, x2, y1, y2, vx1, vx2, vy1, vy2]. The npz keeps that original layout (the
loader reorders it) and stores float32 when the relative error is below 1e-6, else float64.
It also stores `dt`, the time step estimated by least squares from dx/dt = v, and checks that
the estimate explains the data (which confirms the layout). The package never unpickles.
"""
from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np

SOURCE = Path("/work/shared/data/2body-orbits-dataset.pkl")
TARGET = Path(__file__).resolve().parents[1] / "src/symdisco/datasets/data/nbody2.npz"


def estimate_dt(coords: np.ndarray) -> tuple[float, float]:
    """dt from (q[t+1] - q[t]) = dt * (v[t] + v[t+1]) / 2, and the relative residual."""
    positions, velocities = coords[..., :4], coords[..., 4:]
    displacement = np.diff(positions, axis=1).ravel()
    mean_velocity = (0.5 * (velocities[:, 1:] + velocities[:, :-1])).ravel()
    dt = float(displacement @ mean_velocity / (mean_velocity @ mean_velocity))
    residual = np.linalg.norm(displacement - dt * mean_velocity) / np.linalg.norm(displacement)
    return dt, float(residual)


def main(source: Path = SOURCE, target: Path = TARGET) -> None:
    with open(source, "rb") as handle:
        data = pickle.load(handle)
    arrays = {}
    for key in ("coords", "test_coords"):
        value = np.asarray(data[key], dtype=np.float64)
        assert value.ndim == 3 and value.shape[1:] == (20, 8), (key, value.shape)
        assert np.isfinite(value).all(), key
        arrays[key] = value
    dt, residual = estimate_dt(arrays["coords"])
    # the wrong pairing (e.g. x with vy) would leave a residual of order one
    assert residual < 0.05, f"layout check failed: residual {residual:.3g}"
    # two equal masses about the centre of mass: body 2 mirrors body 1
    mirror = arrays["coords"][..., 0::2] + arrays["coords"][..., 1::2]
    print(f"dt = {dt:.6f} (residual {residual:.2e}); max |q1 + q2| = {np.abs(mirror).max():.2e}")

    worst = max(float(np.max(np.abs(v.astype(np.float32) - v) / np.maximum(np.abs(v), 1e-30)))
                for v in arrays.values())
    dtype = np.float32 if worst < 1e-6 else np.float64
    print(f"largest float32 relative error {worst:.2e}: storing {np.dtype(dtype).name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(target, coords=arrays["coords"].astype(dtype),
                        test_coords=arrays["test_coords"].astype(dtype),
                        dt=np.float64(dt), layout=np.array("x1 x2 y1 y2 vx1 vx2 vy1 vy2"))
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
