"""Adapters: other libraries' diffusion models as gahr denoisers `D(y, sigma) -> x_hat`.

`VPDenoiser` turns a VP (DDPM-type) model with epsilon, v or sample prediction into the
contract's conditional denoiser on [0, 1] (`adapters/vp.py`: the formulas and their sources);
`from_diffusers(unet, scheduler)` builds one from diffusers objects, and importing this package
registers the loader prefix `diffusers:DIR` (`adapters/diffusers_loader.py`). diffusers itself
is imported only when such a model is loaded.
"""

from .diffusers_loader import from_diffusers, load_diffusers
from .vp import PREDICTIONS, VPDenoiser, timestep_of, vp_sigmas

__all__ = ["PREDICTIONS", "VPDenoiser", "from_diffusers", "load_diffusers", "timestep_of",
           "vp_sigmas"]
