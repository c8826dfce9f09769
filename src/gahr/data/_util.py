"""Small helpers shared by the data modules: seeds, option checks."""

import numbers

import torch

from ..errors import ConfigError


def as_generator(seed) -> torch.Generator:
    """A CPU `torch.Generator` from an int seed, or the generator itself when one is given."""
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"seed must be an int or a torch.Generator, got {seed!r}")
    return torch.Generator().manual_seed(int(seed))


def check_count(name: str, value, minimum: int = 1) -> int:
    """`value` as an int >= minimum, else a ConfigError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_options(source: str, options: dict, allowed) -> None:
    """Reject option names that `source` does not take, listing the ones it does."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        valid = ", ".join(sorted(allowed)) or "none"
        raise ConfigError(f"{source} does not take option(s) {', '.join(unknown)}; "
                          f"valid options: {valid}")
