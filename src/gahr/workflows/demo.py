"""`gahr demo`: the toolkit's main job on the embedded synthetic default (discs, no download).

Stages, each skipped when its outputs exist (a rerun resumes):
1. the memorization experiment (`gahr.workflows.experiment.run_experiment`): train S1/S2 pairs
   of bias-free UNets at a memorizing and a generalizing N, sample each pair from the same
   seeds and measure memorization;
2. open the generalizing denoiser up on a fresh test image: Jacobian eigenvalues, eigenvectors,
   effective dimension against sigma (`gahr.analysis.eigen`), beside the memorizing one;
3. write `<out>/report.html` with every figure and print a short summary.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from ..analysis.eigen import effective_dimension_curve
from ..config import ExperimentConfig, load_experiment, with_overrides
from ..data.synthetic import discs
from ..devices import torch_threads
from ..errors import ConfigError
from ..io import load_json, save_json
from ..nets import load_denoiser
from ..report import Report, line_plot
from .eigen_files import eigen_to_files
from .experiment import analysis_dir, pair_jobs, run_experiment

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"
#: Noise levels of the effective-dimension curves (on the [0, 1] scale).
EFFDIM_SIGMAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
#: Noise level of the eigen analysis; the paper uses sigma = 0.04 at 80x80 for discs.
EIGEN_SIGMA = 0.1
DISC_MANIFOLD_DIM = 5


@dataclass(frozen=True)
class DemoResult:
    report: Path
    summary: list[str]


def demo_config(out, quick: bool = False, overrides=()) -> ExperimentConfig:
    """The demo's experiment: the embedded preset, with the sweep under `<out>/sweep`."""
    preset = PRESET_DIR / ("demo_quick.toml" if quick else "demo.toml")
    config = load_experiment(preset, overrides)
    sweep_out = Path(out) / "sweep"
    return with_overrides(config, [f'sweep.out="{sweep_out.as_posix()}"',
                                   'memorization.out=""'])


def run_demo(out="runs/demo", quick: bool = False, overrides=(), progress: bool = True,
             log=print) -> DemoResult:
    """Run every stage (skipping finished ones) and return the report path and summary lines."""
    start = time.perf_counter()
    out = Path(out)
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
    report = Report(out, "gahr demo: memorization, generalization and the adaptive basis",
                    intro=_intro(config))
    report.include(analysis_dir(config))
    add_eigen_sections(report, out / "eigen", eigen)
    page = report.write()
    summary = summarize(config, results, eigen, page, time.perf_counter() - start)
    return DemoResult(page, summary)


def _intro(config: ExperimentConfig) -> str:
    d, m = config.data, config.model
    return (f"Synthetic discs ({d.size}x{d.size} pixels, random center, radius and intensities: "
            f"a {DISC_MANIFOLD_DIM}-dimensional manifold). For each N in "
            f"{list(config.sweep.n_train)}, two bias-free {m.arch.upper()}s "
            f"({', '.join(f'{k}={v}' for k, v in m.config.items())}) were trained on disjoint "
            "sets S1 and S2 of N images, for every noise level at once, and sampled from the "
            "same seeds with the coarse-to-fine stochastic gradient ascent of Kadkhodaie & "
            "Simoncelli (2021). Kadkhodaie et al. (ICLR 2024): small N memorizes, large N "
            "generalizes, and the generalizing denoiser shrinks in a geometry-adaptive "
            "harmonic basis.")


def eigen_stage(config: ExperimentConfig, out: Path, log=print) -> dict:
    """`gahr eigen`'s analysis (J(y) at a noisy fresh disc, its eigenvalues, eigenvectors and
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
    # A fresh disc: generated from a seed the training sets never used.
    x, _ = discs(1, size=config.data.size, seed=config.data.seed + 10_007)
    summary = eigen_to_files(large, x, EIGEN_SIGMA, out, seed=1)
    curves = {f"N={n}": effective_dimension_curve(d, x, EFFDIM_SIGMAS, seed=2)
              for n, d in ((n_small, small), (n_large, large))}
    result = {**summary, "n_large": n_large, "n_small": n_small,
              "effective_dimension_curves": curves}
    save_json(result, results_path)
    return result


def _n_key(n):
    return float("inf") if n == "all" else n


def add_eigen_sections(report, eigen_dir: Path, eigen: dict) -> None:
    """The eigen analysis's figures (written by `eigen_to_files`) and the effective-dimension
    curves, as two report sections."""
    n = eigen["n_large"]
    curves = eigen["effective_dimension_curves"]
    sigmas = [p["sigma"] for p in next(iter(curves.values()))]
    traces = {label: [p["effective_dimension"] for p in c] for label, c in curves.items()}
    effdim = line_plot(eigen_dir / "effective_dimension.png", sigmas, traces,
                       xlabel="noise level sigma (intensity range [0, 1])",
                       ylabel="effective dimension tr J(y) (dimensions)",
                       title="Effective dimension against noise level", logx=True, logy=True,
                       dashed={"disc manifold dimension": [DISC_MANIFOLD_DIM] * len(sigmas)})
    report.add_section(
        f"The adaptive basis of the generalizing denoiser (N={n})",
        "Look at the eigenvectors: the top ones live on the disc and its edge (geometry-adaptive "
        "harmonics); the eigenvalues (shrinkage factors) fall from about 1 to 0, and the clean "
        "image's energy sits in the top few eigenvectors.",
        figures=[eigen_dir / name for name in ("triple.png", "spectrum.png", "eigenvectors.png")],
        numbers={"top eigenvalues": ", ".join(f"{v:.2f}" for v in eigen["lambda_top"][:6]),
                 "effective dimension tr J": eigen["effective_dimension"],
                 "asymmetry |J-J^T|/|J|, all / top tr J eigenvectors":
                     f"{eigen['asymmetry']:.2f} / {eigen.get('asymmetry_top', float('nan')):.2f}",
                 "PSNR noisy / denoised (dB)": f"{eigen['psnr_noisy']:.1f} / "
                                               f"{eigen['psnr_denoised']:.1f}"})
    report.add_section(
        "Effective dimension against noise level",
        "Look at how tr J(y) grows as sigma shrinks: an optimal denoiser for discs keeps about "
        f"{DISC_MANIFOLD_DIM} dimensions (the manifold's tangent space) at small sigma; a "
        "memorizing model keeps almost none.",
        figures=[effdim])


def summarize(config: ExperimentConfig, results: dict, eigen: dict, page: Path,
              seconds: float) -> list[str]:
    """At most 10 lines: the key numbers and where the report is."""
    d = config.data
    lines = [f"gahr demo: discs {d.size}x{d.size}, {config.model.arch} "
             f"{config.model.config}, S1/S2 pairs at N = {list(config.sweep.n_train)}"]
    for row in results["table"][:5]:
        lines.append(
            f"  N={row['N']}: nearest-training similarity {_fmt(row['median_nearest_S1'])} / "
            f"{_fmt(row['median_nearest_S2'])} (S1/S2 models), same-seed S1-vs-S2 "
            f"{_fmt(row['median_same_seed'])}" + _gap(row))
    lines.append(f"  eigen (N={eigen['n_large']}, sigma={eigen['sigma']:g}): top eigenvalues "
                 + ", ".join(f"{v:.2f}" for v in eigen["lambda_top"][:5])
                 + f"; tr J = {eigen['effective_dimension']:.1f}")
    lines.append(f"report: {page}  ({seconds / 60:.1f} min)")
    return lines


def _gap(row: dict) -> str:
    gap = row.get("gap_psnr_25")
    return "" if gap is None else f", train-test PSNR gap at 25/255 {gap:.1f} dB"


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"
