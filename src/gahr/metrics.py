"""Denoising quality on the [0, 1] intensity scale: PSNR, noise-level labels, shared noise draws.

One home for what training, sampling and every analysis measure the same way:

- `psnr(x_hat, x)`: 10 log10(1 / MSE) per image, averaged over images (the paper's batch mean);
  `psnr_db(mse)` the same from an MSE;
- `sigma_label(sigma)`: a noise level on the 0-255 scale as a key ("25" for 25/255), used in
  `metrics.csv` columns, result files and figure labels;
- `noise_sample(shape, seed)`: z ~ N(0, I) drawn on the CPU from a seed, the same on every
  device; one draw serves every sigma (common random numbers), so curves over sigma differ by
  the noise level only;
- `evaluate(denoiser, images, sigmas)`: mean PSNR of `denoiser(x + sigma z)` per sigma;
- `check_sigma(sigma)`: a noise level that an analysis can use (finite, in (0, MAX_SIGMA]).
"""

import math

import numpy as np
import torch

from .errors import ConfigError, ShapeError
from .nets.contract import as_denoiser, denoise
from .nets.inputs import as_images, check_sigma_type

#: The largest noise level an analysis accepts: 10 times the intensity range. Beyond it the
#: noisy image carries nothing of the clean one (PSNR below -20 dB) and the denoisers here are
#: trained up to sigma = 1 (the paper's range).
MAX_SIGMA = 10.0


def check_sigma(sigma, name: str = "sigma") -> float:
    """`sigma` as a float; ConfigError unless it is a number (not a string or a bool), finite
    and in (0, MAX_SIGMA]."""
    check_sigma_type(sigma, name)
    try:
        value = float(sigma)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={sigma!r} is not a number; give a noise level such as "
                          "25/255") from None
    if not math.isfinite(value) or not 0 < value <= MAX_SIGMA:
        raise ConfigError(f"{name} {value:g} is not usable: give a finite noise level > 0 and "
                          f"<= {MAX_SIGMA:g} on the [0, 1] intensity scale, e.g. 25/255 (or "
                          "--sigma255 25 on the 0-255 scale)")
    return value


def psnr(x_hat: torch.Tensor, x: torch.Tensor, data_range: float = 1.0,
         per_image: bool = False):
    """Peak signal-to-noise ratio 10 log10(data_range^2 / MSE), MSE per image.

    Returns the mean over images of the per-image PSNR (as the paper's batch average), or
    the `(B,)` tensor of per-image values with `per_image=True`. Identical images give inf.
    """
    if x_hat.shape != x.shape:
        raise ShapeError(f"psnr: shapes {tuple(x_hat.shape)} and {tuple(x.shape)} differ; "
                         "compare an estimate with its own clean images")
    if x.dim() < 2:
        x_hat, x = x_hat[None], x[None]
    mse = (x_hat.detach().float() - x.detach().float()).square().flatten(1).mean(1)
    values = psnr_db(mse, data_range)
    return values if per_image else values.mean().item()


def psnr_db(mse, data_range: float = 1.0):
    """PSNR in dB of a mean squared error: 10 log10(data_range^2 / MSE) (tensor or array in,
    the same kind out; an MSE of 0 gives inf)."""
    if isinstance(mse, torch.Tensor):
        return 10 * torch.log10(data_range**2 / mse)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(data_range**2) - 10 * np.log10(np.asarray(mse, dtype=np.float64))


def sigma_label(sigma: float) -> str:
    """A noise level on the 0-255 scale, as a column or JSON key: 25/255 -> '25'."""
    return f"{sigma * 255:.4g}"


def noise_sample(shape, seed: int, device="cpu") -> torch.Tensor:
    """Standard Gaussian noise z drawn on the CPU from `seed`: the same on every device."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(tuple(shape), generator=g).to(device)


@torch.no_grad()
def evaluate(denoiser, images: torch.Tensor, sigmas, seed: int = 0,
             batch_size: int = 256) -> dict[float, float]:
    """Mean PSNR of `denoiser(images + sigma * z)` against `images`, for each sigma.

    One noise draw z (from `seed`) serves every sigma, so the PSNR-vs-sigma curve is smooth.
    `denoiser` is any denoiser (a `gahr.Denoiser`, an oracle, a lambda; a conditional model
    gets each sigma, `gahr.nets.denoise`). The keys are the sigmas as the caller wrote them:
    `evaluate(D, x, [0.1])[0.1]`, also when the sigmas come as a float32 array or tensor
    (`sigma_key`). Images of another float dtype are converted, integer ones refused.
    """
    as_denoiser(denoiser)
    images = as_images(images, "images", torch.float32)
    if images.dim() != 4 or len(images) == 0:
        raise ShapeError(f"evaluate takes a non-empty (N, C, H, W) tensor, got shape "
                         f"{tuple(images.shape)}")
    z = noise_sample(images.shape, seed)
    out = {}
    for sigma in map(sigma_key, _listed(sigmas)):
        values = []
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size]
            y = x + sigma * z[start:start + batch_size].to(x.device)
            values.append(psnr(denoise(denoiser, y, sigma), x, per_image=True).cpu())
        out[sigma] = torch.cat(values).mean().item()
    return out


def _listed(sigmas) -> list:
    """The sigmas as a list of scalars (numpy scalars keep their dtype, see `sigma_key`)."""
    if isinstance(sigmas, torch.Tensor):
        sigmas = sigmas.detach().cpu().numpy()
    if isinstance(sigmas, np.ndarray):
        return list(sigmas.reshape(-1))
    if isinstance(sigmas, int | float | str | bytes | bool):
        return [sigmas]
    return list(sigmas)


def sigma_key(sigma) -> float:
    """A noise level as a dict key: `check_sigma` of it, where a float32 value (from a float32
    array or tensor) becomes the shortest decimal that is the same float32 (float32(0.1) -> 0.1,
    not 0.10000000149): the number the caller wrote."""
    if isinstance(sigma, torch.Tensor) and sigma.numel() == 1:
        sigma = sigma.detach().cpu().numpy().reshape(())[()]
    if isinstance(sigma, np.float32 | np.float16):
        sigma = float(np.format_float_positional(sigma, unique=True))
    return check_sigma(sigma)
