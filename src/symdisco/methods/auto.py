"""`--method auto`: the closed form first; LieGAN, started from it, when the closed form is unsure.

The closed form (LieSD) is taken as it is when its spectrum shows a clear gap (at least
`confident_gap`) or clearly no symmetry (every normalised singular value above its tolerance
and its noise floor). Otherwise - a weak gap, or a task the closed form does not cover, such as
equivariant images - LieGAN runs, started from the closed-form basis when there is one, with
the closed form's k (or `n_generators`, or 1). The result says which was used and why (`auto`).
"""
from __future__ import annotations

import time

from ..errors import UserInputError
from .base import DiscoveryMethod
from .knobs import Choice, Float, Int


class AutoMethod(DiscoveryMethod):
    name = "auto"
    standardization = "none"  # the methods it runs standardise for themselves
    CLI_OPTIONS = {"confident_gap": (float, "auto: a closed-form gap at least this large is taken as it is")}
    KNOBS = {"n_generators": Int(0, optional=True), "confident_gap": Float(1), "epochs": Int(1, optional=True),
             "seed": Int(), "device": Choice("cpu", "cuda", "mps", "auto")}

    KNOBS = {"n_generators": Int(1, optional=True), "confident_gap": Float(1), "epochs": Int(1, optional=True),
             "seed": Int(), "device": Choice("cpu", "cuda", "mps", "auto")}

    def __init__(self, n_generators: int | None = None, *, confident_gap: float = 5.0, epochs: int | None = None,
                 seed: int = 0, device: str = "cpu"):
        self.n_generators = n_generators
        self.confident_gap = confident_gap
        self.epochs = epochs
        self.seed = seed
        self.device = device

    def fit(self, dataset, *, out=None, progress: bool = True, hardware=None):
        from .liegan import LieGAN
        from .liesd import LieSD

        start = time.perf_counter()
        closed, why = None, None
        try:
            closed = LieSD(n_generators=self.n_generators, seed=self.seed).fit(dataset, progress=False)
        except UserInputError as error:  # e.g. equivariant images: not covered by the closed form
            why = f"closed form not applicable ({error})"
        if closed is not None:
            gap, k = closed.extras["gap"], closed.extras["chosen_k"]
            clear_none = k == 0 and not closed.extras["k_forced"] and gap is None
            if clear_none or (gap is not None and gap >= self.confident_gap):
                closed.extras["auto"] = {"used": "liesd", "why": "no symmetry: nothing near zero" if clear_none
                                         else f"clear gap {gap:.3g} >= {self.confident_gap}"}
                closed.method = "auto"
                return closed
            why = f"closed form unsure (gap {gap if gap is None else round(gap, 3)}, k = {k})"
        k = self.n_generators or (closed.algebra.k if closed is not None and closed.algebra.k else 1)
        init = None
        if closed is not None and closed.algebra.k == k:
            init = closed.algebra.basis.float()
        result = LieGAN(n_generators=k, epochs=self.epochs, init_basis=init, seed=self.seed,
                        device=self.device).fit(dataset, out=out, progress=progress, hardware=hardware)
        result.extras["auto"] = {"used": "liegan", "why": why, "started_from_closed_form": init is not None}
        if closed is not None:
            result.extras["closed_form"] = {k_: closed.extras[k_] for k_ in ("singular_values", "gap", "chosen_k")}
        result.method = "auto"
        result.seconds = time.perf_counter() - start
        return result
