"""The finite-element core: bases, weighted forms (with the vectorised P1 simplex kernel),
functionals, a Newton solver and the log-scaled representation of large fields."""

from __future__ import annotations

from gan_pde.fem.basis import (
    ELEMENT_NAMES,
    element_order,
    make_basis,
    quadrature_points,
    quadrature_rule,
)
from gan_pde.fem.forms import (
    SimplexGeometry,
    WeightedSystem,
    assemble_p1_simplex,
    assemble_weighted,
    is_p1_simplex,
    is_p1_simplex_mesh,
    log_density_at_quadrature,
    p1_simplex_entries,
    p1_simplex_triplets,
    p1_simplex_values,
    simplex_geometry,
    weighted_mass,
    weighted_stiffness,
)
from gan_pde.fem.function import FEMFunction, evaluation_matrix, locate
from gan_pde.fem.functionals import js_divergence, kl_divergence, l1_distance, mass
from gan_pde.fem.logscale import (
    log1p_of_state,
    log_scale_for,
    log_v_from_log1p,
    log_v_over_1p_v,
    state_from_log1p,
    state_to_v,
)
from gan_pde.fem.newton import CSRPattern, NewtonResult, newton, sparse_direct_solve
from gan_pde.fem.solvers import Factorization, LinearSolver, available_backends, linear_solver

__all__ = [
    "ELEMENT_NAMES",
    "CSRPattern",
    "Factorization",
    "LinearSolver",
    "NewtonResult",
    "SimplexGeometry",
    "assemble_p1_simplex",
    "available_backends",
    "is_p1_simplex",
    "is_p1_simplex_mesh",
    "log1p_of_state",
    "log_scale_for",
    "log_v_from_log1p",
    "log_v_over_1p_v",
    "p1_simplex_entries",
    "p1_simplex_triplets",
    "p1_simplex_values",
    "simplex_geometry",
    "state_from_log1p",
    "state_to_v",
    "js_divergence",
    "kl_divergence",
    "l1_distance",
    "linear_solver",
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
