"""Figures for the report: image grids and image panels (curves are in `gahr.report.plots`).

Every drawing function writes one PNG atomically and returns its path. Unless
`save_data=False` it also writes the numbers it drew to an `.npz` beside the PNG (same stem,
"data sidecar"), so `gahr.report.redraw(png)` and `gahr report DIR --redraw` draw the figure
again without recomputing.
Matplotlib is used through `Figure` objects only (Agg canvas, no pyplot state), so drawing
never touches a user's interactive backend and never leaks open figures.
"""

import math
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ..io import atomic_path
from .errors import ReportError
from .sidecar import save_data as write_sidecar

DPI = 100
_MIN_CELL_PX = 96  # small images (32x32) are upscaled to at least this many pixels a side
_NORMALIZE = ("fixed", "each", "symmetric")


def _to_numpy(x, what: str, allow_nan: bool = False) -> np.ndarray:
    """Tensor/array/list -> float64 numpy array with finite values (NaN allowed, as a gap,
    with `allow_nan`; None becomes NaN then)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().float().numpy()
    if allow_nan and isinstance(x, (list, tuple)):
        x = [np.nan if v is None else v for v in x]
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ReportError(f"{what} is not numeric; pass an array or tensor of numbers") from None
    if not np.all(np.isfinite(arr) | (allow_nan & np.isnan(arr))):
        raise ReportError(f"{what} has NaN or infinite values; check the computation that made it")
    return arr


def _check_title(title) -> None:
    if not isinstance(title, str) or not title.strip():
        raise ReportError("a figure needs a non-empty title; pass title='what it shows'")


def _as_images(images) -> np.ndarray:
    """(N, C, H, W) or (N, H, W) -> float64 (N, C, H, W) with C in {1, 3}."""
    arr = _to_numpy(images, "images")
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[1] not in (1, 3) or arr.shape[0] == 0:
        raise ReportError(f"images have shape {tuple(arr.shape)}; expected a non-empty "
                          "(N, C, H, W) stack with C = 1 (gray) or 3 (RGB)")
    return arr


def _to_uint8(arr: np.ndarray, vmin: float, vmax: float, normalize: str) -> np.ndarray:
    """(N, C, H, W) floats -> (N, H, W, C) uint8 under the chosen intensity mapping."""
    if normalize not in _NORMALIZE:
        raise ReportError(f"normalize={normalize!r} is unknown; use one of {', '.join(_NORMALIZE)}")
    if normalize == "fixed":
        if not vmax > vmin:
            raise ReportError(f"vmax={vmax} must exceed vmin={vmin}")
        unit = (arr - vmin) / (vmax - vmin)
    elif normalize == "each":
        lo = arr.min(axis=(1, 2, 3), keepdims=True)
        span = arr.max(axis=(1, 2, 3), keepdims=True) - lo
        unit = (arr - lo) / np.where(span > 0, span, 1.0)
    else:  # signed images (eigenvectors): zero maps to mid-gray, +-max|v| to white/black
        peak = np.abs(arr).max(axis=(1, 2, 3), keepdims=True)
        unit = 0.5 + arr / (2 * np.where(peak > 0, peak, 1.0))
    u8 = np.round(np.clip(unit, 0.0, 1.0) * 255).astype(np.uint8)
    return u8.transpose(0, 2, 3, 1)


def _layout(n: int, nrow: int | None) -> tuple[int, int]:
    """(rows, columns); `nrow` is images per row, as in torchvision's make_grid."""
    ncols = nrow if nrow is not None else math.ceil(math.sqrt(n))
    if not isinstance(ncols, int) or ncols < 1:
        raise ReportError(f"nrow={nrow!r} must be a positive integer (images per row)")
    ncols = min(ncols, n)
    return math.ceil(n / ncols), ncols


def _auto_scale(h: int, w: int, scale) -> int:
    if scale is None:
        return max(1, math.ceil(_MIN_CELL_PX / max(h, w)))
    if not isinstance(scale, int) or scale < 1:
        raise ReportError(f"scale={scale!r} must be a positive integer upscaling factor")
    return scale


def _grid_pil(u8: np.ndarray, ncols: int, scale: int, pad: int) -> Image.Image:
    """Tile (N, H, W, C) uint8 images on a white background, nearest-neighbour upscaled."""
    n, h, w, c = u8.shape
    nrows = math.ceil(n / ncols)
    cell_h, cell_w = h * scale, w * scale
    canvas = np.full((nrows * cell_h + (nrows + 1) * pad, ncols * cell_w + (ncols + 1) * pad, c),
                     255, np.uint8)
    big = u8.repeat(scale, axis=1).repeat(scale, axis=2)
    for i in range(n):
        r, q = divmod(i, ncols)
        top, left = pad + r * (cell_h + pad), pad + q * (cell_w + pad)
        canvas[top:top + cell_h, left:left + cell_w] = big[i]
    return Image.fromarray(canvas[..., 0] if c == 1 else canvas, "L" if c == 1 else "RGB")


def _wrap(text: str, width_in: float, fontsize: float = 9) -> str:
    """A column title broken at spaces into lines no wider than its cell (sans-serif averages
    about 0.62 em a character), so neighbouring titles never run together."""
    chars = max(4, int(width_in * 72 / (0.62 * fontsize)))
    return "\n".join(textwrap.wrap(str(text), chars, break_long_words=False)) or str(text)


def _grid_labelled(u8, ncols, scale, titles, row_labels, title) -> Figure:
    """The same grid drawn with matplotlib, for column titles, row labels and a title."""
    n, h, w, c = u8.shape
    nrows = math.ceil(n / ncols)
    cell_w, cell_h = w * scale / DPI, h * scale / DPI
    titles = [_wrap(t, cell_w) for t in titles or []]
    lines = max((t.count("\n") + 1 for t in titles), default=0)
    # inches above the top row: 9 pt title lines, an 11 pt figure title
    head = (0.14 + 0.15 * lines if titles else 0.05) + (0.3 if title else 0.0)
    height = nrows * cell_h * 1.08 + head
    fig = Figure(figsize=(ncols * cell_w * 1.08 + (0.4 if row_labels else 0.1), height), dpi=DPI)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - head / height)
    axes = fig.subplots(nrows, ncols, squeeze=False, gridspec_kw=dict(wspace=0.05, hspace=0.05))
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if i < n:
            img = u8[i, ..., 0] if c == 1 else u8[i]
            ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    for q, text in enumerate(titles):
        axes[0, q].set_title(text, fontsize=9)
    for r, text in enumerate(row_labels or []):
        axes[r, 0].set_ylabel(text, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11, y=1 - 0.05 / height, va="top")
    return fig


def _save_figure(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.1)


def save_image_grid(images, path, nrow=None, titles=None, row_labels=None, vmin=0.0, vmax=1.0,
                    scale=None, title=None, normalize="fixed", pad=2, save_data=True) -> Path:
    """Tile a (N, C, H, W) stack (gray or RGB) into one PNG, `nrow` images per row.

    Plain grids are written pixel-exact with PIL (nearest upscaling by `scale`, default: cells of
    at least 96 px); with `titles` (one per column), `row_labels` (one per row) or `title` the
    grid is drawn with matplotlib. `normalize`: "fixed" maps [vmin, vmax] to black..white,
    "each" stretches each image to its own range, "symmetric" maps 0 to gray (signed images).
    """
    path, arr = Path(path), _as_images(images)
    nrows, ncols = _layout(arr.shape[0], nrow)
    if titles is not None and len(titles) != ncols:
        raise ReportError(f"{len(titles)} column titles for {ncols} columns; pass one per column")
    if row_labels is not None and len(row_labels) != nrows:
        raise ReportError(f"{len(row_labels)} row labels for {nrows} rows; pass one per row")
    if title is not None:
        _check_title(title)
    u8 = _to_uint8(arr, float(vmin), float(vmax), normalize)
    scale = _auto_scale(arr.shape[2], arr.shape[3], scale)
    if titles or row_labels or title:
        _save_figure(_grid_labelled(u8, ncols, scale, titles, row_labels, title), path)
    else:
        img = _grid_pil(u8, ncols, scale, pad)
        with atomic_path(path) as tmp:
            img.save(tmp, format="PNG")
    if save_data:
        # the displayed 8-bit intensities: exact on redraw and 4x smaller than float32
        write_sidecar(path, "save_image_grid", dict(
            images=u8.transpose(0, 3, 1, 2), nrow=ncols, titles=titles, row_labels=row_labels,
            vmin=0.0, vmax=255.0, scale=scale, title=title, normalize="fixed", pad=pad))
    return path


def image_panel(path, images: dict, title: str, vmin=0.0, vmax=1.0, scale=None,
                normalize="fixed", save_data=True) -> Path:
    """One row of named images of the same shape (e.g. clean / noisy / denoised), names on top."""
    _check_title(title)
    if not isinstance(images, dict) or not images:
        raise ReportError("image_panel needs a non-empty dict {name: image}")
    stack = []
    for name, img in images.items():
        arr = _to_numpy(img, f"image {name!r}")
        arr = arr.reshape(arr.shape[-3:]) if arr.ndim == 4 and arr.shape[0] == 1 else arr
        stack.append(arr[None] if arr.ndim == 2 else arr)
    if len({a.shape for a in stack}) != 1:
        raise ReportError("image_panel images differ in shape; pass images of one (C, H, W) shape")
    return save_image_grid(np.stack(stack), path, nrow=len(stack), titles=[str(k) for k in images],
                           vmin=vmin, vmax=vmax, scale=scale, title=title, normalize=normalize,
                           save_data=save_data)


