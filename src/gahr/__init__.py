"""gahr: generalization in diffusion models from geometry-adaptive harmonic representations.

Bias-free blind denoisers, sampling from the prior implicit in a denoiser, memorization versus
generalization, and the Jacobian eigenbasis of a denoiser (Kadkhodaie, Guth, Simoncelli, Mallat,
ICLR 2024).
"""

from . import adapters  # noqa: F401  (registers the diffusers: loader; imports no diffusers)
from .errors import GahrError
from .nets import (
                   Denoiser,
                   DenoiserProtocol,
                   load,  # noqa: F401  (deprecated, not in __all__: the residual net; see load_net)
                   load_denoiser,
                   load_net,
                   register_loader,
                   save,
)
from .pretrained import pretrained  # the function: see gahr/pretrained/__init__.py

__version__ = "0.1.0"
__all__ = ["Denoiser", "DenoiserProtocol", "GahrError", "load_denoiser", "load_net", "pretrained",
           "register_loader", "save", "__version__"]

