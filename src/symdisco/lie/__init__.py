"""The mathematics of symmetries: Lie algebras, group elements, actions, comparison, names.

Imports nothing else from the package.
"""
from . import known
from .actions import (Action, BlockAction, ImageAction, PointAction, TaskAction, VectorAction,
                      get_action)
from .algebra import (LieAlgebra, closure_residual, commutator, invariant_forms, killing_form,
                      structure_constants)
from .compare import cosine, principal_angles, similarity
from .identify import identify
from .sampling import IntegerGridLaw, NormalLaw, UniformLaw, group_elements, group_log, make_law

__all__ = ["Action", "BlockAction", "ImageAction", "IntegerGridLaw", "LieAlgebra", "NormalLaw",
           "PointAction", "TaskAction", "UniformLaw", "VectorAction", "closure_residual", "commutator",
           "cosine", "get_action", "group_elements", "group_log", "identify", "invariant_forms",
           "killing_form", "known", "make_law", "principal_angles", "similarity", "structure_constants"]
