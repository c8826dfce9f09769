"""The Jacobian eigenbasis (geometry-adaptive harmonic basis) and the effective dimension.

Paper Sec. 3: near y the denoiser acts as x_hat = J(y) y = sum_k lambda_k <y, e_k> e_k, a
shrinkage of y in the eigenbasis {e_k} of J(y) (nearly symmetric), with shrinkage factors
lambda_k in [0, 1]. The effective dimension of the adaptive subspace is d(y) = tr J(y) =
sum_k lambda_k, and for an MMSE denoiser E||x_hat - x||^2 = sigma^2 E[tr J(y)] (eq. 6, Stein).
"""

from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from ..errors import ConfigError
from ..metrics import noise_sample
from ..nets import at_sigma
from .jacobian import (
    DEFAULT_CHUNK,
    Denoiser,
    _basis,
    _check_chunk,
    as_image,
    jacobian,
    linear_maps,
)
from .symmetry import on_y_ratio, retained_dimension


@dataclass(frozen=True)
class Eigenbasis:
    """Eigenvalues (descending) and eigenvectors of the symmetric part (J + J^T)/2 at y."""

    lambda_k: torch.Tensor   # (K,) float64, descending
    e_k: torch.Tensor        # (K, C, H, W) float32, orthonormal, largest entry of each positive
    asymmetry: float         # ||J - J^T||_F / ||J||_F; from random probes when `exact_asymmetry`
    exact_asymmetry: bool    # False when only the top k were computed (matrix-free)
    x_hat: torch.Tensor      # (1, C, H, W) the denoised image
    # The same ratio within the span P of the top `top_dim` eigenvectors, ||P^T (J - J^T) P|| /
    # ||P^T J P||: the retained subspace, top_dim = round(tr J) (dense) or k (top-k). Trained nets
    # are far closer to symmetric there than on the suppressed directions, which training leaves
    # unconstrained (pretrained discs32 at sigma = 30/255: 0.22 within the top 123, 0.78 overall).
    asymmetry_top: float = float("nan")
    top_dim: int = 0
    # ||J y - J^T y|| / ||J y|| at this y: twice the relative error of the shrinkage reading
    # x_hat = sum_k lambda_k <y, e_k> e_k (see `gahr.analysis.symmetry`); exact in both modes.
    asymmetry_y: float = float("nan")

    def coefficients(self, x: torch.Tensor) -> torch.Tensor:
        """<x, e_k> of an image x in this basis, (K,)."""
        return self.e_k.flatten(1).double() @ as_image(x).reshape(-1).double()


@dataclass(frozen=True)
class EffectiveDimension:
    """tr J(y): `value`, its standard error (0 when exact) and the number of probes (0: exact)."""

    value: float
    stderr: float
    probes: int


def _orient(vectors: torch.Tensor) -> torch.Tensor:
    """Fix each eigenvector's sign (its largest-magnitude entry positive), for reproducibility."""
    top = vectors.gather(1, vectors.abs().argmax(dim=1, keepdim=True))
    return vectors * torch.where(top < 0, -1.0, 1.0).to(vectors)


def _rademacher(n: int, D: int, seed: int, device) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed))
    return (torch.randint(0, 2, (n, D), generator=g) * 2 - 1).float().to(device)


def eigen(denoiser: Denoiser, y: torch.Tensor, k: int | None = None,
          chunk_size: int | None = DEFAULT_CHUNK, seed: int = 0, tol: float = 1e-6,
          probes: int = 32, progress: bool = False, sigma=None) -> Eigenbasis:
    """Eigen-decomposition of the symmetric part of J(y), eigenvalues descending.

    `k=None`: the full Jacobian and a dense symmetric eigen-decomposition. With `k`: only the top
    k, by implicitly restarted Lanczos (ARPACK) on products v -> (J v + J^T v)/2, never forming J;
    the asymmetry is then estimated from `probes` Rademacher vectors z, as
    sqrt(sum ||(J - J^T) z||^2 / sum ||J z||^2) (unbiased for both squared Frobenius norms).
    `sigma`: the noise level a conditional denoiser is evaluated at (`gahr.nets.at_sigma`).
    """
    denoiser = at_sigma(denoiser, sigma)
    y = as_image(y)
    if k is None:
        J = jacobian(denoiser, y, chunk_size=chunk_size, progress=progress).double()
        lam, vecs = torch.linalg.eigh((J + J.T) / 2)
        asym = float(torch.linalg.norm(J - J.T) / torch.linalg.norm(J))
        top_dim = retained_dimension(J)
        P = vecs[:, -top_dim:]
        asym_top = _subspace_asymmetry(P.T @ J @ P)
        x_hat = denoiser(y).detach()
        v = y.reshape(-1).double().to(J.device)
        asym_y = on_y_ratio(J @ v, J.T @ v)
        return Eigenbasis(lam.flip(0), _orient(vecs.flip(1).T.float()).reshape(-1, *y.shape[1:]),
                          asym, True, x_hat, asym_top, top_dim, asym_y)
    return _eigen_top_k(denoiser, y, int(k), chunk_size, seed, tol, probes)


def _eigen_top_k(denoiser, y, k, chunk_size, seed, tol, probes) -> Eigenbasis:
    D = y.numel()
    if not 1 <= k < D - 1:
        raise ConfigError(f"k={k}: Lanczos finds 1 to D-2={D - 2} eigenpairs; use k=None for all")
    x_hat, J_v, JT_v = linear_maps(denoiser, y)

    def sym(v: np.ndarray) -> np.ndarray:
        V = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32).reshape(1, D)).to(y.device)
        return (0.5 * (J_v(V) + JT_v(V))).double().cpu().numpy().reshape(v.shape)

    op = LinearOperator((D, D), matvec=sym, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(D)
    try:
        # a Krylov space wider than ARPACK's default 2k+1 means fewer restarts for small k
        lam, vecs = eigsh(op, k=k, which="LA", v0=v0, tol=tol, ncv=min(D - 1, max(2 * k + 1, 20)))
    except ArpackNoConvergence as e:
        raise ConfigError(f"Lanczos did not converge for k={k} (tol={tol}); raise tol or use "
                          "k=None for the dense decomposition") from e
    order = np.argsort(lam)[::-1].copy()
    e_k = _orient(torch.from_numpy(vecs[:, order].T.copy()).float())
    Z = _rademacher(max(int(probes), 1), D, seed + 1, y.device)
    asym = _asymmetry_estimate(Z, chunk_size, J_v, JT_v)
    P = torch.from_numpy(vecs[:, order].copy()).float().to(y.device)  # (D, k)
    step = _check_chunk(chunk_size, D)
    JP = torch.cat([J_v(P.T[s:s + step]) for s in range(0, k, step)])  # rows J e_i, (k, D)
    asym_top = _subspace_asymmetry(P.T.double() @ JP.double().T)
    asym_y = on_y_ratio(J_v(y.reshape(1, -1)), JT_v(y.reshape(1, -1)))
    return Eigenbasis(torch.from_numpy(lam[order].copy()), e_k.reshape(-1, *y.shape[1:]),
                      asym, False, x_hat, asym_top, k, asym_y)


def _subspace_asymmetry(J_P: torch.Tensor) -> float:
    """||M - M^T||_F / ||M||_F of the compressed Jacobian M = P^T J P."""
    return float(torch.linalg.norm(J_P - J_P.T) / torch.linalg.norm(J_P))


def _asymmetry_estimate(Z, chunk_size, J_v, JT_v) -> float:
    num = den = 0.0
    chunk_size = _check_chunk(chunk_size, Z.shape[1])
    for s in range(0, Z.shape[0], chunk_size):
        Jz, JTz = J_v(Z[s:s + chunk_size]), JT_v(Z[s:s + chunk_size])
        num += float(((Jz - JTz) ** 2).sum())
        den += float((Jz ** 2).sum())
    return (num / den) ** 0.5


def effective_dimension(denoiser: Denoiser, y: torch.Tensor, probes: int | None = None,
                        seed: int = 0,
                        chunk_size: int | None = DEFAULT_CHUNK,
                        sigma=None) -> EffectiveDimension:
    """The effective dimension d(y) = tr J(y) (paper Sec. 3).

    `probes=None`: exact, the sum of the diagonal of J (all D rows, in chunks). Otherwise
    Hutchinson's estimate mean_p z_p^T J z_p over `probes` Rademacher vectors (unbiased:
    E[z z^T] = I), with standard error std_p(z_p^T J z_p) / sqrt(probes). `sigma`: the noise
    level a conditional denoiser is evaluated at (`gahr.nets.at_sigma`).
    """
    y = as_image(y)
    D = y.numel()
    _, _, JT_v = linear_maps(denoiser, y, sigma)
    chunk = _check_chunk(chunk_size, D)
    if probes is None:
        total = 0.0
        for s in range(0, D, chunk):
            idx = torch.arange(s, min(s + chunk, D))
            rows = JT_v(_basis(idx, D, y.device))
            total += float(rows[torch.arange(len(idx)), idx.to(y.device)].double().sum())
        return EffectiveDimension(total, 0.0, 0)
    if int(probes) < 2:
        raise ConfigError(f"probes={probes}: Hutchinson needs at least 2 probes for a standard "
                          "error; use probes=None for the exact trace")
    Z = _rademacher(int(probes), D, seed, y.device)
    t = torch.cat([(JT_v(Z[s:s + chunk]) * Z[s:s + chunk]).double().sum(1)
                   for s in range(0, len(Z), chunk)])
    return EffectiveDimension(float(t.mean()), float(t.std() / len(t) ** 0.5), len(t))


def effective_dimension_curve(denoiser: Denoiser, x: torch.Tensor, sigmas, seed: int = 0,
                              probes: int | None = None,
                              chunk_size: int | None = DEFAULT_CHUNK) -> list[dict]:
    """tr J(x + sigma z) for each sigma, one noise draw z (from `seed`) shared by all sigmas.

    Returns [{"sigma", "effective_dimension", "stderr", "probes"}, ...] in the order of `sigmas`.
    """
    x = as_image(x)
    z = noise_sample(x.shape, seed).to(x)
    out = []
    for sigma in sigmas:
        d = effective_dimension(denoiser, x + float(sigma) * z, probes=probes, seed=seed + 1,
                                chunk_size=chunk_size, sigma=float(sigma))
        out.append({"sigma": float(sigma), "effective_dimension": d.value, "stderr": d.stderr,
                    "probes": d.probes})
    return out
