"""What a denoiser's inputs must be: floating image tensors and numeric noise levels.

Shared by the contract's gate (`gahr.nets.contract.denoise`) and `gahr.Denoiser`, so that a
float64 or float16 batch reaches a float32 net converted instead of as a raw torch dtype error,
and an integer image or a sigma written as a string is refused with a GahrError.
"""

import torch
from torch import nn

from ..errors import ConfigError, DataError


def as_images(x, name: str = "images", dtype: torch.dtype | None = None) -> torch.Tensor:
    """`x` as a floating tensor (converted to `dtype` when given). Integer, bool and complex
    tensors are refused (DataError): their scale is unknown (uint8 may be 0-255), and gahr takes
    float images on the [0, 1] scale."""
    if not isinstance(x, torch.Tensor):
        raise DataError(f"{name} must be a torch tensor, got {type(x).__name__}; convert with "
                        "torch.as_tensor(x, dtype=torch.float32)")
    if not x.is_floating_point():
        raise DataError(f"{name}: dtype {str(x.dtype).removeprefix('torch.')}; gahr takes "
                        "float images on the [0, 1] scale: convert them first, e.g. "
                        "x.float() / 255 for 8-bit images")
    return x if dtype is None or x.dtype == dtype else x.to(dtype)


def model_dtype(denoiser) -> torch.dtype | None:
    """The floating dtype of a module's parameters (what its inputs must have), else None (a
    function or an oracle without parameters takes any float dtype)."""
    if isinstance(denoiser, nn.Module):
        for p in denoiser.parameters():
            if p.is_floating_point():
                return p.dtype
    return None


def check_sigma_type(sigma, name: str = "sigma"):
    """`sigma` unchanged unless it is a string, bytes or a bool (or a bool/complex tensor or
    array): those are refused (ConfigError) instead of being read as 1.0 or failing deep in a
    model. None passes (no noise level given)."""
    bad = isinstance(sigma, str | bytes | bool) or (
        hasattr(sigma, "dtype") and (str(sigma.dtype) in ("bool", "torch.bool")
                                     or "complex" in str(sigma.dtype)))
    if bad:
        raise ConfigError(f"{name}={sigma!r} is not a noise level; give a number (or one per "
                          "image) on the [0, 1] scale, e.g. 25 / 255")
    return sigma
