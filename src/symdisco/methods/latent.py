"""Latent LieGAN (seed 002; LaLiGAN): an autoencoder whose latent space carries a linear symmetry,
optionally with SINDy equation discovery in that latent space.

    x --phi--> z --g = exp(sum w_i L_i)--> g z --psi--> x'

* encoder phi / decoder psi: MLPs; the encoder's last layer is optionally orthogonal
  (`orthogonal=True`) and the codes are standardised per coordinate by batch statistics
  (no affine part: a centred latent is what lets a linear group act around the origin);
* LieGAN in latent space: the same g acts on `codes` consecutive codes of a trajectory
  (z_t, z_{t+1}) and a discriminator on the stacked codes tells real pairs from transformed
  ones, so the symmetry must commute with the latent dynamics.  The discriminator works in
  latent space (the LaLiGAN default): cheap, and enough because the decoder is tied to the
  codes by the reconstruction loss;
* losses: w_recon ||psi(phi(x)) - x||^2 + w_gan l_GAN for the autoencoder; l_GAN + w_reg
  (non-triviality) for the generators; with `sindy`, w_sindy_z ||(grad_x z) xdot - F(z)||^2
  + w_sindy_x ||(grad_z psi) F(z) - xdot||^2 + w_l1 |Xi|_1, F a polynomial library
  (sequential thresholding every `threshold_every` epochs);
* training: "joint" (autoencoder alone for `pretrain_epochs`, then everything together) or
  "two-stage" (autoencoder alone, then LieGAN on the frozen codes for `gan_epochs`);
* the symmetry in the equation (`equivariant_sindy`, joint training): from `equivariant_after`
  GAN epochs on, the SINDy terms of degree other than one are kept to those that commute with
  the generators found so far (`sindy.equivariant_basis`; for SO(2) on the plane: none, so no
  constant and no quadratic term), refreshed every epoch; the linear part stays free.  A wrong
  latent hides in exactly those terms (an oscillator seed whose codes needed a constant and
  three quadratic terms: 500-step error 0.062 without the symmetry, 0.0006 with), while
  imposing the GAN's generator on the linear part too costs 10-25% on the good seeds: the
  generator is a noisier estimate of the orbits' shape than the regression of the rates;
* evaluation (with `sindy`): a post-hoc STLSQ fit (pysindy) on the learned codes gives the
  printed equations (with the symmetry: refitted with only the terms STLSQ kept that the
  symmetry allows, `sindy.fit_equivariant`); they are integrated from phi(x_0) of the test
  trajectories, decoded, and the relative MSE over time in latent and input space is
  reported, with the input error beyond reconstruction |psi(z_pred) - psi(phi(x))|^2 / |x|^2
  (the prediction's own error, without the autoencoder's floor) and means over the horizon.
  With `compare=True` the same network is also trained without the symmetry (the SINDy
  autoencoder of Champion et al.) in the same run, and both are reported side by side.  With
  the equivariant fit, the symmetric network's own codes are also integrated with plain
  STLSQ's equation (`same_network`): the symmetry's share in the equation, free of the two
  trainings' noise (their reconstruction floors differ by a few %, the adversarial term
  costing the symmetric one some reconstruction).

Batches: by default max(64, windows / 16), an epoch of at most 16 steps (`_batch`).  Where
that batch is above 64 and the codes of an m >= 2 latent come out on a line (`line_ratio`: the
pendulum's image lift, s2/s1 0.02 where the other cases give 0.79-1.0), the training failed
rather than converged, and every variant is trained again with batches of 64 (`collapse_retry`
in the result).

High-dimensional inputs (more than `pca_threshold` features, e.g. 20000 for a 100 x 100
two-field reaction-diffusion snapshot) are first projected on their `pca_components`
leading principal components (a linear, exactly differentiable step; x' is mapped back
for input-space errors); this makes training minutes instead of hours on a CPU.

Data: `dataset.x` rows in time order; `dataset.y` = dx/dt (needed for SINDy); trajectory
boundaries and the time step from `symdisco.datasets.trajectories.Trajectories.of(dataset)`
(metadata "trajectory_lengths", default one trajectory; "dt", default 1): windows never
cross a boundary, and the long-term prediction starts at phi(x_0) of every held-out
trajectory and runs in that time step (figure predicted_trajectories.png).
"""
from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..datasets.base import SymmetryDataset
from ..datasets.trajectories import Trajectories
from ..errors import UserInputError
from ..lie.generators import make_generators
from ..lie.sampling import make_law
from ..result import SymmetryResult
from ..training import TrainingTask, make_generator
from .base import DiscoveryMethod, check_option
from .knobs import Bool, Choice, Float, Int
from .discriminators import MLPDiscriminator
from .liegan import SymmetryGenerator, discriminator_loss, generator_loss
from .regularizers import nontrivial_penalty, orthogonality_penalty
from .sindy import (PolynomialLibrary, SindyModel, equivariant_basis, fit_equivariant, fit_stlsq, simulate,
                    variable_names)

__all__ = ["LatentLieGAN", "LatentAutoencoder", "Projection", "latent_geometry", "so2_eigen_ratio"]

ACTIVATIONS = {"tanh": nn.Tanh, "elu": nn.ELU, "silu": nn.SiLU, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}


# -- pieces ----------------------------------------------------------------------------------

class Projection:
    """x -> (x - mean) V / scale: PCA onto `components` directions (or none), one global scale.

    Linear, so rates transform as dx V / scale; `inverse` maps back to input space."""

    def __init__(self, mean, basis, scale):
        self.mean, self.basis, self.scale = mean, basis, float(scale)

    @classmethod
    def fit(cls, x: torch.Tensor, components: int, generator: torch.Generator | None = None):
        x = x.reshape(len(x), -1)
        mean = x.double().mean(0).float()
        if components and components < x.shape[1]:
            q = min(components + 10, min(x.shape))
            state = torch.random.get_rng_state()
            if generator is not None:
                torch.random.set_rng_state(generator.get_state())
            _, _, v = torch.svd_lowrank(x, q=q, niter=3, M=mean[None])
            torch.random.set_rng_state(state)
            basis = v[:, :components].contiguous()
            sign = torch.sign(basis[basis.abs().argmax(0), torch.arange(components)])
            basis = basis * sign  # deterministic signs
        else:
            basis = None
        projected = cls(mean, basis, 1.0).transform(x[:: max(1, len(x) // 4096)])
        return cls(mean, basis, projected.std(0).max().clamp(min=1e-8).item())

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(len(x), -1)
        out = []
        for start in range(0, len(x), 2048):  # chunks: no full-size centred copy
            chunk = x[start:start + 2048].float() - self.mean
            out.append((chunk @ self.basis if self.basis is not None else chunk) / self.scale)
        return torch.cat(out) if out else x.new_zeros(0, self.dim)

    def transform_rate(self, dx: torch.Tensor) -> torch.Tensor:
        dx = dx.reshape(len(dx), -1)
        out = [(dx[s:s + 2048].float() @ self.basis if self.basis is not None else dx[s:s + 2048].float())
               / self.scale for s in range(0, len(dx), 2048)]
        return torch.cat(out) if out else dx.new_zeros(0, self.dim)

    def inverse(self, c: torch.Tensor) -> torch.Tensor:
        c = c * self.scale
        return (c @ self.basis.T if self.basis is not None else c) + self.mean

    @property
    def dim(self) -> int:
        return self.basis.shape[1] if self.basis is not None else self.mean.numel()

    def state_dict(self) -> dict:
        return {"mean": self.mean, "basis": self.basis, "scale": torch.tensor(self.scale)}

    @classmethod
    def from_state(cls, state) -> "Projection":
        return cls(state["mean"], state["basis"], float(state["scale"]))


class LatentNorm(nn.Module):
    """Standardise each latent coordinate (no affine part), like BatchNorm but without jitter.

    In training the *values* are the running statistics (updated from every batch with
    momentum, and set from the whole training set before and after training by `calibrate`)
    while the *gradient* is the batch statistics' (batch renormalisation): the loss stays
    invariant to the encoder's scale, so SINDy cannot shrink the codes to zero, and the codes
    do not jitter with the batch (on a circle of codes the mean of a batch of 128 is off by
    ~9% of the radius, which the decoder would otherwise have to absorb).
    """

    def __init__(self, m: int, momentum: float = 0.05, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.register_buffer("running_mean", torch.zeros(m))
        self.register_buffer("running_var", torch.ones(m))

    def statistics(self, h: torch.Tensor):
        if self.training and len(h) > 1:
            mean, var = h.mean(0), h.var(0, unbiased=False)
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var, self.momentum)
            # forward value: the running statistics; gradient: the batch statistics'
            mean = mean - mean.detach() + self.running_mean
            std = (var + self.eps).sqrt()
            return mean, std - std.detach() + (self.running_var + self.eps).sqrt()
        return self.running_mean, (self.running_var + self.eps).sqrt()

    @torch.no_grad()
    def calibrate(self, h: torch.Tensor) -> None:
        self.running_mean.copy_(h.mean(0))
        self.running_var.copy_(h.var(0, unbiased=False))


_SLOPES = {  # d activation / d input, from the input h and the output a
    nn.Tanh: lambda h, a: 1 - a * a,
    nn.Sigmoid: lambda h, a: a * (1 - a),
    nn.ReLU: lambda h, a: (h > 0).to(h.dtype),
    nn.ELU: lambda h, a: torch.where(h > 0, torch.ones_like(a), a + 1),
    nn.SiLU: lambda h, a: torch.sigmoid(h) * (1 + h * (1 - torch.sigmoid(h))),
}


def forward_with_tangent(net: nn.Sequential, x: torch.Tensor, dx: torch.Tensor):
    """net(x) and its directional derivative J(x) dx, layer by layer (Linear and the
    activations of `_SLOPES`).  The same forward-mode product as torch.func.jvp, but plain
    differentiable tensor operations: ~2x cheaper per training step on a CPU, where jvp's
    per-operation dispatch dominates for these small networks."""
    for layer in net:
        if isinstance(layer, nn.Linear):
            weight = layer.weight  # an orthogonal parametrisation is evaluated once
            x, dx = F.linear(x, weight, layer.bias), F.linear(dx, weight)
        else:
            a = layer(x)
            x, dx = a, dx * _SLOPES[type(layer)](x, a)
    return x, dx


class LatentAutoencoder(nn.Module):
    """MLP encoder (optionally orthogonal last layer, standardised codes) and MLP decoder."""

    def __init__(self, input_dim: int, latent_dim: int, hidden: int = 64, layers: int = 2,
                 activation: str = "tanh", orthogonal: bool = True, normalize: bool = True):
        super().__init__()
        act = ACTIVATIONS[activation]
        sizes = [input_dim] + [hidden] * layers
        body: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            body += [nn.Linear(a, b), act()]
        last = nn.Linear(hidden, latent_dim)
        if orthogonal and latent_dim <= hidden:
            last = nn.utils.parametrizations.orthogonal(last)
        self.body = nn.Sequential(*body, last)
        self.norm = LatentNorm(latent_dim) if normalize else None
        sizes = [latent_dim] + [hidden] * layers
        decoder: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            decoder += [nn.Linear(a, b), act()]
        self.decoder = nn.Sequential(*decoder, nn.Linear(hidden, input_dim))

    def _standardise(self, h):
        if self.norm is None:
            return h, None
        mean, std = self.norm.statistics(h)
        return (h - mean) / std, std

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._standardise(self.body(x))[0]

    @torch.no_grad()
    def calibrate(self, x: torch.Tensor) -> None:
        """Set the latent statistics from all of x (before and after training)."""
        if self.norm is not None:
            self.norm.calibrate(torch.cat([self.body(x[s:s + 4096]) for s in range(0, len(x), 4096)]))

    def encode_with_rate(self, x: torch.Tensor, dx: torch.Tensor):
        """Codes z and their time derivatives (grad_x z) xdot (forward-mode, differentiable)."""
        h, dh = forward_with_tangent(self.body, x, dx)
        z, std = self._standardise(h)
        return z, (dh if std is None else dh / std)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def decode_with_rate(self, z: torch.Tensor, dz: torch.Tensor):
        """psi(z) and (grad_z psi) dz in one pass."""
        return forward_with_tangent(self.decoder, z, dz)

    def decode_rate(self, z: torch.Tensor, dz: torch.Tensor) -> torch.Tensor:
        """(grad_z psi) dz."""
        return self.decode_with_rate(z, dz)[1]


COLLAPSE_RATIO = 0.1
"""Codes whose second singular value is below this fraction of the first lie on a line."""


def line_ratio(codes) -> float:
    """s_2 / s_1 of the centred codes: ~1 for a latent circle (0.79-1.0 on the oscillator,
    reaction-diffusion and Lotka-Volterra), ~0.02 for codes collapsed onto a line."""
    z = np.asarray(codes, dtype=np.float64)
    s = np.linalg.svd(z - z.mean(0), compute_uv=False)
    return float(s[1] / s[0]) if len(s) > 1 and s[0] > 0 else 0.0


def so2_eigen_ratio(generator: np.ndarray) -> float:
    """max |Re| / max |Im| over the eigenvalues: 0 for a generator conjugate to a rotation."""
    eigenvalues = np.linalg.eigvals(np.asarray(generator, dtype=np.float64))
    imaginary = np.abs(eigenvalues.imag).max()
    return float(np.abs(eigenvalues.real).max() / imaginary) if imaginary > 0 else math.inf


def latent_geometry(codes: np.ndarray, generator: np.ndarray | None = None) -> dict:
    """How close the codes are to a plane circle, and (m >= 3) whether the generator rotates
    about the plane's normal: singular values, planarity (s_3 / s_2), circle residual
    (std / mean of the in-plane radius), and |cos| between the generator's null vector and
    the normal."""
    z = np.asarray(codes, dtype=np.float64)
    centred = z - z.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    plane = centred @ vt[:2].T
    radius = np.linalg.norm(plane, axis=1)
    report = {"singular_values": s.tolist(), "circle_residual": float(radius.std() / radius.mean())}
    if z.shape[1] >= 3:
        report["planarity"] = float(s[2] / s[1])
        if generator is not None:
            eigenvalues, vectors = np.linalg.eig(np.asarray(generator, dtype=np.float64))
            axis = np.real(vectors[:, np.argmin(np.abs(eigenvalues))])
            axis /= np.linalg.norm(axis)
            normal = vt[2]
            report["axis_normal_cosine"] = float(abs(axis @ normal))
    return report


# -- the method ------------------------------------------------------------------------------

class _LatentTask(TrainingTask):
    """The latent method's phases for the engine: the autoencoder alone (`pretrain_epochs`),
    then with the latent LieGAN (joint); or the autoencoder for `epochs`, then LieGAN on the
    frozen codes for `gan_epochs` (two-stage, whose second phase starts at the budget)."""

    def __init__(self, method, symmetric, c, dc, windows):
        self.method, self.symmetric, self.c, self.dc, self.windows = method, symmetric, c, dc, windows
        self.two_stage = symmetric and method.training == "two-stage"
        self.uses_budget = self.two_stage

    def configure(self, rng):
        m = self.method
        modules = m._build(self.c.shape[1], rng, self.symmetric)
        optimizers = {"autoencoder": torch.optim.Adam(modules["autoencoder"].parameters(), lr=m.lr_autoencoder)}
        if self.symmetric:
            optimizers["symmetry"] = torch.optim.Adam(modules["symmetry"].parameters(), lr=m.lr_generator,
                                                      betas=(0.5, 0.99))
            optimizers["discriminator"] = torch.optim.Adam(modules["discriminator"].parameters(),
                                                           lr=m.lr_discriminator, betas=(0.5, 0.99))
        if m.sindy:
            optimizers["sindy"] = torch.optim.Adam(modules["sindy"].parameters(), lr=m.lr_sindy)
        return modules, optimizers

    def on_train_start(self, run):
        self.windows = self.windows.to(run.device)
        if not run.resumed:
            run.modules["autoencoder"].calibrate(self.c)

    def on_epoch_start(self, epoch, run):
        m, ae = self.method, run.modules["autoencoder"]
        if self.two_stage and epoch == m.epochs:
            ae.calibrate(self.c)  # the frozen codes the second stage works on
        self.ae_trains = not self.two_stage or epoch < m.epochs
        self.gan_on = self.symmetric and (epoch >= m.epochs if self.two_stage else epoch >= m.pretrain_epochs)
        if self.symmetric and m.sindy and m.equivariant_sindy and not self.two_stage \
                and epoch >= m.pretrain_epochs + m.equivariant_after:
            # nonlinear terms that commute with the symmetry found so far (refreshed every epoch)
            sindy = run.modules["sindy"]
            sindy.constrain_(equivariant_basis(sindy.library, run.modules["symmetry"].basis().detach().cpu()
                                               .double().numpy(), free_linear=True))
        ae.train(self.ae_trains)

    def training_step(self, batch, run):
        idx = self.windows[batch]
        return self.method._step(run.modules, run, self.c[idx], None if self.dc is None else self.dc[idx],
                                 self.ae_trains, self.gan_on)

    def on_epoch_end(self, epoch, row, run):
        m = self.method
        if m.sindy and self.ae_trains and (epoch + 1) % m.threshold_every == 0:
            row["terms_kept"] = run.modules["sindy"].threshold_(m.sindy_threshold)

    def on_train_end(self, run):
        for module in run.modules.values():
            module.eval()
        if not self.two_stage or run.epochs == self.method.epochs:
            run.modules["autoencoder"].calibrate(self.c)  # exact statistics for evaluation


class LatentLieGAN(DiscoveryMethod):
    """Latent LieGAN with optional joint SINDy; see the module docstring."""

    name = "latent"
    CLI_OPTIONS = {
        "latent_dim": (int, "latent dimension m"),
        "sindy": (bool, "joint SINDy equation discovery in the latent space"),
        "sindy_order": (int, "SINDy polynomial library order"),
        "sindy_threshold": (float, "SINDy sequential-thresholding / STLSQ threshold"),
        "w_gan": (float, "weight of the adversarial loss on the autoencoder"),
        "w_recon": (float, "weight of the reconstruction loss"),
        "training": (str, "latent training: joint or two-stage"),
        "orthogonal": (bool, "orthogonal last encoder layer"),
        "pca_components": (int, "PCA pre-projection size for wide inputs (0: none)"),
        "compare": (bool, "also train without the symmetry and compare long-term prediction"),
        "equivariant_sindy": (bool, "with the symmetry, only nonlinear SINDy terms that commute with its generators"),
        "prediction_steps": (int, "steps of long-term prediction"),
        "batch_size": (int, "batch size (default: at least 64, so that an epoch is at most 16 steps)"),
    }

    standardization = "none"  # the method rescales its own inputs; its generators act on latent codes
    KNOBS = {
        "latent_dim": Int(1), "n_generators": Int(1), "sindy": Bool(), "sindy_order": Int(1),
        "sindy_threshold": Float(0), "w_sindy_z": Float(0), "w_sindy_x": Float(0), "w_sindy_l1": Float(0),
        "threshold_every": Int(1), "w_gan": Float(0), "w_recon": Float(0), "w_reg": Float(0),
        "w_orthogonality": Float(0), "training": Choice("joint", "two-stage"), "pretrain_epochs": Int(0),
        "gan_epochs": Int(0), "epochs": Int(1), "batch_size": Int(1, optional=True), "hidden": Int(1), "layers": Int(1),
        "activation": Choice(*ACTIVATIONS), "orthogonal": Bool(), "normalize_latent": Bool(), "codes": Int(1),
        "pair_stride": Int(1), "pca_components": Int(0), "pca_threshold": Int(1),
        "law_scale": Float(0, strict=True), "disc_hidden": Int(1), "lr_autoencoder": Float(0, strict=True),
        "lr_generator": Float(0, strict=True), "lr_discriminator": Float(0, strict=True),
        "lr_sindy": Float(0, strict=True), "compare": Bool(), "equivariant_sindy": Bool(),
        "equivariant_after": Int(0), "prediction_steps": Int(0),
        "integrator": Choice("rk4", "euler"), "plots": Bool(), "seed": Int(),
        "device": Choice("cpu", "cuda", "mps", "auto"), "checkpoint_every": Int(1),
    }

    def __init__(self, latent_dim: int = 2, n_generators: int = 1, *, sindy: bool = False,
                 sindy_order: int = 2, sindy_threshold: float = 0.1, w_sindy_z: float = 1.0,
                 w_sindy_x: float = 0.1, w_sindy_l1: float = 1e-4, threshold_every: int = 20,
                 w_gan: float = 0.01, w_recon: float = 1.0, w_reg: float = 0.1,
                 w_orthogonality: float = 1.0, training: str = "joint", pretrain_epochs: int = 10,
                 gan_epochs: int = 40, epochs: int = 100, batch_size: int | None = None, hidden: int = 64,
                 layers: int = 2, activation: str = "tanh", orthogonal: bool = True,
                 normalize_latent: bool = True, codes: int = 2, pair_stride: int = 1,
                 pca_components: int = 32, pca_threshold: int = 1024, law_scale: float = 1.0,
                 disc_hidden: int = 64, lr_autoencoder: float = 1e-3, lr_generator: float = 2e-3,
                 lr_discriminator: float = 2e-3, lr_sindy: float = 1e-3, compare: bool = True,
                 equivariant_sindy: bool = True, equivariant_after: int = 10, prediction_steps: int = 500,
                 integrator: str = "rk4", plots: bool = True,
                 seed: int = 0, device: str = "cpu", checkpoint_every: int = 1):
        self.latent_dim = latent_dim
        self.n_generators = n_generators
        self.sindy = sindy
        self.sindy_order = sindy_order
        self.sindy_threshold = sindy_threshold
        self.w_sindy_z = w_sindy_z
        self.w_sindy_x = w_sindy_x
        self.w_sindy_l1 = w_sindy_l1
        self.threshold_every = threshold_every
        self.w_gan = w_gan
        self.w_recon = w_recon
        self.w_reg = w_reg
        self.w_orthogonality = w_orthogonality
        self.training = training
        self.pretrain_epochs = pretrain_epochs
        self.gan_epochs = gan_epochs
        self.epochs = epochs
        self.batch_size = batch_size
        self.hidden = hidden
        self.layers = layers
        self.activation = activation
        self.orthogonal = orthogonal
        self.normalize_latent = normalize_latent
        self.codes = codes
        self.pair_stride = pair_stride
        self.pca_components = pca_components
        self.pca_threshold = pca_threshold
        self.law_scale = law_scale
        self.disc_hidden = disc_hidden
        self.lr_autoencoder = lr_autoencoder
        self.lr_generator = lr_generator
        self.lr_discriminator = lr_discriminator
        self.lr_sindy = lr_sindy
        self.compare = compare
        self.equivariant_sindy = equivariant_sindy
        self.equivariant_after = equivariant_after
        self.prediction_steps = prediction_steps
        self.integrator = integrator
        self.plots = plots
        self.seed = seed
        self.device = device
        self.checkpoint_every = checkpoint_every

    def check_data(self, dataset: SymmetryDataset) -> None:
        if self.n_generators > self.latent_dim ** 2:
            raise UserInputError(f"n_generators (--generators) must be between 1 and {self.latent_dim ** 2} "
                                 f"for a {self.latent_dim}-dimensional latent space, got {self.n_generators}")

    # -- data --------------------------------------------------------------------------------
    def _check(self, dataset: SymmetryDataset) -> None:
        check_option("training", self.training, ["joint", "two-stage"])
        check_option("activation", self.activation, list(ACTIVATIONS))
        check_option("integrator", self.integrator, ["rk4", "euler"])
        if self.latent_dim < 1 or self.n_generators < 1 or self.codes < 1:
            raise UserInputError("latent_dim, n_generators and codes must be >= 1")
        if self.sindy and (dataset.y is None or dataset.y.shape != dataset.x.shape):
            raise UserInputError(f"dataset {dataset.name!r}: SINDy needs time derivatives dx/dt as y "
                                 f"with the shape of x; got y={None if dataset.y is None else list(dataset.y.shape)}")

    def _batch(self, windows: int) -> int:
        """`batch_size`, or by default max(64, windows / 16): an epoch of at most 16 steps.
        A step's cost is mostly fixed (small networks), so on 8,000 windows the 8x fewer steps
        than batches of 64 make most of the run's speed-up, at the same quality
        (benchmarks/latent_speed.py, benchmarks/latent_prediction_claim.py)."""
        return int(self.batch_size) if self.batch_size else max(64, math.ceil(windows / 16))

    def _windows(self, lengths: list[int]) -> torch.Tensor:
        """Row indices (N, codes) of `codes` samples `pair_stride` apart within one trajectory."""
        return Trajectories(lengths).windows(self.codes, self.pair_stride)

    # -- one model ---------------------------------------------------------------------------
    def _build(self, dim: int, rng: torch.Generator, symmetric: bool):
        m = self.latent_dim
        modules = {"autoencoder": LatentAutoencoder(dim, m, self.hidden, self.layers, self.activation,
                                                    self.orthogonal, self.normalize_latent)}
        if symmetric:
            generators = make_generators("full", self.n_generators, m, generator=rng)
            law = make_law("normal", self.n_generators, scale=self.law_scale, learnable=False)
            modules["symmetry"] = SymmetryGenerator(generators, law, normalize=True)
            modules["discriminator"] = MLPDiscriminator(m * self.codes, hidden=self.disc_hidden, layers=2)
        if self.sindy:
            modules["sindy"] = SindyModel(PolynomialLibrary(m, self.sindy_order))
        return modules

    def _train_one(self, tag, symmetric, c, dc, windows, engine, fingerprint=None, batch=None):
        """One model (with or without the symmetry) through the engine; returns (modules, history, run)."""
        run = engine.fit(_LatentTask(self, symmetric, c, dc, windows), n_samples=len(windows),
                         batch_size=batch or self._batch(len(windows)), epochs=self._total_epochs(symmetric),
                         seed=self.seed, fingerprint=fingerprint, tag=tag, desc=f"latent {tag}")
        return run.modules, run.history, run

    def _train_all(self, variants, c, dc, windows, engine, fingerprint):
        """Every variant at the default batch; if that batch is large and any variant's codes
        collapsed onto a line (`line_ratio` < COLLAPSE_RATIO with m >= 2: a latent that cannot
        hold a 2-d orbit, a failed training), all of them again with batches of 64, whose
        gradient noise avoids it (the pendulum's image lift: 0.94 -> 0.44 reconstruction).
        Returns (trained, batch used, the retry's record or None)."""
        batch = self._batch(len(windows))
        trained = {tag: self._train_one(tag, symmetric, c, dc, windows, engine, fingerprint=fingerprint)
                   for tag, symmetric in variants}
        if self.batch_size or batch <= 64 or self.latent_dim < 2:
            return trained, batch, None
        ratios = {tag: line_ratio(self._codes(trained[tag][0]["autoencoder"], c)[0].cpu().numpy())
                  for tag in trained}
        if min(ratios.values()) >= COLLAPSE_RATIO:
            return trained, batch, None
        warnings.warn(f"latent: the codes collapsed onto a line at batch {batch} (s2/s1 "
                      f"{min(ratios.values()):.3f}); training again with batches of 64", stacklevel=3)
        previous = sum(run.seconds for _, _, run in trained.values())
        trained = {tag: self._train_one(f"{tag}_batch64", symmetric, c, dc, windows, engine,
                                        fingerprint=fingerprint, batch=64) for tag, symmetric in variants}
        retry = {"first_batch": batch, "line_ratio_first": ratios, "first_seconds": round(previous, 1),
                 "line_ratio": {tag: line_ratio(self._codes(trained[tag][0]["autoencoder"], c)[0].cpu().numpy())
                                for tag in trained}}
        return trained, 64, retry

    def _total_epochs(self, symmetric: bool) -> int:
        return self.epochs + (self.gan_epochs if symmetric and self.training == "two-stage" else 0)

    def _step(self, modules, run, cb, dcb, ae_trains, gan_on) -> dict:
        ae = modules["autoencoder"]
        batch = cb.shape[0]
        x = cb.reshape(batch * self.codes, -1)
        losses: dict[str, float] = {}
        run.zero_grad()
        use_sindy = self.sindy and ae_trains
        with torch.set_grad_enabled(ae_trains):
            if use_sindy:
                dx = dcb.reshape(batch * self.codes, -1)
                z, dz = ae.encode_with_rate(x, dx)
                predicted = modules["sindy"](z)
                decoded, decoded_rate = ae.decode_with_rate(z, predicted)
            else:
                z = ae.encode(x)
                decoded = ae.decode(z) if ae_trains else None
        loss_ae = x.new_zeros(())
        if ae_trains:
            recon = F.mse_loss(decoded, x)
            loss_ae = self.w_recon * recon
            losses["recon"] = recon.item()
        if use_sindy:
            sindy = modules["sindy"]
            loss_z = F.mse_loss(predicted, dz)
            loss_x = F.mse_loss(decoded_rate, dx)
            loss_ae = loss_ae + self.w_sindy_z * loss_z + self.w_sindy_x * loss_x + self.w_sindy_l1 * sindy.l1()
            losses["sindy_z"], losses["sindy_x"] = loss_z.item(), loss_x.item()
        if gan_on:
            symmetry, disc = modules["symmetry"], modules["discriminator"]
            codes = z.reshape(batch, self.codes, -1)
            g, _ = symmetry(batch, run.rng)
            moved = codes @ g.transpose(1, 2)  # the same g on every code of a window
            real, fake = codes.flatten(1), moved.flatten(1)
            loss_d = discriminator_loss(disc(real.detach()), disc(fake.detach()))
            run.backward(loss_d)
            run.step("discriminator")
            run.zero_grad("discriminator")
            adversarial = generator_loss(disc(fake))
            basis = symmetry.basis()
            loss_sym = (adversarial + self.w_reg * nontrivial_penalty(real, fake, basis, "cosine")
                        + self.w_orthogonality * orthogonality_penalty(basis, "cosine"))
            trainable = [p for p in symmetry.parameters() if p.requires_grad]
            grads = torch.autograd.grad(loss_sym, trainable, retain_graph=ae_trains, allow_unused=True)
            for p, grad in zip(trainable, grads):
                p.grad = grad
            run.step("symmetry")
            if ae_trains:
                loss_ae = loss_ae + self.w_gan * adversarial
            losses["loss_d"], losses["loss_g"] = loss_d.item(), adversarial.item()
        if ae_trains:
            params = [p for key, m in modules.items() if key in ("autoencoder", "sindy") for p in m.parameters()]
            run.backward(loss_ae, inputs=params)
            run.step("autoencoder", *(["sindy"] if use_sindy else []))
        return losses

    # -- evaluation --------------------------------------------------------------------------
    @torch.no_grad()
    def _codes(self, ae, c, dc=None):
        zs, dzs = [], []
        for start in range(0, len(c), 4096):
            if dc is None:
                zs.append(ae.encode(c[start:start + 4096]))
            else:
                z, dz = ae.encode_with_rate(c[start:start + 4096], dc[start:start + 4096])
                zs.append(z), dzs.append(dz)
        return torch.cat(zs), (torch.cat(dzs) if dzs else None)

    @torch.no_grad()
    def _prediction(self, ae, fit, projection, x_traj, lengths, dt, device):
        """Relative MSE over time in latent and input space, from phi(x_0) of each trajectory;
        and the input-space error beyond reconstruction, |psi(z_pred) - psi(phi(x))|^2 / |x|^2:
        the prediction's own error, without the autoencoder's floor that both variants share."""
        horizon = min(self.prediction_steps, min(lengths) - 1)
        starts = np.cumsum([0] + lengths[:-1])
        index = torch.as_tensor(starts)[:, None] + torch.arange(horizon + 1)[None]  # (B, T+1)
        truth_x = x_traj.reshape(len(x_traj), -1)[index.reshape(-1)].float()  # (B*(T+1), d)
        z_true = self._codes(ae, projection.transform(truth_x).to(device))[0]
        z_true = z_true.reshape(len(starts), horizon + 1, -1).transpose(0, 1)  # (T+1, B, m)
        rhs = fit.rhs(self.sindy_order).to(device).double()
        z_pred = simulate(lambda z: rhs(z), z_true[0].double(), horizon, dt, self.integrator).float()
        latent = ((z_pred - z_true) ** 2).sum((1, 2)) / (z_true ** 2).sum((1, 2)).clamp(min=1e-12)
        truth = truth_x.reshape(len(starts), horizon + 1, -1).transpose(0, 1)
        errors, beyond, shown = [], [], min(3, len(starts))
        x_pred = truth.new_empty(horizon + 1, shown, truth.shape[-1])
        for t in range(horizon + 1):
            decoded = projection.inverse(ae.decode(z_pred[t]).cpu())
            reconstructed = projection.inverse(ae.decode(z_true[t]).cpu())
            norm = (truth[t] ** 2).sum().clamp(min=1e-12)
            errors.append(((decoded - truth[t]) ** 2).sum() / norm)
            beyond.append(((decoded - reconstructed) ** 2).sum() / norm)
            x_pred[t] = decoded[:shown]
        floor = float(((reconstructed - truth[-1]) ** 2).sum() / norm)  # a perfect latent prediction's error
        return {"steps": horizon, "dt": dt, "trajectories": len(starts), "reconstruction_floor": floor,
                "relative_mse_latent": latent.cpu().tolist(),
                "relative_mse_input": torch.stack(errors).tolist(),
                "relative_mse_beyond_reconstruction": torch.stack(beyond).tolist(),
                "z_true": z_true[:, 0].cpu().numpy(), "z_pred": z_pred[:, 0].cpu().numpy(),
                "x_true": truth[:, :shown].numpy(), "x_pred": x_pred.numpy()}

    def _summarise(self, modules, projection, c, dc, dataset, dt, device):
        ae = modules["autoencoder"]
        report: dict = {}
        z, dz = self._codes(ae, c.to(device), None if dc is None else dc.to(device))
        with torch.no_grad():
            recon = projection.inverse(ae.decode(z[:2048]).cpu())
            x = dataset.x[:2048].reshape(min(2048, len(dataset.x)), -1).float()
            report["reconstruction_relative_mse"] = float(((recon - x) ** 2).sum() / (x ** 2).sum())
        report["codes"] = z.cpu().numpy()
        if self.sindy:
            variables = variable_names(self.latent_dim)
            fit = fit_stlsq(z.cpu().numpy(), dz.cpu().numpy(), self.sindy_order, self.sindy_threshold,
                            dt=1.0 if dt is None else dt, variables=variables)
            plain = None
            if "symmetry" in modules and self.equivariant_sindy:
                # STLSQ's terms, less the nonlinear ones the symmetry forbids, refitted
                report["equations_stlsq"] = fit.equations
                plain = fit
                fit = fit_equivariant(z.cpu().numpy(), dz.cpu().numpy(),
                                      modules["symmetry"].basis().detach().cpu().double().numpy(),
                                      self.sindy_order, support=fit, variables=variables,
                                      free_linear=True)
            report["fit"] = fit
            report["equations"] = fit.equations
            report["sindy_coefficients"] = fit.table()
            report["sindy_joint_equations"] = modules["sindy"].equations(variables)
            report["nonlinear_terms"] = fit.nonlinear_terms()
            held_out = Trajectories.of(dataset, test=True)
            if len(held_out) and min(held_out.lengths) > 1:
                source, lengths, origin = dataset.x_test, list(held_out.lengths), "held-out trajectories"
            else:
                source, origin = dataset.x, "training trajectories (no held-out ones)"
                lengths = list(Trajectories.of(dataset).lengths)
            if dt is None:
                report["prediction"] = None  # non-uniform time steps: nothing to integrate on
            else:
                report["prediction"] = self._prediction(ae, fit, projection, source, lengths, dt, device)
                report["prediction"]["evaluated_on"] = origin
                if plain is not None:  # the same network's codes, the equation without the symmetry
                    report["prediction_stlsq"] = (
                        report["prediction"] if np.array_equal(plain.coefficients, fit.coefficients)
                        else self._prediction(ae, plain, projection, source, lengths, dt, device))
        return report

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, dataset: SymmetryDataset, *, out=None, progress: bool = True, hardware=None) -> SymmetryResult:
        start = time.perf_counter()
        self._check(dataset)
        engine = self.engine(out, progress, hardware)
        device = engine.fabric.device
        dt = dataset.metadata.get("dt", 1.0)  # None: non-uniform steps, no prediction
        dt = None if dt is None else float(dt)
        fingerprint = self.fingerprint(dataset)
        projection = self._projection(dataset, out, fingerprint)
        c = projection.transform(dataset.x).to(device)
        dc = projection.transform_rate(dataset.y).to(device) if self.sindy else None
        windows = self._windows(Trajectories.of(dataset).lengths)

        variants = [("latent", True)] + ([("baseline", False)] if self.sindy and self.compare else [])
        trained, batch, retry = self._train_all(variants, c, dc, windows, engine, fingerprint)
        start -= trained["latent"][2].previous_seconds

        modules, history, _ = trained["latent"]
        basis = modules["symmetry"].basis().detach().cpu().double()
        summary = self._summarise(modules, projection, c, dc, dataset, dt, device)
        extras = self._extras(basis, summary, projection, dataset)
        extras["batch_size_used"] = batch
        if retry is not None:
            extras["collapse_retry"] = retry
        base = None
        if "baseline" in trained:
            base = self._summarise(trained["baseline"][0], projection, c, dc, dataset, dt, device)
            extras["without_symmetry"] = {k: base[k] for k in ("equations", "sindy_coefficients",
                                                              "nonlinear_terms", "reconstruction_relative_mse")}
        if self.sindy and summary["prediction"] is None:
            extras["long_term_prediction"] = {"skipped": "the time steps are not uniform"}
        elif self.sindy:
            extras["long_term_prediction"] = report = self._prediction_report(
                summary["prediction"], None if base is None else base["prediction"])
            if base is not None:
                report["without_symmetry_means"] = (
                    "the same architecture trained separately without the latent LieGAN, with plain "
                    "STLSQ (the SINDy autoencoder of Champion et al.; same seed, initialisation and "
                    "batches); see same_network for the equation's share on one network")
            if "prediction_stlsq" in summary:
                same = self._prediction_report(summary["prediction"], summary["prediction_stlsq"])
                report["same_network"] = {
                    "means": "one network (trained with the symmetry) and its codes; with_symmetry: the "
                             "equivariant SINDy fit, without_symmetry: plain STLSQ on the same codes. "
                             "Identical where the symmetry forbids none of STLSQ's terms",
                    "equations_without_symmetry": summary["equations_stlsq"],
                    **{key: same[key] for key in ("relative_mse_input_final", "relative_mse_latent_final",
                                                  "relative_mse_beyond_reconstruction_final", "horizon_mean")},
                    "symmetry_at_least_as_good": bool(same["relative_mse_input_final"]["with_symmetry"]
                                                      <= same["relative_mse_input_final"]["without_symmetry"])}
        if out is not None and self.plots:
            extras["figures"] = self._figures(out, summary, basis,
                                              None if base is None else base["prediction"])
        result = self.make_result(basis, dataset, time.perf_counter() - start, history=history,
                                  coefficient_law=modules["symmetry"].law.describe(),
                                  action={"name": "latent", "latent_dim": self.latent_dim,
                                          "codes": self.codes}, extras=extras)
        self.modules_, self.projection_, self.summary_ = modules, projection, summary
        self.baseline_ = trained.get("baseline", (None,))[0]
        self.baseline_summary_ = base
        return result

    def _projection(self, dataset, out, fingerprint) -> Projection:
        """The input projection (PCA for wide inputs), kept in OUT/latent_projection.pt for a resumed run."""
        from ..io_utils import atomic_save

        saved = None if out is None else Path(out) / "latent_projection.pt"
        if saved is not None and saved.is_file():
            try:
                payload = torch.load(saved, weights_only=True)
                if payload.get("fingerprint") == fingerprint:
                    return Projection.from_state(payload["state"])
            except Exception:  # noqa: BLE001 - unreadable: computed again below and rewritten
                pass
        wide = int(np.prod(dataset.x.shape[1:])) > self.pca_threshold
        projection = Projection.fit(dataset.x, self.pca_components if wide else 0, make_generator(self.seed, 4))
        if saved is not None:
            atomic_save(saved, lambda tmp: torch.save({"fingerprint": fingerprint,
                                                       "state": projection.state_dict()}, tmp))
        return projection

    def _extras(self, basis, summary, projection, dataset) -> dict:
        generators = basis.numpy()
        eigenvalues = [np.linalg.eigvals(L) for L in generators]
        extras = {
            "latent_dim": self.latent_dim,
            "input_projection": {"pca_components": projection.basis.shape[1] if projection.basis is not None
                                 else None, "scale": projection.scale},
            "eigenvalues": [[[float(v.real), float(v.imag)] for v in ev] for ev in eigenvalues],
            "so2_eigen_ratio": [so2_eigen_ratio(L) for L in generators],
            "latent_geometry": latent_geometry(summary["codes"], generators[0]),
            "reconstruction_relative_mse": summary["reconstruction_relative_mse"],
        }
        if self.sindy:
            extras.update(equations=summary["equations"], sindy_coefficients=summary["sindy_coefficients"],
                          sindy_joint_equations=summary["sindy_joint_equations"],
                          nonlinear_terms=summary["nonlinear_terms"])
            if "equations_stlsq" in summary:
                extras["sindy_fit"] = ("equivariant: STLSQ's terms less the nonlinear ones that do not "
                                       "commute with the discovered generators, refitted")
                extras["equations_stlsq"] = summary["equations_stlsq"]
            else:
                extras["sindy_fit"] = "STLSQ"
        return extras

    @staticmethod
    def _prediction_report(with_symmetry: dict, without: dict | None) -> dict:
        def thin(curve):
            stride = max(1, len(curve) // 100)
            return [round(v, 6) for v in curve[::stride]] + ([round(curve[-1], 6)] if (len(curve) - 1) % stride else [])

        def mean(prediction):  # over the whole horizon: the final step alone can fall on a lucky phase
            return {key: float(np.mean(prediction[f"relative_mse_{key}"]))
                    for key in ("input", "beyond_reconstruction", "latent")}

        report = {"steps": with_symmetry["steps"], "dt": with_symmetry["dt"],
                  "horizon_time": with_symmetry["steps"] * with_symmetry["dt"],
                  "trajectories": with_symmetry["trajectories"],
                  "evaluated_on": with_symmetry.get("evaluated_on"),
                  "relative_mse_input_final": {"with_symmetry": with_symmetry["relative_mse_input"][-1]},
                  "reconstruction_floor_final": {"with_symmetry": with_symmetry["reconstruction_floor"]},
                  "relative_mse_latent_final": {"with_symmetry": with_symmetry["relative_mse_latent"][-1]},
                  "relative_mse_beyond_reconstruction_final": {
                      "with_symmetry": with_symmetry["relative_mse_beyond_reconstruction"][-1]},
                  "horizon_mean": {"with_symmetry": mean(with_symmetry)},
                  "curves": {"with_symmetry": {"input": thin(with_symmetry["relative_mse_input"]),
                                               "latent": thin(with_symmetry["relative_mse_latent"])}}}
        if without is not None:
            report["relative_mse_input_final"]["without_symmetry"] = without["relative_mse_input"][-1]
            report["reconstruction_floor_final"]["without_symmetry"] = without["reconstruction_floor"]
            report["relative_mse_latent_final"]["without_symmetry"] = without["relative_mse_latent"][-1]
            report["relative_mse_beyond_reconstruction_final"]["without_symmetry"] = \
                without["relative_mse_beyond_reconstruction"][-1]
            report["horizon_mean"]["without_symmetry"] = mean(without)
            report["curves"]["without_symmetry"] = {"input": thin(without["relative_mse_input"]),
                                                    "latent": thin(without["relative_mse_latent"])}
            report["symmetry_helps"] = bool(with_symmetry["relative_mse_input"][-1]
                                            < without["relative_mse_input"][-1])
        return report

    def _figures(self, out, summary, basis, baseline) -> list[str]:
        """latent_trajectories.png (codes before / after group actions) and, with SINDy,
        long_term_prediction.png (relative MSE over time, with and without the symmetry)."""
        from .. import plots

        plt = plots.plt
        out = Path(out)
        names = []
        codes = summary["codes"]
        shown = codes[:: max(1, len(codes) // 3000)]
        g = torch.linalg.matrix_exp(torch.randn(6, 1, generator=torch.Generator().manual_seed(0)).double()
                                    [:, :, None] * basis[0][None] * self.law_scale).numpy()
        three = self.latent_dim >= 3
        fig = plt.figure(figsize=(10, 4.5))
        for panel, title in enumerate(["latent codes phi(x)", "after group actions g phi(x)"]):
            ax = fig.add_subplot(1, 2, panel + 1, projection="3d" if three else None)
            clouds = [shown] if panel == 0 else [shown @ gi.T for gi in g]
            for i, cloud in enumerate(clouds):
                coords = [cloud[:, j] for j in range(3 if three else min(2, cloud.shape[1]))]
                if len(coords) == 1:
                    coords.append(np.zeros_like(coords[0]))
                ax.scatter(*coords, s=2, alpha=0.5, c=np.arange(len(cloud)) if panel == 0 else f"C{i}")
            ax.set_title(title, fontsize=9)
        fig.tight_layout()
        plots.save_figure(fig, out / "latent_trajectories.png")
        names.append("latent_trajectories.png")
        if self.sindy and summary["prediction"] is not None:
            pred = summary["prediction"]
            fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
            times = pred["dt"] * np.arange(pred["steps"] + 1)
            for ax, key in zip(axes[:2], ["relative_mse_input", "relative_mse_latent"]):
                ax.plot(times, pred[key], label="LieGAN + SINDy")
                if baseline is not None:
                    ax.plot(times, baseline[key], label="SINDy autoencoder (no symmetry)")
                ax.set_xlabel(f"time (dt = {pred['dt']:g})"), ax.set_title(key.replace("_", " "), fontsize=9)
                ax.set_yscale("log")
            axes[0].legend(fontsize=8)
            axes[2].plot(pred["z_true"][:, 0], pred["z_true"][:, 1 % self.latent_dim], label="phi(x_t)")
            axes[2].plot(pred["z_pred"][:, 0], pred["z_pred"][:, 1 % self.latent_dim], "--", label="simulated")
            axes[2].legend(fontsize=8), axes[2].set_title("latent trajectory", fontsize=9)
            fig.tight_layout()
            plots.save_figure(fig, out / "long_term_prediction.png")
            names.append("long_term_prediction.png")
            plots.save_figure(self._trajectory_figure(pred, baseline), out / "predicted_trajectories.png")
            names.append("predicted_trajectories.png")
        return names

    @staticmethod
    def _trajectory_figure(pred, baseline):
        """Predicted against true trajectories (input space, held-out ones): a panel per
        trajectory, its three most varying coordinates over time."""
        from .. import plots

        truth, shown = pred["x_true"], pred["x_pred"].shape[1]
        times = pred["dt"] * np.arange(pred["steps"] + 1)
        fig, axes = plots.plt.subplots(1, shown, figsize=(4.3 * shown, 3.6), squeeze=False)
        for j, ax in enumerate(axes[0]):
            for n, i in enumerate(np.argsort(truth[:, j].std(0))[::-1][:3]):
                ax.plot(times, truth[:, j, i], color=f"C{n}", lw=1.5,
                        label="true" if n == 0 else None)
                ax.plot(times, pred["x_pred"][:, j, i], "--", color=f"C{n}", lw=1,
                        label="with symmetry" if n == 0 else None)
                if baseline is not None:
                    ax.plot(times, baseline["x_pred"][:, j, i], ":", color=f"C{n}", lw=1,
                            label="without symmetry" if n == 0 else None)
            ax.set_xlabel(f"time (dt = {pred['dt']:g})")
            ax.set_title(f"{pred.get('evaluated_on', 'trajectory')} #{j + 1}: 3 coordinates",
                         fontsize=9)
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        return fig
