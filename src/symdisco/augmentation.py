"""Data augmentation with a symmetry: sample g = exp(sum_i w_i L_i) from a result's generators
and coefficient law, and transform training pairs with it.

    aug = GroupAugmentation(result, equivariant=True)       # law and action from the result
    x2, y2 = aug(x, y)                                      # a torch transform on a batch
    loader = augment_loader(DataLoader(ds, batch_size=64), aug)   # every batch transformed

`result` may be a SymmetryResult (its `coefficient_law` and `action` are used), a LieAlgebra,
or generators (k, n, n). The law: a `CoefficientLaw`, the dict a law's `describe()` writes
into result.json ({"law": "normal", "mean": [...], "scale": [...]}, "uniform" with
"half_width", "integer_grid" with "step" and "max_steps"), or None (standard normal).
The action: an `Action`, a name for `get_action` ("vector", "blocks", "points", "image") with
`action_options`, the dict stored in result.json, or None (taken from the result, else
"vector"). With `equivariant=True` the same g acts on y (a dynamics / equivariant task);
otherwise y is left alone (invariant tasks, class labels).
"""
from __future__ import annotations

import torch

from symdisco.errors import UserInputError
from symdisco.lie.actions import Action, get_action
from symdisco.lie.sampling import CoefficientLaw, IntegerGridLaw, NormalLaw, UniformLaw, group_elements


def law_from(spec, k: int) -> CoefficientLaw:
    """A fixed (non-learnable) coefficient law from a `describe()` dict, a law, or None."""
    if isinstance(spec, CoefficientLaw):
        return spec
    if spec is None:
        return NormalLaw(k, scale=1.0, learnable=False)
    if not isinstance(spec, dict) or "law" not in spec:
        raise UserInputError(f"cannot read the coefficient law {spec!r}: expected a dict with 'law'")
    kind = spec["law"]
    if kind == "normal":
        law = NormalLaw(k, learnable=False)
        with torch.no_grad():
            scale = torch.as_tensor(spec.get("scale", 1.0), dtype=torch.float32).expand(k)
            law.raw_scale.copy_(torch.log(torch.expm1(scale.clamp_min(1e-6))))
            law.mean.copy_(torch.as_tensor(spec.get("mean", 0.0), dtype=torch.float32).expand(k))
        return law
    if kind == "uniform":
        law = UniformLaw(k, learnable=False)
        with torch.no_grad():
            width = torch.as_tensor(spec.get("half_width", 1.0), dtype=torch.float32).expand(k)
            law.raw_half_width.copy_(torch.log(torch.expm1(width.clamp_min(1e-6))))
        return law
    if kind in ("integer", "integer_grid"):
        return IntegerGridLaw(k, step=float(spec.get("step", 1.0)), max_steps=int(spec.get("max_steps", 4)))
    raise UserInputError(f"unknown coefficient law {kind!r}; expected normal, uniform or integer_grid")


def action_from(spec, **options) -> Action:
    if isinstance(spec, Action):
        return spec
    if isinstance(spec, dict):
        spec = dict(spec)
        name = spec.pop("action")
        return get_action(name, **{**spec, **options})
    return get_action(spec or "vector", **options)


def _basis(obj) -> torch.Tensor:
    algebra = getattr(obj, "algebra", obj)
    basis = getattr(algebra, "basis", algebra)
    basis = torch.as_tensor(basis).detach()
    if basis.ndim == 2:
        basis = basis[None]
    if basis.ndim != 3 or basis.shape[-1] != basis.shape[-2]:
        raise UserInputError(f"generators must have shape (k, n, n); got {tuple(basis.shape)}")
    return basis


class GroupAugmentation:
    """Callable transform (x, y) -> (g.x, g.y or y) with a fresh random g per sample.

    `probability`: the fraction of samples transformed (others pass unchanged).
    `last_elements` holds the g used by the latest call (B, n, n), for inspection and tests.
    """

    def __init__(self, result, law=None, action=None, action_options=None, equivariant=False,
                 probability: float = 1.0, seed: int | None = None):
        self.basis = _basis(result)
        coefficient_law = law if law is not None else getattr(result, "coefficient_law", None)
        self.law = law_from(coefficient_law, self.basis.shape[0])
        spec = action if action is not None else getattr(result, "action", None)
        self.action = action_from(spec, **(action_options or {}))
        self.equivariant = equivariant
        self.probability = probability
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.last_elements = None

    def sample(self, batch_size: int) -> torch.Tensor:
        """Group elements (B, n, n), float64."""
        with torch.no_grad():
            w = self.law.sample(batch_size, self.generator).to(torch.float64)
        g = group_elements(self.basis.to(torch.float64), w)
        if self.probability < 1.0:
            keep = torch.rand(batch_size, generator=self.generator) < self.probability
            g = torch.where(keep[:, None, None].to(g.device), g, torch.eye(g.shape[-1], dtype=g.dtype))
        return g

    def __call__(self, x, y=None):
        g = self.sample(x.shape[0]).to(x.device)
        self.last_elements = g
        gx = self.action.apply(g.to(x.dtype), x)
        if y is None or not self.equivariant:
            return gx, y
        return gx, self.action.apply(g.to(y.dtype), y)


class AugmentedLoader:
    """Wraps an iterable of (x, y) batches (a DataLoader) and transforms every batch."""

    def __init__(self, loader, augmentation: GroupAugmentation):
        self.loader, self.augmentation = loader, augmentation

    def __iter__(self):
        for batch in self.loader:
            x, y = batch[0], batch[1] if len(batch) > 1 else None
            gx, gy = self.augmentation(x, y)
            yield (gx, gy) + tuple(batch[2:]) if y is not None else (gx,)

    def __len__(self):
        return len(self.loader)


def augment_loader(loader, augmentation: GroupAugmentation) -> AugmentedLoader:
    return AugmentedLoader(loader, augmentation)
