"""Argument helpers shared by subcommands."""

import argparse
import json
import sys
from fractions import Fraction


def sigma_value(text: str) -> float:
    """Parse a noise level on the [0, 1] scale: `0.1`, `25/255`."""
    try:
        return float(Fraction(text.strip())) if "/" in text else float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a noise level; write it as 0.1 or 25/255") from None


def add_sigma_args(parser: argparse.ArgumentParser, default: float | None = None,
                   required: bool = False):
    """`--sigma 25/255` or `--sigma255 25` (the seed code's 0-255 scale); read with get_sigma.
    Returns the mutually exclusive group, for a command that adds another way to give sigma."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--sigma", type=sigma_value, default=None,
                       help="noise standard deviation on the [0, 1] scale, e.g. 25/255")
    group.add_argument("--sigma255", type=float, default=None,
                       help="noise standard deviation on the 0-255 scale, e.g. 25")
    parser.set_defaults(sigma_default=default)
    return group


def get_sigma(args) -> float | None:
    if args.sigma255 is not None:
        return args.sigma255 / 255.0
    return args.sigma if args.sigma is not None else args.sigma_default


def add_overrides_arg(parser: argparse.ArgumentParser) -> None:
    """`--set section.key=value` (repeatable), collected in `args.overrides`."""
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE",
                        help="override a setting, e.g. train.lr=5e-4 (repeatable)")


def add_device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA when present), cpu, cuda, cuda:1, ...")


def resolve_device(name: str):
    from ..devices import resolve_device as resolve

    return resolve(name)


def print_json(obj) -> None:
    print(json.dumps(obj, indent=2))


def json_options(text: str | None) -> dict | None:
    """`--options '{"blur": null}'`: data options as JSON (None when not given)."""
    from ..errors import ConfigError

    if not text:
        return None
    try:
        options = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"--options is not JSON ({e}); write e.g. "
                          "'{\"blur\": [2, 2]}'") from None
    if not isinstance(options, dict):
        raise ConfigError(f"--options must be a JSON object of data options, got {text!r}")
    return options


def show_progress(args) -> bool:
    """Progress bars only for a person at a terminal: off with --quiet, and off when stderr
    (where tqdm draws) is a file or a pipe, so logs hold results, not redrawn bars."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def print_verdict_notes(results: dict) -> None:
    """To stderr: why an N of a memorization experiment got no verdict (S1 and S2 not disjoint,
    too few same-seed pairs)."""
    from ..workflows.captions import verdict_notes

    for line in verdict_notes(results.get("summary", [])):
        print(line, file=sys.stderr)
