"""Declarative checks for a method's knobs: one rule per constructor argument.

Each method lists `KNOBS = {"epochs": Int(1), "law": Choice(...), ...}`; the base class
checks every rule when the method is built, when `set_params` changes it, and again at
`fit` (attributes can be assigned directly). A bad value is a `UserInputError` that names
the knob and the allowed range, before any training starts.
"""
from __future__ import annotations

import math
import numbers

from ..errors import UserInputError


class Knob:
    """A rule for one knob; `optional` also allows None (meaning "choose for me")."""

    optional = False

    def check(self, name: str, value) -> None:
        if value is None and self.optional:
            return
        problem = self.problem(value)
        if problem:
            raise UserInputError(f"{name} must be {problem}, got {value!r}")

    def problem(self, value) -> str | None:  # the allowed range, when value is outside it
        raise NotImplementedError


def _bounds(minimum, maximum, strict: bool) -> str:
    lower = "" if minimum is None else (f"> {minimum}" if strict else f">= {minimum}")
    upper = "" if maximum is None else f"<= {maximum}"
    return " and ".join(b for b in (lower, upper) if b)


class Int(Knob):
    def __init__(self, minimum: int | None = None, maximum: int | None = None, *, optional: bool = False):
        self.minimum, self.maximum, self.optional = minimum, maximum, optional

    def problem(self, value):
        bounds = _bounds(self.minimum, self.maximum, False)
        wanted = f"an integer{' ' + bounds if bounds else ''}"
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return wanted
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            return wanted
        return None


class Float(Knob):
    def __init__(self, minimum: float | None = None, maximum: float | None = None, *, strict: bool = False,
                 optional: bool = False):
        self.minimum, self.maximum, self.strict, self.optional = minimum, maximum, strict, optional

    def problem(self, value):
        bounds = _bounds(self.minimum, self.maximum, self.strict)
        wanted = f"a finite number{' ' + bounds if bounds else ''}"
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return wanted
        low = self.minimum is not None and (value <= self.minimum if self.strict else value < self.minimum)
        high = self.maximum is not None and value > self.maximum
        return wanted if low or high else None


class Bool(Knob):
    def problem(self, value):
        return None if isinstance(value, bool) else "true or false"


class Choice(Knob):
    """One of the listed strings, or (with `types`) an instance of one of those classes."""

    def __init__(self, *choices: str, types: tuple = (), optional: bool = False):
        self.choices, self.types, self.optional = choices, types, optional

    def problem(self, value):
        if self.types and isinstance(value, self.types):
            return None
        if isinstance(value, str) and value in self.choices:
            return None
        names = ", ".join(self.choices)
        if self.types:
            names += " or a " + " / ".join(t.__name__ for t in self.types)
        return f"one of {names}"


class Anything(Knob):
    def problem(self, value):
        return None


def check_knobs(rules: dict, params: dict, owner: str) -> None:
    """Check every knob in `params` that has a rule; the message names `owner` (the method)."""
    for name, value in params.items():
        rule = rules.get(name)
        if rule is not None:
            try:
                rule.check(name, value)
            except UserInputError as error:
                raise UserInputError(f"{owner}: {error}") from None


def merged_rules(cls) -> dict:
    """The KNOBS of `cls` and its bases, the most derived rule winning."""
    rules: dict = {}
    for klass in reversed(cls.__mro__):
        rules.update(getattr(klass, "__dict__", {}).get("KNOBS", {}))
    return rules


def law_shorthand(name: str, scale: float | None = None, step: float | None = None,
                  max_steps: int | None = None, learnable: bool | None = None) -> CoefficientLaw:
    """The law a command line spells as --law NAME [--law-scale S] [--law-step T] [--learn-law].

    `scale` is the standard deviation of a normal law and the half-width of a uniform one;
    `step` and `max_steps` belong to the integer grid. A flag that does not apply to the law is
    an error rather than silently ignored."""
    from ..lie.sampling import LAWS, IntegerGridLaw, NormalLaw, UniformLaw

    if not isinstance(name, str) or name not in LAWS:
        raise UserInputError(f"law must be one of {', '.join(LAWS)}, got {name!r}")
    extra = {"normal": ("step", "max_steps"), "uniform": ("step", "max_steps"),
             "integer": ("scale", "learnable")}[name]
    given = {"scale": scale, "step": step, "max_steps": max_steps, "learnable": learnable}
    for key in extra:
        if given[key] is not None:
            flag = {"scale": "--law-scale", "step": "--law-step", "max_steps": "--max-steps",
                    "learnable": "--learn-law"}[key]
            raise UserInputError(f"{flag} does not apply to the {name} law")
    for key, flag in (("scale", "--law-scale"), ("step", "--law-step")):
        value = given[key]
        if value is not None and (not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0):
            raise UserInputError(f"law {key} ({flag}) must be a finite number > 0, got {value!r}")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise UserInputError(f"law max_steps (--max-steps) must be an integer >= 1, got {max_steps!r}")
    learnable = bool(learnable)
    if name == "normal":
        return NormalLaw(scale=1.0 if scale is None else scale, learnable=learnable)
    if name == "uniform":
        return UniformLaw(half_width=1.0 if scale is None else scale, learnable=learnable)
    return IntegerGridLaw(step=1.0 if step is None else step, max_steps=4 if max_steps is None else max_steps)
