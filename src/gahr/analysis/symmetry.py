"""How symmetric is the Jacobian J(y) of a denoiser? Five normalizations of ||J - J^T||.

The paper reads the denoiser as a shrinkage in an orthonormal basis (Sec. 3.1):
x_hat = J(y) y = sum_k lambda_k <y, e_k> e_k, which needs J symmetric. The MMSE denoiser's J is
symmetric by Tweedie / Miyasawa: x_hat = y + sigma^2 grad log p_sigma(y), so
J = I + sigma^2 H with H the Hessian of log p_sigma. A trained net is not constrained to be, and
"how far from symmetric" depends on what ||J - J^T|| is divided by. With the antisymmetric part
A = J - J^T (the numerator of every ratio below; each ratio lies in [0, 2]):

- `frobenius` ||A||_F / ||J||_F: over all D^2 entries, suppressed directions included;
- `residual` ||A||_F / ||I - J||_F: the same A measured against the Jacobian of the residual
  y - x_hat = -sigma^2 grad log p (the score's Jacobian up to -sigma^2): the asymmetry of the
  score field itself. A symmetric J gives a conservative score (the gradient of a log density);
  this ratio is the one that says how far from a gradient field the learned score is;
- `spectral` ||A||_2 / ||J||_2: the worst direction instead of the average one;
- `retained` ||P^T A P||_F / ||P^T J P||_F, P the top `top_dim` = round(tr J) eigenvectors of
  the symmetric part: asymmetry within the subspace the denoiser keeps;
- `on_y` ||A y|| / ||J y||: on the noisy image itself. Since x_hat = J y for a bias-free net,
  the shrinkage reading x_hat ~ S y with S = (J + J^T) / 2 errs by exactly J y - S y = A y / 2,
  so `on_y / 2` is the relative error of the paper's eigen-shrinkage formula for this image.
  The paper uses the symmetry only through that formula, so `on_y` is the normalization that
  matches its reading of J as "nearly symmetric".

`residual` divides by ||I - J||_F ~ sqrt(D - tr J), which is large when the kept dimension is
small, so for low-dimensional classes it reads smaller than `frobenius` (~ sqrt(tr J) below).

Matrix-free, `on_y` costs two products (J y, J^T y); the other four need the dense J.
"""

from dataclasses import asdict, dataclass

import torch

from ..errors import ShapeError
from ..metrics import noise_sample
from .jacobian import DEFAULT_CHUNK, Denoiser, as_image, jacobian, linear_maps

MEASURES = ("frobenius", "residual", "spectral", "retained", "on_y")


@dataclass(frozen=True)
class Symmetry:
    """The five asymmetry ratios of J(y) (module docstring) and the retained dimension."""

    frobenius: float
    residual: float
    spectral: float
    retained: float
    on_y: float
    top_dim: int

    def as_dict(self) -> dict:
        return asdict(self)


def retained_dimension(J: torch.Tensor) -> int:
    """round(tr J), clamped to [1, D]: the size of the subspace the denoiser keeps."""
    return min(max(int(round(float(J.trace()))), 1), J.shape[0])


def symmetry_of(J: torch.Tensor, y: torch.Tensor, top_dim: int | None = None) -> Symmetry:
    """The five ratios of a dense (D, D) Jacobian J at the (flattened) image y."""
    J = J.double()
    if J.dim() != 2 or J.shape[0] != J.shape[1] or y.numel() != J.shape[0]:
        raise ShapeError(f"need a square (D, D) Jacobian and an image of D pixels, got "
                         f"{tuple(J.shape)} and {y.numel()} pixels")
    v = y.reshape(-1).double().to(J.device)
    A = J - J.T
    eye = torch.eye(J.shape[0], dtype=J.dtype, device=J.device)
    top_dim = retained_dimension(J) if top_dim is None else int(top_dim)
    _, vecs = torch.linalg.eigh((J + J.T) / 2)
    P = vecs[:, -top_dim:]
    fro = torch.linalg.norm
    return Symmetry(
        frobenius=float(fro(A) / fro(J)),
        residual=float(fro(A) / fro(eye - J)),
        spectral=float(torch.linalg.matrix_norm(A, 2) / torch.linalg.matrix_norm(J, 2)),
        retained=float(fro(P.T @ A @ P) / fro(P.T @ J @ P)),
        on_y=on_y_ratio(J @ v, J.T @ v),
        top_dim=top_dim)


def on_y_ratio(Jy: torch.Tensor, JTy: torch.Tensor) -> float:
    """||J y - J^T y|| / ||J y|| from the two products."""
    Jy, JTy = Jy.double(), JTy.double()
    return float(torch.linalg.norm(Jy - JTy) / torch.linalg.norm(Jy))


def asymmetry_on_y(denoiser: Denoiser, y: torch.Tensor, sigma=None) -> float:
    """||J y - J^T y|| / ||J y|| matrix-free: two products, no dense Jacobian."""
    y = as_image(y)
    _, J_v, JT_v = linear_maps(denoiser, y, sigma)
    v = y.reshape(1, -1)
    return on_y_ratio(J_v(v), JT_v(v))


def symmetry(denoiser: Denoiser, y: torch.Tensor,
             chunk_size: int | None = DEFAULT_CHUNK, sigma=None) -> Symmetry:
    """The five ratios of the denoiser's Jacobian at the noisy image y (dense J); `sigma` for a
    conditional denoiser (`gahr.nets.at_sigma`)."""
    y = as_image(y)
    return symmetry_of(jacobian(denoiser, y, chunk_size=chunk_size, sigma=sigma), y)


def symmetry_curve(denoiser: Denoiser, x: torch.Tensor, sigmas, seed: int = 0,
                   chunk_size: int | None = DEFAULT_CHUNK) -> list[dict]:
    """`symmetry` at y = x + sigma z per sigma, one noise draw z (from `seed`) for all sigmas.

    Returns [{"sigma", "frobenius", "residual", "spectral", "retained", "on_y", "top_dim"}].
    """
    x = as_image(x)
    z = noise_sample(x.shape, seed).to(x)
    return [{"sigma": float(s),
             **symmetry(denoiser, x + float(s) * z, chunk_size, sigma=float(s)).as_dict()}
            for s in sigmas]
