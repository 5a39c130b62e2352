"""The DOLFINx + PETSc/SLEPc baseline of docs/performance.md (issue 18), in its own venv.

The peer a finite-element user would reach for.  It runs in a separate Python 3.12
environment with the ``dolfinx-solver-real`` wheel (DOLFINx 0.11 with PETSc, SLEPc, MUMPS
and MPICH bundled), because that wheel pins its own numpy and MPI::

    /root/.pyenv/versions/3.12.1/bin/python -m venv /work/dolfinx-venv
    /work/dolfinx-venv/bin/pip install dolfinx-solver-real
    export LD_LIBRARY_PATH=/work/dolfinx-venv/lib/python3.12/site-packages/dolfinx_solver/lib
    export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/work/dolfinx-venv/lib    # MPICH's libmpi.so.12
    /work/dolfinx-venv/bin/python benchmarks/dolfinx_baseline.py spectrum --cells 999

``benchmarks/performance.py --measure`` calls it (path from ``GAN_PDE_DOLFINX_PYTHON``,
default ``/work/dolfinx-venv/bin/python``) and stores its JSON line beside gan_pde's
numbers from the same run.  Two problems, the same as gan_pde's side:

* ``spectrum``: the 4 smallest eigenpairs of the weighted Laplacian
  :math:`\\int\\rho\\nabla u\\cdot\\nabla v = \\xi\\int\\rho uv` (natural boundary
  conditions) on ``cells``² right-diagonal P1 triangles of [-8, 8]², ρ the three-Gaussian
  mixture :data:`MIXTURE`; SLEPc Krylov–Schur, shift-and-invert at the same small negative
  shift as gan_pde, MUMPS Cholesky, tolerance 1e-8; the relative eigen-residual
  :math:`\\|Kx - \\xi Mx\\|_{M^{-1}}/\\xi` (x M-normalised, the norm with diag M) is
  reported as for gan_pde.
* ``jsd``: backward-Euler steps of the JSD flow in :math:`s = \\ln(1+v)`:
  :math:`\\int (e^{s} - (1+f))\\phi\\,d\\mu_d + \\tfrac{\\tau}{2}\\int\\nabla s\\cdot\\nabla
  \\phi\\,d\\mu_d = 0` with the lumped mass (vertex quadrature, as gan_pde's P1 default),
  PETSc SNES Newton with a line search and either CG + GAMG or MUMPS, ρ_d and ρ_0 those of
  ``benchmarks/bench_jsd_flow.py``'s 2D problem.

Wall times: set-up (mesh, space, forms), assembly, solve; one MPI rank unless run under
``mpiexec``.  Output: one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

#: (weight, mean, std) of the weight of the spectrum problem; gan_pde's side uses the same.
MIXTURE = [(0.4, (-1.5, 0.0), 1.0), (0.3, (1.5, 0.5), 0.8), (0.3, (0.0, -2.0), 0.9)]
#: The JSD problem of bench_jsd_flow.py in 2D: target (weight, mean, std) and the start.
TARGET = [(0.6, (-1.5, 0.0), 1.0), (0.4, (1.5, 0.5), 0.8)]
START_MEAN = (0.5, -0.5)
START_COV = ((0.7, 0.2), (0.2, 0.9))
DOMAIN = (-8.0, 8.0)


def _mixture(ufl, x, parts):
    total = 0
    for weight, mean, std in parts:
        r2 = (x[0] - mean[0]) ** 2 + (x[1] - mean[1]) ** 2
        total = total + weight / (2 * math.pi * std**2) * ufl.exp(-r2 / (2 * std**2))
    return total


def _mesh(cells: int):
    from dolfinx import mesh
    from mpi4py import MPI

    a, b = DOMAIN
    return mesh.create_rectangle(
        MPI.COMM_WORLD,
        [[a, a], [b, b]],
        [cells, cells],
        mesh.CellType.triangle,
        diagonal=mesh.DiagonalType.right,
    )


def spectrum(cells: int, nev: int, tol: float) -> dict:
    import dolfinx.fem.petsc
    import dolfinx_solver  # noqa: F401 - orders MPI ahead of the bindings
    import numpy as np
    import ufl
    from dolfinx import fem
    from slepc4py import SLEPc

    t0 = time.perf_counter()
    msh = _mesh(cells)
    space = fem.functionspace(msh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(space), ufl.TestFunction(space)
    rho = _mixture(ufl, ufl.SpatialCoordinate(msh), MIXTURE)
    a_form = fem.form(rho * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    m_form = fem.form(rho * u * v * ufl.dx)
    t1 = time.perf_counter()
    stiffness = dolfinx.fem.petsc.assemble_matrix(a_form)
    stiffness.assemble()
    mass = dolfinx.fem.petsc.assemble_matrix(m_form)
    mass.assemble()
    t2 = time.perf_counter()
    ratio = stiffness.getDiagonal().getArray() / mass.getDiagonal().getArray()
    sigma = 1e-6 * float(np.mean(ratio))  # gan_pde's shift (weighted_laplacian._shift)
    eps = SLEPc.EPS().create(msh.comm)
    eps.setOperators(stiffness, mass)
    eps.setProblemType(SLEPc.EPS.ProblemType.GHEP)
    eps.setType(SLEPc.EPS.Type.KRYLOVSCHUR)
    eps.setDimensions(nev=nev)
    eps.setTolerances(tol, 1000)
    eps.setWhichEigenpairs(SLEPc.EPS.Which.TARGET_MAGNITUDE)
    eps.setTarget(-sigma)
    st = eps.getST()
    st.setType(SLEPc.ST.Type.SINVERT)
    ksp = st.getKSP()
    ksp.setType("preonly")
    pc = ksp.getPC()
    pc.setType("cholesky")
    pc.setFactorSolverType("mumps")
    eps.setFromOptions()
    eps.solve()
    t3 = time.perf_counter()
    converged = eps.getConverged()
    values, norms = [], []
    vector = stiffness.createVecRight()
    k_x, m_x = stiffness.createVecRight(), stiffness.createVecRight()
    diag_m = mass.getDiagonal().getArray()
    for i in range(min(converged, nev)):
        value = eps.getEigenpair(i, vector).real
        mass.mult(vector, m_x)
        vector.scale(1.0 / math.sqrt(vector.dot(m_x)))
        stiffness.mult(vector, k_x)
        mass.mult(vector, m_x)
        r = k_x.getArray() - value * m_x.getArray()
        values.append(value)
        norms.append(float(np.sqrt(np.sum(r**2 / diag_m))))
    # relative to ξ for the non-zero eigenvalues (ξ_0 = 0 has no relative residual)
    top = max(values, default=0.0)
    residuals = [n / x for n, x in zip(norms, values, strict=True) if x > 1e-8 * top]
    return {
        "problem": "spectrum",
        "dofs": int(space.dofmap.index_map.size_global),
        "cells_per_side": cells,
        "nev": nev,
        "tol": tol,
        "setup_s": t1 - t0,
        "assembly_s": t2 - t1,
        "solve_s": t3 - t2,
        "total_s": t3 - t0,
        "eigenvalues": sorted(values),
        "relative_residual": max(residuals) if residuals else None,
        "converged": int(converged),
    }


def jsd(cells: int, steps: int, dt: float, linear: str) -> dict:
    import dolfinx.fem.petsc
    import dolfinx_solver  # noqa: F401 - orders MPI ahead of the bindings
    import numpy as np
    import ufl
    from dolfinx import fem
    from petsc4py import PETSc

    t0 = time.perf_counter()
    msh = _mesh(cells)
    space = fem.functionspace(msh, ("Lagrange", 1))
    x = ufl.SpatialCoordinate(msh)
    rho = _mixture(ufl, x, TARGET)
    s = fem.Function(space)
    f = fem.Function(space)
    phi = ufl.TestFunction(space)
    lumped = ufl.dx(metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    tau = fem.Constant(msh, PETSc.ScalarType(dt))
    residual = (ufl.exp(s) - (1 + f)) * phi * rho * lumped + 0.5 * tau * rho * ufl.inner(
        ufl.grad(s), ufl.grad(phi)
    ) * ufl.dx
    # v0 = ρ_0/ρ_d at the dofs (as gan_pde's JSDFlow, up to the normalisation on the mesh)
    points = space.tabulate_dof_coordinates()[:, :2]
    cov = np.array(START_COV)
    inverse = np.linalg.inv(cov)
    d = points - np.array(START_MEAN)
    start = np.exp(-0.5 * np.einsum("ij,jk,ik->i", d, inverse, d)) / (
        2 * math.pi * math.sqrt(np.linalg.det(cov))
    )
    target = sum(
        w / (2 * math.pi * sd**2) * np.exp(-np.sum((points - m) ** 2, axis=1) / (2 * sd**2))
        for w, m, sd in TARGET
    )
    f.x.array[:] = start / target
    s.x.array[:] = np.log1p(f.x.array)
    options = {
        "snes_type": "newtonls",
        "snes_linesearch_type": "bt",
        "snes_rtol": 1e-10,
        "snes_atol": 1e-12,
    }
    if linear == "mumps":
        options.update({"ksp_type": "preonly", "pc_type": "cholesky",
                        "pc_factor_mat_solver_type": "mumps"})  # fmt: skip
    else:
        # symmetric diagonal scaling first: the Jacobian's diagonal spans the range of ρ_d
        # (1e-30 in the corners), on which GAMG's Chebyshev smoothers are indefinite
        options.update({"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-10,
                        "ksp_diagonal_scale": None, "ksp_diagonal_scale_fix": None})  # fmt: skip
    problem = dolfinx.fem.petsc.NonlinearProblem(
        residual, s, petsc_options_prefix="jsd_", petsc_options=options
    )
    t1 = time.perf_counter()
    step_times, iterations = [], []
    for _ in range(steps):
        start_step = time.perf_counter()
        problem.solve()
        snes = problem.solver
        iterations.append(int(snes.getIterationNumber()))
        f.x.array[:] = np.expm1(s.x.array)  # lumped: v⁺ = e^{s} − 1 at the dofs
        step_times.append(time.perf_counter() - start_step)
    return {
        "problem": "jsd",
        "linear": linear,
        "dofs": int(space.dofmap.index_map.size_global),
        "cells_per_side": cells,
        "dt": dt,
        "steps": steps,
        "setup_s": t1 - t0,
        "step_s": step_times,
        "median_step_s": float(np.median(step_times)),
        "newton_iterations": iterations,
        "converged_reason": int(problem.solver.getConvergedReason()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", choices=("spectrum", "jsd"))
    parser.add_argument("--cells", type=int, default=999)
    parser.add_argument("--nev", type=int, default=4)
    parser.add_argument("--tol", type=float, default=1e-8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--dt", type=float, default=0.01)
    parser.add_argument("--linear", choices=("gamg", "mumps"), default="gamg")
    args = parser.parse_args()
    if args.problem == "spectrum":
        result = spectrum(args.cells, args.nev, args.tol)
    else:
        result = jsd(args.cells, args.steps, args.dt, args.linear)
    result["omp_threads"] = os.environ.get("OMP_NUM_THREADS")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
