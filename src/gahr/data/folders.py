"""Image folders (CelebA and the like): read, crop, resize, gray, de-duplicate, cache as .npy.

Geometry of one image, in this order:
- crop: None (keep), "center" (the largest central square) or (top, left, height, width) in
  pixels, rows top:top+height and columns left:left+width;
- gray: ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B, computed in floating point;
- resize to `size` (int or (h, w)) by area averaging (PIL's box filter): antialiased, and for an
  integer factor f each output pixel is exactly the mean of an f x f block;
- round to uint8.
The `celeba` preset is the paper's: aligned 178 x 218 faces cropped to rows 29:189 and columns
9:169 (the central 160 x 160), resized to 80 x 80, gray.

`prepare_folder` streams the images into a memory-mapped staging file, so sets larger than
memory fit, drops near-duplicates (`gahr.data.dedup`), and renames the result onto OUT only
when complete: an interrupted run leaves no OUT to load by mistake. Unreadable images are
skipped and listed in the summary.
"""

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import ConfigError, DataError
from ..io import atomic_path, check_out_file, make_parent
from .dedup import near_duplicates

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm")
FOLDER_PRESETS = {"celeba": {"crop": (29, 9, 160, 160), "size": 80, "gray": True}}
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_GRAY_MODES = ("1", "L", "LA")
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L")  # 16-bit gray (PNG): rescaled 0..65535 -> 0..255


@dataclass
class PrepareSummary:
    """What `prepare_folder` did."""

    out: str
    found: int
    written: int
    shape: tuple
    skipped: list = field(default_factory=list)  # (path, reason)
    duplicates: int = 0


def find_images(folder) -> list[Path]:
    """Image files under `folder`, recursively, sorted by path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; give the folder that holds the images")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                   and p.is_file())
    if not files:
        raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {folder}; check the path")
    return files


def resolve_geometry(preset=None, crop=None, size=None, gray=None) -> dict:
    """The crop, size and gray settings: a preset's, overridden by the explicit ones."""
    if preset is not None and preset not in FOLDER_PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; presets: {', '.join(FOLDER_PRESETS)}")
    settings = dict(FOLDER_PRESETS.get(preset, {"crop": None, "size": None, "gray": None}))
    for key, value in (("crop", crop), ("size", size), ("gray", gray)):
        if value is not None:
            settings[key] = value
    crop = settings["crop"]
    if crop is not None and crop != "center" and (
            len(crop) != 4 or any(int(c) != c or c < 0 for c in crop) or min(crop[2:]) < 1):
        raise ConfigError(f"crop must be 'center' or (top, left, height, width) in pixels, "
                          f"got {crop!r}")
    return settings


def _pixels(image: Image.Image, gray) -> np.ndarray:
    """Float (C, H, W) values 0..255: one channel for gray sources or gray=True, else RGB."""
    if image.mode in _WIDE_MODES:
        wide = np.asarray(image, dtype=np.float32)[None] * np.float32(255 / 65535)
        return wide if gray is not False else np.repeat(wide, 3, axis=0)
    if image.mode in _GRAY_MODES and gray is not False:
        return np.asarray(image.convert("L"), dtype=np.float32)[None]
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    if gray:
        return np.tensordot(rgb, LUMA, axes=([2], [0]))[None]
    return rgb.transpose(2, 0, 1)


def _crop(pixels: np.ndarray, crop) -> np.ndarray:
    height, width = pixels.shape[1:]
    if crop is None:
        return pixels
    if crop == "center":
        side = min(height, width)
        crop = ((height - side) // 2, (width - side) // 2, side, side)
    top, left, h, w = (int(c) for c in crop)
    if top + h > height or left + w > width:
        raise ValueError(f"image {height}x{width} is smaller than the crop box {tuple(crop)}")
    return pixels[:, top:top + h, left:left + w]


def _resize(pixels: np.ndarray, size) -> np.ndarray:
    if size is None:
        return pixels
    h, w = (size, size) if isinstance(size, int) else size
    if pixels.shape[1:] == (h, w):
        return pixels
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(c, dtype=np.float32))
                                .resize((w, h), Image.Resampling.BOX)) for c in pixels])


def read_image(path, crop=None, size=None, gray=None) -> np.ndarray:
    """One image as uint8 (C, H, W) after crop, gray and resize (see the module docstring).

    Raises ValueError (unreadable, truncated, smaller than the crop) for the caller to skip it.
    """
    try:
        with Image.open(path) as image:
            image.load()
            pixels = _pixels(image, gray)
    except (OSError, UnidentifiedImageError, SyntaxError, Image.DecompressionBombError) as e:
        raise ValueError(f"unreadable: {e}") from None
    pixels = _resize(_crop(pixels, crop), size)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def _check_shape(array: np.ndarray, shape: tuple, path: Path) -> None:
    if array.shape[0] != shape[0]:
        raise DataError(f"{path} has {array.shape[0]} channel(s) but earlier images have "
                        f"{shape[0]}; pass gray=True (--gray) or gray=False (--color)")
    if array.shape != shape:
        raise DataError(f"{path} is {array.shape[1]}x{array.shape[2]} but earlier images are "
                        f"{shape[1]}x{shape[2]}; pass a size (--size) or a crop (--crop)")


def _stream(files, staging: Path, settings: dict, progress: bool):
    """Write readable images into a memmap at `staging`; return (memmap, written, skipped)."""
    from tqdm import tqdm

    array, written, skipped = None, 0, []
    for path in tqdm(files, desc="images", unit="img", disable=not progress):
        try:
            pixels = read_image(path, settings["crop"], settings["size"], settings["gray"])
        except ValueError as e:
            skipped.append((str(path), str(e)))
            continue
        if array is None:
            array = np.lib.format.open_memmap(staging, mode="w+", dtype=np.uint8,
                                              shape=(len(files), *pixels.shape))
        _check_shape(pixels, array.shape[1:], path)
        array[written] = pixels
        written += 1
    if array is None:
        raise DataError(f"none of the {len(files)} image files could be read; first problem: "
                        f"{skipped[0][0]}: {skipped[0][1]}")
    return array, written, skipped


def _write_rows(array: np.ndarray, rows: np.ndarray, out: Path, chunk: int = 4096) -> None:
    with atomic_path(out) as tmp:
        final = np.lib.format.open_memmap(tmp, mode="w+", dtype=array.dtype,
                                          shape=(len(rows), *array.shape[1:]))
        for start in range(0, len(rows), chunk):
            final[start:start + chunk] = array[rows[start:start + chunk]]
        final.flush()
        del final


def prepare_folder(folder, out, *, preset=None, crop=None, size=None, gray=None,
                   dedup: float | None = 0.95, progress: bool = True) -> PrepareSummary:
    """Cache the images under `folder` as uint8 (N, C, H, W) in the .npy file `out`."""
    out = check_out_file(out, (".npy",), "image cache")
    settings = resolve_geometry(preset, crop, size, gray)
    files = find_images(folder)
    make_parent(out)
    fd, staging = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".staging", dir=out.parent)
    os.close(fd)
    try:
        array, written, skipped = _stream(files, Path(staging), settings, progress)
        keep = np.arange(written)
        duplicates = 0
        if dedup is not None:
            dropped = near_duplicates(array[:written], dedup).numpy()
            keep = np.setdiff1d(keep, dropped)
            duplicates = len(dropped)
        _write_rows(array, keep, out)
        shape = (len(keep), *array.shape[1:])
        del array
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)
    return PrepareSummary(str(out), len(files), len(keep), shape, skipped, duplicates)


def load_image_folder(folder, *, preset=None, crop=None, size=None, gray=None) -> torch.Tensor:
    """All readable images under `folder` as float32 (N, C, H, W) in [0, 1], in memory."""
    settings = resolve_geometry(preset, crop, size, gray)
    images, shape = [], None
    for path in find_images(folder):
        try:
            pixels = read_image(path, settings["crop"], settings["size"], settings["gray"])
        except ValueError:
            continue
        shape = shape or pixels.shape
        _check_shape(pixels, shape, path)
        images.append(torch.from_numpy(pixels))
    if not images:
        raise DataError(f"none of the images under {folder} could be read")
    return torch.stack(images).to(torch.float32).div_(255)

