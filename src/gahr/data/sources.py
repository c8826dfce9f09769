"""Data sources by name: the registry behind `[data] source = "NAME"` and `gahr data make`.

A named source is a function that makes or reads images (float32 (N, C, H, W) in [0, 1]):

- generated (`generated=True`, a synthetic class): `fn(n, size=..., seed=..., **options)`;
  it may return `(images, params)`, latent parameters that `gahr data make` saves beside the
  images (`param_columns` names their columns). Fresh test images of a generated class are
  drawn again from a seed training never used;
- read (a fixed set): `fn(**options)`; `open_dataset` keeps the first n and resizes.

The options a source takes (`data.options` in a run config) are the function's parameters but
n, size, seed, progress and folder, checked against its signature. `register_source(name, fn)`
adds one from outside gahr; an unknown name is refused with the list of known ones. Paths (an
.npy file, an image folder) are not named sources: `source_kind` tells them apart.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..errors import ConfigError, ShapeError
from .idx import fashion_mnist
from .synthetic import DISC_PARAMS, calpha, discs

#: Kinds of source that are paths, never names.
PATH_KINDS = ("npy", "folder")


@dataclass(frozen=True)
class Source:
    """A registered source: its function, whether it generates (takes n and seed), and the
    columns of the latent parameters it returns with the images (if any)."""

    fn: Callable
    generated: bool = False
    param_columns: tuple[str, ...] = ()


SOURCES: dict[str, Source] = {}


def register_source(name: str, fn: Callable, *, generated: bool = False,
                    param_columns=()) -> None:
    """Name a data source (see the module docstring). A name registered again is replaced."""
    if not isinstance(name, str) or not name or name in PATH_KINDS or "/" in name \
            or name.endswith(".npy") or not callable(fn):
        raise ConfigError(f"source name {name!r}: give a callable and a plain name (not a path, "
                          f"not {' or '.join(PATH_KINDS)})")
    SOURCES[name] = Source(fn, bool(generated), tuple(param_columns))


def source(name: str) -> Source:
    """The source registered as `name`; ConfigError listing the known ones."""
    if name not in SOURCES:
        raise ConfigError(f"unknown data source {name!r}; known: {', '.join(SOURCES)} (or a .npy "
                          "file, an image folder, or a name added with register_source)")
    return SOURCES[name]


def is_generated(name: str) -> bool:
    """Whether `name` is a registered generated (synthetic) source."""
    return name in SOURCES and SOURCES[name].generated


def generate(name: str, n: int, size: int | None, seed, options: dict):
    """(images, params or None) of the generated source `name`."""
    src = source(name)
    if not src.generated:
        raise ConfigError(f"{name} is read, not generated; generated sources: "
                          f"{', '.join(k for k, s in SOURCES.items() if s.generated)}")
    if n is None:
        raise ConfigError(f"{name} is generated: give n, the number of images to make "
                          "(data.num_images in a run config)")
    out = src.fn(n, **({} if size is None else {"size": size}), seed=seed, **options)
    images, params = out if isinstance(out, tuple) else (out, None)
    return check_images(images, name), params


def check_images(images, name: str) -> torch.Tensor:
    """The images a source gave, checked to be a float (N, C, H, W) tensor."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ShapeError(f"data source {name!r} gave {got}; a source returns images "
                         "(N, C, H, W) in [0, 1]")
    return images.to(torch.float32)


register_source("calpha", calpha, generated=True)
register_source("discs", discs, generated=True, param_columns=DISC_PARAMS)
register_source("fashion-mnist", fashion_mnist)
