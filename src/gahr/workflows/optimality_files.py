"""`gahr optimality` as calls: slope tables on C^alpha images; the disc-manifold measurements
are in `disc_files`.

Both write `<name>.json` (everything measured), `<name>.md` (the table) and figures.
"""

from pathlib import Path

import numpy as np

from ..analysis.optimality import (
    fit_points,
    log_sigmas,
    markdown_table,
    mse_curve,
    optimal_mse_slope,
    psnr_slope,
    slope_row,
    wavelet_mse_curve,
)
from ..data.synthetic import calpha
from ..errors import ConfigError
from ..io import atomic_path, check_out_dir, save_json
from ..metrics import psnr_db
from ..nets import load_denoiser
from ..report import line_plot
from .disc_files import disc_optimality
from .test_images import TEST_SEED, model_image_size


def calpha_optimality(denoisers: dict, alpha: float, out, size: int = 32, n_images: int = 64,
                      sigmas=None, fit_range=None, seed: int = TEST_SEED, wavelet: str = "db4",
                      calpha_options: dict | None = None) -> list[dict]:
    """MSE-vs-sigma slopes of each denoiser and of best-threshold wavelets on fresh C^alpha
    images, against the optimum 2 alpha/(alpha+1) (PSNR form alpha/(alpha+1)); writes files."""
    sigmas = log_sigmas(2 / 255, 100 / 255, 10) if sigmas is None else np.asarray(sigmas)
    fit_points(sigmas, fit_range)  # a bad range fails before the measurements
    images = calpha(n_images, size=size, alpha=alpha, seed=seed, **(calpha_options or {}))
    rows = [slope_row(name, sigmas, mse_curve(den, images, sigmas, seed=seed), fit_range, alpha)
            for name, den in denoisers.items()]
    wav, thresholds = wavelet_mse_curve(images, sigmas, seed=seed, wavelet=wavelet)
    rows.append({**slope_row(f"wavelets ({wavelet}, best threshold)", sigmas, wav, fit_range,
                             alpha), "thresholds": [float(t) for t in thresholds]})
    setup = {"data": "calpha", "alpha": float(alpha), "size": size, "n_images": n_images,
             "seed": seed, "calpha_options": calpha_options or {}}
    _write(out, "optimality", setup, rows, markdown_table(rows))
    _psnr_plot(Path(out) / "optimality.png", rows, alpha)
    return rows


def _psnr_plot(path: Path, rows: list[dict], alpha: float) -> None:
    x_in = {r["name"]: psnr_db(np.square(r["sigmas"])) for r in rows}
    ys = {f"{r['name']} (slope {r['psnr_slope']:.2f})": psnr_db(r["mse"]) for r in rows}
    x = {f"{r['name']} (slope {r['psnr_slope']:.2f})": x_in[r["name"]] for r in rows}
    first = rows[0]
    # the optimal slope drawn through the first denoiser's fitted line at the fit range's middle
    opt = psnr_slope(optimal_mse_slope(alpha))
    mid = np.sqrt(first["sigma_lo"] * first["sigma_hi"])
    p_in0 = psnr_db(mid**2)
    p_out0 = -10 * (first["slope"] * np.log10(mid) + first["intercept"] / np.log(10))
    label = f"optimal slope {opt:.2f}"
    x[label] = x_in[first["name"]]
    dashed = {label: p_out0 + opt * (x[label] - p_in0)}
    line_plot(path, x, ys, xlabel="input PSNR (dB)", ylabel="output PSNR (dB)",
              title=f"C^alpha images, alpha = {alpha:g}: output vs input PSNR",
              dashed=dashed)


def _write(out, stem: str, setup: dict, rows, table: str) -> None:
    out = Path(out)
    save_json({"setup": setup, "rows": rows}, out / f"{stem}.json")
    with atomic_path(out / f"{stem}.md") as tmp:
        tmp.write_text(table)


def optimality_run(run_dirs, data: str, out, alpha: float | None = None, size: int | None = None,
                   n_images: int | None = None, sigmas=None, fit_range=None,
                   seed: int = TEST_SEED, wavelet: str = "db4", options: dict | None = None,
                   device="cpu"):
    """Load the denoisers of `run_dirs` (named by their directory) and run the C^alpha or the
    disc measurements; `size` defaults to the first run's training size."""
    if data not in ("calpha", "discs"):
        raise ConfigError(f"--data {data!r}; choose calpha or discs")
    if data == "calpha" and alpha is None:
        raise ConfigError("--data calpha needs --alpha (the regularity of the test images)")
    if data == "discs" and fit_range is not None:
        raise ConfigError("--fit-range sets the slope fit of --data calpha; the disc "
                          "measurements fit no slope: drop it")
    check_out_dir(out, [f"{stem}.{ext}" for stem in ("optimality", "discs")
                        for ext in ("json", "md")], "optimality result")
    names = [Path(r).name or str(r) for r in run_dirs]
    if len(set(names)) != len(names):
        names = [str(r) for r in run_dirs]
    denoisers = {n: load_denoiser(r, device=device) for n, r in zip(names, run_dirs)}
    size = size or model_image_size(run_dirs[0], denoisers[names[0]]) or 32
    if data == "calpha":
        return calpha_optimality(denoisers, alpha, out, size=size, n_images=n_images or 64,
                                 sigmas=sigmas, fit_range=fit_range, seed=seed, wavelet=wavelet,
                                 calpha_options=options)
    return disc_optimality(denoisers, out, size=size, n_images=n_images or 4, sigmas=sigmas,
                           seed=seed, disc_options=options)
