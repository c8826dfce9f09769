"""Device names (`auto` picks CUDA when present; code never assumes CUDA) and CPU threads."""

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
