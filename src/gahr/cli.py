"""The `gahr` command line: parse, call one library function, print.

Each subcommand lives in a module of `gahr.commands` that defines `register(subparsers)`;
the module's parser sets `func`, called with the parsed arguments. `args.cli` is the whole
parser (`gahr reproduce --check` parses its recipes' steps with it), so no command imports
this module back.
"""

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands
from .errors import GahrError
from .io import disk_full, disk_full_error
from .locking import holding


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gahr", description="Bias-free denoisers, their implicit prior, memorization vs "
        "generalization, and geometry-adaptive harmonic bases (Kadkhodaie et al., ICLR 2024).")
    parser.add_argument("--version", action="version", version=f"gahr {__version__}")
    parser.set_defaults(cli=parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


#: Commands whose finished parts stay on disk and are skipped (or resumed) on a rerun.
RESUMING = ("demo", "dynamics", "memorization", "reproduce", "sample", "sweep", "train")


def interrupt_message(command: str, detail: str = "") -> str:
    """What a Ctrl-C (or SIGTERM) left behind and how to go on, in one line."""
    if detail:  # the training loop says where its checkpoint is
        return f"interrupted; {detail}"
    if command in RESUMING:
        return ("interrupted; finished work was kept: rerun the same command to resume (finished "
                "parts are skipped)")
    return "interrupted; no output was written (outputs are written whole at the end)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        with holding():  # the output directories' locks (gahr.locking) end with the command
            result = args.func(args)
    except GahrError as e:
        print(f"gahr {args.command}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # a full disk under any writer is one line too (gahr.io)
        if not disk_full(e):
            raise
        print(f"gahr {args.command}: error: {disk_full_error()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"gahr {args.command}: {interrupt_message(args.command, str(e))}",
              file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
