"""A denoiser of your own for gahr: `python:examples/fitted_gaussian.py:make`.

Any object with `__call__(y, sigma=None) -> x_hat` on [0, 1] images meets gahr's denoiser
contract (`gahr.DenoiserProtocol`); `blind = False` says it needs the noise level, which
samplers and analyses then hand over. Here: the Wiener denoiser of the Gaussian fitted to 1000
disc images (Li et al. 2024's linear baseline), told sigma rather than estimating it.
"""

import torch

from gahr.data import open_dataset
from gahr.oracles import GaussianFitOracle


class KnownSigma(torch.nn.Module):
    """A conditional denoiser: x_hat = mu + Sigma (Sigma + sigma^2 I)^-1 (y - mu)."""

    blind = False

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.oracle = GaussianFitOracle(images)
        self.channels, self.image_size = images.shape[1], images.shape[-1]
        self.meta = {"image_size": list(images.shape[-2:]),
                     "mean_intensity": float(images.mean())}

    def forward(self, y, sigma=None):
        return self.oracle(y, sigma=sigma)


def make(device="cpu"):
    """The factory `python:FILE:make` calls (with `device=` since it takes one)."""
    return KnownSigma(open_dataset("discs", n=1000, size=16, seed=0)).to(device).eval()
