"""Bias-free denoising networks: layers, UNet, BF-CNN, registry, paper-checkpoint import."""

from .bfcnn import BFCNN
from .layers import BFBatchNorm2d
from .registry import (
                       ARCHITECTURES,
                       MEMORIZING_PRETRAINED,
                       Denoiser,
                       build,
                       describe,
                       load,
                       load_denoiser,
                       pretrained_names,
                       resolve_model_path,
                       save,
)
from .seed import load_seed_checkpoint
from .unet import UNet

__all__ = ["ARCHITECTURES", "MEMORIZING_PRETRAINED", "BFBatchNorm2d", "BFCNN", "Denoiser", "UNet",
           "build", "describe", "load", "load_denoiser", "load_seed_checkpoint",
           "pretrained_names", "resolve_model_path", "save"]
