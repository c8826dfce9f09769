"""The phase diagram of memorization in time: f_mem over (training step, N) with tau lines."""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from .errors import ReportError
from .figures import DPI, _check_title, _save_figure, _to_numpy
from .plots import legend_below, log_scale
from .sidecar import save_data as write_sidecar


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges of log-spaced centres: geometric midpoints, extended by half a step."""
    logs = np.log(values)
    if len(logs) == 1:
        return np.exp(logs[0] + np.array([-0.5, 0.5]))
    mids = (logs[1:] + logs[:-1]) / 2
    return np.exp(np.concatenate([[2 * logs[0] - mids[0]], mids, [2 * logs[-1] - mids[-1]]]))


def phase_diagram(path, steps, ns, f_mem, title: str, tau_mem=None, tau_mem_interval=None,
                  tau_gen=None, colorbar: str = "f_mem", save_data=True) -> Path:
    """f_mem (len(ns), len(steps)) in colour on log steps x log N; `tau_mem` (one step per N,
    NaN: not reached) as dots with their intervals (2, len(ns)) as bars, `tau_gen` as squares;
    a NaN f_mem (no sample finished) is left white."""
    path = Path(path)
    _check_title(title)
    t = _to_numpy(steps, "steps").astype(np.float64).ravel()
    n = _to_numpy(ns, "ns").astype(np.float64).ravel()
    f = _to_numpy(f_mem, "f_mem", allow_nan=True).astype(np.float64)
    if f.shape != (len(n), len(t)) or np.any(t <= 0) or np.any(n <= 0):
        raise ReportError(f"f_mem has shape {f.shape}; pass one row per N ({len(n)}) and one "
                          f"column per step ({len(t)}), steps and N positive")
    fig = Figure(figsize=(6.4, 4.4), dpi=DPI)
    ax = fig.subplots()
    mesh = ax.pcolormesh(_edges(t), _edges(n), f, vmin=0, vmax=1, cmap="viridis",
                         shading="flat")
    fig.colorbar(mesh, ax=ax, label=colorbar)
    if tau_mem is not None:
        tm = _to_numpy(tau_mem, "tau_mem", allow_nan=True).astype(np.float64).ravel()
        err = None
        if tau_mem_interval is not None:
            lo, hi = _to_numpy(tau_mem_interval, "tau_mem_interval", allow_nan=True)
            hi = np.where(np.isnan(hi), t[-1], hi)
            err = np.stack([np.nan_to_num(tm - lo), np.nan_to_num(hi - tm)])
        ax.errorbar(tm, n, xerr=err, fmt="o-", color="white", mec="black", ecolor="white",
                    capsize=3, label="tau_mem (95% interval)")
    if tau_gen is not None:
        tg = _to_numpy(tau_gen, "tau_gen", allow_nan=True).astype(np.float64).ravel()
        ax.plot(tg, n, "s--", color="tab:red", mfc="white", label="tau_gen")
    log_scale(ax, "x")
    ax.set_yscale("log")
    ax.set_yticks(n, [f"{v:g}" for v in n])  # the N of the sweep, plain (never "6x10^1")
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("training step")
    ax.set_ylabel("N (training images)")
    ax.set_title(title, fontsize=11)
    legend_below(fig, *ax.get_legend_handles_labels())
    fig.tight_layout()
    _save_figure(fig, path)
    if save_data:
        write_sidecar(path, "phase_diagram", dict(
            steps=t, ns=n, f_mem=f, title=title, colorbar=colorbar,
            tau_mem=None if tau_mem is None else np.asarray(tau_mem, dtype=np.float64),
            tau_mem_interval=None if tau_mem_interval is None else
            np.asarray(tau_mem_interval, dtype=np.float64),
            tau_gen=None if tau_gen is None else np.asarray(tau_gen, dtype=np.float64)))
    return path
