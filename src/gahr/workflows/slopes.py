"""`gahr slopes`: the C^alpha slope table, alpha = 1..5, one net per alpha (paper Sec. 4).

Per alpha, on fresh C^alpha images: the net's MSE over log-spaced sigmas, its error on clean
images (the floor), best-threshold wavelets on the same noise, and the PSNR slope
d PSNR_out / d PSNR_in of each over the range where the net's error is set by the noise
(`analysis.optimality.meaningful_range`: at least `margin` times the floor, at most 1/`margin`
of the prior's variance), beside the optimum alpha / (alpha + 1) and the paper's 80x80 UNets.
Writes `slopes.md`, `slopes.json` and `slopes.png` (output against input PSNR per alpha, the
optimum slope drawn through the net's fit over the fit range).
"""

import math
from pathlib import Path

import numpy as np

from ..analysis.optimality import (
    fit_loglog_slope,
    fit_points,
    log_sigmas,
    meaningful_range,
    mse_curve,
    optimal_mse_slope,
    prior_mse,
    psnr_slope,
    wavelet_mse_curve,
)
from ..data.synthetic import calpha
from ..errors import ConfigError
from ..io import atomic_path, check_out_dir, save_json
from ..metrics import psnr_db
from ..nets import load_denoiser
from ..report import panel_plot
from ..report.tables import markdown
from .test_images import TEST_SEED, model_image_size

#: The paper's PSNR slopes of its 80x80 UNets (Sec. 4, C^alpha figure); it shows no alpha = 4.
PAPER = {1: 0.46, 2: 0.61, 3: 0.75, 5: 0.83}
ALPHAS = (1, 2, 3, 4, 5)
SIGMAS = tuple(log_sigmas(1 / 255, 128 / 255, 15))


def alpha_models(models, alphas) -> dict[float, str]:
    """{alpha: model}: one model per alpha, or one template with `{alpha}` in it."""
    models = [str(m) for m in models]
    if len(models) == 1 and "{alpha}" in models[0]:
        return {float(a): models[0].format(alpha=f"{a:g}") for a in alphas}
    if len(models) != len(alphas):
        raise ConfigError(f"{len(models)} models for {len(alphas)} alphas; give one per alpha "
                          "or a template such as 'runs/calpha/alpha{alpha}'")
    return {float(a): m for a, m in zip(alphas, models)}


def measure_alpha(denoiser, alpha: float, size: int, n_images: int, sigmas, seed: int,
                  wavelet: str, options: dict) -> dict:
    """The curves of one alpha: net and wavelet MSE per sigma, the net's floor, saturation."""
    images = calpha(n_images, size=size, alpha=alpha, seed=seed, **options)
    wav, thresholds = wavelet_mse_curve(images, sigmas, seed=seed, wavelet=wavelet)
    return {"alpha": float(alpha), "sigmas": [float(s) for s in sigmas],
            "net": mse_curve(denoiser, images, sigmas, seed=seed).tolist(),
            "wavelets": wav.tolist(), "thresholds": thresholds.tolist(),
            "floor": float(mse_curve(denoiser, images, [0.0], seed=seed)[0]),
            "saturation": prior_mse(images)}


def summarize(m: dict, fit_range=None, margin: float = 4.0) -> dict:
    """The slopes of one alpha over the fit range (given, or the meaningful one)."""
    sigmas = np.asarray(m["sigmas"])
    rng = fit_range or meaningful_range(sigmas, m["net"], m["floor"], m["saturation"], margin)
    opt = psnr_slope(optimal_mse_slope(m["alpha"]))
    row = {"alpha": m["alpha"], "optimum": opt, "paper": PAPER.get(int(m["alpha"])),
           "fit_range": None if rng is None else [float(v) for v in rng],
           "net_all": fit_loglog_slope(sigmas, m["net"]).psnr_slope, "net": None,
           "wavelets": None, "points": 0, "intercept": None, "noise_kept": None}
    if rng is not None:
        net = fit_loglog_slope(sigmas, m["net"], rng)
        inside = (sigmas >= rng[0] * (1 - 1e-9)) & (sigmas <= rng[1] * (1 + 1e-9))
        # a slope near or above the optimum means little when the net keeps most of the noise
        kept = np.asarray(m["net"])[inside] / sigmas[inside] ** 2
        row.update(net=net.psnr_slope, intercept=net.intercept, points=net.points,
                   wavelets=fit_loglog_slope(sigmas, m["wavelets"], rng).psnr_slope,
                   noise_kept=float(np.exp(np.log(kept).mean())))
    return row


def _f(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def slope_table(rows: list[dict], curves: list[dict], margin: float) -> str:
    header = ["alpha", "optimum alpha/(alpha+1)", "paper (80x80)", "net", "wavelets (best "
              "threshold)", "fit range (sigma x 255, points)", "net MSE / sigma^2 there",
              "net over all sigmas", "net on clean images (MSE, PSNR)"]
    cells = []
    for r, m in zip(rows, curves):
        span = ("none: fewer than 3 sigmas with the MSE set by the noise" if r["net"] is None
                else f"{r['fit_range'][0] * 255:.3g}-{r['fit_range'][1] * 255:.3g} "
                     f"({r['points']})")
        cells.append([f"{r['alpha']:g}", _f(r["optimum"]), _f(r["paper"]), _f(r["net"]),
                      _f(r["wavelets"]), span, _f(r["noise_kept"]), _f(r["net_all"]),
                      f"{m['floor']:.2e}, {float(psnr_db(m['floor'])):.1f} dB"])
    note = (f"\nPSNR slopes d PSNR_out / d PSNR_in. Fit range: the sigmas where the net's MSE is "
            f"at least {margin:g}x its error on clean images and at most 1/{margin:g} of the "
            "error of the mean image.\n")
    return markdown(header, cells) + note


def _figure(path: Path, rows, curves) -> None:
    """Output against input PSNR per alpha, with the optimum slope drawn through the net's
    fitted line at the middle of its fit range (named in the panel's title)."""
    p_in = psnr_db(np.square(curves[0]["sigmas"]))
    panels, reference = {}, {}
    for r, m in zip(rows, curves):
        fit = ("no fit range" if r["net"] is None else
               f"fit {r['fit_range'][0] * 255:.3g}-{r['fit_range'][1] * 255:.3g}/255")
        title = (f"alpha = {r['alpha']:g}, {fit}\nslopes: net {_f(r['net'])}, wavelets "
                 f"{_f(r['wavelets'])}, optimum {r['optimum']:.2f}")
        panels[title] = {"net": psnr_db(m["net"]), "wavelets (best threshold)":
                         psnr_db(m["wavelets"])}
        reference[title] = {"noisy input (slope 1)": p_in}
        if r["net"] is not None:
            lo, hi = r["fit_range"]
            mid = np.sqrt(lo * hi)
            p0 = -10 * (2 * r["net"] * np.log10(mid) + r["intercept"] / np.log(10))
            reference[title]["optimum slope through the net's fit"] = (
                p0 + r["optimum"] * (p_in - psnr_db(mid**2)))
    panel_plot(path, p_in, panels, xlabel="input PSNR (dB)", ylabel="output PSNR (dB)",
               reference=reference,
               title="C^alpha images: output against input PSNR, one net per alpha")


def calpha_slopes(models, out, alphas=ALPHAS, sigmas=SIGMAS, fit_range=None, n_images: int = 64,
                  seed: int = TEST_SEED, wavelet: str = "db4", options: dict | None = None,
                  size: int | None = None, margin: float = 4.0, device="cpu") -> list[dict]:
    """Measure one model per alpha (`alpha_models`) and write the slope table and figure."""
    if not (math.isfinite(margin) and margin >= 1):
        raise ConfigError(f"--margin {margin:g} must be a finite factor >= 1 (the default 4 "
                          "keeps sigmas whose error is >= 4x the clean-image error and <= 1/4 "
                          "of the mean image's)")
    if fit_range is not None:
        fit_points(sigmas, fit_range)  # a bad range fails before the measurements
    check_out_dir(out, ("slopes.json", "slopes.md", "slopes.png"), "slope table")
    by_alpha = alpha_models(models, alphas)
    curves = []
    for alpha, spec in by_alpha.items():
        den = load_denoiser(spec, device=device)
        curves.append(measure_alpha(den, alpha, size or model_image_size(spec, den) or 32,
                                    n_images, sigmas, seed, wavelet, dict(options or {})))
    rows = [summarize(m, fit_range, margin) for m in curves]
    out = Path(out)
    save_json({"setup": {"models": {f"{a:g}": s for a, s in by_alpha.items()},
                         "n_images": n_images, "seed": seed, "wavelet": wavelet,
                         "options": options or {}, "margin": margin},
               "rows": rows, "curves": curves}, out / "slopes.json")
    with atomic_path(out / "slopes.md") as tmp:
        tmp.write_text(slope_table(rows, curves, margin))
    _figure(out / "slopes.png", rows, curves)
    return rows
