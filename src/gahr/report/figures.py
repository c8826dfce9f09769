"""Figures for the report: image grids, image panels, line plots, histograms, eigen spectra.

Every function writes one PNG atomically and returns its path. Unless `save_data=False` it
also writes the numbers it drew to an `.npz` beside the PNG (same stem, "data sidecar"), so
`gahr.report.redraw(png)` and `gahr report DIR --redraw` draw the figure again without
recomputing.
Matplotlib is used through `Figure` objects only (Agg canvas, no pyplot state), so drawing
never touches a user's interactive backend and never leaks open figures.
"""

import json
import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ..io import atomic_path
from .errors import ReportError

DPI = 100
_MIN_CELL_PX = 96  # small images (32x32) are upscaled to at least this many pixels a side
_NORMALIZE = ("fixed", "each", "symmetric")


def _to_numpy(x, what: str) -> np.ndarray:
    """Tensor/array/list -> float64 numpy array with finite values."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().float().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ReportError(f"{what} is not numeric; pass an array or tensor of numbers") from None
    if not np.all(np.isfinite(arr)):
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


def _grid_labelled(u8, ncols, scale, titles, row_labels, title) -> Figure:
    """The same grid drawn with matplotlib, for column titles, row labels and a title."""
    n, h, w, c = u8.shape
    nrows = math.ceil(n / ncols)
    cell_w, cell_h = w * scale / DPI, h * scale / DPI
    head = (0.3 if titles else 0.05) + (0.3 if title else 0.0)  # inches above the top row
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
    for q, text in enumerate(titles or []):
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


def _save_data(path: Path, kind: str, args: dict) -> None:
    """Write the drawing's inputs to `<stem>.npz`: arrays as arrays, the rest as JSON."""
    arrays, spec = {}, {"kind": kind, "args": {}, "dicts": {}, "arrays": []}
    for name, value in args.items():
        if isinstance(value, dict):
            spec["dicts"][name] = [str(k) for k in value]
            for i, v in enumerate(value.values()):
                arrays[f"{name}/{i}"] = np.asarray(v)
        elif value is None or isinstance(value, (str, bool, int, float)) or (
                isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
            spec["args"][name] = list(value) if isinstance(value, tuple) else value
        else:
            spec["arrays"].append(name)
            arrays[name] = np.asarray(value)
    arrays["__spec__"] = np.array(json.dumps(spec))
    with atomic_path(path.with_suffix(".npz")) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


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
        _save_data(path, "save_image_grid", dict(
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


def _series(x, ys: dict, what: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Pair each curve with its x values (shared `x`, or `x[label]` when x is a dict)."""
    out = []
    for label, y in ys.items():
        if isinstance(x, dict) and label not in x:
            raise ReportError(f"x has no values for {what} {label!r}; give x[{label!r}]")
        xs = _to_numpy(x[label] if isinstance(x, dict) else x, f"x of {label!r}").ravel()
        yv = _to_numpy(y, f"{what} {label!r}").ravel()
        if xs.shape != yv.shape:
            raise ReportError(f"{what} {label!r} has {yv.size} values for {xs.size} x values; "
                              "pass one y per x")
        out.append((str(label), xs, yv))
    return out


def _axes(title, xlabel, ylabel, size=(6.4, 4.2)):
    _check_title(title)
    for name, label in (("xlabel", xlabel), ("ylabel", ylabel)):
        if not isinstance(label, str) or not label.strip():
            raise ReportError(f"a figure needs a non-empty {name}; say what the axis measures")
    fig = Figure(figsize=size, dpi=DPI)
    ax = fig.subplots()
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def line_plot(path, x, ys: dict, xlabel: str, ylabel: str, title: str, logx=False, logy=False,
              dashed: dict | None = None, markers=True, save_data=True) -> Path:
    """Curves y(x), one per label of `ys`; `dashed` adds reference curves (e.g. theory).

    `x` is shared by all curves, or a dict {label: x values} covering every label.
    """
    path = Path(path)
    if not isinstance(ys, dict) or not ys:
        raise ReportError("line_plot needs a non-empty dict ys = {label: values}")
    fig, ax = _axes(title, xlabel, ylabel)
    for label, xs, yv in _series(x, ys, "curve"):
        ax.plot(xs, yv, marker="o" if markers else None, ms=4, label=label)
    for i, (label, xs, yv) in enumerate(_series(x, dashed or {}, "dashed curve")):
        # references in grays and distinct dash patterns, apart from the measured colors
        ax.plot(xs, yv, ls=("--", ":", "-.")[i % 3], color=("0.45", "0.2", "0.65")[i % 3],
                label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    _save_figure(fig, path)
    if save_data:
        _save_data(path, "line_plot", dict(x=x, ys=ys, xlabel=xlabel, ylabel=ylabel, title=title,
                                           logx=logx, logy=logy, dashed=dashed, markers=markers))
    return path


def histogram(path, groups: dict, xlabel: str, title: str, bins=40, ylabel="count",
              density=False, value_range=None, save_data=True) -> Path:
    """Overlaid histograms of each group's values on common bins (e.g. similarity scores)."""
    path = Path(path)
    if not isinstance(groups, dict) or not groups:
        raise ReportError("histogram needs a non-empty dict groups = {label: values}")
    values = {str(k): _to_numpy(v, f"group {k!r}").ravel() for k, v in groups.items()}
    if any(v.size == 0 for v in values.values()):
        raise ReportError("a histogram group is empty; pass at least one value per group")
    fig, ax = _axes(title, xlabel, ylabel if not density else "density")
    both = np.concatenate(list(values.values()))
    lo, hi = value_range if value_range is not None else (both.min(), both.max())
    edges = np.histogram_bin_edges(both, bins=bins, range=(lo, hi if hi > lo else lo + 1e-6))
    for label, v in values.items():
        ax.hist(v, bins=edges, density=density, alpha=0.5, label=f"{label} (n={v.size})",
                histtype="stepfilled", edgecolor="black", linewidth=0.6)
    ax.legend(fontsize=8)
    _save_figure(fig, path)
    if save_data:
        vr = None if value_range is None else [float(v) for v in value_range]
        _save_data(path, "histogram", dict(groups=groups, xlabel=xlabel, title=title, bins=bins,
                                           ylabel=ylabel, density=density, value_range=vr))
    return path


def spectrum_plot(path, eigenvalues, title: str, coefficients=None,
                  ylabel="eigenvalue λ_k (shrinkage factor)", coef_label="|⟨x, e_k⟩|",
                  logy=False, save_data=True) -> Path:
    """Eigenvalues against their index k in the given order, with optional coefficient overlay.

    `eigenvalues` and `coefficients` are arrays or dicts {label: array}; the coefficients
    (|<x, e_k>| of an image in the eigenbasis) are drawn as points on a log right-hand axis.
    """
    path = Path(path)
    lam = eigenvalues if isinstance(eigenvalues, dict) else {"λ_k": eigenvalues}
    coefs = coefficients if isinstance(coefficients, dict) or coefficients is None \
        else {"coefficients": coefficients}
    fig, ax = _axes(title, "eigenvalue index k (largest first)", ylabel, size=(7.0, 4.2))
    for label, v in lam.items():
        v = _to_numpy(v, f"eigenvalues {label!r}").ravel()
        ax.plot(np.arange(1, v.size + 1), v, lw=1.5, label=str(label))
    if logy:
        ax.set_yscale("log")
    handles, labels = ax.get_legend_handles_labels()
    if coefs:
        right = ax.twinx()
        for label, c in coefs.items():
            c = np.abs(_to_numpy(c, f"coefficients {label!r}").ravel())
            right.plot(np.arange(1, c.size + 1), np.maximum(c, 1e-12), ".", ms=2.5, alpha=0.6,
                       label=str(label))
        right.set_yscale("log")
        right.set_ylabel(coef_label)
        # keep the eigenvalue curve above the cloud of coefficient points
        ax.set_zorder(right.get_zorder() + 1)
        ax.patch.set_visible(False)
        h2, l2 = right.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=8, loc="upper right", markerscale=3)
    _save_figure(fig, path)
    if save_data:
        _save_data(path, "spectrum_plot", dict(eigenvalues=lam, title=title, coefficients=coefs,
                                               ylabel=ylabel, coef_label=coef_label, logy=logy))
    return path
