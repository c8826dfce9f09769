"""`gahr demo`: the toolkit's main job on an embedded synthetic class (no download).

Stages, each skipped when its outputs exist (a rerun resumes):
1. the memorization experiment (`gahr.workflows.experiment.run_experiment`): train S1/S2 pairs
   of bias-free UNets at a memorizing and a generalizing N, sample each pair from the same
   seeds and measure memorization;
2. open the generalizing denoiser up on a fresh test image: Jacobian eigenvalues, eigenvectors,
   effective dimension against sigma (`gahr.analysis.eigen`), beside the memorizing one;
3. write `<out>/report.html` (`gahr.workflows.demo_report`), `summary.json` and `summary.md`,
   and return the terminal summary.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from ..analysis.eigen import effective_dimension_curve
from ..config import ExperimentConfig, load_experiment, with_overrides
from ..devices import torch_threads
from ..errors import ConfigError
from ..io import check_out_dir, load_json, save_json
from ..nets import load_denoiser
from ..rundir import RunDir
from .demo_report import EFFDIM_SIGMAS, EIGEN_SIGMA, TRACE_SEEDS, summary_files, write_demo_report
from .eigen_files import EIGEN_FILES, eigen_to_files
from .experiment import pair_jobs, run_experiment
from .test_images import fresh_test_images

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"
#: Any of these marks a directory as a demo's output (checked before the demo writes into it).
DEMO_FILES = ("sweep", "eigen", "report.html", "summary.json")


@dataclass(frozen=True)
class DemoResult:
    report: Path
    summary: list[str]
    rows: list[dict]


def demo_config(out, quick: bool = False, overrides=()) -> ExperimentConfig:
    """The demo's experiment: the embedded preset, with the sweep under `<out>/sweep`."""
    preset = PRESET_DIR / ("demo_quick.toml" if quick else "demo.toml")
    config = load_experiment(preset, overrides)
    sweep_out = Path(out) / "sweep"
    return with_overrides(config, [f'sweep.out="{sweep_out.as_posix()}"',
                                   'memorization.out=""'])


def run_demo(out="runs/demo", quick: bool = False, overrides=(), progress: bool = True,
             log=print, retrain: bool = False) -> DemoResult:
    """Run every stage (skipping finished ones); return the report path, the summary lines
    and the per-N summary rows. A stage whose saved results were made with other settings is
    refused (ConfigError naming them), or with `retrain` computed again: the runs
    (`run_sweep`), the eigen analysis (`eigen_stage`)."""
    start = time.perf_counter()
    out = check_out_dir(out, DEMO_FILES, "demo")
    fresh = not (out / "sweep").exists() and not (out / "eigen").exists()
    config = demo_config(out, quick, overrides)
    if len(config.sweep.n_train) < 2 or set(config.sweep.splits) != {"S1", "S2"}:
        raise ConfigError("the demo needs at least two values of sweep.n_train and both splits "
                          "S1, S2")
    log(f"[1/3] training {2 * len(config.sweep.n_train)} denoisers -> {out / 'sweep'}, then "
        "same-seed samples and memorization metrics")
    results = run_experiment(config, progress=progress, log=log, retrain=retrain)
    log("[2/3] Jacobian eigen analysis")
    with torch_threads(config.train.threads):
        eigen = eigen_stage(config, out / "eigen", log=log, retrain=retrain)
    log("[3/3] report")
    page, rows = write_demo_report(out, config, results, eigen)
    lines = summary_files(out, config, rows, eigen, page, time.perf_counter() - start, fresh)
    return DemoResult(page, lines, rows)


def eigen_stage(config: ExperimentConfig, out: Path, log=print, retrain: bool = False) -> dict:
    """`gahr eigen`'s analysis (J(y) at a noisy fresh image, its eigenvalues, eigenvectors and
    figures) for the largest-N S1 model, plus the effective dimension tr J against sigma for
    the smallest- and largest-N S1 models.

    eigen.json records the stage's inputs (noise levels, image, N, the models' weights); it is
    reused only when they are today's and the folder's summary.json is the one it wrote. An
    eigen result that another command wrote into the folder is refused (ConfigError) unless
    `retrain`, so the report never shows it beside the demo's own numbers."""
    results_path = out / "eigen.json"
    pairs = pair_jobs(config)
    n_small, n_large = min(pairs, key=_n_key), max(pairs, key=_n_key)
    inputs = _eigen_inputs(config, pairs, n_small, n_large)
    saved = load_json(results_path) if results_path.exists() else None
    foreign = _foreign_summary(out, saved)
    if foreign and not retrain:
        raise ConfigError(f"{out} holds an eigen analysis the demo did not write ({foreign}); "
                          "move it away, or pass --retrain to replace it with the demo's")
    pending = saved is not None and saved.get("pending")
    if saved is not None and not foreign and not pending and saved.get("inputs") == inputs:
        log(f"eigen analysis finished, skipped ({results_path})")
        return saved
    if saved is not None and not foreign and not pending:
        log("eigen analysis: its inputs changed (models trained again?); computing it again")
    check_out_dir(out, EIGEN_FILES, "eigen analysis")
    # Marks what follows as the demo's own (a kill before the end leaves it pending, and the
    # rerun redoes the stage instead of refusing its half as another command's).
    save_json({"pending": True, "inputs": inputs}, results_path)
    large = load_denoiser(pairs[n_large]["S1"].run_dir)
    small = load_denoiser(pairs[n_small]["S1"].run_dir)
    # A fresh image of the training class, from a seed the training sets never used.
    x, _ = fresh_test_images(pairs[n_large]["S1"].run_dir, 1)
    summary = eigen_to_files(large, x, EIGEN_SIGMA, out, seed=TRACE_SEEDS[0])
    # The curves share the eigen analysis's noise draw; tr J at EIGEN_SIGMA is also taken over
    # TRACE_SEEDS draws, so the report gives one number with its interval.
    models = ((n_small, small), (n_large, large))
    curves = {f"N={n}": effective_dimension_curve(d, x, EFFDIM_SIGMAS, seed=TRACE_SEEDS[0])
              for n, d in models}
    draws = {f"N={n}": [effective_dimension_curve(d, x, [EIGEN_SIGMA], seed=s)[0]
                        ["effective_dimension"] for s in TRACE_SEEDS] for n, d in models}
    result = {**summary, "n_large": n_large, "n_small": n_small,
              "effective_dimension_curves": curves, "trace_draws": draws, "inputs": inputs}
    save_json(result, results_path)
    return result


def _eigen_inputs(config: ExperimentConfig, pairs: dict, n_small, n_large) -> dict:
    """Everything the eigen stage's numbers depend on, as JSON."""
    models = {f"N={n}": RunDir(pairs[n]["S1"].run_dir).weights_digest()
              for n in (n_small, n_large)}
    return {"sigma": EIGEN_SIGMA, "effdim_sigmas": list(EFFDIM_SIGMAS),
            "trace_seeds": list(TRACE_SEEDS), "n_small": n_small,
            "n_large": n_large, "image": {"source": config.data.source,
                                          "size": config.data.size, "fresh_index": 0},
            "models": models}


def _foreign_summary(out: Path, saved: dict | None) -> str | None:
    """A description of the eigen result in `out` when it is not the one eigen.json recorded
    (another `gahr eigen --out` into the folder), else None."""
    path = out / "summary.json"
    if not path.exists() or (saved is not None and saved.get("pending")):
        return None
    summary = load_json(path)
    if saved is not None and all(saved.get(k) == v for k, v in summary.items()):
        return None
    return (f"sigma={summary.get('sigma', float('nan')):.4g}, seed {summary.get('seed')}; the "
            f"demo's is at sigma={EIGEN_SIGMA:g}")


def _n_key(n):
    return float("inf") if n == "all" else n
