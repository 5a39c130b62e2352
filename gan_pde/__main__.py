"""``python -m gan_pde`` runs the ``gan-pde`` command line."""

from __future__ import annotations

import sys

from gan_pde.cli import main

if __name__ == "__main__":
    sys.exit(main())
