"""SINDy in a learned latent space: a differentiable polynomial library, masked coefficients
with sequential thresholding, post-hoc STLSQ through pysindy, and latent simulation.

    library = PolynomialLibrary(2, order=2)        # terms 1, z1, z2, z1^2, z1 z2, z2^2
    model = SindyModel(library)                     # z' = Theta(z) Xi, trained by gradient
    model.threshold_(0.1)                           # sequential thresholding: freeze small terms
    fit = fit_stlsq(z, dz, order=2, threshold=0.1)  # pysindy's STLSQ on fixed codes
    fit.equations                                   # ["z1' = 0.91 z2", "z2' = -0.91 z1"]
    basis = equivariant_basis(library, [L])         # the tables whose field commutes with L
    model.constrain_(basis)                         # gradient training inside that subspace
    fit = fit_equivariant(z, dz, [L], support=fit)  # STLSQ's terms, the equivariant form

Term names and their order are pysindy's `PolynomialLibrary` feature names, so a
coefficient table from either side reads the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np
import torch
from torch import nn

__all__ = ["PolynomialLibrary", "SindyModel", "SindyFit", "fit_stlsq", "fit_equivariant",
           "equivariant_basis", "format_equation", "variable_names", "simulate"]


def variable_names(m: int, prefix: str = "z") -> list[str]:
    return [f"{prefix}{i + 1}" for i in range(m)]


class PolynomialLibrary(nn.Module):
    """All monomials of m variables up to `order` (with the constant term when `include_bias`),
    in pysindy's order; `forward(z)` (B, m) -> (B, n_terms), differentiable."""

    def __init__(self, n_variables: int, order: int = 2, include_bias: bool = True):
        super().__init__()
        if order < 1 or n_variables < 1:
            raise ValueError("need at least one variable and order >= 1")
        self.n_variables, self.order, self.include_bias = n_variables, order, include_bias
        self.terms = [()] if include_bias else []
        for degree in range(1, order + 1):
            self.terms += list(combinations_with_replacement(range(n_variables), degree))
        for degree in range(1, order + 1):
            index = torch.tensor([t for t in self.terms if len(t) == degree], dtype=torch.long)
            self.register_buffer(f"_index{degree}", index, persistent=False)

    @property
    def n_terms(self) -> int:
        return len(self.terms)

    def names(self, variables: list[str] | None = None) -> list[str]:
        """Term names as pysindy writes them: "1", "z1", "z1^2", "z1 z2", ..."""
        variables = variables or variable_names(self.n_variables)
        names = []
        for term in self.terms:
            if not term:
                names.append("1")
                continue
            parts = []
            for i in sorted(set(term)):
                power = term.count(i)
                parts.append(variables[i] if power == 1 else f"{variables[i]}^{power}")
            names.append(" ".join(parts))
        return names

    def powers(self) -> np.ndarray:
        """(n_terms, m) exponents of every term."""
        table = np.zeros((self.n_terms, self.n_variables), dtype=int)
        for row, term in enumerate(self.terms):
            for i in term:
                table[row, i] += 1
        return table

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """(B, n_terms, m): d term / d z_i at every point (numpy, float64)."""
        z = np.asarray(z, dtype=np.float64)
        powers = self.powers()
        out = np.zeros((len(z), self.n_terms, self.n_variables))
        for i in range(self.n_variables):
            lowered = powers.copy()
            lowered[:, i] = np.maximum(lowered[:, i] - 1, 0)
            out[:, :, i] = powers[:, i] * np.prod(z[:, None, :] ** lowered[None], axis=-1)
        return out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        columns = [z.new_ones(z.shape[0], 1)] if self.include_bias else []
        for degree in range(1, self.order + 1):
            index = getattr(self, f"_index{degree}")
            columns.append(z[:, index].prod(dim=-1))
        return torch.cat(columns, dim=1)


class SindyModel(nn.Module):
    """z' = Theta(z) (Xi * mask): learnable coefficients, a mask that thresholding only shrinks."""

    def __init__(self, library: PolynomialLibrary, init_scale: float = 0.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.library = library
        shape = (library.n_terms, library.n_variables)
        self.coefficients = nn.Parameter(init_scale * torch.randn(shape, generator=generator))
        self.register_buffer("mask", torch.ones(shape))
        self.projector = None  # (n_terms * m)^2: onto the equivariant tables, when constrained

    def constrain_(self, basis: np.ndarray | None) -> None:
        """Keep the effective coefficients in span(basis) (an orthonormal (K, n_terms, m)
        basis from `equivariant_basis`), or lift the constraint (None)."""
        if basis is None:
            self.projector = None
            return
        flat = torch.as_tensor(np.asarray(basis).reshape(len(basis), -1), dtype=self.coefficients.dtype,
                               device=self.coefficients.device)
        self.projector = flat.T @ flat

    def masked(self) -> torch.Tensor:
        masked = self.coefficients * self.mask
        if self.projector is None:
            return masked
        return (self.projector @ masked.reshape(-1)).reshape(masked.shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.library(z) @ self.masked()

    @torch.no_grad()
    def threshold_(self, value: float) -> int:
        """Sequential thresholding step: drop |Xi| < value for good; returns the terms kept.
        (Constrained, the effective coefficients are judged; the projection may give a dropped
        entry a small value back, which keeps the field equivariant.)"""
        if self.projector is not None:
            self.coefficients.copy_(self.masked())
        self.mask *= (self.coefficients.abs() >= value).to(self.mask.dtype)
        self.coefficients *= self.mask
        return int(self.mask.sum())

    def l1(self) -> torch.Tensor:
        return self.masked().abs().sum()

    def table(self, variables: list[str] | None = None) -> dict:
        """{"terms": [...], "coefficients": m rows of n_terms} (pysindy's `coefficients()` layout)."""
        return {"terms": self.library.names(variables),
                "coefficients": self.masked().detach().cpu().double().T.tolist()}

    def equations(self, variables: list[str] | None = None, precision: int = 2) -> list[str]:
        variables = variables or variable_names(self.library.n_variables)
        terms = self.library.names(variables)
        coefficients = self.masked().detach().cpu().double().T.numpy()
        return [f"{v}' = {format_equation(row, terms, precision)}"
                for v, row in zip(variables, coefficients)]


def format_equation(coefficients, terms: list[str], precision: int = 2) -> str:
    """"0.91 z2 - 0.12 z1^2" from one row of coefficients (terms that round to 0 are left out)."""
    parts = []
    for value, term in zip(coefficients, terms):
        if round(float(value), precision) == 0:
            continue
        magnitude = f"{abs(value):.{precision}f}" + ("" if term == "1" else f" {term}")
        sign = "-" if value < 0 else "+"
        parts.append(("-" + magnitude if sign == "-" else magnitude) if not parts
                     else f"{sign} {magnitude}")
    return " ".join(parts) if parts else "0"


@dataclass
class SindyFit:
    """A fitted latent equation: coefficients (m, n_terms) with term and variable names."""

    coefficients: np.ndarray
    terms: list
    variables: list
    precision: int = 2

    @property
    def equations(self) -> list[str]:
        return [f"{v}' = {format_equation(row, self.terms, self.precision)}"
                for v, row in zip(self.variables, self.coefficients)]

    def table(self) -> dict:
        return {"terms": list(self.terms), "coefficients": np.asarray(self.coefficients).tolist()}

    def nonlinear_terms(self) -> list[str]:
        """Names of the active terms of degree other than one (constants, z1^2, ...)."""
        active = np.abs(self.coefficients).max(axis=0) > 0
        return [t for t, a in zip(self.terms, active) if a and (t == "1" or " " in t or "^" in t)]

    def rhs(self, order: int) -> "SindyModel":
        """A torch model evaluating this equation (for simulation)."""
        library = PolynomialLibrary(len(self.variables), order)
        model = SindyModel(library)
        with torch.no_grad():
            model.coefficients.copy_(torch.as_tensor(np.asarray(self.coefficients).T))
        return model


def fit_stlsq(z, dz, order: int = 2, threshold: float = 0.1, alpha: float = 1e-3,
              dt: float = 1.0, variables: list[str] | None = None, precision: int = 2) -> SindyFit:
    """pysindy's STLSQ on codes z (T, m) with known rates dz (T, m) (no differentiation)."""
    import pysindy as ps

    z = np.asarray(z, dtype=np.float64)
    dz = np.asarray(dz, dtype=np.float64)
    variables = variables or variable_names(z.shape[1])
    model = ps.SINDy(optimizer=ps.STLSQ(threshold=threshold, alpha=alpha),
                     feature_library=ps.PolynomialLibrary(degree=order))
    model.fit(z, t=dt, x_dot=dz, feature_names=variables)
    return SindyFit(np.asarray(model.coefficients()), list(model.get_feature_names()),
                    variables, precision)


def equivariant_basis(library: PolynomialLibrary, generators, tolerance: float = 0.01,
                      seed: int = 0, free_linear: bool = False) -> np.ndarray:
    """An orthonormal basis (K, n_terms, m) of the coefficient tables Xi whose field
    F(z) = Theta(z) Xi commutes with the flow of every generator L: F(e^{sL} z) = e^{sL} F(z),
    i.e. the Lie derivative DF(z) L z - L F(z) vanishes.  For SO(2) acting on the plane and
    order 2 that is {a z + b L z}: two parameters instead of twelve, no constant, no quadratic
    term.  The condition is linear in Xi and polynomial in z, so it is imposed at random points
    (more than the terms); each generator is scaled to spectral radius 1 and `tolerance` (a
    relative singular value) admits the near-equivariant tables of a learned, inexact
    generator (e.g. an axis eigenvalue 0.004 instead of 0).  With `free_linear` the linear
    terms are left free (any matrix) and only the others must commute."""
    m, n = library.n_variables, library.n_terms
    z = np.random.default_rng(seed).normal(size=(4 * n + 8, m))
    theta = library(torch.as_tensor(z)).numpy()
    jacobian = library.jacobian(z)
    blocks = []
    for L in generators:
        L = np.asarray(L, dtype=np.float64)
        radius = np.abs(np.linalg.eigvals(L)).max()
        L = L / radius if radius > 0 else L
        rate = np.einsum("ptm,pm->pt", jacobian, z @ L.T)  # d Theta(z) / ds along L z
        # row-major vec: (rate Xi - Theta Xi L^T) = (rate (x) I - Theta (x) L) vec(Xi)
        blocks.append(np.kron(rate, np.eye(m)) - np.kron(theta, L))
    matrix = np.concatenate(blocks) / np.sqrt(len(z))
    _, singular, vt = np.linalg.svd(matrix)
    singular = np.concatenate([singular, np.zeros(len(vt) - len(singular))])
    keep = singular <= tolerance * max(singular.max(), 1e-300)
    basis = vt[keep].reshape(-1, n, m)
    if free_linear:  # any linear part, plus the equivariant rest
        linear = [i for i, p in enumerate(library.powers().sum(1)) if p == 1]
        units = np.zeros((len(linear) * m, n, m))
        for k, (i, j) in enumerate((i, j) for i in linear for j in range(m)):
            units[k, i, j] = 1.0
        stacked = np.concatenate([basis, units]).reshape(-1, n * m)
        u, sv, vt2 = np.linalg.svd(stacked, full_matrices=False)
        basis = vt2[sv > 1e-8].reshape(-1, n, m)
    return basis


def fit_equivariant(z, dz, generators, order: int = 2, support: SindyFit | None = None,
                    tolerance: float = 0.01, variables: list[str] | None = None,
                    precision: int = 2, free_linear: bool = False) -> SindyFit:
    """Least squares z' = Theta(z) Xi with Xi restricted to the tables equivariant under the
    generators (`equivariant_basis`, `free_linear` as there) and, with `support` (an STLSQ
    fit), to what that fit kept: its terms, and with `free_linear` its linear entries.  The
    symmetry decides the form, the thresholding which terms exist.  Where the symmetry restricts
    nothing on that support (every table with those terms is equivariant, e.g. a linear support
    with `free_linear`), the fit is `support` itself: the constraint is inactive, and refitting
    would only swap STLSQ's ridge for plain least squares."""
    z = np.asarray(z, dtype=np.float64)
    dz = np.asarray(dz, dtype=np.float64)
    library = PolynomialLibrary(z.shape[1], order)
    basis = equivariant_basis(library, generators, tolerance, free_linear=free_linear)
    if support is not None and len(basis):
        kept = np.asarray(support.coefficients).T != 0  # (n_terms, m)
        zero = np.repeat(~kept.any(axis=1, keepdims=True), z.shape[1], axis=1)  # unused terms
        if free_linear:  # and the linear entries STLSQ dropped (their value is free here)
            linear = library.powers().sum(1) == 1
            zero[linear] |= ~kept[linear]
        if zero.any():  # the tables of span(basis) that are zero there
            inside = basis[:, zero].T  # (zeros, K)
            _, singular, vt = np.linalg.svd(inside)
            singular = np.concatenate([singular, np.zeros(len(vt) - len(singular))])
            free = vt[singular <= 1e-8 * max(singular.max(), 1.0)]
            basis = np.einsum("jk,ktm->jtm", free, basis)
        if len(basis) == int((~zero).sum()):  # every table on the support is allowed
            return SindyFit(np.asarray(support.coefficients), list(support.terms), list(support.variables),
                            precision)
    variables = variables or variable_names(z.shape[1])
    xi = np.zeros((library.n_terms, z.shape[1]))
    if len(basis):
        theta = library(torch.as_tensor(z)).numpy()
        design = np.stack([(theta @ b).reshape(-1) for b in basis], axis=1)
        weights = np.linalg.lstsq(design, dz.reshape(-1), rcond=None)[0]
        xi = np.einsum("k,ktm->tm", weights, basis)
        xi[np.abs(xi) <= 1e-10 * np.abs(xi).max()] = 0.0  # rounding, not terms
    return SindyFit(xi.T, library.names(variables), variables, precision)


@torch.no_grad()
def simulate(rhs, z0: torch.Tensor, steps: int, dt: float, method: str = "rk4",
             substeps: int = 1, bound: float = 1e6) -> torch.Tensor:
    """Integrate z' = rhs(z) from z0 (B, m): (steps + 1, B, m), the start included.

    "euler" is the seed's forward Euler z + dt F(z); "rk4" the classical Runge-Kutta.  A
    diverging trajectory is clamped at +-bound (its error then shows, without overflow).
    """
    z = z0.clone()
    out = [z]
    h = dt / substeps
    for _ in range(steps):
        for _ in range(substeps):
            if method == "euler":
                z = z + h * rhs(z)
            elif method == "rk4":
                k1 = rhs(z)
                k2 = rhs(z + 0.5 * h * k1)
                k3 = rhs(z + 0.5 * h * k2)
                k4 = rhs(z + h * k3)
                z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            else:
                raise ValueError(f"unknown integrator {method!r}; choose euler or rk4")
            z = torch.nan_to_num(z, nan=bound).clamp(-bound, bound)
        out.append(z)
    return torch.stack(out)
