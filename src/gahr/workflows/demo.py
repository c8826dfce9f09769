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
from ..io import load_json, save_json
from ..nets import load_denoiser
from .demo_report import EFFDIM_SIGMAS, EIGEN_SIGMA, summary_files, write_demo_report
from .eigen_files import eigen_to_files
from .experiment import pair_jobs, run_experiment
from .test_images import fresh_test_images

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"


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
             log=print) -> DemoResult:
    """Run every stage (skipping finished ones); return the report path, the summary lines
    and the per-N summary rows."""
    start = time.perf_counter()
    out = Path(out)
    fresh = not (out / "sweep").exists() and not (out / "eigen").exists()
    config = demo_config(out, quick, overrides)
    if len(config.sweep.n_train) < 2 or set(config.sweep.splits) != {"S1", "S2"}:
        raise ConfigError("the demo needs at least two values of sweep.n_train and both splits "
                          "S1, S2")
    log(f"[1/3] training {2 * len(config.sweep.n_train)} denoisers -> {out / 'sweep'}, then "
        "same-seed samples and memorization metrics")
    results = run_experiment(config, progress=progress, log=log)
    log("[2/3] Jacobian eigen analysis")
    with torch_threads(config.train.threads):
        eigen = eigen_stage(config, out / "eigen", log=log)
    log("[3/3] report")
    page, rows = write_demo_report(out, config, results, eigen)
    lines = summary_files(out, config, rows, eigen, page, time.perf_counter() - start, fresh)
    return DemoResult(page, lines, rows)


def eigen_stage(config: ExperimentConfig, out: Path, log=print) -> dict:
    """`gahr eigen`'s analysis (J(y) at a noisy fresh image, its eigenvalues, eigenvectors and
    figures) for the largest-N S1 model, plus the effective dimension tr J against sigma for
    the smallest- and largest-N S1 models."""
    results_path = out / "eigen.json"
    pairs = pair_jobs(config)
    n_small, n_large = min(pairs, key=_n_key), max(pairs, key=_n_key)
    if results_path.exists():
        saved = load_json(results_path)
        if (saved.get("n_small"), saved.get("n_large")) == (n_small, n_large):
            log(f"eigen analysis finished, skipped ({results_path})")
            return saved
    large = load_denoiser(pairs[n_large]["S1"].run_dir)
    small = load_denoiser(pairs[n_small]["S1"].run_dir)
    # A fresh image of the training class, from a seed the training sets never used.
    x, _ = fresh_test_images(pairs[n_large]["S1"].run_dir, 1)
    summary = eigen_to_files(large, x, EIGEN_SIGMA, out, seed=1)
    curves = {f"N={n}": effective_dimension_curve(d, x, EFFDIM_SIGMAS, seed=2)
              for n, d in ((n_small, small), (n_large, large))}
    result = {**summary, "n_large": n_large, "n_small": n_small,
              "effective_dimension_curves": curves}
    save_json(result, results_path)
    return result


def _n_key(n):
    return float("inf") if n == "all" else n
