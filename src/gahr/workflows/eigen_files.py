"""`gahr eigen` as a call: the Jacobian eigenbasis of a denoiser at a noisy image, as files.

Writes, into `out`: `eigen.npz` (lambda_k, e_k, the coefficients <x, e_k> and <y, e_k>, x, y,
x_hat), `triple.png` (clean / noisy / denoised), `spectrum.png` (lambda_k with |<x, e_k>|, the
paper's Fig. 5 layout), `eigenvectors.png` (e_k at chosen ranks) and `summary.json`.
"""

from pathlib import Path

import numpy as np
import torch

from ..analysis.eigen import Eigenbasis, eigen
from ..analysis.jacobian import DEFAULT_CHUNK, Denoiser, as_image
from ..data import load_image
from ..errors import DataError
from ..io import atomic_path, save_json
from ..metrics import noise_sample, psnr
from ..nets import load_denoiser
from ..report import figures


def default_ranks(K: int, count: int = 8) -> list[int]:
    """About `count` ranks (1-based) spread geometrically from 1 to K."""
    if K <= count:
        return list(range(1, K + 1))
    return sorted({max(1, round(K ** (i / (count - 1)))) for i in range(count)})


def eigen_to_files(denoiser: Denoiser, x: torch.Tensor, sigma: float, out, seed: int = 0,
                   k: int | None = None, ranks=None, chunk_size: int | None = DEFAULT_CHUNK,
                   progress: bool = False) -> dict:
    """Noise x (y = x + sigma z, z from `seed`), decompose J(y), write the files; the summary."""
    x = as_image(x)
    if sigma <= 0:
        raise DataError(f"sigma={sigma} must be > 0 (on the [0, 1] scale, e.g. 30/255)")
    z = noise_sample(x.shape, seed).to(x)
    y = x + float(sigma) * z
    basis = eigen(denoiser, y, k=k, chunk_size=chunk_size, seed=seed, progress=progress)
    K = len(basis.lambda_k)
    ranks = default_ranks(K) if ranks is None else [int(r) for r in ranks]
    if not ranks or min(ranks) < 1 or max(ranks) > K:
        raise DataError(f"ranks {ranks} must lie in 1..{K} (the number of eigenvectors computed)")
    out = Path(out)
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
    figures.image_panel(out / "triple.png", {"clean x": x, f"noisy y (sigma={s255})": y,
                                             "denoised x_hat": basis.x_hat.cpu().clamp(0, 1)},
                        title=f"denoising at sigma = {s255}")
    figures.spectrum_plot(out / "spectrum.png", basis.lambda_k.numpy(),
                          title=f"eigenvalues of J(y) and coefficients of x, sigma = {s255}",
                          coefficients={"|<x, e_k>|": basis.coefficients(x).numpy()})
    figures.save_image_grid(basis.e_k[[r - 1 for r in ranks]], out / "eigenvectors.png",
                            nrow=len(ranks), titles=[f"k={r}" for r in ranks],
                            normalize="symmetric",
                            title="eigenvectors e_k of J(y) (gray = 0)")


def _summary(basis: Eigenbasis, x, y, sigma, seed, k, ranks) -> dict:
    lam = basis.lambda_k
    return {"sigma": float(sigma), "sigma255": float(sigma) * 255, "seed": int(seed),
            "dimension": int(x.numel()), "k": None if k is None else int(k),
            "psnr_noisy": psnr(y, x), "psnr_denoised": psnr(basis.x_hat.cpu(), x),
            # tr J = tr of its symmetric part = sum of all eigenvalues (only with k=None)
            "effective_dimension": float(lam.sum()) if k is None else None,
            "asymmetry": basis.asymmetry, "asymmetry_exact": basis.exact_asymmetry,
            "asymmetry_top": basis.asymmetry_top, "top_dim": basis.top_dim,
            "lambda_top": [float(v) for v in lam[:10]], "ranks": ranks,
            "files": ["eigen.npz", "triple.png", "spectrum.png", "eigenvectors.png"]}


def eigen_run(run_dir, input, sigma: float, out, index: int = 0, seed: int = 0,
              k: int | None = None, ranks=None, device="cpu",
              chunk_size: int | None = DEFAULT_CHUNK, progress: bool = True) -> dict:
    """Load the denoiser of `run_dir`, read the clean image `input`, and run `eigen_to_files`."""
    denoiser = load_denoiser(run_dir, device=device)
    x = load_image(input, channels=denoiser.channels, index=index).to(device)
    return eigen_to_files(denoiser, x, sigma, out, seed=seed, k=k, ranks=ranks,
                          chunk_size=chunk_size, progress=progress)
