"""Downstream models built from a symmetry: equivariant MLP, LieGNN, L-conv; plain baselines."""
from .baselines import MLP, PlainGNN
from .equivariant import EquivariantLinear, EquivariantMLP
from .lconv import LConv, LConvNet
from .liegnn import LieGNN
from .representations import Group, Rep

__all__ = ["EquivariantLinear", "EquivariantMLP", "Group", "LConv", "LConvNet", "LieGNN", "MLP", "PlainGNN", "Rep"]
