"""`gahr optimality --data discs` as a call: the disc-manifold measurements, as files.

Writes `discs.json` (everything measured, per disc too), `discs.md` (one table: tr J,
MSE / (sigma^2 m), principal angles, the angle of each top eigenvector to T_x, lambda_1..m,
the decay past m, asymmetries; with the optimum and the paper beside), and the figures
`discs_effective_dimension.png`, `discs_mse_ratio.png`, `discs_spectrum.png` and, per denoiser
and sigma, `discs_eigenvectors_<name>_sigma<s>.png` (the top eigenvectors at the test disc of
highest contrast, over their projections on the tangent space). `discs.md` also lists each
test disc's contrast |fg - bg| with its error: the small-noise optimum (projection on T_x, ratio
1) holds for sigma well below the contrast; the mean over discs mixes both regimes, so read it
with the per-disc rows, or select discs with the option `min_contrast`.
"""

from pathlib import Path

import numpy as np
import torch

from ..analysis.disc_manifold import SHOWN, disc_analysis
from ..data.synthetic import disc_free_params, sample_disc_params
from ..errors import ConfigError
from ..io import atomic_path, save_json
from ..metrics import sigma_label
from ..report import eigenvector_grid, line_plot
from ..report.tables import markdown
from .test_images import TEST_SEED

#: The paper's top five eigenvalues of J(y) for its disc-trained UNet (80x80), then a slowly
#: decaying tail (paper Sec. 3.3, disc figure).
PAPER_TOP = (1.18, 1.07, 1.00, 1.00, 0.95)
#: Ranks of the tail columns of the table (besides lambda_{m+1} / lambda_m).
TAIL = (6, 10, 20)
SIGMAS = (0.02, 0.04, 0.08, 0.16)


def _fmt(values, digits=2) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


def disc_table(results: dict) -> str:
    """One row per (denoiser, sigma), then the optimum and the paper's numbers."""
    m = next(iter(results.values()))[0]["manifold_dim"]
    header = ["denoiser", "sigma", "tr J", "MSE/(sigma^2 m)", "principal angles (deg)",
              f"angle of e_1..e_{m} to T_x (deg)", f"lambda_1..{m}",
              f"lambda_{m + 1}/lambda_{m}", "lambda_" + ", ".join(map(str, TAIL)),
              "asymmetry all / top / on y"]
    cells = []
    for name, rows in results.items():
        for r in rows:
            lam = r["lambda_top"]
            cells.append([name, f"{r['sigma']:.3g}", f"{r['effective_dimension']:.1f}",
                          f"{r['mse_ratio']:.1f}", _fmt(r["angles_deg"], 0),
                          _fmt(r["vector_angles_deg"], 0), _fmt(lam[:m]),
                          f"{r['tail_ratio']:.2f}", _fmt(lam[k - 1] for k in TAIL if k <= len(lam)),
                          f"{r['asymmetry']:.2f} / {r['asymmetry_top']:.2f} / "
                          f"{r['asymmetry_y']:.2f}"])
    cells.append(["optimum (projection on T_x)", "small", f"{m}", "1", _fmt([0] * m, 0),
                  _fmt([0] * m, 0), _fmt([1] * m), "0", _fmt([0] * len(TAIL)), "0 / 0 / 0"])
    if m == len(PAPER_TOP):
        cells.append(["paper (80x80 UNet)", "", "", "", "", "", _fmt(PAPER_TOP), "",
                      "harmonic tail", ""])
    return markdown(header, cells)


def test_discs(n: int, size: int, seed: int, min_contrast: float, wrap: bool,
               flags: dict) -> torch.Tensor:
    """Fresh disc params (n, 5); with `min_contrast`, only discs with |fg - bg| at least that
    (the small-noise optimum, projection on T_x, needs sigma well below the edge's contrast)."""
    if min_contrast <= 0:
        return sample_disc_params(n, size, seed=seed, wrap=wrap, **flags)
    pool = sample_disc_params(50 * n, size, seed=seed, wrap=wrap, **flags)
    keep = pool[(pool[:, 3] - pool[:, 4]).abs() >= min_contrast][:n]
    if len(keep) < n:
        raise ConfigError(f"min_contrast={min_contrast}: only {len(keep)} of {50 * n} discs "
                          f"reach it; lower it (contrasts lie in [0, 1])")
    return keep


def per_disc_table(results: dict, contrast) -> str:
    """Per test disc: its contrast |fg - bg|, then MSE / (sigma^2 m) and tr J at each sigma."""
    sigmas = [r["sigma"] for r in next(iter(results.values()))]
    header = ["denoiser", "disc", "contrast abs(fg - bg)",
              *(f"MSE ratio / tr J, sigma {s:.3g}" for s in sigmas)]
    cells = [[name, str(i), f"{float(c):.3f}",
              *(f"{r['per_disc'][i]['mse_ratio']:.1f} / "
                f"{r['per_disc'][i]['effective_dimension']:.0f}" for r in rows)]
             for name, rows in results.items() for i, c in enumerate(contrast)]
    return markdown(header, cells)


def disc_optimality(denoisers: dict, out, size: int = 32, n_images: int = 4, sigmas=None,
                    seed: int = TEST_SEED, disc_options: dict | None = None) -> dict:
    """The disc-manifold measurements of `disc_analysis`, per sigma, for each denoiser on fresh
    disc images; writes the files of the module docstring and returns the rows."""
    opts = dict(disc_options or {})
    flags = {k: opts.pop(k, True) for k in ("translate", "scale", "foreground", "background")}
    render = {k: opts.pop(k) for k in ("wrap", "antialias") if k in opts}
    min_contrast = float(opts.pop("min_contrast", 0.0))
    if opts:
        raise ConfigError(f"unknown disc options {sorted(opts)}; use translate, scale, "
                          "foreground, background, wrap, antialias, min_contrast")
    sigmas = list(SIGMAS) if sigmas is None else [float(s) for s in sigmas]
    params = test_discs(n_images, size, seed, min_contrast, render.get("wrap", False), flags)
    free = disc_free_params(**flags)
    contrast = (params[:, 3] - params[:, 4]).abs()
    show = int(contrast.argmax())
    results = {name: disc_analysis(den, params, size, sigmas, seed=seed, free=free, show=show,
                                   **render) for name, den in denoisers.items()}
    setup = {"data": "discs", "size": size, "n_images": n_images, "seed": seed,
             "free_params": list(free), "disc_options": disc_options or {},
             "contrast": [float(c) for c in contrast], "figure_disc": show,
             "paper_top_eigenvalues": list(PAPER_TOP)}
    rows = {name: [{k: v for k, v in r.items() if k != "shown"} for r in rs]
            for name, rs in results.items()}
    out = Path(out)
    save_json({"setup": setup, "rows": rows}, out / "discs.json")
    with atomic_path(out / "discs.md") as tmp:
        tmp.write_text(disc_table(results) + "\n" + per_disc_table(results, contrast))
    _curves(out, results, sigmas)
    for name, rs in results.items():
        for r in rs:
            _eigenvectors(out, name, r)
    return rows


def _curves(out: Path, results: dict, sigmas) -> None:
    m = next(iter(results.values()))[0]["manifold_dim"]
    line_plot(out / "discs_effective_dimension.png", sigmas,
              {n: [r["effective_dimension"] for r in rs] for n, rs in results.items()},
              xlabel="sigma", ylabel="effective dimension tr J(y)", logx=True, logy=True,
              title="disc images: effective dimension vs noise level",
              dashed={f"manifold dimension {m} (optimum)": [m] * len(sigmas)})
    line_plot(out / "discs_mse_ratio.png", sigmas,
              {n: [r["mse_ratio"] for r in rs] for n, rs in results.items()},
              xlabel="sigma", ylabel=f"MSE / (sigma^2 {m})", logx=True, logy=True,
              title="disc images: error relative to the optimal projection",
              dashed={"optimum 1": [1.0] * len(sigmas)})
    ys, xs = {}, {}
    for name, rs in results.items():
        for r in rs:
            label = f"{name}, sigma={r['sigma']:.3g}"
            ys[label] = r["lambda_top"]
            xs[label] = np.arange(1, len(r["lambda_top"]) + 1)
    k = len(next(iter(ys.values())))
    xs["optimum: projection on T_x"] = np.arange(1, k + 1)
    xs["paper: top five"] = np.arange(1, len(PAPER_TOP) + 1)
    line_plot(out / "discs_spectrum.png", xs, ys, xlabel="rank k", logx=True,
              ylabel="eigenvalue lambda_k of J(y) (mean over discs)", markers=False,
              title=f"disc images: spectrum against the optimum ({m} ones, then 0)",
              dashed={"optimum: projection on T_x": [1.0] * m + [0.0] * (k - m),
                      "paper: top five": list(PAPER_TOP)})


def _eigenvectors(out: Path, name: str, r: dict) -> None:
    first, m = r["shown"], r["manifold_dim"]
    n = min(SHOWN, len(first["e_k"]))
    e_k = first["e_k"][:n]
    proj = first["tangent_projection"][:n]
    cos = [float(np.linalg.norm(p) / np.linalg.norm(e)) for p, e in zip(proj, e_k)]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    lam = first["lambda_k"]
    eigenvector_grid(
        out / f"discs_eigenvectors_{safe}_sigma{sigma_label(r['sigma'])}.png", e_k, lam,
        list(range(1, n + 1)),
        {"clean x": first["x"][0], "noisy y": first["y"][0], "denoised x_hat": first["x_hat"][0]},
        title=f"{name}, the test disc of highest contrast, sigma = {r['sigma']:.3g}: the "
              f"optimum's top {m} eigenvectors lie in T_x (P_T e_k = e_k, cos = 1)",
        ncols=n, below={"P_T e_k": proj},
        below_titles={"P_T e_k": [f"cos θ_{i + 1} = {c:.2f}" for i, c in enumerate(cos)]})
