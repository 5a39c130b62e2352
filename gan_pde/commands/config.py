"""``gan-pde config``: list and print the bundled configurations."""

from __future__ import annotations

import argparse

NAME = "config"
HELP = "bundled configurations (list, show NAME)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="print a bundled config")
    show.add_argument("name", help="config name, e.g. 'spectrum'")
    actions.add_parser("list", help="list bundled configs")


def run(args: argparse.Namespace) -> int:
    from gan_pde.config import bundled_config_names, bundled_config_text

    if args.action == "list":
        print("\n".join(bundled_config_names()))
    else:
        print(bundled_config_text(args.name), end="")
    return 0
