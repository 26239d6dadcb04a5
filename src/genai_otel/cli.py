"""The ``genai-otel`` command. Each subcommand lives in the module that owns its concern.

A module listed in ``_SUBCOMMANDS`` exposes ``register(subparsers)``, which adds its parser and sets
``func`` (``Namespace -> int``, the exit status) as the parser's default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

_SUBCOMMANDS: tuple[str, ...] = ("genai_otel.content_store._cli", "genai_otel.evaluation._cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genai-otel", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _SUBCOMMANDS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if getattr(arguments, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return int(arguments.func(arguments))


if __name__ == "__main__":
    sys.exit(main())
