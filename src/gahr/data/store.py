"""Image sets on disk (.npy) and `open_dataset`, the one entry point the training configs use.

On disk an image set is a plain `.npy` array (N, C, H, W) (or (N, H, W), one channel):

- uint8, value / 255 on loading: lossless for 8-bit sources (photos, Fashion-MNIST), 4x
  smaller; what `gahr data prepare` writes;
- float32 in [0, 1]: what `gahr data make` writes by default, because rounding synthetic images
  to 8 bits adds noise of standard deviation 1/(255 sqrt 12) ~ 0.0011, visible to a denoiser at
  small sigma. float32 files are memory-mapped (copy-on-write), never read whole into memory.

A JSON sidecar FILE.json records how a file was made. Files are written atomically.
"""

import inspect
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError, ShapeError
from ..io import atomic_path, check_out_file, save_json
from ._util import check_channels_first, check_count, check_options, merge_options
from .sources import PATH_KINDS, SOURCES, generate, is_generated, source

#: The named sources (a live view of the registry in `data/sources.py`: `register_source`).
NAMED_SOURCES = SOURCES
#: Arguments of the readers and generators that `open_dataset` sets itself: the rest of each
#: one's parameters are the source's options.
_SET_HERE = {"n", "size", "seed", "progress", "folder"}
_CHUNK = 4096  # images per chunk when converting or checking a file


def save_images(images: torch.Tensor, path, dtype: str = "float32") -> Path:
    """Write images (N, C, H, W) in [0, 1] to a .npy file as float32 or uint8 (round(255 x))."""
    path = Path(path)
    if path.suffix != ".npy":
        raise ConfigError(f"image files end in .npy, got {path.name}; rename the output")
    if dtype not in ("float32", "uint8"):
        raise ConfigError(f"dtype must be float32 or uint8, got {dtype!r}")
    if images.ndim != 4:
        raise ShapeError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    array = images.detach().cpu().to(torch.float32)
    if dtype == "uint8":
        array = array.clamp(0, 1).mul(255).round_().to(torch.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array.numpy(), allow_pickle=False)
    return path


def _check_range(array: np.ndarray, path: Path) -> None:
    """DataError naming the first image with a NaN/inf value, or with values outside [0, 1]."""
    for start in range(0, len(array), _CHUNK):
        part = np.asarray(array[start:start + _CHUNK])
        finite = np.isfinite(part.reshape(len(part), -1)).all(axis=1)
        if not finite.all():
            first = start + int(np.flatnonzero(~finite)[0])
            raise DataError(f"{path} holds NaN or infinite values (the first in image "
                            f"{first}); remove or repair those images and save the file again")
        if part.min(initial=0) < 0 or part.max(initial=0) > 1:
            raise DataError(f"{path} holds values in [{part.min():.3g}, {part.max():.3g}] (images "
                            f"from {start}), outside [0, 1]; rescale the images to [0, 1] "
                            "before saving")


def _map(path: Path) -> np.ndarray:
    """The .npy array at `path`, memory-mapped copy-on-write; DataError when unreadable."""
    if not path.is_file():
        raise DataError(f"image file {path} does not exist; make it with gahr data make/prepare")
    try:
        return np.load(path, mmap_mode="c", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"cannot read {path} as a .npy array ({e}); it may be truncated or not "
                        "made by gahr, remake it") from None


def image_count(path) -> int:
    """The number of images in an .npy image file, without reading them."""
    return len(_map(Path(path)))


def load_images(path, n: int | None = None) -> torch.Tensor:
    """Images float32 (N, C, H, W) in [0, 1] from a .npy file (the first n when given).

    float32 files come back memory-mapped (copy-on-write: writing to the tensor never touches the
    file); uint8 files are converted to value / 255 in memory.
    """
    path = Path(path)
    array = _map(path)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4:
        raise ShapeError(f"{path} holds an array of shape {array.shape}; expected (N, C, H, W)")
    check_channels_first(array.shape, str(path))
    if n is not None:
        if check_count("n", n) > len(array):
            raise DataError(f"asked for n={n} images but {path} holds {len(array)}")
        array = array[:n]
    if array.dtype == np.uint8:
        out = torch.empty(array.shape, dtype=torch.float32)
        for start in range(0, len(array), _CHUNK):
            chunk = torch.from_numpy(np.ascontiguousarray(array[start:start + _CHUNK]))
            out[start:start + _CHUNK] = chunk.to(torch.float32).div_(255)
        return out
    if array.dtype == np.float32:
        _check_range(array, path)
        return torch.from_numpy(array)
    if array.dtype == np.float64:
        _check_range(array, path)
        return torch.from_numpy(np.asarray(array, dtype=np.float32))
    raise DataError(f"{path} has dtype {array.dtype}; store images as uint8 or float32")


def load_image(path, channels: int = 1, index: int = 0) -> torch.Tensor:
    """One clean image (1, C, H, W) float32 in [0, 1]: a PNG/JPEG/... file (read as gray when
    `channels` is 1, else as RGB), or image `index` of an .npy image set. DataError when it
    cannot be read, `index` is out of range or the image has other than `channels` channels."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        images = load_images(path)
        if not 0 <= index < len(images):
            raise DataError(f"--index {index} is out of range: {path} holds {len(images)} images")
        x = images[index:index + 1].clone().float()
    else:
        from .folders import read_image

        try:
            pixels = read_image(path, gray=channels == 1)
        except ValueError as e:
            raise DataError(f"{path}: {e}; pass a PNG/JPEG image or an .npy image set") from None
        x = torch.from_numpy(pixels.astype(np.float32) / 255)[None]
    if x.shape[1] != channels:
        raise DataError(f"{path} gives {x.shape[1]}-channel images but the denoiser takes "
                        f"{channels}; convert the image (gray or RGB) first")
    return x


def resize_images(images: torch.Tensor, size) -> torch.Tensor:
    """Resize (N, C, H, W) images to size x size (or (h, w)).

    Shrinking averages areas (for an integer factor f, exactly the means of f x f blocks, as
    the folder preparation does); enlarging interpolates bilinearly.
    """
    target = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(images.shape[-2:]) == target:
        return images
    shrink = all(t <= s for t, s in zip(target, images.shape[-2:]))
    options = dict(mode="area") if shrink else dict(mode="bilinear", align_corners=False)
    out = torch.empty((*images.shape[:2], *target), dtype=torch.float32)
    for start in range(0, len(images), _CHUNK):
        part = images[start:start + _CHUNK].to(torch.float32)
        out[start:start + _CHUNK] = F.interpolate(part, size=target, **options)
    return out.clamp_(0, 1)


def _reader(kind: str):
    """The function that makes or reads a source of this kind (None for an .npy file)."""
    from .folders import load_image_folder

    return {"folder": load_image_folder, "npy": None}[kind] if kind in PATH_KINDS \
        else source(kind).fn


def source_options(source) -> dict[str, inspect.Parameter] | None:
    """The options a source takes (`data.options` of a run config), by name: the parameters of
    its generator or reader. None when `source` names no source yet (a folder not made)."""
    try:
        reader = _reader(source_kind(source))
    except ConfigError:
        return None
    if reader is None:
        return {}
    return {name: p for name, p in inspect.signature(reader).parameters.items()
            if name not in _SET_HERE}


def source_kind(source) -> str:
    """The kind of a data source: a registered name (calpha, discs, fashion-mnist, ...), npy or
    folder (ConfigError for anything else)."""
    name = str(source)
    if name in SOURCES:
        return name
    path = Path(name)
    if path.suffix == ".npy":
        return "npy"
    if path.is_dir():
        return "folder"
    raise ConfigError(f"unknown data source {name!r}; use one of {', '.join(SOURCES)}, "
                      "a .npy file made by gahr data make/prepare, or an image folder")


def open_dataset(source: str, *, n: int | None = None, size: int | None = None, seed=0,
                 **options) -> torch.Tensor:
    """Images float32 (N, C, H, W) in [0, 1] from a named source, a .npy file or a folder.

    `source`: a registered name (`data/sources.py`): generated ones ("calpha", "discs": n
    required, `seed` used, options of `gahr.data.synthetic`) and read ones ("fashion-mnist":
    options split, pad, root), or a .npy file, or an image folder (options crop, gray, preset).
    For read data `n` keeps the first n images and a `size` different from the stored one
    resizes (`resize_images`). Options may also come as one
    dict in the shape of a config's `data.options`: `open_dataset(DIR, options={"gray": True})`.
    """
    options = merge_options(options)
    kind = source_kind(source)
    check_options(kind if kind in PATH_KINDS else source, options, source_options(source))
    if is_generated(kind):
        return generate(kind, n, size, seed, options)[0]
    if kind == "npy":
        images = load_images(source, n)
    elif kind not in PATH_KINDS:
        from .sources import check_images

        images = check_images(SOURCES[kind].fn(**options), kind)
    else:  # a folder resizes while reading, so its images may differ in size
        from .folders import load_image_folder
        images = load_image_folder(source, size=size, **options)
    if n is not None and kind != "npy":
        if check_count("n", n) > len(images):
            raise DataError(f"asked for n={n} images but {source} has {len(images)}")
        images = images[:n]
    return images if size is None else resize_images(images, size)


def make_dataset(source: str, out, *, n: int, size: int | None = None, seed=0,
                 dtype: str = "float32", **options) -> dict:
    """Generate n images of a synthetic class into `out` (.npy) with a JSON sidecar; a summary.

    Latent parameters that a generator returns with its images (discs: (n, 5)) go to
    OUT.params.npy beside them.
    """
    if not is_generated(source):
        raise ConfigError(f"cannot make {source!r}; generated classes: "
                          f"{', '.join(k for k, s in SOURCES.items() if s.generated)}")
    check_options(source, options, source_options(source))
    out = check_out_file(out, (".npy",), "image set")
    if "progress" in inspect.signature(SOURCES[source].fn).parameters:
        options = {**options, "progress": True}
    images, params = generate(source, n, size, seed, options)
    options.pop("progress", None)
    save_images(images, out, dtype)
    summary = {"source": source, "n": n, "shape": list(images.shape), "seed": seed,
               "dtype": dtype, "options": options, "out": str(out)}
    if params is not None:
        params_path = out.with_suffix(".params.npy")
        with atomic_path(params_path) as tmp, open(tmp, "wb") as f:
            np.save(f, params.numpy(), allow_pickle=False)
        summary["params"] = str(params_path)
        summary["params_columns"] = list(SOURCES[source].param_columns)
    save_json(summary, out.with_suffix(".json"))
    return summary
