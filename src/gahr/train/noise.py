"""Noise levels and the order in which training images are visited."""

import math

import torch


def sample_sigmas(n: int, sigma_min: float, sigma_max: float, dist: str,
                  generator: torch.Generator, device=None) -> torch.Tensor:
    """`(n, 1, 1, 1)` noise levels, one per image.

    uniform:   sigma ~ U[sigma_min, sigma_max];
    quadratic: sqrt(sigma) ~ U[sqrt(sigma_min), sqrt(sigma_max)] (the paper code's option,
               which favours small sigma: density proportional to sigma^(-1/2)).
    """
    u = torch.rand(n, 1, 1, 1, generator=generator, device=device)
    if dist == "quadratic":
        lo, hi = math.sqrt(sigma_min), math.sqrt(sigma_max)
        return (u * (hi - lo) + lo).square_()
    return u * (sigma_max - sigma_min) + sigma_min


def epoch_order(n: int, length: int, seed: int, epoch: int) -> torch.Tensor:
    """Indices into a training set of `n` images for one epoch of `length` samples.

    Concatenated random permutations of range(n), cut to `length`: every image is visited
    floor or ceil of length / n times, so a set of 1 image and one of 10^5 get the same number
    of gradient steps (the paper repeats small sets to 250000 samples an epoch). A function of
    (seed, epoch) alone, so a resumed run revisits the same order.
    """
    g = torch.Generator().manual_seed(_mix(seed, epoch))
    reps = math.ceil(length / n)
    return torch.rand(reps, n, generator=g).argsort(dim=1).flatten()[:length]


def _mix(seed: int, epoch: int) -> int:
    # Distinct, well-separated generator seeds per (seed, epoch).
    return (seed * 1_000_003 + epoch * 7919 + 0x9E3779B9) % (2**63)
