"""Typed configuration files: nested dicts (TOML, JSON) into frozen dataclasses and back, and
`section.key=value` overrides. The configs themselves live in `gahr.config`.

Any frozen dataclass whose fields are numbers, strings, booleans, `Literal`s, unions, tuples,
dicts or other such dataclasses loads with `from_dict(cls, data)`; an unknown key or a value of
the wrong type raises `ConfigError` naming the key. A class may take over its own section with
`_from_dict(data, where)` / `_to_dict()`.
"""

import dataclasses
import inspect
import json
import types
import typing
from fractions import Fraction
from pathlib import Path
from typing import Literal

from .errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


# ---------------------------------------------------------------- dict <-> dataclass


def from_dict(cls, data: dict, where: str = ""):
    """Build dataclass `cls` from a nested dict, checking every key and type."""
    if hasattr(cls, "_from_dict"):
        return cls._from_dict(data, where)
    if not isinstance(data, dict):
        raise ConfigError(f"{where.rstrip('.') or 'config'} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            hint = "; a [sweep] config runs with `gahr sweep`" if key == "sweep" else ""
            raise ConfigError(f"unknown key {where}{key}; valid keys: {', '.join(names)}{hint}")
    kwargs = {k: coerce(hints[k], v, f"{where}{k}") for k, v in data.items()}
    return cls(**kwargs)


def to_dict(obj) -> dict:
    """The JSON-ready nested dict of a config dataclass (inverse of `from_dict`)."""
    if hasattr(obj, "_to_dict"):
        return obj._to_dict()
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            value = to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def coerce(tp, value, key: str):
    """Check `value` against type `tp` (converting ints and "a/b" strings to float)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        if value in args:
            return value
        raise ConfigError(f"{key}={value!r}; choose one of {', '.join(map(repr, args))}")
    if origin in (typing.Union, types.UnionType):
        for arm in args:
            try:
                return coerce(arm, value, key)
            except ConfigError:
                continue
        names = " or ".join(_type_name(a) for a in args)
        raise ConfigError(f"{key}={value!r} is not {names}")
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}={value!r} must be a list, e.g. [1, 10, 100]")
        return tuple(coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, f"{key}.")
    return _coerce_scalar(tp, value, key)


def _coerce_scalar(tp, value, key: str):
    if tp is type(None):
        if value is None or value in ("none", "None", "null"):
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and "/" in value:
            try:
                return float(Fraction(value.strip()))
            except (ValueError, ZeroDivisionError):
                pass
    elif tp in (str, dict):
        if isinstance(value, tp):
            return dict(value) if tp is dict else value
    elif tp is typing.Any or tp is inspect.Parameter.empty:
        return value
    raise ConfigError(f"{key}={value!r} must be {_type_name(tp)}")


def _type_name(tp) -> str:
    names = {type(None): "none", bool: "true/false", int: "an integer", float: "a number",
             str: "a string", dict: "a table"}
    if typing.get_origin(tp) is Literal:
        return " or ".join(map(repr, typing.get_args(tp)))
    return names.get(tp, getattr(tp, "__name__", str(tp)))


# ---------------------------------------------------------------- files and overrides


def parse_override(text: str) -> tuple[list[str], object]:
    """`"train.lr=5e-4"` -> (["train", "lr"], 0.0005); the value is a TOML literal or a string."""
    key, sep, raw = text.partition("=")
    path = [p.strip() for p in key.split(".")]
    if not sep or len(path) < 2 or not all(path):
        raise ConfigError(f"--set {text!r}: write section.key=value, e.g. --set train.lr=5e-4")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()  # bare words: discs, S1, all, 25/255, cuda:1
    return path, value


def apply_overrides(raw: dict, overrides) -> dict:
    """A copy of the nested dict `raw` with each `section.key=value` set."""
    raw = json.loads(json.dumps(raw))
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text!r}: {part} is a value, not a section")
        node[path[-1]] = value
    return raw


def read_toml(path) -> dict:
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; see configs/ for presets") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML ({e}); fix the file") from None
