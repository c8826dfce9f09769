"""`gahr compare`: how closely analytic models of the same training set explain a trained net.

For a net (any `load_denoiser` spec) the training set is read from the run's saved `[data]`
(`RunDir`; the split is redone by `gahr.train.select`, the one split code) and the models are
built on it: the global memorizer (`EmpiricalOracle`), the fitted Gaussian (`GaussianFitOracle`),
the LS and ELS machines (`LocalEmpiricalOracle`, fixed patch size or calibrated per sigma).
Two measurements (`gahr.analysis.agreement`):

1. outputs: on `n_images` noisy held-out test images per sigma, MSE(net, model) and each one's
   MSE to the clean image; the models at the true sigma, the net blind. With `pixels` = P the
   MSEs are taken over P random pixels per image (paired across models and sigmas), since the
   ELS machine costs O(N (HW)^2) per image (about 2-4 ns per patch comparison on one CPU core
   at k <= 5, growing with k^2: at N = 1000, 32 x 32, a whole image is 3-40 s for k = 3-15);
2. samples: the deterministic sampler (`Schedule.deterministic()`, beta = 1) from the same
   seeds and the same start for the net and each model; the models get the schedule's noise
   level of each iterate (`synthesize(..., give_sigma=True)`), the calibrated ELS its patch
   size at that level (`PatchSizeSchedule`); Pearson r of each pair (= mean-removed cosine).

Every finished (model, sigma, k) and every model's samples are kept in `partial.json` /
`samples_*.npz` under `out`, so a stopped run resumes. `results.json`, the figures and the report
are written at the end (`compare_report`).
"""

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..analysis.agreement import calibrate_patch_size, denoiser_agreement, sample_correlation
from ..analysis.bootstrap import bootstrap_interval
from ..config import SPLITS, DataConfig
from ..configfiles import from_dict, to_dict
from ..devices import device_of, torch_threads
from ..errors import ConfigError, DataError
from ..io import atomic_path, check_out_dir
from ..metrics import check_sigma, sigma_label
from ..nets import load_denoiser
from ..nets.registry import resolve_model_path
from ..oracles import (
    BOUNDARIES,
    EmpiricalOracle,
    GaussianFitOracle,
    LocalEmpiricalOracle,
)
from ..rundir import RunDir
from ..sample import PRESETS, Schedule, preset, synthesize
from ..train import open_images, select
from .compare_calibration import level_cover, sampler_levels
from .compare_trajectory import schedule_of, schedule_tag, trajectory_calibrations
from .json_cache import JsonCache, Prefixed

ORACLES = ("memorizer", "gaussian", "els", "ls")
CALIBRATIONS = ("mse", "trajectory")
MSE_PATCH_SIZES = (3, 5, 7, 9, 11, 15)
OTHER = "other_split"  # the net trained on the other half (S2 for an S1 run), sampled beside
LOCAL = ("els", "ls")


@dataclass(frozen=True)
class CompareSettings:
    """What `compare_run` measures; the defaults are sized for a CPU (see the module doc)."""

    oracles: tuple[str, ...] = ("memorizer", "els")
    patch_size: int | None = None  # fixed k of the local machines; or calibrate
    calibrate: bool = False
    # mse: per sigma, the k of least MSE to the net on noisy test images; trajectory: per
    # sampler step, the k of largest score cosine on the net's own trajectory (K&G)
    calibration: str = "mse"
    # the calibration grid; None: 3 5 7 9 11 15 (mse), every odd k up to the image (trajectory)
    patch_sizes: tuple[int, ...] | None = None
    calibration_samples: int = 8  # trajectories of the trajectory calibration
    calibration_pixels: int | None = None  # its cosines over this many pixels (None: all)
    sigmas: tuple[float, ...] = tuple(s / 255 for s in (5, 10, 25, 50, 100, 200))
    n_images: int = 16  # held-out test images
    pixels: int | None = 64  # pixels per image for the MSEs (None: every pixel)
    boundary: str = "auto"  # of the local machines; auto: from the net's padding
    samples: int = 8  # same-seed samples per model (0: none)
    sample_oracles: tuple[str, ...] | None = None  # which models sample (None: all)
    # the local machines sample full images (O(N (HW)^2) per call, ~30 calls): not above this N
    local_sample_max_train: int = 10000
    other_split: bool = False  # also sample the other split's net (sibling run N{n}_S2)
    sampler: str = "deterministic"
    sigma_L: float | None = 0.025  # as the fashion32 experiment: short-trained nets diverge lower
    seed: int = 0
    batch_size: int = 16

    def __post_init__(self):
        for name in (*self.oracles, *(self.sample_oracles or ())):
            if name not in ORACLES:
                raise ConfigError(f"unknown oracle {name!r}; choose from {', '.join(ORACLES)}")
        if not self.oracles:
            raise ConfigError("no oracle to compare with; name one of " + ", ".join(ORACLES))
        if any(o in LOCAL for o in self.oracles) and \
                (self.patch_size is None) == (not self.calibrate):
            raise ConfigError("the ELS/LS machines need either --patch-size K or --calibrate "
                              "(one of the two)")
        if self.n_images < 1 or self.samples < 0 or self.batch_size < 1:
            raise ConfigError("n_images and batch_size must be >= 1, samples >= 0")
        if self.patch_size is not None and self.patch_size < 1 or \
                min(self.patch_sizes or (1,)) < 1:
            raise ConfigError("patch sizes must be >= 1 pixel (odd, e.g. 3 or 5)")
        if self.calibration not in CALIBRATIONS or self.calibration_samples < 1:
            raise ConfigError(f"calibration={self.calibration!r} (choose "
                              f"{' or '.join(CALIBRATIONS)}) with calibration_samples >= 1")
        for sigma in self.sigmas:
            check_sigma(sigma, "noise level")
        if self.boundary not in ("auto", *BOUNDARIES):
            raise ConfigError(f"boundary={self.boundary!r}; choose auto or one of "
                              f"{', '.join(BOUNDARIES)}")
        self.schedule()  # an unknown sampler fails here

    def schedule(self):
        """The sampler: the preset made deterministic (beta = 1), with sigma_L where the preset
        has one (Algorithm 1; a DDIM grid has fixed levels)."""
        changes = {"sigma_L": self.sigma_L} if isinstance(PRESETS.get(self.sampler), Schedule) \
            else {}
        return preset(self.sampler, **changes).deterministic()

    def grid(self) -> tuple[int, ...]:
        """The MSE calibration's patch sizes."""
        return self.patch_sizes or MSE_PATCH_SIZES

    def start_mean(self, net, train) -> float:
        """Where the samples start: the sampler's own (pure noise at 0.5 for DDIM from noise),
        else the training set's mean intensity (as saved with the net)."""
        own = getattr(self.schedule(), "start_mean", None)
        if own is not None:
            return float(own)
        return float(getattr(net, "meta", {}).get("mean_intensity", train.mean()))

    def seeds(self) -> list[int]:
        return [self.seed * 1_000_000 + i for i in range(self.samples)]


def boundary_of(net) -> tuple[str, str]:
    """(boundary, why): the local machines' boundary that models `net`: "circular" when every
    padded convolution pads circularly, else "broken" (Kamb & Ganguli's model of zero-padded
    nets, which can tell where they are in the image); "broken" too when no convolution is
    found (gahr's nets and most others pad with zeros)."""
    modes = {m.padding_mode for m in (net.modules() if isinstance(net, torch.nn.Module) else ())
             if isinstance(m, torch.nn.modules.conv._ConvNd) and m.padding != (0,) * len(
                 m.kernel_size) and m.padding != "valid"}
    if modes == {"circular"}:
        return "circular", "the net pads circularly"
    if modes:
        return "broken", f"the net pads with {', '.join(sorted(modes))}"
    return "broken", "no padded convolution found in the net"


def data_config(spec) -> DataConfig:
    """The `[data]` a saved model was trained on, from the run's config.json (a run dir,
    `pretrained:NAME`, or a weights file with config.json beside it)."""
    path = resolve_model_path(spec)
    run = RunDir(path if path.is_dir() else path.parent)
    raw = run.saved_config().get("data")
    if not raw:
        raise DataError(f"{spec} records no [data] (no config.json beside its weights), so its "
                        "training set is unknown; compare a run dir or pretrained:NAME")
    return from_dict(DataConfig, raw, "data.")


def training_data(spec):
    """(TrainingData, DataConfig): the run's training set and held-out images, split again by
    `gahr.train.select` exactly as the run was trained."""
    data = data_config(spec)
    return select(open_images(data), data), data


def build_models(names, train: torch.Tensor, settings: CompareSettings, device) -> dict:
    """{name: oracle on `train`}; the local machines at the fixed patch size, or at the
    grid's first size (calibration changes it)."""
    k = settings.patch_size or settings.grid()[0]
    make = {"memorizer": lambda: EmpiricalOracle(train),
            "gaussian": lambda: GaussianFitOracle(train),
            "els": lambda: LocalEmpiricalOracle(train, k, True, boundary=settings.boundary),
            "ls": lambda: LocalEmpiricalOracle(train, k, False, boundary=settings.boundary)}
    return {name: make[name]().to(device).eval() for name in names if name not in
            skipped_models(names, len(train))}


def skipped_models(names, n_train: int) -> dict:
    """{name: why} for the models that a training set of `n_train` images cannot give."""
    return {"gaussian": "a covariance needs N >= 2"} if "gaussian" in names and n_train < 2 \
        else {}


def _cache_settings(spec, data: DataConfig, settings: CompareSettings) -> dict:
    """What the cached numbers depend on (the models' names, sigmas and k are in the keys)."""
    keep = ("n_images", "pixels", "boundary", "seed", "batch_size", "patch_size")
    return {"spec": str(spec), "data": to_dict(data),
            **{k: getattr(settings, k) for k in keep}}


def calibration_sigmas(name, settings: CompareSettings) -> list[float]:
    """Where a calibrated local machine is calibrated: the output sigmas and, when it
    samples, a cover of the sampler's noise levels (a calibrated k near each of them)."""
    sigmas = list(settings.sigmas)
    if settings.samples and name in (settings.sample_oracles or settings.oracles):
        labels = {sigma_label(s) for s in sigmas}
        sigmas += [s for s in level_cover(sampler_levels(settings.schedule()))
                   if sigma_label(s) not in labels]
    return sigmas


def measure_outputs(net, models: dict, test, settings: CompareSettings, cache,
                    trajectory: dict | None = None) -> dict:
    """Per model: per-sigma per-image MSEs; for a calibrated local machine also the
    calibration (MSE: at the output sigmas and the sampler's levels; or `trajectory`, done
    before), and its outputs at the calibrated k of each output sigma."""
    trajectory = dict(trajectory or {})
    out, calibration = {}, {}
    args = dict(seed=settings.seed, pixels=settings.pixels, batch_size=settings.batch_size)
    for name, model in models.items():
        if name in trajectory:  # calibrated on the net's trajectory: measured at k(sigma)
            calibration[name] = trajectory[name]
            tagged = f"{name}~{schedule_tag(trajectory[name])}"
            found = denoiser_agreement(net, {tagged: schedule_of(model, trajectory[name])},
                                       test, settings.sigmas, cache=cache, **args)
            out[name] = found[tagged]
            machine = schedule_of(model, trajectory[name])
            trajectory[name]["best"] = {sigma_label(s): machine.patch_size_at(s)
                                        for s in settings.sigmas}
        elif name in LOCAL and settings.calibrate:
            cal = calibrate_patch_size(net, model, test, calibration_sigmas(name, settings),
                                       settings.grid(),
                                       cache=Prefixed(cache, name + ":"), **args)
            calibration[name] = cal = json.loads(json.dumps(cal))  # k keys as in results.json
            out[name] = {sigma_label(s): cache[f"{name}:k={cal['best'][sigma_label(s)]}@"
                                               f"{sigma_label(s)}"] for s in settings.sigmas}
        else:
            found = denoiser_agreement(net, {name: model}, test, settings.sigmas, cache=cache,
                                       **args)
            out[name] = found[name]
    return {"per_sigma": out, "calibration": calibration}


def sampler_model(name, model, calibration: dict):
    """The denoiser that samples for `name`: the local machine at its calibrated k(sigma)."""
    return schedule_of(model, calibration[name]) if name in calibration else model


def run_samples(net, models: dict, shape, start_mean: float, settings: CompareSettings,
                out: Path, log=print, keys: dict | None = None) -> dict:
    """Same-seed deterministic samples of the net and each model, cached as samples_NAME.npz
    under a tag of everything they depend on: seeds, schedule, start and `keys[name]` (what
    the model is: spec, training data, machine and its patch sizes);
    {name: SampleRecord dict with `samples` (M, C, H, W) and `ok` (M,) bool}."""
    seeds, found, keys, schedule = settings.seeds(), {}, keys or {}, settings.schedule()
    if callable(getattr(schedule, "resolved", None)):  # a flow grid fixed by the net: one y_0
        schedule = schedule.resolved(net)
    for name, den in {"net": net, **models}.items():
        tag = json.dumps({"seeds": seeds, "schedule": to_dict(schedule),
                          "start_mean": start_mean, "model": keys.get(name)}, sort_keys=True)
        path = out / f"samples_{name}.npz"
        if path.exists():
            saved = np.load(path)
            if str(saved["tag"]) == tag:
                found[name] = {"samples": torch.from_numpy(saved["samples"]),
                               "ok": torch.from_numpy(saved["ok"]), "calls": saved["calls"]}
                continue
        t0 = time.perf_counter()
        r = synthesize(den, shape, len(seeds), schedule, seeds=seeds,
                       start_mean=start_mean, batch_size=settings.batch_size,
                       give_sigma=None if name in ("net", OTHER) else True)
        found[name] = {"samples": r.samples.detach().cpu(), "ok": r.ok.cpu(),
                       "calls": r.steps.numpy()}
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, tag=np.array(tag), samples=found[name]["samples"].numpy(),
                                ok=found[name]["ok"].numpy(), calls=found[name]["calls"])
        log(f"  samples of {name}: {int(r.ok.sum())}/{len(seeds)} converged, "
            f"{time.perf_counter() - t0:.1f} s")
        if getattr(den, "uncovered", 0):
            log(f"  {name}: {den.uncovered} calls at noise levels its calibration does not "
                "cover")
    return found


def model_key(name, den, spec, data: DataConfig) -> dict:
    """What a sampling model's samples depend on besides the sampler: the net's spec, or the
    training data and what the model is (a local machine's kind, boundary, patch sizes)."""
    if name == "net":
        return {"spec": str(spec), "data": to_dict(data)}
    describe = getattr(den, "describe", None)
    return {"data": to_dict(data), "model": name,
            **(describe() if describe else {"class": type(den).__name__})}


def compare_samples(found: dict) -> dict:
    """Pearson r of each model's samples with the net's (seeds where both converged), the
    median and its 95% percentile-bootstrap interval."""
    out = {}
    for name, rec in found.items():
        if name == "net":
            continue
        both = rec["ok"] & found["net"]["ok"]
        corr = sample_correlation(found["net"]["samples"][both], rec["samples"][both]) \
            if both.sum() > 0 else {"pearson_r": [], "different_seed_median_r": None}
        r = [v for v in corr["pearson_r"] if np.isfinite(v)]
        interval = bootstrap_interval(r)
        out[name] = {**corr, "median_pearson_r": float(np.median(r)) if r else None,
                     "median_pearson_r_interval": interval and [interval.low, interval.high],
                     "pairs": int(both.sum()), "calls": [int(c) for c in rec["calls"]]}
    return out


def sample_stage(spec, net, models: dict, calibration: dict, data, data_config: DataConfig,
                 settings: CompareSettings, out: Path, log) -> tuple[dict, dict]:
    """Same-seed deterministic samples of the net, the models that sample at this N and, with
    `other_split`, the net of the other split: (their r with the net, the samples)."""
    if not settings.samples:
        return {}, {}
    names = [n for n in settings.sample_oracles or settings.oracles if n in models]
    if len(data.train) > settings.local_sample_max_train:
        log(f"  no samples of {', '.join(n for n in names if n in LOCAL) or 'none'}: "
            f"N={len(data.train)} > local_sample_max_train")
        names = [n for n in names if n not in LOCAL]
    sampling = {n: sampler_model(n, models[n], calibration) for n in names}
    keys = {name: model_key(name, den, spec, data_config) for name, den in sampling.items()}
    if settings.other_split:
        sibling = other_split_path(spec, data_config)
        sampling[OTHER] = load_denoiser(sibling, device_of(net))
        keys[OTHER] = {"spec": str(sibling), "data": to_dict(data_config)}
    keys["net"] = model_key("net", net, spec, data_config)
    mean = settings.start_mean(net, data.train)
    found = run_samples(net, sampling, tuple(data.test.shape[1:]), mean, settings, out, log,
                        keys)
    compared = compare_samples(found)
    for name, den in sampling.items():
        if hasattr(den, "uncovered"):
            compared[name]["uncalibrated_calls"] = int(den.uncovered)
    return compared, found


def other_split_path(spec, data: DataConfig) -> Path:
    """The run of the same [data] on the other split (S1 <-> S2): the sibling run dir
    N{n}_{other} of the sweep."""
    if data.split not in SPLITS:
        raise ConfigError(f"{spec} was trained on split {data.split!r}; --other-split needs an "
                          "S1 or S2 run of a sweep")
    other = "S2" if data.split == "S1" else "S1"
    path = resolve_model_path(spec)
    sibling = (path if path.is_dir() else path.parent).parent / f"N{data.n_train}_{other}"
    if data_config(sibling) != dataclasses.replace(data, split=other):
        raise DataError(f"{sibling} was not trained on the {other} half of {spec}'s data; "
                        "compare runs of one sweep")
    return sibling


def compare_run(spec, settings: CompareSettings, out, device="cpu", threads: int = 1,
                log=print, net=None) -> dict:
    """The whole comparison of one net; writes `out`/results.json, figures/ and the report.
    `net`: a denoiser standing in for the saved one (an oracle, in tests)."""
    from .compare_report import write_run_outputs

    out = check_out_dir(out, ("results.json", "report.html", "*.json"), "comparison")
    out.mkdir(parents=True, exist_ok=True)
    data, data_config = training_data(spec)
    if len(data.test) < settings.n_images:
        raise DataError(f"{spec} has {len(data.test)} held-out test images, fewer than "
                        f"n_images={settings.n_images}; lower --images")
    with torch_threads(threads):
        net = load_denoiser(spec, device) if net is None else net
        if settings.boundary == "auto":
            boundary, why = boundary_of(net)
            settings = dataclasses.replace(settings, boundary=boundary)
            if any(name in LOCAL for name in settings.oracles):
                log(f"local machines with boundary {boundary!r}: {why} (--boundary to choose)")
        test = data.test[:settings.n_images].to(device)
        models = build_models(settings.oracles, data.train.to(device), settings, device)
        skipped = skipped_models(settings.oracles, len(data.train))
        log(f"compare {spec}: N={len(data.train)} ({data_config.split}), models "
            f"{', '.join(models)}, {len(test)} test images"
            + "".join(f"; no {name}: {why}" for name, why in skipped.items()))
        cache = JsonCache(out / "partial.json", _cache_settings(spec, data_config, settings), log)
        trajectory = {}
        if settings.calibrate and settings.calibration == "trajectory":
            trajectory = trajectory_calibrations(
                net, models, [n for n in models if n in LOCAL], settings,
                tuple(data.test.shape[1:]), settings.start_mean(net, data.train),
                {"spec": str(spec), "data": to_dict(data_config)}, out, log, device)
        outputs = measure_outputs(net, models, test, settings, cache, trajectory)
        samples, found = sample_stage(spec, net, models, outputs["calibration"], data,
                                      data_config, settings, out, log)
    results = {"spec": str(spec), "n": len(data.train), "split": data_config.split,
               "data": to_dict(data_config), "settings": to_dict(settings),
               "seconds": dict(cache.seconds), **outputs, "samples": samples,
               "skipped": skipped}
    return write_run_outputs(out, results, found, log=log)
