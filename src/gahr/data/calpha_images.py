"""C^alpha images (paper Sec. 4): a C^alpha contour between two C^beta backgrounds.

One image of size s x s is built from three random parts (`calpha_layers`):

- the contour, the graph of h(t) = s/2 + (s/8) x(t) over the columns, with x a unit-variance 1-D
  fractional integration of order alpha of white noise (`gahr.data.fractional`), so the mean
  power spectrum of h falls as |k|^{-2 alpha};
- two backgrounds, 2-D fractional integrations of order beta, each rescaled by its own min and
  max to an intensity range, one to [u, 1] and the other to [0, v] with u, v ~ U(0, 1) and a fair
  coin choosing which region is the bright one (the paper's code), so the regions differ;
- the mask: the fraction of each pixel below the contour. With antialiasing j the image is what
  rendering at 2^j times the resolution with a hard edge and averaging 2^j x 2^j blocks gives,
  computed in closed form: a fine pixel row R lies below the contour where R + 1/2 >= 2^j h, so
  the coarse pixel row r has coverage clamp(r + 1 - ceil(2^j h - 1/2) / 2^j, 0, 1) at each of
  the 2^j sub-columns, averaged. j = 0 is the paper's hard mask.

The image is lower * mask + upper * (1 - mask) after a box blur of the mask, hence in [0, 1].
By default `blur=(2, 2)`, the paper's class (its denoisers were trained on images made with a
(2, 2) blur factor, folders `..._blurredx2`); `blur=None` or (1, 1) keeps the hard edge.
Deviation from the paper's code, on purpose: the contour amplitude is s/8 for every alpha and
size (the paper's grows like sqrt(s)), and the noise is Gaussian instead of uniform; neither
changes the power-spectrum slopes that define the class.
"""

import numbers
from typing import NamedTuple

import torch

from ..errors import ConfigError
from ._util import as_generator, check_count
from .fractional import fractional_noise, fractional_noise_pair

CONTOUR_SPREAD = 1.0 / 8.0  # contour standard deviation as a fraction of the image size
_CHUNK_ELEMENTS = 1 << 19  # pixels per chunk: the working set stays in cache (~80 images of 80x80)


class CAlphaLayers(NamedTuple):
    """The parts of C^alpha images, each of shape (n, size, size) except `contour`."""

    mask: torch.Tensor  # fraction of each pixel in the lower region, in [0, 1]
    lower: torch.Tensor  # background below the contour (larger row index)
    upper: torch.Tensor  # background above the contour
    contour: torch.Tensor  # (n, size * 2^antialias): contour row h at each sub-column, pixels


def _check(size, alpha, beta, blur, antialias):
    check_count("size", size, minimum=4)
    beta = alpha if beta is None else beta
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not isinstance(value, numbers.Real) or not 0 < value <= 5:
            raise ConfigError(f"{name} must be in (0, 5], got {value!r}")
    check_count("antialias", antialias, minimum=0)
    if antialias > 4:
        raise ConfigError(f"antialias={antialias} renders 2^{antialias} sub-columns per pixel; "
                          "use at most 4")
    if blur is not None:
        if len(blur) != 2 or any(isinstance(b, bool) or not isinstance(b, numbers.Integral) or b < 1
                                 for b in blur):
            raise ConfigError(f"blur must be None or two positive ints (rows, cols), got {blur!r}")
    return float(alpha), float(beta)


def _rescale(field: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Map each (n, H, W) field affinely so that its min goes to `low` and its max to `high`."""
    lo, hi = torch.aminmax(field.flatten(1), dim=1)
    scale = (high - low) / (hi - lo).clamp_min(torch.finfo(field.dtype).tiny)
    offset = low - lo * scale
    return torch.addcmul(offset.view(-1, 1, 1), field, scale.view(-1, 1, 1))


def _layers(n, size, alpha, beta, antialias, generator) -> CAlphaLayers:
    sub = 2**antialias
    contour = fractional_noise(n, (size * sub,), alpha, generator)
    contour = contour.mul_(CONTOUR_SPREAD * size).add_(size / 2)
    first, second = fractional_noise_pair(n, (size, size), beta, generator)
    u, v, coin = torch.rand((3, n), generator=generator)
    bright_lower = coin < 0.5
    one, zero = torch.ones(n), torch.zeros(n)
    lower = _rescale(first, torch.where(bright_lower, u, zero), torch.where(bright_lower, one, v))
    upper = _rescale(second, torch.where(bright_lower, zero, u), torch.where(bright_lower, v, one))
    # Row of the first fine pixel center below the contour, in coarse pixel units.
    edge = torch.ceil(sub * contour - 0.5).div_(sub)
    rows = torch.arange(1, size + 1, dtype=torch.float32).view(1, size, 1, 1)
    cover = (rows - edge.view(n, 1, size, sub)).clamp_(0, 1)
    mask = cover.squeeze(-1) if sub == 1 else cover.mean(dim=-1)
    return CAlphaLayers(mask, lower, upper, contour)


def calpha_layers(n: int, size: int = 80, alpha: float = 2.0, beta: float | None = None,
                  antialias: int = 0, seed=0) -> CAlphaLayers:
    """The contour, backgrounds and mask of n C^alpha images (see the module docstring)."""
    check_count("n", n)
    alpha, beta = _check(size, alpha, beta, None, antialias)
    return _layers(n, size, alpha, beta, antialias, as_generator(seed))


def blur_mask(mask: torch.Tensor, blur: tuple[int, int] | None) -> torch.Tensor:
    """Average (n, H, W) masks over a blur[0] x blur[1] box (edge replicated; same size out).

    The box covers offsets -(b//2) .. (b-1)//2, so blur=(2, 2) averages each pixel with the
    previous row and column, as the paper's code does (it pads by reflection; the edge is
    replicated here, which keeps a constant mask constant).
    """
    if blur is None:
        return mask
    for dim, width in ((1, blur[0]), (2, blur[1])):
        if width > 1:
            mask = _box_along(mask, dim, width)
    return mask


def _box_along(mask: torch.Tensor, dim: int, width: int) -> torch.Tensor:
    """Mean of mask[clamp(i + o)] over the box offsets o, along `dim` (in-place shifted adds)."""
    length = mask.shape[dim]
    total = mask.clone()
    for shift in range(-(width // 2), (width - 1) // 2 + 1):
        reach = min(abs(shift), length)
        if shift > 0:
            total.narrow(dim, 0, length - reach).add_(mask.narrow(dim, reach, length - reach))
            total.narrow(dim, length - reach, reach).add_(mask.narrow(dim, length - 1, 1))
        elif shift < 0:
            total.narrow(dim, reach, length - reach).add_(mask.narrow(dim, 0, length - reach))
            total.narrow(dim, 0, reach).add_(mask.narrow(dim, 0, 1))
    return total.div_(width)


def compose(layers: CAlphaLayers, blur: tuple[int, int] | None = None,
            out: torch.Tensor | None = None) -> torch.Tensor:
    """Images (n, 1, H, W) = lower * m + upper * (1 - m), m the (blurred) mask."""
    n, height, width = layers.mask.shape
    out = torch.empty((n, 1, height, width)) if out is None else out
    torch.lerp(layers.upper, layers.lower, blur_mask(layers.mask, blur), out=out[:, 0])
    return out.clamp_(0, 1)  # the clamp removes float rounding only


PAPER_BLUR = (2, 2)  # the box blur of the mask in the paper's C^alpha class


def calpha(n: int, size: int = 80, alpha: float = 2.0, beta: float | None = None,
           blur: tuple[int, int] | None = PAPER_BLUR, antialias: int = 0, seed=0,
           progress: bool = False) -> torch.Tensor:
    """n C^alpha images, float32 (n, 1, size, size) in [0, 1]; beta=None means beta = alpha;
    `blur` the box blur of the edge (the paper's (2, 2) by default, None for a hard edge).

    Vectorized over images, in chunks that bound memory; the same seed gives the same images.
    """
    check_count("n", n)
    alpha, beta = _check(size, alpha, beta, blur, antialias)
    generator = as_generator(seed)
    chunk = max(1, _CHUNK_ELEMENTS // (size * size * 2**antialias))
    out = torch.empty((n, 1, size, size), dtype=torch.float32)
    starts = range(0, n, chunk)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="calpha", unit="chunk")
    for start in starts:
        stop = min(n, start + chunk)
        layers = _layers(stop - start, size, alpha, beta, antialias, generator)
        compose(layers, blur, out=out[start:stop])
    return out
