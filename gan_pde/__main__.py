"""``python -m gan_pde`` runs the ``gan-pde`` command line."""

from __future__ import annotations

import sys

from gan_pde.cli import main

sys.exit(main())
