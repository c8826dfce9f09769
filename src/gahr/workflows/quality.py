"""Sample quality against real images the models never saw: FID and KID with intervals, and the
real-against-real value beside them (`gahr sample --quality`, the memorization report's column).

The held-out real images of a data source (`real_reference`):

- Fashion-MNIST: its test split (t10k), at the model's size (`data.size`: area-averaged from
  the padded 32x32 images as training did), less any image the measured models trained on (a
  run with data option split "all" draws its training set from train + test). The reference is
  from the first half (images 0..4999, the first `n_reference` kept); the real baseline from
  the second half (5000..9999), so "real against real" is two halves of the test set at the
  same set sizes as a model's samples (FID is biased by the set sizes: only equal sizes
  compare).
- C^alpha and discs: fresh images generated from seeds training never used (`TEST_SEED` for the
  reference, the next seed for the baseline).

Features: the extractor registered for the source (`gahr.analysis.features.features_for`:
Fashion-MNIST's classifier), pixels otherwise. To measure another data set, register an
extractor (`register_features(name, factory, data_source)`) and pass `Reference` images.

For the dynamics report (or any caller with samples in hand):
`quality_against_real(samples, data)` -> `SampleQuality` (see `gahr.analysis.sample_quality`).
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..analysis import sample_quality
from ..analysis.features import feature_extractor, features_for
from ..analysis.sample_quality import FeatureSet, SampleQuality, feature_set, fid_kid
from ..config import DataConfig
from ..configfiles import from_dict
from ..data import open_dataset
from ..errors import ConfigError, DataError
from ..io import save_json
from ..nets import load_denoiser
from ..train import select
from .test_images import TEST_SEED, model_image_size, training_data

#: Real images the samples are compared with: enough for KID's and FID's set-size effects to be
#: small next to the differences between models, few enough for the kernel matrices (2000^2).
N_REFERENCE = 2000
#: Bootstrap resamples (read at call time, so a caller or a test may lower it).
N_RESAMPLES = sample_quality.N_RESAMPLES
TRAIN_IMAGES = 60000  # Fashion-MNIST's train split, before its test split in split "all"


@dataclass(frozen=True, eq=False)
class Reference:
    """Held-out real images of one data source and size: `images` (the reference), `baseline`
    (other real images, for the real-against-real value), the feature extractor's name."""

    images: torch.Tensor
    baseline: torch.Tensor
    features: str
    description: str


def _data_dict(data) -> dict:
    if isinstance(data, dict):
        return data
    if isinstance(data, str):
        return {"source": data}
    return asdict(data)  # a DataConfig: its n_train and split say which images were trained on


def training_indices(data) -> torch.Tensor:
    """Indices into the data source of the images a run with this `[data]` section trained on
    (the same permutation and split as `gahr.train.select`)."""
    d = _data_dict(data)
    config = from_dict(DataConfig, {k: v for k, v in d.items() if k != "num_images"}, "data")
    num = len(open_dataset(config.source, **dict(config.options or {})))
    return select(torch.zeros(num, 1, 1, 1), config).train_index


def real_reference(data, size: int | None = None, n_reference: int | None = None,
                   features: str | None = None, exclude=()) -> Reference:
    """The held-out real images of `data` (a `[data]` section as dict or DataConfig, or a
    source name) at `size` (default: the section's size). `exclude`: `[data]` sections of runs
    whose training images must be left out (for Fashion-MNIST read with split "all" or "test",
    the training sets of the measured models)."""
    d = _data_dict(data)
    source, opts = d.get("source"), dict(d.get("options") or {})
    size = size or d.get("size")
    features = features or features_for(source)
    n_reference = n_reference or N_REFERENCE
    if source == "fashion-mnist":
        return _fashion_reference(size, bool(opts.get("pad", True)), n_reference, features,
                                  [_data_dict(e) for e in exclude])
    if source in ("calpha", "discs"):
        opts.pop("split", None)
        key = (source, n_reference, size, tuple(sorted(opts.items())))
        return Reference(_fresh(*key, TEST_SEED), _fresh(*key, TEST_SEED + 1), features,
                         f"{n_reference} fresh {source} images (seed {TEST_SEED}); real "
                         f"baseline seed {TEST_SEED + 1}")
    raise ConfigError(f"no held-out real images known for data source {source!r}; measure its "
                      "samples with gahr.analysis.sample_quality.fid_kid on your own features")


@lru_cache(maxsize=4)
def _fresh(source, n, size, opts, seed) -> torch.Tensor:
    return open_dataset(source, n=n, size=size, seed=seed, **dict(opts))


@lru_cache(maxsize=2)
def _fashion_test(size, pad: bool) -> torch.Tensor:
    return open_dataset("fashion-mnist", size=size, split="test", pad=pad)


def _fashion_reference(size, pad, n_reference, features, exclude) -> Reference:
    pool = _fashion_test(size, pad)
    keep = torch.ones(len(pool), dtype=torch.bool)
    for d in exclude:  # test image i is image 60000 + i of split "all"
        split = (d.get("options") or {}).get("split", "train")
        offset = {"all": TRAIN_IMAGES, "test": 0}.get(split)
        if offset is not None:
            idx = training_indices(d) - offset
            keep[idx[(idx >= 0) & (idx < len(pool))]] = False
    ids = torch.arange(len(pool))[keep]
    half = len(pool) // 2
    first, second = ids[ids < half], ids[ids >= half]
    left = len(pool) - len(ids)
    return Reference(pool[first[:n_reference]], pool[second], features,
                     f"Fashion-MNIST test images 0-{half - 1} (first {min(n_reference, len(first))}"
                     f"), real baseline from {half}-{len(pool) - 1}"
                     + (f", {left} training images left out" if left else ""))


def _good(samples: torch.Tensor) -> torch.Tensor:
    samples = samples.detach().cpu()
    return samples[torch.isfinite(samples.flatten(1)).all(1)]  # failed samples are NaN


@lru_cache(maxsize=4)
def _reference_set(reference: Reference, n_resamples: int, seed: int, device) -> FeatureSet:
    """The reference's features and resamples, computed once for every set compared with it."""
    f = feature_extractor(reference.features, device)
    return feature_set(f(reference.images), n_resamples, seed + 1)


def quality_of(samples: torch.Tensor, reference: Reference, n_resamples: int | None = None,
               seed: int = 0, device="cpu") -> SampleQuality:
    """FID and KID (bootstrap intervals) of the finite `samples` against `reference.images`."""
    good = _good(samples)
    if len(good) < 2:
        raise DataError(f"sample quality needs at least 2 converged samples, got {len(good)}")
    if good.shape[1:] != reference.images.shape[1:]:
        raise DataError(f"samples of shape {tuple(good.shape[1:])} cannot be compared with "
                        f"reference images of shape {tuple(reference.images.shape[1:])}")
    n_resamples = n_resamples or N_RESAMPLES
    f = feature_extractor(reference.features, device)
    ref = _reference_set(reference, n_resamples, seed, str(device))
    return fid_kid(f(good), ref, reference.features, n_resamples, seed=seed)


def real_baseline(reference: Reference, n: int, n_resamples: int | None = None,
                  seed: int = 0, device="cpu") -> SampleQuality:
    """The same measurement for `n` real images of the baseline half: real against real."""
    if n > len(reference.baseline):
        raise DataError(f"the real baseline has {len(reference.baseline)} images, asked {n}")
    return quality_of(reference.baseline[:n], reference, n_resamples, seed, device)


def quality_against_real(samples: torch.Tensor, data, n_resamples: int | None = None,
                         seed: int = 0, device="cpu", exclude=(),
                         n_reference: int | None = None) -> SampleQuality:
    """FID/KID of `samples` against the held-out real images of `data` (a `[data]` section,
    dict or DataConfig, or a source name) at the samples' size, leaving out the training
    images of the runs whose `[data]` sections are in `exclude`: the function for reports."""
    ref = real_reference(data, size=int(samples.shape[-1]), exclude=exclude,
                         n_reference=n_reference)
    return quality_of(samples, ref, n_resamples, seed, device)


def model_quality(spec, denoiser, samples: torch.Tensor, n_resamples: int | None = None,
                  device="cpu") -> dict:
    """{"samples": SampleQuality, "real": SampleQuality at the same n, "reference": text} for
    samples of the model `spec` (its run's `[data]` section says which real images)."""
    data = training_data(spec)
    if not data.get("source"):
        raise ConfigError(f"{spec} records no training data; its samples cannot be compared "
                          "with real images here")
    ref = real_reference(data, size=model_image_size(spec, denoiser) or int(samples.shape[-1]),
                         exclude=[data])
    ours = quality_of(samples, ref, n_resamples, device=device)
    real = real_baseline(ref, ours.n_samples, n_resamples, device=device)
    return {"samples": ours, "real": real, "reference": ref.description}


def quality_to_file(spec, result, out) -> str:
    """`gahr sample --quality`: measure the converged samples of `result` (a SampleResult of
    the model `spec`), write OUT.quality.json beside the samples' `out`, return a summary."""
    found = model_quality(spec, load_denoiser(spec), result.samples)
    path = Path(out).with_suffix(".quality.json")
    save_json({k: v if isinstance(v, str) else v.as_dict() for k, v in found.items()}, path)
    return (f"samples: {found['samples'].summary()}\nreal test images: "
            f"{found['real'].summary()} -> {path}")


#: The memorization report's column: few samples per N (16 a model), so a smaller reference and
#: fewer resamples keep it to seconds per N.
SWEEP_REFERENCE, SWEEP_RESAMPLES = 500, 200


def sweep_quality(data, pairs: dict) -> Callable:
    """`measure(n, samples)` for the memorization report: FID/KID of an N's pooled S1 and S2
    samples against real images neither model trained on (None where no held-out real images
    are known for the data, e.g. an .npy file)."""
    def measure(n, samples: torch.Tensor) -> SampleQuality | None:
        jobs = (pairs.get(n) or {}).values()  # external models may record no [data]
        exclude = [job.config.data for job in jobs if getattr(job, "config", None) is not None]
        found = _sweep_measure(samples, data, exclude)
        return None if found is None else found[0]
    return measure


def quality_with_baseline(samples: torch.Tensor, data, exclude=()) -> dict | None:
    """FID/KID of the finite `samples` against `data`'s held-out real images (sweep-sized
    reference and resamples) with real against real at the same count beside (`real`), as a
    plain dict; None where no held-out real images are known or fewer than 2 samples finished."""
    found = _sweep_measure(samples, data, exclude, baseline=True)
    if found is None:
        return None
    quality, real = found
    return quality.as_dict() | {"real": real.as_dict()}


def _sweep_measure(samples: torch.Tensor, data, exclude, baseline: bool = False):
    """(FID/KID of `samples`, real against real at their count or None) on the sweep-sized
    reference (`SWEEP_REFERENCE` images, `SWEEP_RESAMPLES` resamples); None where the data has
    no held-out real images or too few samples finished."""
    try:
        ref = real_reference(data, size=int(samples.shape[-1]), exclude=exclude,
                             n_reference=SWEEP_REFERENCE)
        found = quality_of(samples, ref, SWEEP_RESAMPLES)
        real = real_baseline(ref, found.n_samples, SWEEP_RESAMPLES) if baseline else None
    except (ConfigError, DataError):
        return None
    return found, real


def quality_columns(quality: dict) -> dict:
    """A table row's columns of one `SampleQuality.as_dict()`: fid / kid with `_low`, `_high`
    (95% bootstrap intervals), `quality_n` (the samples measured) and, where the dict holds
    real against real (`quality_with_baseline`), `fid_real`."""
    cols = {}
    for name in ("fid", "kid"):
        q = quality[name]
        cols[name], cols[f"{name}_low"], cols[f"{name}_high"] = q["value"], q["low"], q["high"]
    cols["quality_n"] = quality["n_samples"]
    if "real" in quality:
        cols["fid_real"] = quality["real"]["fid"]["value"]
    return cols


def add_quality_columns(table: list[dict], out: Path, records: list[dict], measure) -> None:
    """Add fid / kid (with _low, _high: 95% bootstrap intervals) and quality_n to each row of
    the memorization table, from the samples saved in OUT/N{n}.npz."""
    for row, record in zip(table, records, strict=True):
        path = Path(out) / f"N{record['n']}.npz"
        if not path.exists():
            continue
        with np.load(path) as z:
            samples = torch.from_numpy(np.concatenate([z[k] for k in z.files
                                                       if k.startswith("samples_")]))
        found = measure(record["n"], samples)
        if found is not None:
            row.update(quality_columns(found.as_dict()))
