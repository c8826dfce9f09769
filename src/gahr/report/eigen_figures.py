"""The harmonic basis, seen: eigenvectors of J(y) beside the images and the eigenvalue spectrum.

Each eigenvector e_k is drawn on its own symmetric scale, a diverging colormap (blue < 0 <
red, white = 0) from -max|e_k| to +max|e_k|, pixel by pixel (no interpolation), titled with its
rank k and eigenvalue lambda_k. A gray scale with 0 at mid-gray hides the small oscillations of
a harmonic along a contour or in a flat region; white at 0 shows where e_k vanishes and the
sign of every lobe.
"""

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .errors import ReportError
from .figures import DPI, _check_title, _save_figure, _to_numpy, _wrap
from .sidecar import save_data as _save_data

CMAP = "RdBu_r"
_CELL = 1.25  # inches per image cell


def _check(e_k, lambda_k, ranks, images) -> tuple[np.ndarray, np.ndarray, list[int]]:
    e_k = _to_numpy(e_k, "eigenvectors")
    if e_k.ndim == 3:
        e_k = e_k[:, None]
    ranks = [int(r) for r in np.asarray(ranks).ravel()]
    lam = _to_numpy(lambda_k, "eigenvalues").ravel()
    if e_k.ndim != 4 or e_k.shape[1] not in (1, 3) or len(e_k) != len(ranks) or not ranks:
        raise ReportError(f"eigenvectors of shape {tuple(e_k.shape)} for {len(ranks)} ranks; "
                          "pass one (C, H, W) eigenvector per rank, C = 1 or 3")
    if min(ranks) < 1 or max(ranks) > lam.size:
        raise ReportError(f"ranks {ranks} must lie in 1..{lam.size} (the eigenvalues given)")
    if not isinstance(images, dict) or not images:
        raise ReportError("eigenvector_grid needs the images {name: (C, H, W)} to show beside")
    return e_k, lam, ranks


def _show_signed(ax, v: np.ndarray, peak: float | None = None) -> None:
    peak = float(np.abs(v).max() if peak is None else peak) or 1.0
    if v.shape[0] == 1:
        ax.imshow(v[0], cmap=CMAP, vmin=-peak, vmax=peak, interpolation="nearest")
    else:  # color eigenvectors: each channel signed around mid-gray on the shared peak
        ax.imshow(np.clip(0.5 + v.transpose(1, 2, 0) / (2 * peak), 0, 1),
                  interpolation="nearest")


def _show_image(ax, img, name: str) -> None:
    img = np.clip(_to_numpy(img, f"image {name!r}"), 0, 1).reshape(-1, *np.shape(img)[-2:])
    if img.shape[0] == 1:
        ax.imshow(img[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(img.transpose(1, 2, 0), interpolation="nearest")
    ax.set_title(_wrap(name, 0.9 * _CELL, 8), fontsize=8)  # neighbours never run together


def _spectrum(ax, lam: np.ndarray, ranks: list[int]) -> None:
    k = np.arange(1, lam.size + 1)
    ax.plot(k, lam, lw=1.2, color="k")
    ax.plot(ranks, lam[np.array(ranks) - 1], "o", ms=3.5, color="tab:red", label="shown")
    ax.axhline(1.0, ls=":", color="0.5", lw=0.8)
    ax.axhline(0.0, ls=":", color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("rank k", fontsize=8)
    ax.set_ylabel("λ_k", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"eigenvalues (sum = {lam.sum():.1f} = tr J)", fontsize=8)
    ax.legend(fontsize=7, loc="upper right")


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _below(below, below_titles, n: int) -> tuple[dict, dict]:
    below = {str(k): _to_numpy(v, f"row {k!r}") for k, v in (below or {}).items()}
    titles = {str(k): [str(t) for t in v] for k, v in (below_titles or {}).items()}
    for name, rows in below.items():
        if len(rows) != n or len(titles.get(name, [""] * n)) != n:
            raise ReportError(f"row {name!r} needs one image (and title) per eigenvector shown")
    return below, titles


def eigenvector_grid(path, e_k, lambda_k, ranks, images: dict, title: str, ncols: int = 8,
                     below: dict | None = None, below_titles: dict | None = None,
                     save_data=True) -> Path:
    """The eigenvectors `e_k` (one per rank in `ranks`, 1-based) of J(y) in a grid, under a top
    row of `images` (e.g. clean / noisy / denoised) and the spectrum `lambda_k` (all computed
    eigenvalues, descending), the shown ranks marked on it. `below` adds rows {label: one signed
    image per eigenvector} drawn on the scale of the eigenvector above (e.g. its projection on
    a subspace), titled by `below_titles` {label: one title each}."""
    path = Path(path)
    _check_title(title)
    e_k, lam, ranks = _check(e_k, lambda_k, ranks, images)
    below, below_titles = _below(below, below_titles, len(ranks))
    ncols = max(int(ncols), len(images) + 3, len(ranks) if below else 0)
    per_row = 1 + len(below)
    rows = 1 + math.ceil(len(ranks) / ncols) * per_row
    fig = Figure(figsize=(ncols * _CELL, rows * _CELL * 1.2 + 0.9), dpi=DPI)
    grid = fig.add_gridspec(rows, ncols, hspace=0.5, wspace=0.08,
                            height_ratios=[1.35] + [1] * (rows - 1))
    for i, (name, img) in enumerate(images.items()):
        ax = fig.add_subplot(grid[0, i])
        _show_image(ax, img, str(name))
        _off(ax)
    spectrum = grid[0, len(images) + 1:].subgridspec(2, 1, height_ratios=[4, 1], hspace=0)
    _spectrum(fig.add_subplot(spectrum[0]), lam, ranks)
    for i, (r, v) in enumerate(zip(ranks, e_k)):
        top = 1 + (i // ncols) * per_row
        ax = fig.add_subplot(grid[top, i % ncols])
        _show_signed(ax, v)
        ax.set_title(f"k={r}  λ={lam[r - 1]:.3f}", fontsize=7.5)
        _off(ax)
        for j, (name, extra) in enumerate(below.items()):
            ax = fig.add_subplot(grid[top + 1 + j, i % ncols])
            _show_signed(ax, extra[i].reshape(v.shape), peak=float(np.abs(v).max()))
            ax.set_title(below_titles.get(name, [""] * len(ranks))[i], fontsize=7.5)
            _off(ax)
            if i % ncols == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.suptitle(f"{title}\neach e_k on its own scale ±max|e_k|: red > 0, white = 0, blue < 0",
                 fontsize=9.5)
    _save_figure(fig, path)
    if save_data:
        _save_data(path, "eigenvector_grid", dict(
            e_k=e_k, lambda_k=lam, ranks=np.array(ranks), images=images, title=title,
            ncols=ncols, below=below or None, below_titles=below_titles or None))
    return path


def eigenvector_strip(path, e_k, lambda_k, ranks, images: dict, title: str, cell: float = 0.78,
                      save_data=True) -> Path:
    """One compact row for a report's first screen: `images` (e.g. clean / noisy / denoised)
    then the eigenvectors `e_k` of `ranks` (1-based), each titled with k and lambda_k and drawn
    as in `eigenvector_grid` (its own symmetric scale, red > 0, white = 0, blue < 0)."""
    path = Path(path)
    _check_title(title)
    e_k, lam, ranks = _check(e_k, lambda_k, ranks, images)
    n = len(images) + len(ranks)
    fig = Figure(figsize=(n * cell, cell * 1.3 + 0.45), dpi=DPI)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (name, img) in zip(axes, images.items()):
        _show_image(ax, img, str(name))
        ax.set_title(_wrap(str(name), 0.95 * cell, 7), fontsize=7)
        _off(ax)
    for ax, r, v in zip(axes[len(images):], ranks, e_k):
        _show_signed(ax, v)
        ax.set_title(f"e_{r}  λ={lam[r - 1]:.2f}", fontsize=7)
        _off(ax)
    fig.suptitle(title, fontsize=8.5, y=0.99)
    fig.subplots_adjust(wspace=0.08, left=0.01, right=0.99, top=0.7, bottom=0.02)
    _save_figure(fig, path)
    if save_data:
        _save_data(path, "eigenvector_strip", dict(e_k=e_k, lambda_k=lam, ranks=np.array(ranks),
                                                   images=images, title=title, cell=cell))
    return path
