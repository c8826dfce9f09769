"""`gahr eigen` as a call: the Jacobian eigenbasis of a denoiser at a noisy image, as files.

Writes, into `out`: `eigen.npz` (lambda_k, e_k, the coefficients <x, e_k> and <y, e_k>, x, y,
x_hat), `triple.png` (clean / noisy / denoised), `spectrum.png` (lambda_k with |<x, e_k>|, the
paper's Fig. 5 layout), `eigenvectors.png` (e_k at chosen ranks, each on a diverging scale
centred at 0, beside clean / noisy / denoised and the spectrum) and `summary.json`. With several
noise levels, one such folder per sigma (`sigma{sigma*255}`) and `eigen_sigmas.md`/`.json`.
"""

from pathlib import Path

import numpy as np
import torch

from ..analysis.eigen import Eigenbasis, eigen
from ..analysis.jacobian import DEFAULT_CHUNK, Denoiser, as_image
from ..data import load_image
from ..errors import DataError
from ..io import atomic_path, check_out_dir, save_json
from ..metrics import check_sigma, noise_sample, psnr, sigma_label
from ..nets import load_denoiser
from ..report import eigenvector_grid, image_panel, spectrum_plot
from ..report.tables import markdown
from .test_images import fresh_test_images

#: What `eigen_to_files` writes; any of them marks a directory as an eigen analysis's (as does
#: eigen.json, the record of the demo's eigen stage, written before it starts).
EIGEN_FILES = ("summary.json", "eigen.npz", "triple.png", "spectrum.png", "eigenvectors.png",
               "eigen.json")


def default_ranks(K: int, count: int = 16, top: int | None = None) -> list[int]:
    """`count` ranks (1-based): the first `count // 2`, then spread geometrically up to `top`
    (default K; the figures pass about 2 tr J, past which e_k is shrunk to nothing)."""
    top = K if top is None else max(1, min(int(top), K))
    if top <= count:
        return list(range(1, top + 1))
    head = list(range(1, count // 2 + 1))
    n = count - len(head)
    tail = np.geomspace(head[-1] + 1, top, n).round().astype(int)
    ranks = sorted(set(head) | set(int(r) for r in tail))
    return ranks


def eigen_to_files(denoiser: Denoiser, x: torch.Tensor, sigma: float, out, seed: int = 0,
                   k: int | None = None, ranks=None, chunk_size: int | None = DEFAULT_CHUNK,
                   progress: bool = False) -> dict:
    """Noise x (y = x + sigma z, z from `seed`), decompose J(y), write the files; the summary."""
    sigma = check_sigma(sigma)
    out = check_out_dir(out, EIGEN_FILES, "eigen analysis")
    x = as_image(x)
    K = x.numel() if k is None else min(int(k), x.numel())
    if ranks is not None:  # checked before the long work
        ranks = [int(r) for r in ranks]
        if not ranks or min(ranks) < 1 or max(ranks) > K:
            raise DataError(f"ranks {ranks} must lie in 1..{K} (the number of eigenvectors "
                            "computed)")
    z = noise_sample(x.shape, seed).to(x)
    y = x + sigma * z
    basis = eigen(denoiser, y, k=k, chunk_size=chunk_size, seed=seed, progress=progress,
                  sigma=sigma)  # a conditional denoiser is evaluated at the level of y
    K = len(basis.lambda_k)
    if ranks is None:
        ranks = default_ranks(K, top=round(2 * float(basis.lambda_k.sum())) if k is None else K)
    arrays = _arrays(basis, x, y, sigma)
    with atomic_path(out / "eigen.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    _figures(basis, x, y, sigma, ranks, out)
    summary = _summary(basis, x, y, sigma, seed, k, ranks)
    save_json(summary, out / "summary.json")
    return summary


def _arrays(basis: Eigenbasis, x, y, sigma) -> dict:
    return dict(lambda_k=basis.lambda_k.numpy(), e_k=basis.e_k.numpy(),
                coefficients_x=basis.coefficients(x).numpy(),
                coefficients_y=basis.coefficients(y).numpy(),
                x=x.numpy(), y=y.numpy(), x_hat=basis.x_hat.cpu().numpy(),
                sigma=np.float64(sigma), asymmetry=np.float64(basis.asymmetry))


def _figures(basis: Eigenbasis, x, y, sigma, ranks, out: Path) -> None:
    s255 = f"{sigma * 255:.3g}/255"
    # short titles: each sits over its own 96-pixel image (long ones wrap at spaces)
    image_panel(out / "triple.png", {"clean x": x, "noisy y": y,
                                     "denoised x_hat": basis.x_hat.cpu().clamp(0, 1)},
                title=f"denoising at sigma = {s255}")
    spectrum_plot(out / "spectrum.png", basis.lambda_k.numpy(),
                  title=f"eigenvalues of J(y) and coefficients of x, sigma = {s255}",
                  coefficients={"|<x, e_k>|": basis.coefficients(x).numpy()})
    eigenvector_grid(out / "eigenvectors.png", basis.e_k[[r - 1 for r in ranks]],
                     basis.lambda_k.numpy(), ranks,
                     {"clean x": x, f"noisy y ({s255})": y,
                      "denoised x_hat": basis.x_hat.cpu()},
                     title=f"eigenvectors e_k of J(y) at sigma = {s255}: "
                           f"PSNR {psnr(y, x):.1f} -> {psnr(basis.x_hat.cpu(), x):.1f} dB")


def _summary(basis: Eigenbasis, x, y, sigma, seed, k, ranks) -> dict:
    lam = basis.lambda_k
    return {"sigma": float(sigma), "sigma255": float(sigma) * 255, "seed": int(seed),
            "dimension": int(x.numel()), "k": None if k is None else int(k),
            "psnr_noisy": psnr(y, x), "psnr_denoised": psnr(basis.x_hat.cpu(), x),
            # tr J = tr of its symmetric part = sum of all eigenvalues (only with k=None)
            "effective_dimension": float(lam.sum()) if k is None else None,
            "asymmetry": basis.asymmetry, "asymmetry_exact": basis.exact_asymmetry,
            "asymmetry_top": basis.asymmetry_top, "top_dim": basis.top_dim,
            "asymmetry_y": basis.asymmetry_y,
            "lambda_top": [float(v) for v in lam[:10]], "ranks": ranks,
            "files": [f for f in EIGEN_FILES if f != "summary.json"]}


def eigen_run(run_dir, input, sigmas, out, index: int = 0, seed: int = 0,
              k: int | None = None, ranks=None, device="cpu",
              chunk_size: int | None = DEFAULT_CHUNK, progress: bool = True,
              options: dict | None = None) -> list[dict]:
    """Load the denoiser of `run_dir` and the clean image `input` (None: the `index`-th fresh
    test image of the model's training class, see `fresh_test_images`), then `eigen_to_files`
    per sigma: into `out` for one sigma, into `out/sigma{sigma*255}` for several, with the
    table `eigen_sigmas.md` (and `.json`). The same noise draw z (from `seed`) serves every
    sigma. Returns the summaries."""
    sigmas = [check_sigma(s) for s in np.atleast_1d(sigmas)]
    check_out_dir(out, (*EIGEN_FILES, "eigen_sigmas.json", "sigma*/summary.json"),
                  "eigen analysis")
    denoiser = load_denoiser(run_dir, device=device)
    if input is None:
        images, source = fresh_test_images(run_dir, index + 1, options=options)
        x = images[index:index + 1].to(device)
    else:
        x, source = load_image(input, channels=denoiser.channels, index=index).to(device), input
    out = Path(out)
    rows = []
    for sigma in sigmas:
        where = out if len(sigmas) == 1 else out / f"sigma{sigma_label(sigma)}"
        summary = eigen_to_files(denoiser, x, sigma, where, seed=seed, k=k, ranks=ranks,
                                 chunk_size=chunk_size, progress=progress)
        rows.append({**summary, "image": f"{source} [{index}]", "out": str(where)})
    if len(sigmas) > 1:
        save_json(rows, out / "eigen_sigmas.json")
        with atomic_path(out / "eigen_sigmas.md") as tmp:
            tmp.write_text(sigmas_table(rows))
    return rows


def sigmas_table(rows: list[dict]) -> str:
    """One line per noise level: PSNR, tr J, the top eigenvalues and the asymmetries."""
    header = ["sigma", "PSNR noisy -> denoised (dB)", "tr J", "lambda_1..5",
              "asymmetry (Frobenius)", "within top tr J", "on y", "folder"]
    cells = []
    for r in rows:
        dim = r["effective_dimension"]
        cells.append([f"{r['sigma255']:.3g}/255",
                      f"{r['psnr_noisy']:.1f} -> {r['psnr_denoised']:.1f}",
                      "" if dim is None else f"{dim:.1f}",
                      ", ".join(f"{v:.2f}" for v in r["lambda_top"][:5]),
                      f"{r['asymmetry']:.2f}", f"{r['asymmetry_top']:.2f}",
                      f"{r['asymmetry_y']:.2f}", Path(r["out"]).name])
    return markdown(header, cells)
