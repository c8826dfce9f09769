"""`gahr scaling`: train + measure C^alpha nets over image sizes and step counts, one command.

When a 32x32 net trained for a few thousand steps cannot reach the optimal C^alpha slope, this
measures how the slope, the fit range and the clean-image floor move with the image side and
the training length. Each cell (size, steps, alpha) is a run dir
`<out>/size{S}_steps{N}_alpha{A}`, trained from the preset with `data.size`, `train.epochs`
(steps / steps-per-epoch of the preset) and `train.lr_halve_every` (scaled with the length)
overridden, then measured as by `gahr slopes` (its `cell.json`). Finished cells are skipped, so
a rerun continues; `scaling_plan` lists each cell's `gahr train` and `gahr slopes` commands for
a scheduler. Writes `scaling.md`, `scaling.json`, `scaling_slope.png` (the net's slope against
steps, per size, beside the optimum) and `scaling_floor.png` (its PSNR on clean images).
"""

import shlex
import time
from pathlib import Path

from ..config import load_config
from ..data import open_dataset
from ..errors import ConfigError
from ..io import atomic_path, check_out_dir, load_json, save_json
from ..metrics import psnr_db
from ..nets import load_denoiser
from ..report import line_plot
from ..report.tables import markdown
from ..train import train
from .slopes import SIGMAS, measure_alpha, summarize
from .test_images import TEST_SEED


def cell_overrides(preset, size: int, steps: int, alpha: float, overrides=()) -> list[str]:
    """The `--set` overrides of one cell: image side, epochs for `steps`, a scaled schedule."""
    base = load_config(preset, overrides)
    tc = base.train
    per_epoch = max(1, tc.samples_per_epoch // tc.batch_size)
    epochs = max(1, round(steps / per_epoch))
    halve = max(1, round(tc.lr_halve_every * epochs / tc.epochs))
    return [*overrides, f"data.size={size}", f"data.options.alpha={alpha:g}",
            f"train.epochs={epochs}", f"train.lr_halve_every={halve}"]


def check_cells(preset, sizes, steps, alphas, overrides=()) -> None:
    """ConfigError, before anything trains, for a step count below 1 or a cell whose config
    cannot work (each is loaded and checked, e.g. an image side the data refuses)."""
    bad = [n for n in steps if n < 1]
    if bad:
        raise ConfigError(f"--steps {bad[0]}: every cell trains at least one step")
    for size in sizes:
        for alpha in alphas:
            d = load_config(preset, cell_overrides(preset, size, steps[0], alpha, overrides)).data
            open_dataset(d.source, n=1, size=d.size, seed=d.seed, **d.options)  # one image


def cell_dir(out, size: int, steps: int, alpha: float) -> Path:
    return Path(out) / f"size{size}_steps{steps}_alpha{alpha:g}"


def scaling_plan(preset, out, sizes, steps, alphas, overrides=()) -> list[str]:
    """One `gahr train` and one `gahr slopes` command line per cell, for a scheduler."""
    check_cells(preset, sizes, steps, alphas, overrides)
    lines = []
    for size in sizes:
        for n in steps:
            for alpha in alphas:
                run = cell_dir(out, size, n, alpha)
                sets = [a for o in cell_overrides(preset, size, n, alpha, overrides)
                        for a in ("--set", o)]
                lines.append(shlex.join(["gahr", "train", str(preset), *sets, "--out", str(run)]))
                lines.append(shlex.join(["gahr", "slopes", str(run), "--alphas", f"{alpha:g}",
                                         "--out", str(run / "slopes")]))
    return lines


def run_cell(preset, out, size: int, steps: int, alpha: float, overrides=(), n_images: int = 64,
             seed: int = TEST_SEED, progress: bool = True) -> dict:
    """Train (or resume) one cell and measure it; the measurement is cached in `cell.json`."""
    run = cell_dir(out, size, steps, alpha)
    if (run / "cell.json").exists():
        return load_json(run / "cell.json")
    config = load_config(preset, cell_overrides(preset, size, steps, alpha, overrides))
    start = time.time()
    result = train(config, run, progress=progress)
    seconds = None if result.already_finished else time.time() - start
    options = {k: v for k, v in config.data.options.items() if k != "alpha"}
    m = measure_alpha(load_denoiser(run), alpha, size, n_images, SIGMAS, seed, "db4", options)
    cell = {"size": size, "steps": steps, "alpha": float(alpha), "run": str(run),
            "train_seconds": seconds, **summarize(m),
            "floor_psnr": float(psnr_db(m["floor"])), "curves": m}
    save_json(cell, run / "cell.json")
    return cell


def _f(v, digits=2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def scaling_table(cells: list[dict]) -> str:
    header = ["size", "steps", "alpha", "net slope", "optimum", "wavelets", "fit range "
              "(sigma x 255, points)", "net MSE / sigma^2 there", "net on clean images (dB)",
              "train time (s)"]
    rows = [[str(c["size"]), str(c["steps"]), f"{c['alpha']:g}", _f(c["net"]),
             _f(c["optimum"]), _f(c["wavelets"]),
             "none" if c["fit_range"] is None else
             f"{c['fit_range'][0] * 255:.3g}-{c['fit_range'][1] * 255:.3g} ({c['points']})",
             _f(c.get("noise_kept")),
             _f(c["floor_psnr"], 1), _f(c["train_seconds"], 0)] for c in cells]
    return markdown(header, rows)


def scaling_run(preset, out, sizes=(32, 48, 64), steps=(1000, 3000), alphas=(2,), overrides=(),
                n_images: int = 64, seed: int = TEST_SEED, progress: bool = True) -> list[dict]:
    """Every cell of sizes x steps x alphas, then the table and the figure."""
    check_cells(preset, sizes, steps, alphas, overrides)
    check_out_dir(out, ("scaling.json", "size*_steps*_alpha*"), "scaling study")
    cells = [run_cell(preset, out, s, n, a, overrides, n_images, seed, progress)
             for s in sizes for n in steps for a in alphas]
    out = Path(out)
    save_json([{k: v for k, v in c.items() if k != "curves"} for c in cells],
              out / "scaling.json")
    with atomic_path(out / "scaling.md") as tmp:
        tmp.write_text(scaling_table(cells))
    _figure(out, cells)
    return cells


def _figure(out: Path, cells: list[dict]) -> None:
    slopes, floors, x_s, x_f, optimum = {}, {}, {}, {}, {}
    for c in sorted(cells, key=lambda c: c["steps"]):
        label = f"{c['size']}x{c['size']}, alpha={c['alpha']:g}"
        if c["net"] is not None:  # no fit range: no slope to draw
            slopes.setdefault(label, []).append(c["net"])
            x_s.setdefault(label, []).append(c["steps"])
        floors.setdefault(label, []).append(c["floor_psnr"])
        x_f.setdefault(label, []).append(c["steps"])
        optimum[f"optimum, alpha={c['alpha']:g}"] = c["optimum"]
    steps = sorted({c["steps"] for c in cells})
    ends = [steps[0] / 1.5, steps[-1] * 1.5]  # the optimum as a line even for one step count
    x_s.update({label: ends for label in optimum})
    if slopes:
        line_plot(out / "scaling_slope.png", x_s, slopes, xlabel="training steps",
                  ylabel="PSNR slope over the fit range", logx=True,
                  dashed={k: [v, v] for k, v in optimum.items()},
                  title="C^alpha: the net's slope against image size and training length")
    line_plot(out / "scaling_floor.png", x_f, floors, xlabel="training steps",
              ylabel="PSNR of the net on clean images (dB)", logx=True,
              title="C^alpha: the low-noise floor against size and training length")
