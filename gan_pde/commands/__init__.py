"""Subcommands of ``gan-pde``: one module each, with ``add_parser`` and ``run``.

A command module defines ``NAME`` (the subcommand), ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``; :data:`COMMANDS` lists the modules in
the order ``gan-pde --help`` shows them.  Modules are imported only when their command runs
(their heavy imports stay out of ``gan-pde --help``).
"""

from __future__ import annotations

#: Module names under ``gan_pde.commands``, in help order.
COMMANDS = (
    "verify",
    "spectrum",
    "lgan",
    "jsd_flow",
    "meanfield",
    "sweep",
    "dual",
    "sde",
    "train",
    "compare",
    "config",
)
