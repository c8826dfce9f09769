"""Denoising networks and the denoiser contract: bias-free layers, UNet, BF-CNN, the architecture
registry, loaders by spec prefix, paper-checkpoint import."""

from .bfcnn import BFCNN
from .contract import (
                       DenoiserProtocol,
                       as_denoiser,
                       at_sigma,
                       denoise,
                       estimate_sigma,
                       is_blind,
)
from .diffusers_unet import DiffusersUNet  # registers arch "diffusers_unet"
from .layers import BFBatchNorm2d
from .loaders import LOADERS, load_denoiser, register_loader
from .registry import (
                       ARCHITECTURES,
                       MEMORIZING_PRETRAINED,
                       Denoiser,
                       build,
                       describe,
                       load,
                       load_net,
                       pretrained_names,
                       resolve_model_path,
                       save,
)
from .seed import load_seed_checkpoint
from .unet import UNet

__all__ = ["ARCHITECTURES", "LOADERS", "MEMORIZING_PRETRAINED", "BFBatchNorm2d", "BFCNN",
           "Denoiser", "DenoiserProtocol", "DiffusersUNet", "UNet",
           "as_denoiser", "at_sigma", "build", "denoise", "describe", "estimate_sigma",
           "is_blind", "load", "load_denoiser", "load_net", "load_seed_checkpoint",
           "pretrained_names", "register_loader", "resolve_model_path", "save"]
