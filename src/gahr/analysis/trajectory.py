"""Patch-size calibration on the net's own sampling trajectory (Kamb & Ganguli 2025).

Kamb & Ganguli choose the locality scale of their machine per sampler step: run the net's
sampler, and at every step t compare, at the net's own iterate y_t, the net's score with the
machine's for each patch size k; the k of largest cosine between the two scores is that
sample's k at step t, and the step's k is the median over samples. The score is
(x_hat(y) - y) / sigma^2 on every model's scale, so the cosine between two scores at one
iterate and one sigma is the cosine between x_hat_net - y and x_hat_k - y, which is what is
computed here (over all pixels of each image).

`record_trajectory` runs a sampler and keeps, per call, the iterate, the net's x_hat and the
noise level the schedule assigns to the iterate; `calibrate_on_trajectory` evaluates the
machines there.
"""

from collections import defaultdict

import numpy as np
import torch

from ..errors import ConfigError
from ..nets import denoise
from ..sample import synthesize
from .agreement import _at_pixels, pixel_sample


class _Recorder:
    """The net, declared conditional so that the sampler hands it each iterate's level; the
    level reaches the net only if the net itself is conditional."""

    blind = False

    def __init__(self, net):
        self.net, self.level = net, None

    def __call__(self, y, sigma=None):
        self.level = torch.as_tensor(sigma, dtype=torch.float64).flatten().expand(len(y))
        return denoise(self.net, y, sigma)


@torch.no_grad()
def record_trajectory(net, shape, seeds, schedule, *, start_mean=None, batch_size=None,
                      device=None) -> dict:
    """{t: {"y", "x_hat" (m, C, H, W), "sigma" (m,) float64, "index" (m,)}} for every
    sampler call t (1-based) of the net from `seeds` under `schedule`."""
    recorder, steps = _Recorder(net), defaultdict(list)

    def keep(info):
        for j, (i, t) in enumerate(zip(info["index"].tolist(), info["t"].tolist())):
            steps[t].append((i, info["y"][j].detach().clone(), info["x_hat"][j].detach().clone(),
                             float(recorder.level[j])))

    synthesize(recorder, shape, len(seeds), schedule, seeds=list(seeds), start_mean=start_mean,
               batch_size=batch_size, callback=keep, device=device)
    return {t: {"index": torch.tensor([r[0] for r in rows]),
                "y": torch.stack([r[1] for r in rows]),
                "x_hat": torch.stack([r[2] for r in rows]),
                "sigma": torch.tensor([r[3] for r in rows], dtype=torch.float64)}
            for t, rows in sorted(steps.items())}


def score_cosine(y, x_hat_a, x_hat_b) -> torch.Tensor:
    """Per image, the cosine between x_hat_a - y and x_hat_b - y (over all their entries:
    (B, C, H, W) images or (B, C, P) pixels), float64."""
    a = (x_hat_a.double() - y.double()).flatten(1)
    b = (x_hat_b.double() - y.double()).flatten(1)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-300)


def _machine_cosines(oracle, rec, ks, pixels, seed) -> torch.Tensor:
    """(len(ks), m) score cosines of the machines with the net at one step, over every pixel
    or over `pixels` random pixels per image (the same for every k)."""
    y, x_hat = rec["y"], rec["x_hat"]
    if pixels is None or pixels >= y[0, 0].numel():
        return torch.stack([score_cosine(y, x_hat, oracle.with_patch_size(k)(
            y, sigma=rec["sigma"])) for k in ks])
    px = pixel_sample(len(y), y[0, 0].numel(), pixels, seed)
    at = _at_pixels(y, px)
    return torch.stack([score_cosine(at, _at_pixels(x_hat, px), oracle.with_patch_size(
        k).denoise_pixels(y, px, sigma=rec["sigma"])) for k in ks])


@torch.no_grad()
def calibrate_on_trajectory(oracle, trajectory: dict, patch_sizes, cache=None,
                            pixels: int | None = None, seed: int = 0) -> dict:
    """Per step t of `trajectory` (`record_trajectory`), the patch size whose machine
    `oracle.with_patch_size(k)` (at the step's noise levels) has the largest score cosine
    with the net, per sample, and its median over samples (the lower middle one). `pixels`:
    the cosine over that many random pixels per image (drawn from `seed + t`), an estimate of
    the whole image's at HW / pixels times less cost; None: every pixel (K&G).

    Returns {"patch_sizes", "steps": [{"t", "sigma" (median level), "best" (median k),
    "best_per_sample", "cosine" {k: mean cosine}}]}; `cache` (a mapping) keeps each finished
    step under "t=T"."""
    ks = sorted({int(k) for k in patch_sizes})
    if not ks:
        raise ConfigError("patch_sizes is empty; give odd sizes such as 1 3 5 ... 15")
    cache = {} if cache is None else cache
    steps = []
    for t, rec in trajectory.items():
        key = f"t={t}"
        if key not in cache:
            cos = _machine_cosines(oracle, rec, ks, pixels, seed + t)  # (len(ks), m)
            best = [ks[i] for i in cos.argmax(0).tolist()]
            cache[key] = {"t": t, "sigma": float(np.sort(rec["sigma"].numpy())[
                (len(rec["sigma"]) - 1) // 2]), "best": sorted(best)[(len(best) - 1) // 2],
                "best_per_sample": best,
                "cosine": {str(k): float(c.mean()) for k, c in zip(ks, cos, strict=True)}}
        steps.append(cache[key])
    return {"patch_sizes": ks, "steps": steps}
