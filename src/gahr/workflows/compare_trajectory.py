"""`gahr compare --calibration trajectory`: each local machine's k per sampler step, chosen on
the net's own sampling trajectory (`gahr.analysis.trajectory`, Kamb & Ganguli's criterion),
cached per step in `calibration_<name>.json` under a key of everything the result depends on.

The calibration trajectories start from their own seeds (not the evaluation seeds), so the
same-seed comparison is not fitted on the samples it scores. The machine then samples (and is
measured on noisy test images) at k(sigma) = the calibrated k of the nearest step level
(`PatchSizeSchedule`): a calibrated k at every level the sampler visits.
"""

import hashlib
import json

from ..analysis.trajectory import calibrate_on_trajectory, record_trajectory
from ..configfiles import to_dict
from ..oracles import PatchSizeSchedule
from .json_cache import JsonCache


def calibration_seeds(settings) -> list[int]:
    """Seeds of the calibration trajectories, disjoint from `settings.seeds()`."""
    return [settings.seed * 1_000_000 + 500_000 + i
            for i in range(settings.calibration_samples)]


def odd_patch_sizes(shape) -> list[int]:
    """Every odd k up to the image size: 1, 3, ..., max(H, W) (or max - 1)."""
    return list(range(1, max(shape[-2:]) + 1, 2))


def trajectory_calibrations(net, models: dict, names, settings, shape, start_mean, key: dict,
                            out, log=print, device=None) -> dict:
    """{name: calibration} for each local machine in `names` (see module doc); `key` (the
    net's spec and data) goes into each cache key beside the machine, sampler, seeds, grid."""
    patch_sizes = list(settings.patch_sizes or odd_patch_sizes(shape))
    seeds, schedule, found = calibration_seeds(settings), settings.schedule(), {}
    if not names:
        return found
    # the net's trajectories are cheap to redo; the machines' steps are cached
    trajectory = record_trajectory(net, shape, seeds, schedule, start_mean=start_mean,
                                   batch_size=settings.batch_size, device=device)
    for name in names:
        cache_key = {**key, "machine": models[name].describe(), "schedule": to_dict(schedule),
                     "seeds": seeds, "patch_sizes": patch_sizes, "start_mean": start_mean,
                     "pixels": settings.calibration_pixels}
        cache = JsonCache(out / f"calibration_{name}.json", cache_key, log)
        found[name] = {**calibrate_on_trajectory(models[name], trajectory, patch_sizes, cache,
                                                 settings.calibration_pixels, settings.seed),
                       "method": "trajectory", "seeds": seeds,
                       "pixels": settings.calibration_pixels}
    return found


def schedule_of(model, calibration: dict) -> PatchSizeSchedule:
    """The machine at its calibrated k(sigma) (either calibration)."""
    if "steps" in calibration:
        levels = {step["sigma"]: step["best"] for step in calibration["steps"]}
    else:
        levels = {float(label) / 255: k for label, k in calibration["best"].items()}
    return PatchSizeSchedule(model, levels)


def schedule_tag(calibration: dict) -> str:
    """A short name for a calibrated k(sigma), for the output cache's keys."""
    levels = [[s["sigma"], s["best"]] for s in calibration["steps"]]
    return hashlib.sha1(json.dumps(levels).encode()).hexdigest()[:10]
