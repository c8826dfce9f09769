"""The memorization experiment at several image sizes (paper, appendix: the N at which the
train/test gap closes grows with the image size).

`run_sizes` runs the whole experiment (sweep + analysis) once per size, each in its own sweep
root `<sweep.out>-<size>px`, then writes `<sweep.out>-sizes/`: `sizes.json` (per size and N, the
train - test PSNR gap averaged over the analysis noise levels, and the first N whose gap is
below `gap_db`) and `gap_vs_n_by_size.png`. Finished runs and analyses are skipped, as always.
"""

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..io import save_json
from .experiment import ExperimentConfig, load_experiment, sigma_key


def parse_sizes(text: str) -> list[int]:
    """'16,32' -> [16, 32]; a one-line error for anything else."""
    try:
        sizes = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or any(s < 4 for s in sizes) or len(set(sizes)) != len(sizes):
        raise ConfigError(f"--sizes {text!r}: give distinct image sides >= 4, comma-separated, "
                          "e.g. --sizes 16,32")
    return sorted(sizes)


def size_root(config: ExperimentConfig, size: int, out=None) -> Path:
    return Path(f"{Path(out if out is not None else config.sweep.out)}-{size}px")


def mean_gap(row: dict, sigmas) -> float | None:
    """Train - test PSNR gap of one table row, averaged over `sigmas`; None when any is
    undefined (a perfect memorizer's infinite train PSNR)."""
    gaps = [row.get(f"gap_psnr_{sigma_key(s)}") for s in sigmas]
    return None if any(g is None for g in gaps) else float(np.mean(gaps))


def transition_n(ns: list, gaps: list, gap_db: float):
    """The smallest N from which on every gap is below `gap_db` dB (None if none is)."""
    found = None
    for n, gap in sorted(zip(ns, gaps), key=lambda p: p[0], reverse=True):
        if gap is None or gap >= gap_db:
            break
        found = n
    return found


def summarize_sizes(tables: dict, sigmas, gap_db: float = 1.0) -> dict:
    """{size: analysis table} -> per size the N, mean gaps and transition N."""
    summary = {}
    for size, table in tables.items():
        rows = [r for r in table if isinstance(r["N"], int)]
        ns, gaps = [r["N"] for r in rows], [mean_gap(r, sigmas) for r in rows]
        summary[str(size)] = {"N": ns, "mean_gap_db": gaps,
                              "transition_n": transition_n(ns, gaps, gap_db)}
    return {"gap_db": gap_db, "sigmas": [float(s) for s in sigmas], "sizes": summary}


def run_sizes(path, overrides, sizes, out=None, train: bool = True, progress: bool = True,
              gap_db: float = 1.0, log=print) -> dict:
    """The experiment of `path` at each image side in `sizes`; see the module docstring."""
    from ..report import line_plot
    from ..train import run_sweep
    from .experiment import analyze_sweep

    base = load_experiment(path, overrides)
    tables = {}
    for size in sizes:  # every size is checked before anything runs
        load_experiment(path, [*overrides, f"data.size={size}"])
    for size in sizes:
        config = load_experiment(path, [*overrides, f"data.size={size}"])
        root = size_root(base, size, out)
        log(f"size {size}x{size}: sweep root {root}")
        if train:
            run_sweep(config, out=root, progress=progress)
        tables[size] = analyze_sweep(config, out=root, log=log)["table"]
    sigmas = base.memorization.sigmas
    summary = summarize_sizes(tables, sigmas, gap_db)
    dest = Path(f"{Path(out if out is not None else base.sweep.out)}-sizes")
    save_json(summary, dest / "sizes.json")
    xs, ys = {}, {}
    for s, v in summary["sizes"].items():  # undefined gaps are left out; log axis needs > 0
        points = [(n, max(g, 1e-3)) for n, g in zip(v["N"], v["mean_gap_db"]) if g is not None]
        if points:
            xs[f"{s}x{s}"], ys[f"{s}x{s}"] = map(list, zip(*points))
    if ys:
            line_plot(dest / "gap_vs_n_by_size.png", xs, ys, "N (training images)",
                  "train - test PSNR (dB), mean over sigma",
                  "The generalization transition moves to larger N with the image size",
                  logx=True, logy=True)
    for s, v in summary["sizes"].items():
        log(f"{s}x{s}: gap closes (< {gap_db:g} dB) from N = {v['transition_n']}")
    return summary
