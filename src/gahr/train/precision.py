"""Which devices run `train.amp = "bf16"` natively, and the check the trainer makes.

bf16 autocast runs the convolutions in bfloat16 (weights and the loss stay float32). On a CPU
it pays only with native bf16 instructions: AVX512-BF16 (`avx512_bf16` in /proc/cpuinfo:
Zen 4, Cooper Lake, Sapphire Rapids and later) or AMX (`amx_bf16`); elsewhere oneDNN emulates
bf16 in float32 and the step is slower than plain float32 (a warning says so). On CUDA it needs
compute capability 8.0 (Ampere) or newer (`torch.cuda.is_bf16_supported()`); older cards are
refused.
"""

import warnings
from functools import lru_cache
from pathlib import Path

import torch

from ..errors import ConfigError

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_bf16_flags(cpuinfo: str = "/proc/cpuinfo") -> tuple[str, ...]:
    """The native-bf16 instruction sets this CPU reports (empty when none or unknown)."""
    try:
        flags = set(Path(cpuinfo).read_text().split())
    except OSError:
        return ()
    return tuple(f for f in NATIVE_BF16_FLAGS if f in flags)


def check_amp(amp: str, device: torch.device) -> None:
    """Refuse bf16 autocast where the device cannot run it, warn where it would be emulated."""
    if amp != "bf16":
        return
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"train.amp=bf16 needs a GPU with bf16 (compute capability >= 8.0); "
                          f"{torch.cuda.get_device_name(device)} has none: set train.amp=off")
    if device.type == "cpu" and not cpu_bf16_flags():
        warnings.warn("train.amp=bf16 on a CPU without avx512_bf16 or amx_bf16: bf16 is "
                      "emulated and training is slower than train.amp=off", stacklevel=2)
