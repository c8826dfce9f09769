"""Loaders by spec prefix: the one way from a name on the command line to a denoiser.

`load_denoiser(spec)` reads the prefix before the first ':' and hands the rest to the loader
registered for it in `LOADERS`; a spec without a registered prefix is a path (a run dir or a
`.safetensors` file). Shipped loaders:

- a path: a gahr run dir or `model.safetensors` (any registered architecture);
- `pretrained:NAME`: a model shipped with the package (`pretrained_names()`);
- `python:MODULE:FUNCTION` (or `python:FILE.py:FUNCTION`): a factory of the user's that returns
  a denoiser (called with `device=` when it takes it);
- `diffusers:DIR` once `gahr.adapters` is imported (as the CLI and `gahr` do): a diffusers
  pipeline or UNet directory.

A third party adds a model family with `register_loader("name", fn)`, `fn(rest, device)`
returning a denoiser (see docs/architecture.md, "How to add a model family").
"""

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from ..errors import CheckpointError, ConfigError
from .contract import as_denoiser

Loader = Callable[[str, torch.device | str], object]
LOADERS: dict[str, Loader] = {}
_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9_-]+):(.*)$", re.S)


def register_loader(prefix: str, loader: Loader | None = None, *, path: bool = False):
    """Register `loader(rest, device) -> denoiser` for specs `prefix:rest` (also as a
    decorator). A prefix registered again is replaced. `path=True`: `rest` is a path on disk
    (`resolve_model_path` gives it), whose config.json, when it is gahr's, names the model's
    training data as a run dir's does (for `compare`, fresh test images, memorization)."""
    from .registry import PATH_PREFIXES

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]+", prefix):
        raise ConfigError(f"loader prefix {prefix!r}: use letters, digits, '_' or '-' (two or "
                          "more, starting with a letter)")

    def add(fn: Loader) -> Loader:
        LOADERS[prefix] = fn
        (PATH_PREFIXES.add if path else PATH_PREFIXES.discard)(prefix)
        return fn

    return add if loader is None else add(loader)


def split_spec(spec) -> tuple[str | None, str]:
    """(prefix, rest) of a spec with a registered prefix, else (None, the spec as a path)."""
    text = str(spec)
    m = _PREFIX.match(text)
    if m and m.group(1) in LOADERS:
        return m.group(1), m.group(2)
    if m and not Path(text).exists():
        raise CheckpointError(f"unknown model spec prefix {m.group(1)!r} in {text!r}; known: "
                              f"{', '.join(sorted(LOADERS))} (or a run dir / .safetensors path)")
    return None, text


def load_denoiser(spec, device: str | torch.device = "cpu"):
    """The denoiser named by `spec` (see the module docstring), checked against the contract."""
    from .registry import load_path_denoiser  # registry imports this module

    prefix, rest = split_spec(spec)
    den = load_path_denoiser(rest, device) if prefix is None else LOADERS[prefix](rest, device)
    return as_denoiser(den)


@register_loader("pretrained")
def _pretrained(name: str, device):
    from .registry import load_path_denoiser, resolve_model_path

    return load_path_denoiser(resolve_model_path(f"pretrained:{name}"), device)


@register_loader("python")
def load_factory(target: str, device):
    """`MODULE:FUNCTION` or `FILE.py:FUNCTION`: import the module and call the factory."""
    where, _, name = target.rpartition(":")
    if not where or not name:
        raise ConfigError(f"python:{target}: give python:MODULE:FUNCTION or "
                          "python:FILE.py:FUNCTION")
    module = _import(where)
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ConfigError(f"python:{target}: {where} has no function {name!r}")
    takes_device = "device" in inspect.signature(factory).parameters
    return factory(device=device) if takes_device else factory()


def _import(where: str):
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise CheckpointError(f"python:{where}: no such file")
        spec = importlib.util.spec_from_file_location(f"gahr_user_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(where)
    except ImportError as e:
        raise CheckpointError(f"python:{where}: cannot import it ({e}); is it on PYTHONPATH?") \
            from None
