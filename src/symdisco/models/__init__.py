"""Downstream models built from a symmetry: equivariant MLP, LieGNN, L-conv; plain baselines."""
from .baselines import MLP, PlainGNN, SmallCNN
from .equivariant import EquivariantLinear, EquivariantMLP, GatedNonlinearity
from .lconv import LConv, LConvNet, NodeGenerators, count_parameters
from .liegnn import LieGNN, metrics_from
from .representations import Group, Rep, equivariant_basis, invariant_forms

__all__ = ["EquivariantLinear", "EquivariantMLP", "GatedNonlinearity", "Group", "LConv", "LConvNet", "LieGNN",
           "MLP", "NodeGenerators", "PlainGNN", "Rep", "SmallCNN", "count_parameters", "equivariant_basis", "invariant_forms",
           "metrics_from"]
