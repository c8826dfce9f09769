"""Device names (`auto` picks CUDA when present; code never assumes CUDA), the device a denoiser
runs on, and CPU threads."""

from contextlib import contextmanager

import torch

from .errors import ConfigError


def resolve_device(name: str, setting: str = "--device") -> torch.device:
    """`auto`, `cpu`, `cuda`, `cuda:1`, ... -> a torch.device; `setting` names the option in
    the error message."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"{setting}={name!r} is not a device; use auto, cpu or "
                          "cuda[:i]") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{setting}={name!r} but CUDA is not available; use cpu or auto")
    return device


def device_of(denoiser) -> torch.device:
    """Where a denoiser computes: the device of its first parameter or buffer when it is a
    module (a trained net, an oracle holding its training set), else the CPU."""
    if isinstance(denoiser, torch.nn.Module):
        for tensor in [*denoiser.parameters(), *denoiser.buffers()]:
            return tensor.device
    return torch.device("cpu")


@contextmanager
def torch_threads(threads: int):
    """Run the block with `threads` torch CPU threads (0: leave the current number), then
    restore it. Oversubscribed cores stall every step, so stages outside training honour
    `train.threads` as training does."""
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
