"""symdisco: discover the symmetries hidden in a dataset, as Lie algebra generators.

    import symdisco as sd
    data = sd.datasets.load("nbody2")
    result = sd.methods.LieGAN(n_generators=1).fit(data)
"""
from . import datasets, lie, methods
from .errors import UserInputError
from .lie.algebra import LieAlgebra
from .result import SymmetryResult

__version__ = "0.1.0"


def __getattr__(name):
    if name == "models":  # imported on first use: it pulls in the larger model code
        import importlib

        return importlib.import_module(".models", __name__)
    raise AttributeError(f"module 'symdisco' has no attribute {name!r}")


__all__ = ["LieAlgebra", "SymmetryResult", "UserInputError", "datasets", "lie", "methods", "models"]
