"""Curves for the report: line plots, small multiples with intervals, histograms, spectra.

Every function writes one PNG atomically, its data sidecar beside it unless `save_data=False`
(see `gahr.report.sidecar`), and returns the PNG's path. Legends sit under the axes, never on
the data; in small multiples a label keeps one color, marker and line style in every panel.
"""

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .errors import ReportError
from .figures import DPI, _check_title, _save_figure, _to_numpy
from .sidecar import save_data as write_sidecar

_MARKERS = ("o", "s", "^", "D", "v", "P")
_LINES = ("-", "--", ":", "-.")


def style(i: int) -> dict:
    """Matplotlib keywords of the i-th label: color, marker and line style all differ, and
    every label after the first has open markers, so two labels differ in gray scale too."""
    kw = dict(color=f"C{i % 10}", marker=_MARKERS[i % len(_MARKERS)],
              ls=_LINES[i % len(_LINES)], ms=5, lw=1.6)
    if i:
        kw["markerfacecolor"] = "white"
    return kw


def _series(x, ys: dict, what: str, allow_nan=False) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Pair each curve with its x values (shared `x`, or `x[label]` when x is a dict)."""
    out = []
    for label, y in ys.items():
        if isinstance(x, dict) and label not in x:
            raise ReportError(f"x has no values for {what} {label!r}; give x[{label!r}]")
        xs = _to_numpy(x[label] if isinstance(x, dict) else x, f"x of {label!r}").ravel()
        yv = _to_numpy(y, f"{what} {label!r}", allow_nan=allow_nan).ravel()
        if xs.shape != yv.shape:
            raise ReportError(f"{what} {label!r} has {yv.size} values for {xs.size} x values; "
                              "pass one y per x")
        out.append((str(label), xs, yv))
    return out


def _check_labels(**labels) -> None:
    for name, label in labels.items():
        if not isinstance(label, str) or not label.strip():
            raise ReportError(f"a figure needs a non-empty {name}; say what the axis measures")


def _axes(title, xlabel, ylabel, size=(6.4, 4.2)):
    _check_title(title)
    _check_labels(xlabel=xlabel, ylabel=ylabel)
    fig = Figure(figsize=size, dpi=DPI)
    ax = fig.subplots()
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def log_scale(ax, which: str, values=None) -> bool:
    """Put axis `which` ("x" or "y") of `ax` on a log scale with plain tick labels ("30", "0.05",
    never "3x10^1"), labelled at 1, 2, 5 times powers of 10 when the axis spans under two
    decades (where matplotlib would label crowded minor ticks) and at every digit under one.
    When `values` hold no finite value > 0, the axis stays linear (a log axis of nothing fails
    to draw) and False is returned."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if values is not None:
        v = np.concatenate([np.asarray(x, dtype=float).ravel() for x in values] or [[]])
        if not np.any(np.isfinite(v) & (v > 0)):
            return False
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    lo, hi = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    decades = math.log10(hi / lo) if lo > 0 else 3.0
    subs = (1.0,) if decades >= 2 else (1.0, 2.0, 5.0) if decades >= 1 else np.arange(1.0, 10)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_locator(LogLocator(base=10, subs=np.arange(2.0, 10)))
    axis.set_minor_formatter(NullFormatter())
    return True


def legend_below(fig: Figure, handles, labels, markerscale=1.0) -> None:
    """One legend under every axes of `fig` (the saved PNG grows to hold it)."""
    if handles:
        # as many columns as fit the figure's width (8 pt text: about 4.6 pt a character)
        entry = 4.6 * max(len(str(label)) for label in labels) + 30
        ncol = max(1, min(len(labels), 3, int(fig.get_figwidth() * 72 // entry)))
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
                   fontsize=8, frameon=False, markerscale=markerscale)


def line_plot(path, x, ys: dict, xlabel: str, ylabel: str, title: str, logx=False, logy=False,
              dashed: dict | None = None, markers=True, save_data=True) -> Path:
    """Curves y(x), one per label of `ys`; `dashed` adds reference curves (e.g. theory).

    `x` is shared by all curves, or a dict {label: x values} covering every label.
    """
    path = Path(path)
    if not isinstance(ys, dict) or not ys:
        raise ReportError("line_plot needs a non-empty dict ys = {label: values}")
    fig, ax = _axes(title, xlabel, ylabel)
    for i, (label, xs, yv) in enumerate(_series(x, ys, "curve")):
        kw = style(i) if markers else dict(color=f"C{i % 10}", ls=_LINES[i % len(_LINES)])
        ax.plot(xs, yv, label=label, **kw)
    for i, (label, xs, yv) in enumerate(_series(x, dashed or {}, "dashed curve")):
        # references in grays and distinct dash patterns, apart from the measured colors
        ax.plot(xs, yv, ls=("--", ":", "-.")[i % 3], color=("0.45", "0.2", "0.65")[i % 3],
                label=label)
    if logx:
        log_scale(ax, "x")
    if logy:
        log_scale(ax, "y")
    legend_below(fig, *ax.get_legend_handles_labels())
    _save_figure(fig, path)
    if save_data:
        write_sidecar(path, "line_plot", dict(x=x, ys=ys, xlabel=xlabel, ylabel=ylabel,
                                              title=title, logx=logx, logy=logy, dashed=dashed,
                                              markers=markers))
    return path


def _floats(v, what: str) -> np.ndarray:
    return _to_numpy(list(v) if isinstance(v, (list, tuple)) else v, what, allow_nan=True)


def _float_nested(nested: dict | None, what: str, n: int, pairs: bool = False) -> dict:
    """{panel: {label: values}} as float arrays (None -> NaN) of `n` values, or of (2, n)
    rows (lows, highs) with `pairs`."""
    out = {}
    for panel, curves in (nested or {}).items():
        if not isinstance(curves, dict):
            raise ReportError(f"{what}[{panel!r}] is not a dict {{label: values}}")
        out[str(panel)] = {}
        for label, v in curves.items():
            name = f"{what} {label!r} in panel {panel!r}"
            arr = np.array([_floats(r, name) for r in v]) if pairs else _floats(v, name)
            want = (2, n) if pairs else (n,)
            if arr.shape != want:
                raise ReportError(f"{name} has shape {arr.shape}; pass {want} values, one per x "
                                  "(None where undefined)")
            out[str(panel)][str(label)] = arr
    return out


def _dodge(xs: np.ndarray, i: int, k: int, logx: bool) -> np.ndarray:
    """x positions of label i of k, shifted a little so error bars at one x do not overlap."""
    if k < 2:
        return xs
    shift = (i - (k - 1) / 2) * 0.04
    return xs * 10 ** shift if logx else xs + shift * (np.ptp(xs) or 1.0)


def panel_plot(path, x, panels: dict, xlabel: str, ylabel, title: str, logx=False, logy=False,
               errors: dict | None = None, reference: dict | None = None,
               save_data=True) -> Path:
    """Small multiples: one panel per quantity, `panels` = {panel title: {label: y values}}.

    `x` is shared; a None or NaN y is left out. `ylabel` is one text or {panel: text};
    `errors` = {panel: {label: (lows, highs)}} draws intervals as error bars; `reference` =
    {panel: {label: y values}} adds gray dashed reference curves. The legend (one entry per
    label, drawn alike in every panel) sits under the panels.
    """
    path = Path(path)
    _check_title(title)
    if not isinstance(panels, dict) or not panels:
        raise ReportError("panel_plot needs a non-empty dict panels = {title: {label: values}}")
    xs = _to_numpy(x, "x").ravel()
    data = _float_nested(panels, "curve", xs.size)
    bars = _float_nested(errors, "interval", xs.size, pairs=True)
    refs = _float_nested(reference, "reference", xs.size)
    labels = list(dict.fromkeys(label for curves in data.values() for label in curves))
    ref_labels = list(dict.fromkeys(label for curves in refs.values() for label in curves))
    ylabels = ylabel if isinstance(ylabel, dict) else {p: ylabel for p in data}
    _check_labels(xlabel=xlabel, **{f"ylabel of {p!r}": ylabels.get(p) for p in data})
    ncols = min(len(data), 3)
    nrows = math.ceil(len(data) / ncols)
    fig = Figure(figsize=(3.7 * ncols, 3.1 * nrows + 0.4), dpi=DPI)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    fig.suptitle(title, fontsize=12)
    for ax, (panel, curves) in zip(axes.flat, data.items()):
        _draw_panel(ax, panel, xs, curves, bars.get(panel, {}), refs.get(panel, {}),
                    (labels, ref_labels), logx, logy)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabels[panel])
    for ax in list(axes.flat)[len(data):]:
        ax.set_visible(False)
    fig.tight_layout()
    handles, names = {}, {}
    for ax in axes.flat:
        for h, name in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(name, h)
            names[name] = name
    legend_below(fig, list(handles.values()), list(names))
    _save_figure(fig, path)
    if save_data:
        write_sidecar(path, "panel_plot", dict(x=xs, panels=data, xlabel=xlabel, ylabel=ylabel,
                                               title=title, logx=logx, logy=logy,
                                               errors=bars or None, reference=refs or None))
    return path


def _draw_panel(ax, panel, xs, curves, bars, refs, names, logx, logy) -> None:
    labels, ref_labels = names
    for label, yv in curves.items():
        i = labels.index(label)
        at = _dodge(xs, i, len(curves), logx) if bars else xs
        if label in bars:
            low, high = bars[label]
            yerr = np.stack([yv - low, high - yv])
            ax.errorbar(at, yv, yerr=np.where(np.isnan(yerr), 0, yerr), capsize=3,
                        label=label, **style(i))
        else:
            ax.plot(at, yv, label=label, **style(i))
    for label, yv in refs.items():  # a reference keeps its gray and dashes in every panel
        j = ref_labels.index(label)
        ax.plot(xs, yv, ls=("--", ":", "-.")[j % 3], color=("0.45", "0.2", "0.65")[j % 3],
                label=label)
    ax.set_title(panel, fontsize=10)
    ax.grid(alpha=0.3)
    if logx:
        log_scale(ax, "x")
    if logy and not log_scale(ax, "y", [*curves.values(), *refs.values()]):
        ax.text(0.5, 0.5, "no value > 0 to draw\non a log axis", transform=ax.transAxes,
                ha="center", va="center", fontsize=9, color="0.4")


#: Opacity of each overlaid histogram.
HIST_ALPHA = 0.5


def overlap_colour(first, second) -> tuple:
    """The colour where a histogram drawn in `second` covers one in `first` (RGBA each, alpha
    included) on a white axes: alpha compositing, second over first over white."""
    below = np.asarray(first[:3]) * first[3] + (1 - first[3])
    top = np.asarray(second[:3]) * second[3] + below * (1 - second[3])
    return (*top.tolist(), 1.0)


def histogram(path, groups: dict, xlabel: str, title: str, bins=40, ylabel="count",
              density=False, value_range=None, save_data=True) -> Path:
    """Overlaid histograms of each group's values on common bins (e.g. similarity scores)."""
    path = Path(path)
    if not isinstance(groups, dict) or not groups:
        raise ReportError("histogram needs a non-empty dict groups = {label: values}")
    values = {str(k): _to_numpy(v, f"group {k!r}").ravel() for k, v in groups.items()}
    if any(v.size == 0 for v in values.values()):
        raise ReportError("a histogram group is empty; pass at least one value per group")
    fig, ax = _axes(title, xlabel, ylabel if not density else "density", size=(5.2, 3.4))
    both = np.concatenate(list(values.values()))
    lo, hi = value_range if value_range is not None else (both.min(), both.max())
    edges = np.histogram_bin_edges(both, bins=bins, range=(lo, hi if hi > lo else lo + 1e-6))
    for label, v in values.items():
        ax.hist(v, bins=edges, density=density, alpha=HIST_ALPHA, label=f"{label} (n={v.size})",
                histtype="stepfilled", edgecolor="black", linewidth=0.6)
    handles, labels = ax.get_legend_handles_labels()
    if len(values) == 2:  # the blend where the two overlap is a third colour: name it
        from matplotlib.patches import Patch

        faces = [h.get_facecolor() for h in handles]
        handles.append(Patch(facecolor=overlap_colour(*faces), edgecolor="black",
                             linewidth=0.6))
        labels.append("both (overlap)")
    legend_below(fig, handles, labels)
    _save_figure(fig, path)
    if save_data:
        vr = None if value_range is None else [float(v) for v in value_range]
        write_sidecar(path, "histogram", dict(groups=groups, xlabel=xlabel, title=title, bins=bins,
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
    legend_below(fig, handles, labels, markerscale=3)
    _save_figure(fig, path)
    if save_data:
        write_sidecar(path, "spectrum_plot", dict(eigenvalues=lam, title=title, coefficients=coefs,
                                               ylabel=ylabel, coef_label=coef_label, logy=logy))
    return path


