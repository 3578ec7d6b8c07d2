"""A neural PDE solver trained with the symmetries LieNLSD finds (LieNLSD, section 5).

    symdisco downstream burgers --out DIR [-D n_train=8 -D steps=41 ...] [--epochs 60]

One FNO time-stepper u_n -> u_{n+1} (`models.fno.FNO1d`) is trained three times on the same
few trajectories: without augmentation, augmented by the discovered symmetries (LieNLSD run
on the training data) and by the true ones.  Augmentation flows each training pair, as a
piece of a solution on the grid, along exp(sum_i e_i v_i) with e_i ~ N(0, strength^2) over a
basis of the symmetries that a periodic, fixed-step grid can carry (coefficients free of x,
constant xi^t: translations, Galilean boosts, u-scaling of linear equations), whitened by
the size of each field on the data so that two bases of one span sample alike.  The table
reports the relative L2 error of the unrolled prediction on held-out trajectories.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import sympy
import torch

from symdisco import datasets
from symdisco.errors import UserInputError
from symdisco.lie.flows import field_function, transform_solution
from symdisco.lie.vector_fields import FieldLibrary
from symdisco.methods.lienlsd import LieNLSD
from symdisco.models.fno import FNO1d

EQUATIONS = ("burgers", "heat", "kdv")


def grid_compatible(rows: np.ndarray, library: FieldLibrary) -> np.ndarray:
    """The part of span(rows) a periodic fixed-step grid carries: combinations with no
    coefficient on x-dependent functions and on non-constant functions of d/dt."""
    if not len(rows):
        return rows
    x = sympy.Symbol("x")
    bad = np.array([(x in library.functions[f].free_symbols) or (slot == 0 and library.functions[f] != 1)
                    for slot, f in library.columns])
    q, _ = np.linalg.qr(rows.T)
    q = q.T
    u, s, _ = np.linalg.svd(q[:, bad], full_matrices=True)
    s = np.concatenate([s, np.zeros(len(q) - len(s))])
    return u[:, s < 1e-6].T @ q


def whitened_fields(rows: np.ndarray, library: FieldLibrary, points: np.ndarray):
    """Field functions of a canonical basis of span(rows), orthonormal in the data metric (the
    fields' values at `points` (M, 3), each coordinate divided by its spread): the eigenvectors
    of that metric on the span, each scaled to unit size and signed by its largest
    coefficient, so any two bases of one span give the same fields and the same draws."""
    if not len(rows):
        return []
    spread = points.std(axis=0) + 1e-12
    q, _ = np.linalg.qr(np.asarray(rows, dtype=float).T)
    q = q.T                                                     # orthonormal coefficient rows
    values = np.array([(field_function(library.components(r))(points) / spread).ravel() for r in q])
    values /= np.sqrt(len(points))
    eigenvalues, vectors = np.linalg.eigh(values @ values.T)
    keep = eigenvalues > 1e-12 * eigenvalues.max()
    canonical = (vectors[:, keep] / np.sqrt(eigenvalues[keep])).T @ q
    signs = np.sign(canonical[np.arange(len(canonical)), np.abs(canonical).argmax(axis=1)])
    return [field_function(library.components(r)) for r in canonical * signs[:, None]]


class FlowAugmentation:
    """augment(u_now, u_next) for torch batches: both flowed as one two-step solution by
    exp(sum_i e_i v_i), e ~ N(0, strength^2) drawn from `generator` (the training engine sets
    it to the run's generator, so a resumed run draws the same); `basis` (the fields'
    coefficient rows) identifies the augmentation in the run's fingerprint."""

    def __init__(self, rows: np.ndarray, library: FieldLibrary, points: np.ndarray, dt: float,
                 x: np.ndarray, length: float, strength: float, seed: int = 0):
        self.fields = whitened_fields(rows, library, points)
        self.basis = torch.as_tensor(np.asarray(rows, dtype=np.float64))
        self.t, self.x, self.length, self.strength = np.array([0.0, dt]), x, length, strength
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, xb: torch.Tensor, yb: torch.Tensor):
        if not self.fields:
            return xb, yb
        pair = torch.stack([xb, yb], dim=1).detach().cpu().double().numpy()
        eps = (self.strength * torch.randn(len(pair), len(self.fields), generator=self.generator,
                                           device=self.generator.device)).cpu().double().numpy()

        def combined(z):
            return sum(eps[:, None, None, i, None] * f(z) for i, f in enumerate(self.fields))

        moved = transform_solution(pair, self.t, self.x, self.length, combined, np.ones(len(pair)))
        moved = torch.from_numpy(moved).to(device=xb.device, dtype=xb.dtype)
        return moved[:, 0], moved[:, 1]


def unrolled_error(model, trajectories: torch.Tensor) -> float:
    """Mean over steps and trajectories of |u_pred - u| / |u| rolling out from u_0."""
    with torch.no_grad():
        u = trajectories[:, 0]
        errors = []
        for n in range(1, trajectories.shape[1]):
            u = model(u)
            truth = trajectories[:, n]
            errors.append((torch.linalg.norm(u - truth, dim=-1) / torch.linalg.norm(truth, dim=-1)).mean())
    return float(torch.stack(errors).mean())


def _rows(records, library: FieldLibrary) -> np.ndarray:
    index = {name: k for k, name in enumerate(library.column_names())}
    rows = np.zeros((len(records), library.n_columns))
    for r, record in enumerate(records):
        for name, value in record["coefficients"].items():
            rows[r, index[name]] = value
    return rows


def run_pde_solver(out: Path, *, equation: str = "burgers", epochs=None, seed: int = 0, device="cpu",
                   progress: bool = True, result=None, hardware=None, n_train: int = 6, n_test: int = 16, steps: int = 41,
                   dt: float = 0.05, grid: int = 64, strength: float = 0.5, lr: float = 3e-3,
                   batch_size: int = 32, width: int = 24, modes: int = 12, **data_options):
    """Rows (model FNO, symmetry none/discovered/true, metric unrolled_rel_l2) and details."""
    from symdisco.experiments.downstream import _row, fit

    if equation not in EQUATIONS:
        raise UserInputError(f"pde solver: equation must be one of {', '.join(EQUATIONS)}")
    epochs = 60 if epochs is None else int(epochs)
    data = datasets.load(equation, trajectories=n_train + n_test, test_trajectories=n_test, steps=steps,
                         dt=dt, grid=grid, seed=seed, **data_options)
    pde = data.metadata["pde"]
    length = pde["length"]
    x = pde["x0"] + length * np.arange(grid) / grid
    train = data.x.reshape(n_train, steps, grid)
    test = data.x_test.reshape(n_test, steps, grid)
    pairs_x, pairs_y = train[:, :-1].reshape(-1, grid), train[:, 1:].reshape(-1, grid)

    start = time.perf_counter()
    found = LieNLSD(seed=seed).fit(data, progress=False)
    discovery_seconds = time.perf_counter() - start
    info = found.extras["library"]
    library = FieldLibrary(info["coordinates"], info["degree"])
    discovered = _rows(found.extras["vector_fields"], library)
    truth = []
    for components in data.metadata["symmetries"]:
        try:
            truth.append(library.expand(components))
        except ValueError:
            pass
    truth = np.array(truth)
    t_all = dt * np.arange(steps)
    points = np.stack(np.broadcast_arrays(t_all[None, :, None], x[None, None, :], train.double().numpy()),
                      -1).reshape(-1, 3)
    rows, details = [], {"equation": pde["equation"], "discovered": [f["text"] for f in found.extras["vector_fields"]],
                         "discovery_seconds": round(discovery_seconds, 2), "epochs": epochs,
                         "n_train": n_train, "n_test": n_test, "steps": steps, "grid": grid,
                         "strength": strength, "models": {}}
    for name, span in (("none", None), ("discovered", discovered), ("true", truth)):
        compatible = grid_compatible(span, library) if span is not None else np.zeros((0, library.n_columns))
        augment = FlowAugmentation(compatible, library, points, dt, x, length, strength, seed) \
            if len(compatible) else None

        def build(rng):
            torch.manual_seed(seed)                                # the same start for all three
            return FNO1d(modes=modes, width=width)

        model, seconds = fit(build, pairs_x, pairs_y, torch.nn.functional.mse_loss, epochs=epochs,
                             batch_size=batch_size, lr=lr, seed=seed, augment=augment, progress=progress,
                             desc=f"FNO ({name})", hardware=hardware)
        model = model.cpu().eval()
        error = unrolled_error(model, test)
        rows.append(_row("FNO", name, "unrolled_rel_l2", error))
        details["models"][name] = {"unrolled_rel_l2": error, "train_seconds": round(seconds, 2),
                                   "augmentations": [library.text(r) for r in compatible]}
    base = details["models"]["none"]["unrolled_rel_l2"]
    for name in ("discovered", "true"):
        details["models"][name]["reduction_vs_none"] = 1 - details["models"][name]["unrolled_rel_l2"] / base
    return rows, details
