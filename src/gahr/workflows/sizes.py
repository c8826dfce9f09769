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

from ..analysis.sizes import summarize_sizes
from ..config import ExperimentConfig, load_experiment
from ..errors import ConfigError
from ..io import save_json
from ..report import line_plot
from .experiment import analysis_dir, run_experiment


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


def run_sizes(path, overrides, sizes, out=None, train: bool = True, progress: bool = True,
              gap_db: float = 1.0, log=print, retrain: bool = False) -> dict:
    """The experiment of `path` at each image side in `sizes`; see the module docstring.
    `retrain`: train runs saved with other settings again (see `run_experiment`)."""
    base = load_experiment(path, overrides)
    tables, reports = {}, []

    def settings(size, blocks):
        more = [] if blocks is None else [f"model.num_blocks={blocks}"]
        return [*overrides, f"data.size={size}", *more]
    for size, blocks in sizes:  # every size is checked before anything runs
        load_experiment(path, settings(size, blocks))
    for size, blocks in sizes:
        config = load_experiment(path, settings(size, blocks))
        root = size_root(base, size, out, blocks)
        log(f"size {size_label(size, blocks)}: sweep root {root}")
        results = run_experiment(config, out=root, train=train, progress=progress, log=log,
                                 retrain=retrain)
        tables[size_label(size, blocks)] = results["table"]
        reports.append(analysis_dir(config, root) / "report.html")
    sigmas = base.memorization.sigmas
    summary = summarize_sizes(tables, sigmas, gap_db)
    tag = "-".join(f"{size}px" + (f"{blocks}b" if blocks else "") for size, blocks in sizes)
    dest = Path(f"{Path(out if out is not None else base.sweep.out)}-sizes-{tag}")
    save_json(summary, dest / "sizes.json")
    _plot_gaps(dest / "gap_vs_n_by_size.png", summary)
    for key, v in summary["sizes"].items():
        log(f"size {key}: gap closes (< {gap_db:g} dB) from N = {v['transition_n']}")
    for report in reports:  # one per size, as `gahr memorization` prints its one
        log(f"report: {report}")
    log(f"sizes: {dest / 'sizes.json'} (figure: {dest / 'gap_vs_n_by_size.png'})")
    return summary


def _plot_gaps(path: Path, summary: dict) -> None:
    """Mean gap against N, one curve per size (log axes: undefined and gaps <= 0 left out)."""
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
