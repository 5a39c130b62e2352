"""Memory estimates before large solves: a clear error instead of an out-of-memory crash.

The estimates are linear in the number of degrees of freedom, with coefficients measured
as peak resident memory per dof of :func:`gan_pde.weighted_laplacian_spectrum` (assembly,
factorisation or AMG hierarchy, eigenvectors) on Gaussian weights:

=====  =======  ============  =====================
dim    element  solver        measured bytes / dof
=====  =======  ============  =====================
2      P1       shift-invert  4.0e3 (9e4 dofs), 3.1e3 (3.6e5)
2      P2       shift-invert  3.2e3 (3.6e5)
3      P1       LOBPCG + AMG  1.4e4 (3e4), 1.3e4 (1e5)
3      P2       LOBPCG + AMG  9.4e3 (7e4)
3      P1       LOBPCG + AMG  8.7e3 (1.0e5), 8.2e3 (4.4e5), 8.2e3 (1.03e6)  (gan_pde's
                              LOBPCG, Chebyshev V-cycle; /usr/bin/time, 2026-12-07)
3      P1       LOBPCG + AMG  3.6e3 (4.4e5), 3.5e3 (1.03e6), 2.3e3 (5.6e6, VmHWM)  (the
                              same, P1 on simplices, k = 4: the scikit-fem basis
                              built only on first access)
=====  =======  ============  =====================

:data:`BYTES_PER_DOF` rounds these up (sparse LU fill grows slowly with the size in 2D).
An AMG-preconditioned LOBPCG stores no factor, so its memory is linear in N with a small
fixed part: ``iterative=True`` uses :data:`ITERATIVE_BYTES` (0.3 GB + 4.0e3 bytes/dof,
above the 1.59 and 3.6 GB measured at 4.4e5 and 1.03e6 dofs without a basis), plus
:data:`BASIS_BYTES` per dof where the solve builds scikit-fem's basis (``basis=True``:
P2, or P1 on quadrilaterals and hexahedra; the two rows above differ by 4.7e3 bytes/dof
at 1.03e6 dofs), instead of the factorisation's 1.6e4 bytes/dof, which refused the
1e6-dof 3D spectrum on a machine with 12 GB free.
On a 24 GB machine this puts the largest spectrum at about 4.8e6 dofs in 1D/2D, 1.5e6
in 3D with a factorisation and 5e6 with LOBPCG (less what the system itself uses); a
request beyond the memory available now raises
:class:`~gan_pde.errors.InsufficientMemoryError` before any allocation.
"""

from __future__ import annotations

import os
from pathlib import Path

from gan_pde.errors import InsufficientMemoryError

__all__ = [
    "BASIS_BYTES",
    "BYTES_PER_DOF",
    "ITERATIVE_BYTES",
    "available_memory",
    "estimate_dofs",
    "require_memory",
    "require_solve_memory",
    "solve_memory",
]

#: Peak bytes per degree of freedom of a spectrum or JSD-flow solve, by dimension.
BYTES_PER_DOF = {1: 5.0e3, 2: 5.0e3, 3: 1.6e4}
#: Fixed bytes and bytes per dof of an AMG-preconditioned LOBPCG spectrum (no factor,
#: no scikit-fem basis).
ITERATIVE_BYTES = (3.0e8, 4.0e3)
#: Bytes per dof of scikit-fem's basis where an iterative solve builds it (3D P1: 4.7e3
#: measured; the fixed part and ITERATIVE_BYTES' margin cover the difference).
BASIS_BYTES = 4.5e3

_MEMINFO = Path("/proc/meminfo")
_CGROUP = Path("/sys/fs/cgroup")


def _cgroup_room() -> float | None:
    """Bytes left under a cgroup-v2 memory limit, or None without one."""
    try:
        limit = (_CGROUP / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return float(limit) - float((_CGROUP / "memory.current").read_text())
    except (OSError, ValueError):
        return None


def available_memory() -> float:
    """Bytes of memory available to this process now (MemAvailable, cgroup limit).

    Falls back to the physical memory size where ``/proc/meminfo`` is missing.
    """
    room = None
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                room = float(line.split()[1]) * 1024.0
                break
    except OSError:
        pass
    if room is None:
        room = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    cgroup = _cgroup_room()
    return room if cgroup is None else min(room, cgroup)


def estimate_dofs(n_vertices: int, n_cells: int, dim: int, element: str) -> int:
    """Degrees of freedom of a P1/P2 space from the mesh sizes (P2 adds edge midpoints:
    about 3× the vertices in 2D and 7× in 3D, one per cell in 1D)."""
    order = 2 if str(element)[1:2] == "2" else 1
    if order == 1:
        return int(n_vertices)
    extra = {1: n_cells, 2: 3 * n_vertices, 3: 7 * n_vertices}[dim]
    return int(n_vertices + extra)


def solve_memory(n_dofs: int, dim: int, *, iterative: bool = False, basis: bool = True) -> float:
    """Estimated peak bytes of a spectrum or implicit JSD-flow solve with ``n_dofs``
    (``iterative``: an AMG-preconditioned eigen-solver, which keeps no factor; ``basis``:
    whether it builds scikit-fem's basis, counted for iterative solves only, the
    factorisation's estimate includes it)."""
    if iterative:
        fixed, per_dof = ITERATIVE_BYTES
        return fixed + (per_dof + (BASIS_BYTES if basis else 0.0)) * float(n_dofs)
    return BYTES_PER_DOF[dim] * float(n_dofs)


def require_memory(nbytes: float, what: str) -> None:
    """Raise InsufficientMemoryError if ``nbytes`` exceeds the memory available now.

    Examples
    --------
    >>> require_memory(1e3, "a tiny solve")           # passes silently
    >>> require_memory(1e18, "an exabyte solve")     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gan_pde.errors.InsufficientMemoryError: an exabyte solve needs about 1e+09 GB ...
    """
    room = available_memory()
    if nbytes > room:
        msg = (
            f"{what} needs about {nbytes / 1e9:.3g} GB but only {room / 1e9:.3g} GB of memory "
            "is available; use a coarser mesh, P1 instead of P2, or a machine with more "
            "memory (estimates: gan_pde.resources)"
        )
        raise InsufficientMemoryError(msg)


def require_solve_memory(
    mesh: object,
    element: str,
    what: str,
    *,
    iterative: bool | None = None,
    basis: bool = True,
) -> None:
    """:func:`require_memory` for a spectrum or JSD-flow solve on ``mesh`` (anything that
    is not a scikit-fem mesh is left to the solver's own input checks).  ``iterative``
    may also be a callable of the estimated dof count (whether the solve at that size
    keeps no factor, see :func:`solve_memory`); ``basis`` whether it builds scikit-fem's
    basis."""
    try:
        dim = int(mesh.dim())
        n_dofs = estimate_dofs(int(mesh.nvertices), int(mesh.nelements), dim, element)
    except (AttributeError, TypeError, ValueError, KeyError):
        return
    if callable(iterative):
        iterative = bool(iterative(n_dofs))
    if dim in BYTES_PER_DOF:
        need = solve_memory(n_dofs, dim, iterative=bool(iterative), basis=basis)
        require_memory(need, f"{what} with ~{n_dofs} {element} dofs")
