"""Import petsc4py, slepc4py and mpi4py, with Debian's layout found without PETSC_DIR.

Debian's ``python3-petsc4py`` installs petsc4py under
``/usr/lib/petscdir/petsc3.X/<arch>-real/lib/python3/dist-packages`` and a ``.pth`` file
that adds ``$PETSC_DIR/lib/python3/dist-packages`` (default ``/usr/lib/petsc``, a link that
only the ``-dev`` packages create).  Without the ``-dev`` packages and without PETSC_DIR the
modules are therefore not importable; :func:`load` looks for the real build in the Debian
folders and adds it, after checking that this interpreter's numpy is the one petsc4py was
built against (numpy 1.x for Debian 12's petsc4py 3.18: a numpy 2 interpreter cannot load
it).  Nothing here is imported before a parallel solver is asked for.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import sys
from types import SimpleNamespace

from gan_pde.errors import MissingDependencyError

__all__ = ["availability", "load"]

#: Where Debian puts the real-number PETSc and SLEPc builds.
_DEBIAN_PETSC = "/usr/lib/petscdir/petsc*/*-real"
_DEBIAN_SLEPC = "/usr/lib/slepcdir/slepc*/*-real"
_SITE = "lib/python3/dist-packages"

_INSTALL = (
    "install the [mpi] path of docs/mpi.md: on Debian 12, `apt-get install python3-petsc4py "
    "python3-slepc4py python3-mpi4py`, then a venv made with `/usr/bin/python3 -m venv "
    "--system-site-packages .venv-mpi` (pip must keep Debian's numpy: `.ci/run_mpi` shows how)"
)

_LOADED: SimpleNamespace | None = None


def _debian_dir(pattern: str) -> str | None:
    """The newest Debian build folder matching ``pattern`` that holds Python modules."""
    found = sorted(d for d in glob.glob(pattern) if os.path.isdir(os.path.join(d, _SITE)))
    return found[-1] if found else None


def _add_debian_paths() -> None:
    """Set PETSC_DIR/SLEPC_DIR to Debian's builds (when unset) and add their modules."""
    for variable, pattern in (("PETSC_DIR", _DEBIAN_PETSC), ("SLEPC_DIR", _DEBIAN_SLEPC)):
        folder = os.environ.get(variable) or _debian_dir(pattern)
        if folder is None:
            continue
        os.environ.setdefault(variable, folder)
        site = os.path.join(folder, _SITE)
        if os.path.isdir(site) and site not in sys.path:
            sys.path.append(site)


def _check_numpy(module_name: str) -> None:
    """MissingDependencyError when a Debian build meets a numpy it was not built for."""
    import numpy as np

    spec = importlib.util.find_spec(module_name)
    origin = "" if spec is None or spec.origin is None else spec.origin
    if origin.startswith("/usr/lib/") and int(np.__version__.split(".")[0]) >= 2:
        msg = (
            f"{module_name} at {origin} is Debian's build for the system numpy 1.x, but this "
            f"interpreter ({sys.executable}) has numpy {np.__version__}; run the parallel "
            f"solvers with the system Python 3: {_INSTALL}"
        )
        raise MissingDependencyError(msg)


def load() -> SimpleNamespace:
    """``SimpleNamespace(PETSc=..., SLEPc=..., MPI=...)``, initialised once.

    Raises
    ------
    MissingDependencyError
        If petsc4py, slepc4py or mpi4py cannot be imported by this interpreter (the
        message says how to install them).
    """
    global _LOADED
    if _LOADED is not None:
        return _LOADED
    if importlib.util.find_spec("petsc4py") is None or importlib.util.find_spec("slepc4py") is None:
        _add_debian_paths()
    for name in ("petsc4py", "slepc4py", "mpi4py"):
        if importlib.util.find_spec(name) is None:
            msg = f"the MPI backend needs {name}, which this interpreter cannot import: {_INSTALL}"
            raise MissingDependencyError(msg)
        _check_numpy(name)
    try:
        import petsc4py

        petsc4py.init(sys.argv[:1])
        import slepc4py

        slepc4py.init(sys.argv[:1])
        from mpi4py import MPI
        from petsc4py import PETSc
        from slepc4py import SLEPc
    except ImportError as err:
        msg = f"the MPI backend could not import PETSc/SLEPc ({err}): {_INSTALL}"
        raise MissingDependencyError(msg) from err
    _LOADED = SimpleNamespace(PETSc=PETSc, SLEPc=SLEPc, MPI=MPI)
    return _LOADED


def availability() -> tuple[bool, str]:
    """``(True, versions)`` when :func:`load` works, else ``(False, the reason)``."""
    try:
        lib = load()
    except MissingDependencyError as err:
        return False, str(err)
    import mpi4py
    import petsc4py
    import slepc4py

    versions = (
        f"petsc4py {petsc4py.__version__}, slepc4py {slepc4py.__version__}, mpi4py "
        f"{mpi4py.__version__}, PETSc {'.'.join(map(str, lib.PETSc.Sys.getVersion()))}, "
        f"MUMPS {'yes' if lib.PETSc.Sys.hasExternalPackage('mumps') else 'no'}, hypre "
        f"{'yes' if lib.PETSc.Sys.hasExternalPackage('hypre') else 'no'}"
    )
    return True, versions
