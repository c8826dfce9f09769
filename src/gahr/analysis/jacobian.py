"""The Jacobian J(y) = d x_hat / d y of a denoiser at one image, exactly and fast.

For a bias-free ReLU net the denoiser is locally linear, x_hat(y) = J(y) y (Euler's identity for
homogeneous functions of degree 1; paper Sec. 3, eq. 5), so J(y) is the adaptive linear map the
net applies at y. `jacobian` builds the full (D, D) matrix, D = C*H*W, with batched
vector-Jacobian products (one forward pass, then `torch.func.vmap` over chunks of basis vectors),
which on a 2-core CPU ran 2-3.4x faster than one backward pass per row (chunks of 128; chunks of
64 gave ~2x; batched forward-mode products ~1.5-2.5x; `benchmarks/jacobian.py` measures it).
`linear_maps` exposes the batched products v -> J v and v -> J^T v for matrix-free methods
(Lanczos, Hutchinson).
"""

from collections.abc import Callable

import torch
from torch.func import jvp, vjp, vmap

from ..errors import ConfigError, DataError, ShapeError
from ..nets import as_denoiser, at_sigma
from ..nets.inputs import as_images

Denoiser = Callable[[torch.Tensor], torch.Tensor]
Products = Callable[[torch.Tensor], torch.Tensor]

#: `chunk_size=None` picks `auto_chunk(D)`: about 2^17 / D basis vectors per batched product,
#: clamped to [8, 128]. Measured on a loaded 2-core CPU: 128 was fastest at 32x32 (D = 1024);
#: at 80x80 with the paper's UNet chunks of 128 ran at 0.66x of row-by-row (activation memory),
#: chunks of 4-32 at 0.8-1.0x (the per-row work is compute-bound there).
DEFAULT_CHUNK = None
METHODS = ("vjp", "jvp", "rows")


def as_image(y: torch.Tensor) -> torch.Tensor:
    """Check one image, (C, H, W) or (1, C, H, W), and return it as float32 (1, C, H, W):
    float64/float16 images are converted, integer ones refused (`gahr.nets.inputs.as_images`:
    a uint8 image may be on the 0-255 scale)."""
    if not isinstance(y, torch.Tensor):
        raise ShapeError(f"expected an image tensor, got {type(y).__name__}; "
                         "convert it with torch.as_tensor")
    y = as_images(y, "the image")
    if y.dim() == 3:
        y = y[None]
    if y.dim() != 4 or y.shape[0] != 1:
        raise ShapeError(f"the Jacobian is taken at one image, (C, H, W) or (1, C, H, W); got "
                         f"shape {tuple(y.shape)}; pass y[i:i+1] for the i-th image of a batch")
    if not torch.isfinite(y).all():
        raise DataError("the image holds NaN or infinite values; the Jacobian is undefined there")
    return y.detach().float()


def check_denoiser(denoiser: Denoiser) -> None:
    """The contract's gate (`gahr.nets.as_denoiser`): a callable, not a bare residual net, no
    batch norm in training mode (batch statistics would couple the probes)."""
    as_denoiser(denoiser)


def auto_chunk(D: int) -> int:
    """The default number of basis vectors per batched product for images of D pixels."""
    return max(8, min(128, (1 << 17) // max(int(D), 1)))


def _check_chunk(chunk_size: int | None, D: int) -> int:
    if chunk_size is None:
        return auto_chunk(D)
    if int(chunk_size) < 1:
        raise ConfigError(f"chunk_size={chunk_size} must be a positive number of basis vectors")
    return int(chunk_size)


def linear_maps(denoiser: Denoiser, y: torch.Tensor,
                sigma=None) -> tuple[torch.Tensor, Products, Products]:
    """x_hat(y) and batched products `J_v(V) = V J^T`, `JT_v(V) = V J` for V of shape (n, D).

    A conditional denoiser is differentiated at the fixed noise level `sigma` (or at its
    estimated one, `gahr.nets.estimate_sigma`); see `gahr.nets.at_sigma`.

    Rows of the outputs are J v and J^T v for the rows v of V. The forward pass for J^T is done
    once here and reused by every call; J runs a batched forward-mode product for several
    vectors and a reverse-over-reverse product for one.
    """
    denoiser = at_sigma(denoiser, sigma)
    y = as_image(y)
    shape = y.shape
    # torch.func differentiates w.r.t. y only; no_grad stops plain autograd from also recording
    # a graph through the parameters (memory and time that nothing would use).
    with torch.no_grad():
        x_hat, pull = vjp(denoiser, y)
    if x_hat.shape != shape:
        raise ShapeError(f"the denoiser returned shape {tuple(x_hat.shape)} for an image of shape "
                         f"{tuple(shape)}; a denoiser must map y to an image of the same shape")

    def push_one(v):
        return jvp(denoiser, (y,), (v,))[1]

    push = []

    @torch.no_grad()
    def J_v(V: torch.Tensor) -> torch.Tensor:
        if V.shape[0] > 1:
            return vmap(push_one)(V.reshape(-1, *shape).to(y)).reshape(V.shape[0], -1)
        # One vector at a time (Lanczos): pull is linear, u -> J^T u, so its own vjp is
        # v -> J v; built once, it ran 2-3x faster than forward mode on CPU for single vectors.
        if not push:
            push.append(vjp(lambda u: pull(u)[0], torch.zeros_like(y))[1])
        return push[0](V.reshape(shape).to(y))[0].reshape(1, -1)

    @torch.no_grad()
    def JT_v(V: torch.Tensor) -> torch.Tensor:
        return vmap(pull)(V.reshape(-1, *shape).to(y))[0].reshape(V.shape[0], -1)

    return x_hat.detach(), J_v, JT_v


def _basis(rows: torch.Tensor, D: int, device) -> torch.Tensor:
    """The standard basis vectors e_i for i in `rows`, as an (n, D) matrix."""
    E = torch.zeros(len(rows), D, device=device)
    E[torch.arange(len(rows), device=device), rows.to(device)] = 1.0
    return E


def _rows_index(rows, D: int) -> torch.Tensor:
    if rows is None:
        return torch.arange(D)
    idx = torch.arange(D)[rows] if isinstance(rows, slice) else torch.as_tensor(rows).long()
    if idx.dim() != 1 or (idx.numel() and (idx.min() < 0 or idx.max() >= D)):
        raise ShapeError(f"rows must be indices in [0, {D}) (a slice or a 1-D sequence)")
    return idx


def jacobian(denoiser: Denoiser, y: torch.Tensor, chunk_size: int | None = DEFAULT_CHUNK,
             rows=None, method: str = "vjp", progress: bool = False,
             sigma=None) -> torch.Tensor:
    """The exact Jacobian J[i, j] = d x_hat_i / d y_j at one image, float32 (D, D).

    `rows` (a slice or indices) returns only those rows, (len(rows), D). `method`: "vjp"
    (rows J^T e_i, batched in chunks of `chunk_size`, default `auto_chunk(D)`), "jvp" (columns
    J e_j, batched forward mode; all rows only), or "rows" (one backward pass per row: the slow
    reference).
    `progress` shows a progress bar over the chunks. `sigma`: the noise level a conditional
    denoiser is differentiated at (see `linear_maps`).
    The denoiser must treat batch items independently (true of nets in eval mode and oracles).
    """
    if method not in METHODS:
        raise ConfigError(f"method={method!r}; choose one of {', '.join(METHODS)}")
    y = as_image(y)
    D = y.numel()
    idx = _rows_index(rows, D)
    if method == "rows":
        return jacobian_rowwise(denoiser, y, idx, sigma=sigma)
    chunk = _check_chunk(chunk_size, D)
    _, J_v, JT_v = linear_maps(denoiser, y, sigma)
    if method == "jvp":
        if rows is not None:
            raise ConfigError("method='jvp' computes columns; use method='vjp' for a subset "
                              "of rows")
        cols = [J_v(_basis(torch.arange(s, min(s + chunk, D)), D, y.device))
                for s in range(0, D, chunk)]
        return torch.cat(cols).T.contiguous()
    out = torch.empty(len(idx), D, device=y.device)
    starts = range(0, len(idx), chunk)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc=f"Jacobian rows ({len(idx)})", unit="chunk")
    for s in starts:
        out[s:s + chunk] = JT_v(_basis(idx[s:s + chunk], D, y.device))
    return out


def jacobian_rowwise(denoiser: Denoiser, y: torch.Tensor, rows=None, sigma=None) -> torch.Tensor:
    """Reference Jacobian: one reverse-mode pass per output pixel (the paper code's method)."""
    denoiser = at_sigma(denoiser, sigma)
    y = as_image(y).clone().requires_grad_(True)
    D = y.numel()
    idx = _rows_index(rows, D)
    with torch.enable_grad():
        out = denoiser(y).reshape(-1)
        grads = [torch.autograd.grad(out[i], y, retain_graph=True)[0].reshape(-1) for i in idx]
    return torch.stack(grads).detach() if grads else torch.empty(0, D, device=y.device)
