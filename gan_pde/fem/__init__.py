"""The finite-element core: bases, weighted forms, functionals and a Newton solver."""

from __future__ import annotations

from gan_pde.fem.basis import (
    ELEMENT_NAMES,
    element_order,
    make_basis,
    quadrature_points,
    quadrature_rule,
)
from gan_pde.fem.forms import (
    WeightedSystem,
    assemble_weighted,
    log_density_at_quadrature,
    weighted_mass,
    weighted_stiffness,
)
from gan_pde.fem.function import FEMFunction, evaluation_matrix, locate
from gan_pde.fem.functionals import js_divergence, kl_divergence, l1_distance, mass
from gan_pde.fem.newton import CSRPattern, NewtonResult, newton, sparse_direct_solve

__all__ = [
    "ELEMENT_NAMES",
    "CSRPattern",
    "NewtonResult",
    "js_divergence",
    "kl_divergence",
    "l1_distance",
    "mass",
    "newton",
    "sparse_direct_solve",
    "FEMFunction",
    "WeightedSystem",
    "assemble_weighted",
    "element_order",
    "evaluation_matrix",
    "locate",
    "log_density_at_quadrature",
    "make_basis",
    "quadrature_points",
    "quadrature_rule",
    "weighted_mass",
    "weighted_stiffness",
]
