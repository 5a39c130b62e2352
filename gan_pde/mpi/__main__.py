"""``python -m gan_pde.mpi`` (run under ``mpiexec``): see :mod:`gan_pde.mpi.command`."""

from __future__ import annotations

import sys

from gan_pde.mpi.command import main

if __name__ == "__main__":
    sys.exit(main())
