"""Denoising on the disc manifold, where the optimum is known (paper Sec. 3.3).

Disc images form an m-dimensional manifold (m = 5 free factors: center y, x, radius,
foreground, background; fewer when factors are frozen). At small sigma the optimal denoiser
projects y onto the tangent space T_x at the clean image, so its Jacobian is the orthogonal
projector on T_x: m eigenvalues 1, the rest 0, effective dimension tr J = m and
E||x_hat - x||^2 = sigma^2 m. We measure, per sigma, the denoiser's effective dimension,
MSE / (sigma^2 m), the principal angles between the span of its top-m eigenvectors and T_x,
the angle of each of those eigenvectors to T_x, and the eigenvalue decay past m
(lambda_{m+1} / lambda_m and lambda_{m+1..}: 0 for the projection, a slowly decaying "harmonic
tail" for a net biased towards harmonic bases, paper Sec. 3.3).
"""

import numpy as np
import torch

from ..data.synthetic import disc_free_params, render_discs
from ..errors import ConfigError, ShapeError
from ..metrics import check_sigma, noise_sample
from .eigen import eigen
from .jacobian import DEFAULT_CHUNK, Denoiser


def tangent_space(params: torch.Tensor, size: int, free=None, wrap: bool = False,
                  antialias: int = 0) -> torch.Tensor:
    """Orthonormal basis (D, m) of the tangent space of the disc manifold at `params` (5,).

    Spanned by the columns d image / d params[free] (autograd through the smooth renderer).
    """
    params = torch.as_tensor(params, dtype=torch.float64).reshape(-1)
    if params.shape != (5,):
        raise ShapeError(f"one disc's params must have 5 values, got shape {tuple(params.shape)}")
    free = list(disc_free_params() if free is None else free)

    def render(p):
        return render_discs(p[None], size, wrap=wrap, antialias=antialias).reshape(-1)

    G = torch.autograd.functional.jacobian(render, params)[:, free]
    Q, R = torch.linalg.qr(G)
    if (R.diagonal().abs() < 1e-9 * R.diagonal().abs().max()).any():
        raise ConfigError("the disc's derivatives are linearly dependent here (e.g. foreground "
                          "equals background); pick other params or freeze a factor")
    return Q


def principal_angles(U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """Principal angles (radians, ascending) between the column spans of U (D, m) and V (D, n).

    cos theta_i are the singular values of Q_U^T Q_V (Bjorck & Golub 1973).
    """
    if U.dim() != 2 or V.dim() != 2 or U.shape[0] != V.shape[0]:
        raise ShapeError(f"subspace bases must be (D, m) and (D, n), got {tuple(U.shape)} and "
                         f"{tuple(V.shape)}")
    Qu, _ = torch.linalg.qr(U.double())
    Qv, _ = torch.linalg.qr(V.double())
    cos = torch.linalg.svdvals(Qu.T @ Qv).clamp(0.0, 1.0)
    return torch.arccos(cos).sort().values


def vector_angles(E: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """The angle (radians) of each column of E (D, k) to the span of the orthonormal T (D, m):
    arccos(||T^T e|| / ||e||). Unlike principal angles, these follow the eigenvector order."""
    E, T = E.double(), T.double()
    cos = torch.linalg.norm(T.T @ E, dim=0) / torch.linalg.norm(E, dim=0)
    return torch.arccos(cos.clamp(0.0, 1.0))


#: Eigenvectors whose projections on T_x are kept for the figures.
SHOWN = 10


def _project(e_k: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """P_T e_k = T T^T e_k for each eigenvector image e_k (k, C, H, W)."""
    E = e_k.reshape(len(e_k), -1).double().T
    return (T @ (T.T @ E)).T.reshape(e_k.shape).float()


def disc_point(denoiser: Denoiser, params: torch.Tensor, size: int, sigma: float,
               z: torch.Tensor, free=None, wrap: bool = False, antialias: int = 0,
               chunk_size: int | None = DEFAULT_CHUNK, top: int = 64) -> dict:
    """The measurements at one disc image and one noise level (noise sigma * z); the top
    `top` eigenvalues and eigenvectors are kept (the table reads lambda_1..20)."""
    x = render_discs(torch.as_tensor(params, dtype=torch.float32).reshape(1, 5), size,
                     wrap=wrap, antialias=antialias).clamp(0, 1)
    T = tangent_space(params, size, free, wrap, antialias)
    m = T.shape[1]
    y = x + float(sigma) * z.reshape(x.shape).to(x)
    basis = eigen(denoiser, y, chunk_size=chunk_size)
    err = float(((basis.x_hat.cpu() - x) ** 2).sum())
    E = basis.e_k[:m].reshape(m, -1).T
    lam = basis.lambda_k
    return {"sigma": float(sigma), "manifold_dim": m,
            "effective_dimension": float(lam.sum()),
            "mse_ratio": err / (float(sigma) ** 2 * m),
            "angles_deg": [float(a) for a in torch.rad2deg(principal_angles(E, T))],
            "vector_angles_deg": [float(a) for a in torch.rad2deg(vector_angles(E, T))],
            "lambda_top": [float(v) for v in lam[:top]],
            "tail_ratio": float(lam[m] / lam[m - 1]),
            "asymmetry": basis.asymmetry, "asymmetry_top": basis.asymmetry_top,
            "asymmetry_y": basis.asymmetry_y,
            "e_k": basis.e_k[:top].numpy(), "lambda_k": lam.numpy(), "x": x.numpy(), "y": y.numpy(),
            "x_hat": basis.x_hat.cpu().numpy(),
            # P_T e_k for the eigenvectors a figure shows (e_k itself when e_k lies in T_x)
            "tangent_projection": _project(basis.e_k[:SHOWN], T).numpy()}


#: The per-disc arrays, kept for one disc only (`show`, for the figures), not in the JSON.
ARRAYS = ("e_k", "lambda_k", "x", "y", "x_hat", "tangent_projection")


def disc_analysis(denoiser: Denoiser, params: torch.Tensor, size: int, sigmas, seed: int = 0,
                  free=None, wrap: bool = False, antialias: int = 0,
                  chunk_size: int | None = DEFAULT_CHUNK, show: int = 0) -> list[dict]:
    """Per sigma, the means over the discs in `params` (n, 5) of `disc_point`'s measurements.

    Each disc gets one noise draw (from `seed`), shared across sigmas. Returns one dict per sigma
    with the means, the per-disc values (`per_disc`), and disc `show`'s arrays (`shown`: all
    eigenvalues, top eigenvectors, x, y, x_hat, the projections of the first `SHOWN`
    eigenvectors on T_x).
    """
    params = torch.as_tensor(params, dtype=torch.float32)
    if params.dim() != 2 or params.shape[1] != 5 or len(params) < 1:
        raise ShapeError(f"disc params must be (n, 5), got {tuple(params.shape)}")
    sigmas = [check_sigma(s, "noise level") for s in sigmas]
    z = noise_sample((len(params), 1, size, size), seed)
    rows = []
    for sigma in sigmas:
        pts = [disc_point(denoiser, p, size, sigma, z[i], free, wrap, antialias, chunk_size)
               for i, p in enumerate(params)]
        row = {"sigma": float(sigma), "manifold_dim": pts[0]["manifold_dim"], "discs": len(pts)}
        for key in ("effective_dimension", "mse_ratio", "tail_ratio", "asymmetry",
                    "asymmetry_top", "asymmetry_y"):
            row[key] = float(np.mean([p[key] for p in pts]))
        for key in ("angles_deg", "vector_angles_deg", "lambda_top"):
            row[key] = np.mean([p[key] for p in pts], axis=0).tolist()
        row["per_disc"] = [{k: v for k, v in p.items() if k not in ARRAYS} for p in pts]
        row["shown"] = {k: pts[show][k] for k in ARRAYS}
        rows.append(row)
    return rows
