"""The memorization experiment at several image sizes (paper, appendix: the N at which the
train/test gap closes grows with the image size).

`run_sizes` runs the whole experiment (sweep + analysis) once per size, each in its own sweep
root `<sweep.out>-<size>px` (`-<size>px-<blocks>b` when the size sets the UNet's blocks), then
writes `<sweep.out>-sizes-<sizes>/` (e.g. `-sizes-16px-32px`, `-sizes-16px1b-32px2b`):
`sizes.json` (per size and N, the train - test PSNR gap averaged over the analysis noise levels,
and the first N from which the gap stays below `gap_db`) and `gap_vs_n_by_size.png`. Finished
runs and analyses are skipped, as always.
"""

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..io import save_json
from ..metrics import sigma_label
from .experiment import ExperimentConfig, load_experiment


def parse_sizes(text: str) -> list[tuple[int, int | None]]:
    """'16,32' -> [(16, None), (32, None)]; '16:1,32:2' also sets the UNet's number of blocks
    per size (the paper grows the net with the image: 1/2/3/4 blocks at 20/40/80/160 pixels)."""
    entries = []
    try:
        for part in (p.strip() for p in str(text).split(",")):
            if part:
                side, _, blocks = part.partition(":")
                entries.append((int(side), int(blocks) if blocks else None))
    except ValueError:
        entries = []
    sides = [side for side, _ in entries]
    if (not entries or any(side < 4 for side in sides) or len(set(sides)) != len(sides)
            or any(b is not None and b < 1 for _, b in entries)):
        raise ConfigError(f"--sizes {text!r}: give distinct image sides >= 4, comma-separated, "
                          "each optionally with the UNet's blocks, e.g. --sizes 16,32 or "
                          "--sizes 16:1,32:2")
    return sorted(entries)


def size_label(size: int, blocks: int | None) -> str:
    """The key of a size in sizes.json: '16', or '16:1' with the number of blocks."""
    return f"{size}" if blocks is None else f"{size}:{blocks}"


def size_root(config: ExperimentConfig, size: int, out=None, blocks: int | None = None) -> Path:
    suffix = f"-{size}px" if blocks is None else f"-{size}px-{blocks}b"
    return Path(f"{Path(out if out is not None else config.sweep.out)}{suffix}")


def mean_gap(row: dict, sigmas) -> float | None:
    """Train - test PSNR gap of one table row, averaged over `sigmas`; None when any is
    undefined (a perfect memorizer's infinite train PSNR)."""
    gaps = [row.get(f"gap_psnr_{sigma_label(s)}") for s in sigmas]
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
    """{size label: analysis table} -> per size the N, mean gaps and transition N."""
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
    from ..train import run_sweep
    from .experiment import analyze_sweep

    base = load_experiment(path, overrides)
    tables = {}

    def settings(size, blocks):
        more = [] if blocks is None else [f"model.num_blocks={blocks}"]
        return [*overrides, f"data.size={size}", *more]
    for size, blocks in sizes:  # every size is checked before anything runs
        load_experiment(path, settings(size, blocks))
    for size, blocks in sizes:
        config = load_experiment(path, settings(size, blocks))
        root = size_root(base, size, out, blocks)
        log(f"size {size_label(size, blocks)}: sweep root {root}")
        if train:
            run_sweep(config, out=root, progress=progress)
        tables[size_label(size, blocks)] = analyze_sweep(config, out=root, log=log)["table"]
    sigmas = base.memorization.sigmas
    summary = summarize_sizes(tables, sigmas, gap_db)
    tag = "-".join(f"{size}px" + (f"{blocks}b" if blocks else "") for size, blocks in sizes)
    dest = Path(f"{Path(out if out is not None else base.sweep.out)}-sizes-{tag}")
    save_json(summary, dest / "sizes.json")
    _plot_gaps(dest / "gap_vs_n_by_size.png", summary)
    for key, v in summary["sizes"].items():
        log(f"size {key}: gap closes (< {gap_db:g} dB) from N = {v['transition_n']}")
    return summary


def _plot_gaps(path: Path, summary: dict) -> None:
    """Mean gap against N, one curve per size (log axes: undefined and gaps <= 0 left out)."""
    from ..report import line_plot

    xs, ys = {}, {}
    for key, v in summary["sizes"].items():
        points = [(n, g) for n, g in zip(v["N"], v["mean_gap_db"]) if g is not None and g > 0]
        side, _, blocks = key.partition(":")
        label = f"{side}x{side}" + (f", {blocks} blocks" if blocks else "")
        if points:
            xs[label], ys[label] = map(list, zip(*points))
    if ys:
        line_plot(path, xs, ys, "N (training images)", "train - test PSNR (dB), mean over sigma",
                  "Train - test gap against N, per image size (gaps <= 0 dB not drawn)",
                  logx=True, logy=True)
