"""Reconstruction quality: SSIM (Wang, Bovik, Sheikh & Simoncelli, IEEE TIP 2004)."""

import torch
import torch.nn.functional as F

from ..errors import ShapeError

_K1, _K2 = 0.01, 0.03


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, window: int = 11,
         window_sigma: float = 1.5) -> torch.Tensor:
    """Mean structural similarity per image, (B,), with the paper's Gaussian window (11x11,
    sigma 1.5, 'valid' positions only; shrunk to the image for smaller images):

        SSIM = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)),

    C1 = (0.01 L)^2, C2 = (0.03 L)^2, local moments under the window, averaged over positions
    and channels.
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ShapeError(f"ssim compares two (B, C, H, W) stacks of one shape, got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    C, H, W = x.shape[1:]
    size = min(window, H - (H + 1) % 2, W - (W + 1) % 2)
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * window_sigma**2))
    kernel = (g[:, None] * g[None, :] / g.sum() ** 2).expand(C, 1, size, size).to(x.device)

    def blur(v):
        return F.conv2d(v, kernel, groups=C)

    x, y = x.double(), y.double()
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = (_K1 * data_range) ** 2, (_K2 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.flatten(1).mean(1)
