"""Disc images (paper Sec. 3.3): a low-dimensional manifold with a known tangent space.

An image is fixed by five latent parameters, one row of a float tensor (n, 5) in this order
(`DISC_PARAMS`):

    center_y, center_x   disc center, in pixels: pixel (i, j) has its center at (y, x) = (i, j),
                         so an image of size s covers [-1/2, s - 1/2]^2 and (s-1)/2 is its middle
    radius               in pixels
    foreground           intensity inside the disc, in [0, 1]
    background           intensity outside, in [0, 1]

`render_discs` evaluates the image at any parameters; with smooth edges (the default) it is
Lipschitz in them and torch autograd differentiates it, so the manifold's tangent space at an
image is spanned by the columns of d image / d params (restricted to the free factors,
`disc_free_params`). Smooth edge: a sample point at distance d from the center has coverage
clamp(1/2 + (radius - d) / w, 0, 1), a linear ramp of width w = one sample spacing, which is the
exact area fraction for a straight edge. Antialiasing j takes 2^j x 2^j samples per pixel and
averages them. `hard=True` gives the indicator of d <= radius at the samples (the paper's code),
which has no useful derivative.
"""

import math

import torch

from ..errors import ConfigError, ShapeError
from ._util import as_generator, check_count

DISC_PARAMS = ("center_y", "center_x", "radius", "foreground", "background")
MIN_RADIUS = 3.0  # smallest random radius, in pixels (the paper's code)
_CHUNK_ELEMENTS = 1 << 23


def disc_free_params(translate: bool = True, scale: bool = True, foreground: bool = True,
                     background: bool = True) -> tuple[int, ...]:
    """Columns of the params tensor that vary: the manifold's coordinates."""
    free = (translate, translate, scale, foreground, background)
    return tuple(i for i, on in enumerate(free) if on)


def _uniform(n, low, high, continuous, generator):
    """n draws in [low, high]: uniform reals, or uniform integers ceil(low)..floor(high)."""
    low = torch.as_tensor(low, dtype=torch.float64)
    high = torch.as_tensor(high, dtype=torch.float64)
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    if continuous:
        return low + (high - low) * u
    first, last = torch.ceil(low), torch.floor(high)
    return first + torch.floor(u * (last - first + 1)).clamp(max=last - first)


def sample_disc_params(n: int, size: int = 32, *, translate: bool = True, scale: bool = True,
                       foreground: bool = True, background: bool = True, wrap: bool = False,
                       continuous: bool = True, seed=0) -> torch.Tensor:
    """Latent parameters (n, 5) of random discs; a frozen factor takes its default value.

    radius ~ U[3, (size - 3) / 2] (default size / 4); center ~ U over the positions that keep
    the disc inside the image, [radius - 1/2, size - 1/2 - radius] (anywhere with `wrap`;
    default the middle (size - 1) / 2); foreground ~ U[0, 1] (default 1); background ~ U[0, 1]
    (default 0). `continuous=False` draws integers instead (defaults size // 4, size // 2).
    """
    check_count("n", n)
    check_count("size", size, minimum=2 * int(MIN_RADIUS) + 4)
    generator = as_generator(seed)
    params = torch.empty((n, 5), dtype=torch.float64)
    if scale:
        params[:, 2] = _uniform(n, MIN_RADIUS, (size - MIN_RADIUS) / 2, continuous, generator)
    else:
        params[:, 2] = size / 4 if continuous else size // 4
    for axis in (0, 1):
        if not translate:
            params[:, axis] = (size - 1) / 2 if continuous else size // 2
        elif wrap:
            # uniform on the torus [0, size): `size` is the same position as 0
            params[:, axis] = _uniform(n, 0.0, size if continuous else size - 1.0, continuous,
                                       generator)
        else:
            params[:, axis] = _uniform(n, params[:, 2] - 0.5, size - 0.5 - params[:, 2],
                                       continuous, generator)
    params[:, 3] = torch.rand(n, generator=generator, dtype=torch.float64) if foreground else 1.0
    params[:, 4] = torch.rand(n, generator=generator, dtype=torch.float64) if background else 0.0
    return params.to(torch.float32)


def _sample_offsets(antialias: int, dtype, device) -> torch.Tensor:
    """Sample positions inside a pixel, relative to its center: (2^j,) values in (-1/2, 1/2)."""
    sub = 2**antialias
    return (torch.arange(sub, dtype=dtype, device=device) + 0.5) / sub - 0.5


def _render_chunk(params, size, wrap, antialias, hard):
    sub = 2**antialias
    axis = torch.arange(size, dtype=params.dtype, device=params.device)
    points = (axis.view(-1, 1) + _sample_offsets(antialias, params.dtype, params.device)).view(-1)
    dy = points.view(1, -1, 1) - params[:, 0].view(-1, 1, 1)
    dx = points.view(1, 1, -1) - params[:, 1].view(-1, 1, 1)
    if wrap:  # distance to the nearest periodic copy of the center
        dy = torch.remainder(dy + size / 2, size) - size / 2
        dx = torch.remainder(dx + size / 2, size) - size / 2
    # sqrt has an infinite derivative at 0; the tiny floor keeps autograd finite at the center.
    distance = torch.sqrt(dy * dy + dx * dx + torch.finfo(params.dtype).tiny)
    radius = params[:, 2].view(-1, 1, 1)
    if hard:
        cover = (distance <= radius).to(params.dtype)
    else:
        cover = (0.5 + (radius - distance) * sub).clamp(0, 1)
    if sub > 1:
        cover = cover.view(-1, size, sub, size, sub).mean(dim=(2, 4))
    fg, bg = params[:, 3].view(-1, 1, 1), params[:, 4].view(-1, 1, 1)
    return (bg + (fg - bg) * cover).unsqueeze(1)


def render_discs(params: torch.Tensor, size: int, *, wrap: bool = False, antialias: int = 0,
                 hard: bool = False) -> torch.Tensor:
    """Images (n, 1, size, size) of the discs in params (n, 5), in params' dtype and device.

    image = background + (foreground - background) * coverage; see the module docstring for the
    coverage. Differentiable in params when hard=False.
    """
    if params.ndim != 2 or params.shape[1] != 5:
        raise ShapeError(f"disc params must have shape (n, 5) {DISC_PARAMS}, "
                         f"got {tuple(params.shape)}")
    check_count("size", size)
    check_count("antialias", antialias, minimum=0)
    if antialias > 4:
        raise ConfigError(f"antialias={antialias} takes 4^{antialias} samples per pixel; "
                          "use at most 4")
    if not params.is_floating_point():
        params = params.to(torch.float32)
    chunk = max(1, _CHUNK_ELEMENTS // (size * size * 4**antialias))
    parts = [_render_chunk(params[i:i + chunk], size, wrap, antialias, hard)
             for i in range(0, params.shape[0], chunk)]
    return torch.cat(parts) if parts else params.new_zeros((0, 1, size, size))


def discs(n: int, size: int = 32, *, seed=0, translate: bool = True, scale: bool = True,
          foreground: bool = True, background: bool = True, wrap: bool = False,
          continuous: bool = True, antialias: int = 0,
          hard: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """n random disc images float32 (n, 1, size, size) in [0, 1], and their params (n, 5)."""
    params = sample_disc_params(n, size, translate=translate, scale=scale, foreground=foreground,
                                background=background, wrap=wrap, continuous=continuous,
                                seed=seed)
    images = render_discs(params, size, wrap=wrap, antialias=antialias, hard=hard)
    return images.clamp_(0, 1), params


def disc_area(radius: float, antialias: int = 0, hard: bool = False) -> float:
    """Expected sum of the coverage over a uniformly random sub-pixel center: the disc's area.

    Hard edges: pi r^2 (a randomly shifted lattice counts area exactly on average). Smooth
    edges: integrating the ramp of width w = 2^-j gives pi (r^2 + w^2 / 12).
    """
    width = 2.0**-antialias
    return math.pi * radius**2 if hard else math.pi * (radius**2 + width**2 / 12)
