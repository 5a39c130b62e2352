r"""MPI backend: the weighted-Laplacian spectrum and the JSD flow on PETSc/SLEPc.

The serial solvers' problems, distributed: the mesh is partitioned across the ranks of an
MPI communicator (:mod:`gan_pde.mpi.partition`), each rank assembles its own cells with the
serial scikit-fem forms into PETSc parallel matrices with a global dof numbering
(:mod:`gan_pde.mpi.assembly`), SLEPc computes the smallest eigenpairs (shift-invert with
MUMPS, or LOBPCG with an AMG preconditioner; :mod:`gan_pde.mpi.spectrum`) and PETSc's
SNES takes the JSD flow's implicit Newton steps (:mod:`gan_pde.mpi.jsd`).  Results are
gathered on rank 0 in the serial result types (:class:`~gan_pde.spectral.Spectrum`,
:class:`~gan_pde.flows.Trajectory`), equal to the serial ones to round-off (tested to
1e-8 relative on 1 and 2 ranks).

Needs petsc4py, slepc4py and mpi4py (the ``[mpi]`` install path of ``docs/mpi.md``:
Debian's ``python3-petsc4py python3-slepc4py python3-mpi4py`` in a venv made with
``--system-site-packages``); nothing here imports them until a solver runs, and
:func:`available` says whether they load.

From Python, under ``mpiexec -n 4 python script.py``::

    from gan_pde import mpi
    spec = mpi.weighted_laplacian_spectrum(rho, mesh, k=6)     # Spectrum on rank 0
    traj = mpi.JSDFlow(rho, start, mesh).solve(5.0, 0.05)      # Trajectory on rank 0

or from the command line: ``mpiexec -n 4 python -m gan_pde.mpi spectrum config.toml``.
"""

from __future__ import annotations

from gan_pde.mpi._petsc import availability
from gan_pde.mpi.assembly import (
    DistributedSystem,
    assemble_weighted_mpi,
    gather_matrix,
    gather_system,
)
from gan_pde.mpi.jsd import DistributedLogDiffusion, JSDFlow
from gan_pde.mpi.partition import LocalPart, distribute, partition_cells
from gan_pde.mpi.spectrum import DistributedSpectrum, weighted_laplacian_spectrum

__all__ = [
    "DistributedLogDiffusion",
    "DistributedSpectrum",
    "DistributedSystem",
    "JSDFlow",
    "LocalPart",
    "assemble_weighted_mpi",
    "available",
    "distribute",
    "gather_matrix",
    "gather_system",
    "partition_cells",
    "weighted_laplacian_spectrum",
]


def available() -> bool:
    """Whether petsc4py, slepc4py and mpi4py load in this interpreter (without raising;
    :func:`gan_pde.mpi._petsc.availability` also gives the reason).

    >>> isinstance(available(), bool)
    True
    """
    return availability()[0]
