"""`gahr symmetry` as a call: the five asymmetry ratios of J(y) per noise level, per model.

For each model, on the same fresh test images (or `--input`) and the same noise draw, the ratios
of `gahr.analysis.symmetry` at each sigma, averaged over the images, beside the denoiser's PSNR
there: a table (`symmetry.md`), everything measured (`symmetry.json`) and one figure per model
(`symmetry_<model>.png`, every ratio against sigma).
"""

from pathlib import Path

import numpy as np
import torch

from ..analysis.symmetry import MEASURES, symmetry_curve
from ..data import load_images
from ..errors import ConfigError
from ..io import atomic_path, check_out_dir, save_json
from ..metrics import check_sigma, noise_sample, psnr
from ..nets import denoise, load_denoiser
from ..report import line_plot
from ..report.tables import markdown
from .test_images import TEST_SEED, fresh_test_images

#: From nearly clean to very noisy on the [0, 1] scale: 5 to 120 (/255).
DEFAULT_SIGMAS = (5 / 255, 15 / 255, 30 / 255, 60 / 255, 120 / 255)
LABELS = {"frobenius": "||J-J^T||_F / ||J||_F", "residual": "||J-J^T||_F / ||I-J||_F",
          "spectral": "||J-J^T||_2 / ||J||_2", "retained": "within top tr J",
          "on_y": "||(J-J^T) y|| / ||J y||"}


def model_rows(denoiser, images: torch.Tensor, sigmas, seed: int) -> list[dict]:
    """Per sigma: each ratio's mean (and per-image values) over `images`, and the PSNRs."""
    per_image = [symmetry_curve(denoiser, images[i:i + 1], sigmas, seed=seed + i)
                 for i in range(len(images))]
    rows = []
    for j, sigma in enumerate(sigmas):
        pts = [curve[j] for curve in per_image]
        y = torch.cat([images[i:i + 1] + float(sigma) * noise_sample(images[i:i + 1].shape,
                                                                      seed + i)
                       for i in range(len(images))])
        with torch.no_grad():  # a conditional model gets the true sigma, as the Jacobians do
            x_hat = denoise(denoiser, y, float(sigma))
        row = {"sigma": float(sigma), "psnr_noisy": psnr(y, images),
               "psnr_denoised": psnr(x_hat, images),
               "top_dim": float(np.mean([p["top_dim"] for p in pts]))}
        row.update({m: float(np.mean([p[m] for p in pts])) for m in MEASURES})
        row["per_image"] = pts
        rows.append(row)
    return rows


def markdown_table(results: dict) -> str:
    header = ["model", "sigma", "PSNR noisy -> denoised (dB)", "tr J",
              *(LABELS[m].replace("||", "‖") for m in MEASURES)]
    cells = [[name, f"{r['sigma'] * 255:.3g}/255",
              f"{r['psnr_noisy']:.1f} -> {r['psnr_denoised']:.1f}", f"{r['top_dim']:.0f}",
              *(f"{r[m]:.3f}" for m in MEASURES)]
             for name, rows in results.items() for r in rows]
    return markdown(header, cells)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def symmetry_run(models, out, sigmas=DEFAULT_SIGMAS, input=None, n_images: int = 2,
                 seed: int = TEST_SEED, options: dict | None = None, device="cpu") -> dict:
    """Measure every model of `models` (run dirs, files, pretrained:NAME) on the first model's
    fresh test images (or the first `n_images` of the .npy file `input`); write the files."""
    sigmas = [check_sigma(s, "noise level") for s in sigmas]
    if n_images < 1:
        raise ConfigError(f"--n-images {n_images}: measure at least one test image")
    check_out_dir(out, ("symmetry.json", "symmetry.md"), "symmetry table")
    if input is None:
        images, source = fresh_test_images(models[0], n_images, seed=seed, options=options)
    else:
        images, source = load_images(input, n_images), str(input)
    results = {}
    for spec in models:
        den = load_denoiser(spec, device=device)
        results[str(spec)] = model_rows(den, images.to(device), sigmas, seed)
    out = Path(out)
    save_json({"setup": {"images": source, "n_images": len(images), "seed": seed,
                         "measures": LABELS}, "rows": results}, out / "symmetry.json")
    with atomic_path(out / "symmetry.md") as tmp:
        tmp.write_text(markdown_table(results))
    for name, rows in results.items():
        line_plot(out / f"symmetry_{_safe(name)}.png", [r["sigma"] * 255 for r in rows],
                  {LABELS[m]: [r[m] for r in rows] for m in MEASURES},
                  xlabel="sigma (x 1/255)", ylabel="asymmetry ratio (0: symmetric)",
                  title=f"{name}: asymmetry of J(y) on {len(images)} test image(s)",
                  logx=True)
    return results
