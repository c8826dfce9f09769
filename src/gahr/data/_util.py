"""Small helpers shared by the data modules: seeds, option checks."""

import numbers

import torch

from ..errors import ConfigError, ShapeError

#: Channel counts of image arrays: gray, RGB, RGBA.
CHANNEL_COUNTS = (1, 3, 4)


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


def check_channels_first(shape, where: str) -> None:
    """ShapeError when an (N, C, H, W) array looks channels-last, (N, H, W, C): its last axis
    is a channel count (1, 3 or 4) and axis 1 is longer than any (an image side). Read as
    (N, C, H, W) it would give N images of H channels and W x C pixels; a net would train on
    that without a word."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 4 and shape[3] in CHANNEL_COUNTS and shape[1] > max(CHANNEL_COUNTS):
        n, h, w, c = shape
        raise ShapeError(f"{where} has shape {shape}: channels-last images (N={n}, H={h}, "
                         f"W={w}, C={c}), but gahr reads (N, C, H, W); transpose them, e.g. "
                         "np.transpose(a, (0, 3, 1, 2)) or x.permute(0, 3, 1, 2), and save again")


def merge_options(options: dict) -> dict:
    """Options given either as keywords (`gray=True`) or in the shape of a config's
    `data.options` table (`options={"gray": True}`), as one dict; ConfigError for a name given
    both ways with different values."""
    nested = options.get("options")
    if not isinstance(nested, dict):
        return options
    rest = {k: v for k, v in options.items() if k != "options"}
    clash = sorted(k for k in set(rest) & set(nested) if rest[k] != nested[k])
    if clash:
        raise ConfigError(f"option {clash[0]} given twice, as {rest[clash[0]]!r} and in "
                          f"options= as {nested[clash[0]]!r}; give it once")
    return {**nested, **rest}
