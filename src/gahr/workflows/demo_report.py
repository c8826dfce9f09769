"""The demo's page and summary: both claims on the first screen, every caption computed.

`write_demo_report` builds `<out>/report.html` (the Fig. 1-style grid beside the named
quantities per N and the caption they support; the memorization figures; the eigen analysis;
the effective dimension; the setup) and returns the per-N summary rows; `summary_files` writes
`summary.json` and `summary.md` (the block the README quotes) and the terminal lines.
"""

import os
from pathlib import Path

import numpy as np

from ..analysis.bootstrap import bootstrap_interval
from ..config import ExperimentConfig
from ..io import atomic_path, save_json
from ..report import Report, eigenvector_strip, line_plot
from ..rundir import FIGURES
from . import captions
from .experiment import analysis_dir
from .experiment_report import grid_entry, lead_section
from .summary import BOOTSTRAP_SEED, summary_lines, summary_markdown, summary_rows

#: Noise levels of the effective-dimension curves (on the [0, 1] scale).
EFFDIM_SIGMAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
#: Noise level of the eigen analysis; the paper uses sigma = 0.04 at 80x80 for discs.
EIGEN_SIGMA = 0.1
#: Seeds of the noise draws over which tr J at EIGEN_SIGMA is given as a median with its
#: bootstrap interval (the first is the eigen analysis's y); at least MIN_VALUES of them.
TRACE_SEEDS = tuple(range(1, 9))
#: Dimension of the manifold of each synthetic class the demo may use (a reference line).
MANIFOLD_DIM = {"discs": 5}
TITLE = "gahr demo: memorization, generalization and the adaptive basis"


def data_text(config: ExperimentConfig) -> str:
    """'synthetic discs (16x16)' and the like."""
    d = config.data
    size = f" ({d.size}x{d.size})" if d.size else ""
    return f"synthetic {d.source}{size}" if d.source in ("discs", "calpha") else \
        f"{d.source} images{size}"


def setup_text(config: ExperimentConfig) -> str:
    """One paragraph: what was trained on what, and how it was sampled."""
    m, s = config.model, config.memorization
    settings = ", ".join(f"{k}={v}" for k, v in m.config.items())
    dim = MANIFOLD_DIM.get(config.data.source)
    manifold = f", a {dim}-dimensional manifold" if dim else ""
    return (f"Data: {data_text(config)}{manifold}. For each N in {list(config.sweep.n_train)}, "
            f"two bias-free {m.arch.upper()}s ({settings}) were trained on disjoint sets S1 "
            "and S2 of N images, for every noise level at once "
            f"({config.train.epochs} epochs of {config.train.samples_per_epoch} noisy images, "
            f"recipe {config.train.recipe!r}), and sampled from the same {s.num_samples} seeds "
            f"with the coarse-to-fine stochastic gradient ascent of Kadkhodaie & Simoncelli "
            f"(2021) (beta = {s.beta:g}, stopping at sigma = {s.sigma_L:g}). Kadkhodaie et al. "
            "(ICLR 2024): small N memorizes, large N generalizes, and the generalizing denoiser "
            "shrinks in a geometry-adaptive harmonic basis.")


def effective_dimensions(eigen: dict) -> dict:
    """{N: tr J at EIGEN_SIGMA} of the smallest- and largest-N models: the median over the
    noise draws of TRACE_SEEDS with its bootstrap interval (a dict, `summary_rows` takes it)."""
    return {n: bootstrap_interval(eigen["trace_draws"][f"N={n}"], seed=BOOTSTRAP_SEED).as_dict()
            for n in (eigen["n_small"], eigen["n_large"])}


def energy_share(eigen_dir: Path, eigen: dict) -> tuple[float, int, int]:
    """(share of ||x - mean(x)||^2 in the top round(tr J) eigenvectors, that count, the
    dimension). The mean is removed: a constant image's energy sits in whichever eigenvector
    is nearly constant, and says nothing about adaptation to the image's geometry."""
    with np.load(eigen_dir / "eigen.npz") as z:
        e = z["e_k"].reshape(len(z["lambda_k"]), -1).astype(np.float64)
        x = z["x"].astype(np.float64).ravel()
    c = e @ (x - x.mean())
    top = max(1, min(len(c), round(float(eigen["effective_dimension"]))))
    total = float(np.sum(c**2))
    return (float(np.sum(c[:top] ** 2)) / total if total > 0 else 0.0), top, int(e.shape[1])


#: Eigenvectors of the generalizing denoiser shown on the first screen.
LEAD_RANKS = (1, 2, 3, 4, 5)


def lead_eigenvectors(eigen_dir: Path, eigen: dict) -> tuple[dict, str]:
    """The third claim for the first screen: a strip of the largest-N model's top eigenvectors
    (`top_eigenvectors.png`, its figure entry) and the sentence on where the clean image's
    energy sits in its eigenbasis."""
    n, s255 = eigen["n_large"], f"{eigen['sigma'] * 255:.3g}/255"
    with np.load(eigen_dir / "eigen.npz") as z:
        ranks = [r for r in LEAD_RANKS if r <= len(z["lambda_k"])]
        path = eigenvector_strip(
            eigen_dir / "top_eigenvectors.png", z["e_k"][[r - 1 for r in ranks]], z["lambda_k"],
            ranks, {"clean x": z["x"][0], f"y: noise {s255}": z["y"][0],
                    "denoised": np.clip(z["x_hat"][0], 0, 1)},
            title=f"top eigenvectors of the N={n} denoiser's Jacobian at y")
    share, top, dimension = energy_share(eigen_dir, eigen)
    figure = {"path": str(path), "title": f"The adaptive basis (N={n})",
              "caption": f"The basis the N={n} model shrinks in: the top {len(ranks)} "
                         "eigenvectors of its Jacobian at a held-out image (red > 0, blue < 0); "
                         "all of them further down."}
    return figure, captions.energy_sentence(share, top, dimension)


def add_eigen_sections(report: Report, config: ExperimentConfig, eigen_dir: Path, eigen: dict,
                       rows: list[dict]) -> None:
    """The eigen analysis's figures (written by `eigen_to_files`) and the effective-dimension
    curves, as two report sections with captions computed from their numbers."""
    n = eigen["n_large"]
    with np.load(eigen_dir / "eigen.npz") as z:
        lambdas = z["lambda_k"]
    share, top, dimension = energy_share(eigen_dir, eigen)
    report.add_section(
        f"The adaptive basis of the generalizing denoiser (N={n})",
        f"The Jacobian J(y) of the N={n} S1 model at a noisy held-out image y "
        f"(sigma = {eigen['sigma']:g}): its eigenvalues with the clean image's coefficients "
        f"|<x, e_k>|, and its eigenvectors e_k beside the clean, noisy and denoised image. "
        + captions.eigenvalue_sentence(lambdas) + " "
        + captions.energy_sentence(share, top, dimension),
        figures=[eigen_dir / name for name in ("eigenvectors.png", "spectrum.png")],
        numbers={"top eigenvalues": ", ".join(f"{v:.2f}" for v in eigen["lambda_top"][:6]),
                 f"effective dimension tr J (median over {len(TRACE_SEEDS)} noise draws of y, "
                 "95% interval)": captions.fmt(effective_dimensions(eigen)[n], ".1f"),
                 f"share of ||x - mean(x)||^2 in the top {top} eigenvectors": round(share, 3),
                 "asymmetry |J-J^T|/|J|, all / top tr J eigenvectors":
                     f"{eigen['asymmetry']:.2f} / {eigen.get('asymmetry_top', float('nan')):.2f}",
                 "PSNR noisy / denoised (dB)": f"{eigen['psnr_noisy']:.1f} / "
                                               f"{eigen['psnr_denoised']:.1f}"})
    report.add_section("Effective dimension against noise level",
                       _effdim_caption(config, eigen, rows),
                       figures=[_effdim_figure(config, eigen_dir, eigen)])


def _effdim_caption(config: ExperimentConfig, eigen: dict, rows: list[dict]) -> str:
    by_n = {r["N"]: r for r in rows}
    small, large = by_n[eigen["n_small"]], by_n[eigen["n_large"]]
    return ("tr J(y), the sum of the Jacobian's eigenvalues, counts the dimensions the "
            "denoiser keeps at a noise level. "
            + captions.effective_dimension_sentence(small, large, EIGEN_SIGMA,
                                                    eigen["dimension"],
                                                    MANIFOLD_DIM.get(config.data.source)))


def _effdim_figure(config: ExperimentConfig, eigen_dir: Path, eigen: dict) -> Path:
    curves = eigen["effective_dimension_curves"]
    sigmas = [p["sigma"] for p in next(iter(curves.values()))]
    traces = {label: [p["effective_dimension"] for p in c] for label, c in curves.items()}
    dim = MANIFOLD_DIM.get(config.data.source)
    dashed = {f"{config.data.source} manifold dimension": [dim] * len(sigmas)} if dim else None
    return line_plot(eigen_dir / "effective_dimension.png", sigmas, traces,
                     xlabel="noise level sigma (intensity range [0, 1])",
                     ylabel="effective dimension tr J(y)", logx=True, logy=True,
                     title="Effective dimension against noise level (S1 models)", dashed=dashed)


def write_demo_report(out: Path, config: ExperimentConfig, results: dict, eigen: dict
                      ) -> tuple[Path, list[dict]]:
    """`<out>/report.html`; returns its path and the per-N summary rows."""
    records = [results["per_n"][str(row["N"])] for row in results["table"]]
    rows = summary_rows(records, config.memorization.sigmas, effective_dimensions(eigen))
    adir = analysis_dir(config)
    report = Report(out, TITLE, intro=f"Pairs of denoisers trained on disjoint sets S1, S2 of "
                    f"N {data_text(config)} images, sampled from the same seeds: Kadkhodaie et "
                    "al. (ICLR 2024), Fig. 1 and 2 at small scale. Setup at the end.")
    lead_section(report, grid_entry(adir / FIGURES / "grid.png"), rows, results["table"],
                 more=lead_eigenvectors(out / "eigen", eigen), eigen_sigma=EIGEN_SIGMA,
                 dimension=eigen["dimension"])
    report.include(adir, lead=False)
    add_eigen_sections(report, config, out / "eigen", eigen, rows)
    report.add_section("Setup", setup_text(config))
    return report.write(), rows


def summary_files(out: Path, config: ExperimentConfig, rows: list[dict], eigen: dict,
                  page: Path, seconds: float, fresh: bool) -> list[str]:
    """`summary.json` and `summary.md` in `out`; returns the terminal lines (at most 10)."""
    context = {"eigen_sigma": EIGEN_SIGMA, "dimension": eigen["dimension"]}
    headline = captions.headline(rows)
    how = "from scratch" if fresh else "resumed: finished stages were skipped, not timed"
    timing = (f"`gahr demo` took {seconds / 60:.1f} min wall on this machine "
              f"({os.cpu_count()} CPU cores, train.threads = {config.train.threads}; {how}).")
    setup = (f"What `gahr demo` measured ({data_text(config)}, {config.model.arch} "
             f"{config.model.config}, N = {list(config.sweep.n_train)}, "
             f"{config.memorization.num_samples} same-seed pairs per N):")
    save_json({"rows": rows, "headline": headline, "seconds": seconds, "fresh": fresh,
               "context": context, "setup": setup_text(config)}, out / "summary.json")
    with atomic_path(out / "summary.md") as tmp:
        tmp.write_text(summary_markdown(rows, headline, setup, timing, **context))
    return [f"gahr demo: {data_text(config)}, {config.model.arch} {config.model.config}, "
            f"S1/S2 pairs at N = {list(config.sweep.n_train)}; medians [95% intervals]",
            *summary_lines(rows, **context), *captions.overlap_warnings(rows), f"  {headline}",
            f"report: {page}  ({seconds / 60:.1f} min, {how.split(':')[0]})"]
