"""gahr: generalization in diffusion models from geometry-adaptive harmonic representations.

Bias-free blind denoisers, sampling from the prior implicit in a denoiser, memorization versus
generalization, and the Jacobian eigenbasis of a denoiser (Kadkhodaie, Guth, Simoncelli, Mallat,
ICLR 2024).
"""

from .errors import GahrError
from .nets import Denoiser, load, load_denoiser, save
from .pretrained import pretrained  # the function: see gahr/pretrained/__init__.py

__version__ = "0.1.0"
__all__ = ["Denoiser", "GahrError", "load", "load_denoiser", "pretrained", "save", "__version__"]

