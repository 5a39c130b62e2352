"""``gan-pde config``: list and print the bundled configurations."""

from __future__ import annotations

import argparse

from gan_pde.commands._common import add_common_options, output_folder, print_json

NAME = "config"
HELP = "bundled configurations (list, show NAME)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="print a bundled config")
    show.add_argument("name", help="config name, e.g. 'spectrum'")
    add_common_options(
        show,
        out=None,
        out_help="write NAME.toml into this folder, ready to edit, instead of printing it",
        json_help="print the config as JSON (the parsed TOML) instead of its text",
    )
    listing = actions.add_parser("list", help="list bundled configs")
    add_common_options(
        listing,
        out=None,
        out_help="write every bundled config (NAME.toml) into this folder",
        json_help="print the names as a JSON list",
    )


def run(args: argparse.Namespace) -> int:
    from gan_pde.config import bundled_config_names, bundled_config_text, tomllib

    # callers of run() may build the namespace without the common options
    args = argparse.Namespace(**{"out": None, "json": False, "quiet": False, **vars(args)})
    names = bundled_config_names() if args.action == "list" else [args.name]
    texts = {name: bundled_config_text(name) for name in names}
    if args.out is not None:
        folder = output_folder(args.out)
        for name, text in texts.items():
            (folder / f"{name}.toml").write_text(text, encoding="utf-8")
        if not args.quiet:
            print("\n".join(str(folder / f"{name}.toml") for name in texts))
        return 0
    if args.action == "list":
        if args.json:
            print_json(names)
        else:
            print("\n".join(names))
    elif args.json:
        print_json(tomllib.loads(texts[args.name]))
    else:
        print(texts[args.name], end="")
    return 0
