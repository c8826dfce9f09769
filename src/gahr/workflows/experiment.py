"""The memorization experiment: a sweep of S1/S2 models, then same-seed samples of each pair.

`run_experiment` trains the sweep's unfinished runs (`gahr.train.run_sweep`) and analyses it
(`analyze_sweep`): for each N (runs `<out>/N{n}_S1/`, `<out>/N{n}_S2/`), both models sample from
the same seeds; then every metric of `gahr.analysis.memorization` is computed and written to
`<analysis dir>/N{n}.json` (the numbers) and `N{n}.npz` (samples and their nearest training
images). A finished N is skipped on rerun; `results.json`, the figures and the report are
rebuilt from the per-N files at the end (`experiment_report.write_outputs`).
"""

import json
import math
from pathlib import Path

import numpy as np
import torch

from ..analysis import memorization as mem
from ..config import SPLITS, ExperimentConfig, MemorizationSection, to_dict
from ..data.dedup import cross_duplicates
from ..devices import device_of, resolve_device, torch_threads
from ..errors import ConfigError, DataError, ShapeError
from ..io import atomic_path, save_json
from ..locking import claim
from ..metrics import sigma_label
from ..nets import load_denoiser
from ..rundir import FIGURES, RunDir
from ..sample import synthesize
from ..train import open_images, run_sweep, select, sweep_jobs
from ..train.sweep import check_reuse
from .captions import REPEAT_CORRELATION
from .experiment_report import write_outputs
from .external_models import check_external, external_pairs, model_digest
from .quality import sweep_quality


def run_experiment(config: ExperimentConfig, out=None, train: bool = True,
                   images: torch.Tensor | None = None, progress: bool = True, log=print,
                   model_of=None, retrain: bool = False) -> dict:
    """The whole experiment, the one way through it: train every unfinished run of the sweep
    (skipped with `train=False`: a missing run then fails), then `analyze_sweep`. `out`: the
    sweep root (default `sweep.out`). A run trained with other settings than the config's is
    refused (ConfigError), or with `retrain` trained again. Returns the analysis results."""
    if train and config.memorization.models:
        log(f"memorization: models from {config.memorization.models}, none trained here")
    elif train:
        ran = run_sweep(config, out=out, images=images, progress=progress, log=log,
                        retrain=retrain)
        log(f"memorization: {len(ran)} training job(s) run")
    return analyze_sweep(config, out=out, images=images, log=log, model_of=model_of)


def analysis_dir(config: ExperimentConfig, out=None) -> Path:
    root = Path(out if out is not None else config.sweep.out)
    return Path(config.memorization.out) if config.memorization.out else root / "memorization"


def pair_jobs(config: ExperimentConfig, out=None) -> dict:
    """{N: {"S1": Job, "S2": Job}} of the sweep; ConfigError unless both splits are swept."""
    missing = [s for s in SPLITS if s not in config.sweep.splits]
    if missing:
        raise ConfigError(f"sweep.splits={list(config.sweep.splits)} lacks {missing[0]}; the "
                          "memorization experiment compares S1 and S2 models: set "
                          "sweep.splits = [\"S1\", \"S2\"]")
    pairs: dict = {}
    for job in sweep_jobs(config, out):
        if job.config.data.split in SPLITS:
            pairs.setdefault(job.config.data.n_train, {})[job.config.data.split] = job
    return pairs


def check_runs(pairs: dict, data=None) -> None:
    """One-line errors, before any long work, for untrained runs, runs trained with other
    settings than their job's (`check_reuse`) and runs of other image sizes (than each other,
    or than the sweep's `[data]` when given)."""
    sizes = {}
    if data is not None and data.size is not None:  # None: the source's size, known to runs
        sizes["the sweep's [data]"] = (_square(data.size), data.source, None, None)
    for n, jobs in pairs.items():
        for split, job in jobs.items():
            run = RunDir(job.run_dir)
            if not run.has_model():
                raise DataError(f"run {job.name} ({job.run_dir}) holds no trained model; run "
                                "`gahr sweep` on this config first")
            run.verify_weights()  # the weights its completion record names, if it has one
            sizes[job.name] = (run.image_size(), run.data_source(), n, split)
    distinct = {(size, source) for size, source, _, _ in sizes.values()}
    if len(distinct) > 1:
        (a, sa), (b, sb) = sorted(distinct, key=str)[:2]
        first = next(k for k, v in sizes.items() if (v[0], v[1]) == (a, sa))
        second = next(k for k, v in sizes.items() if (v[0], v[1]) == (b, sb))
        raise ShapeError(f"the sweep's runs disagree in images: {first} was trained on {sa} at "
                         f"size {a}, {second} on {sb} at size {b}; retrain them with one [data] "
                         "section or analyse them as separate sweeps")
    check_reuse([job for jobs in pairs.values() for job in jobs.values()])


def _square(size):
    return None if size is None else (int(size), int(size))


def sample_pair(denoisers: dict, shape, section: MemorizationSection) -> dict:
    """Same-seed samples of each model: {split: SampleResult}."""
    schedule = section.schedule()
    seeds = [section.seed * 1_000_000 + i for i in range(section.num_samples)]
    return {split: synthesize(den, shape, len(seeds), schedule, seeds=seeds,
                              batch_size=section.batch_size,
                              start_mean=getattr(den, "meta", {}).get("mean_intensity"))
            for split, den in denoisers.items()}


def _plain(value):
    """JSON-safe scalar: NaN and inf become null."""
    value = float(value)
    return value if math.isfinite(value) else None


def _per_sample(values: torch.Tensor, ok: torch.Tensor, cast=_plain) -> list:
    """One entry per seed (null for failed samples) from values of the converged ones."""
    out = [None] * len(ok)
    for row, value in zip(ok.nonzero().flatten().tolist(), values.tolist(), strict=True):
        out[row] = cast(value)
    return out


def split_metrics(samples, ok, own, other, denoiser, test, section: MemorizationSection
                  ) -> tuple[dict, torch.Tensor]:
    """Every metric of one model; also the nearest own training image of each sample."""
    device = device_of(denoiser)
    good, nearest = samples[ok].to(device), torch.zeros_like(samples)
    record: dict = {"converged": int(ok.sum())}
    if len(good):
        own_nn = _on_cpu(mem.nearest_neighbors(good, own, k=1, device=device))
        other_nn = _on_cpu(mem.nearest_neighbors(good, other, k=1, device=device))
        record["nearest_own"] = {"index": _per_sample(own_nn.indices[:, 0], ok, int),
                                 "similarity": _per_sample(own_nn.values[:, 0], ok)}
        record["nearest_other"] = {"index": _per_sample(other_nn.indices[:, 0], ok, int),
                                   "similarity": _per_sample(other_nn.values[:, 0], ok)}
        record["fraction_above"] = {f"{t:g}": _plain(mem.fraction_above(own_nn.values, t))
                                    for t in section.thresholds}
        if len(own) >= 2:  # the ratio test needs a second-nearest image
            l2 = _on_cpu(mem.nearest_neighbors(good, own, k=2, metric="l2", device=device))
            record["ratio_test_fraction"] = mem.ratio_test_fraction(l2.values, section.ratio)
        if 0 < section.patch_size <= min(samples.shape[-2:]):
            patches = _on_cpu(mem.patch_nearest_neighbors(
                good, own, section.patch_size, min_contrast=section.min_contrast, device=device))
            record["patch_similarity_median"] = _per_sample(patches.values.nanmedian(dim=1)
                                                            .values, ok)
        rows = own_nn.indices[:, 0]
        nearest[ok] = own[rows.clamp_min(0)] * (rows >= 0).view(-1, 1, 1, 1)
    evaluation, own_evaluation = test[:section.n_eval].to(device), own[:section.n_eval].to(device)
    record.update(gap_and_distance(denoiser, own, own_evaluation, evaluation, section))
    # In distribution: noisy versions of the model's own training images.
    on_train = mem.distance_to_memorization(denoiser, own, section.sigmas, own_evaluation,
                                            seed=section.seed, batch_size=section.batch_size)
    record["distance_to_memorization_train"] = {sigma_label(s): _plain(v)
                                                for s, v in on_train.items()}
    return record, nearest


def gap_and_distance(denoiser, own, own_evaluation, evaluation, section: MemorizationSection
                     ) -> dict:
    """{"psnr": train, test and gap per sigma, "distance_to_memorization": per sigma on the
    held-out `evaluation` images}, keyed by `sigma_label`; `own` is the training set."""
    gap = mem.train_test_gap(denoiser, own_evaluation, evaluation, section.sigmas,
                             seed=section.seed, batch_size=section.batch_size)
    distance = mem.distance_to_memorization(denoiser, own, section.sigmas, evaluation,
                                            seed=section.seed, batch_size=section.batch_size)
    return {"psnr": {part: {sigma_label(s): _plain(v) for s, v in values.items()}
                     for part, values in gap.items()},
            "distance_to_memorization": {sigma_label(s): _plain(v) for s, v in distance.items()}}


def _on_cpu(found: "mem.Neighbors") -> "mem.Neighbors":
    return mem.Neighbors(found.indices.cpu(), found.values.cpu())


def analyze_n(n, jobs: dict, images: torch.Tensor, section: MemorizationSection, out: Path,
              model_of) -> dict:
    """Sample both models of one N from the same seeds, measure, write N{n}.npz and N{n}.json.

    `model_of(run_dir, training_data)` gives each model (an oracle may stand in for it)."""
    data = {split: select(images, job.config.data) for split, job in jobs.items()}
    denoisers = {split: model_of(job.run_dir, data[split]) for split, job in jobs.items()}
    denoisers = {split: den.eval() if isinstance(den, torch.nn.Module) else den
                 for split, den in denoisers.items()}
    results = sample_pair(denoisers, tuple(images.shape[1:]), section)
    record = {"n": n, "settings": _settings(section), "models": models_of(jobs),
              "seeds": results["S1"].seeds, "same_seed_similarity": None,
              "overlap": overlap_record(data)}
    arrays = {}
    for split, other in zip(SPLITS, SPLITS[::-1], strict=True):
        res = results[split]
        samples, ok = res.samples.detach().cpu(), res.ok
        record[split], nearest = split_metrics(samples, ok, data[split].train, data[other].train,
                                               denoisers[split], data[split].test, section)
        record[split]["failed"] = {str(i): res.reasons.get(i, "") for i in res.failed}
        record[split]["denoiser_calls"] = [int(s) for s in res.steps]
        arrays[f"samples_{split}"], arrays[f"nearest_{split}"] = samples.numpy(), nearest.numpy()
    both = results["S1"].ok & results["S2"].ok
    if both.any():
        same = mem.same_seed_similarity(results["S1"].samples[both].cpu(),
                                        results["S2"].samples[both].cpu())
        record["same_seed_similarity"] = _per_sample(same, both)
    with atomic_path(out / f"N{n}.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    save_json(record, out / f"N{n}.json")  # written last: marks this N as finished
    return record


def overlap_record(data: dict, threshold: float = REPEAT_CORRELATION) -> dict:
    """Whether the sets the experiment calls disjoint are: how many S2 images repeat an S1
    image, and how many held-out images of each model repeat one of its training images
    (`gahr.data.cross_duplicates`: correlation above `threshold`, or an exact copy). A data set
    of copies of one image has disjoint indices but not disjoint images (the captions withhold
    the verdict then, `captions.REPEATED`)."""
    s1, s2 = data["S1"].train, data["S2"].train
    return {"threshold": threshold, "n": len(s2),
            "S2_in_S1": len(cross_duplicates(s1, s2, threshold)),
            "test_in_train": {s: len(cross_duplicates(data[s].train, data[s].test, threshold))
                              for s in SPLITS}}


def _add_overlap(path: Path, jobs: dict, images: torch.Tensor) -> None:
    """Add the overlap check to a finished N{n}.json computed before it existed."""
    record = json.loads(path.read_text())
    record["overlap"] = overlap_record({s: select(images, j.config.data)
                                        for s, j in jobs.items()})
    save_json(record, path)


def _settings(section: MemorizationSection) -> dict:
    settings = to_dict(section)
    settings.pop("out")
    return settings


def models_of(jobs: dict) -> dict:
    """{split: SHA-256 of the model's weights}: which models an N's record was computed
    from."""
    return {split: model_digest(job.run_dir) for split, job in sorted(jobs.items())}


def stale_reason(path: Path, section: MemorizationSection, jobs: dict | None = None,
                 models: dict | None = None) -> str | None:
    """Why N{n}.json at `path` must be (re)computed: missing, unreadable, other settings, or
    (with the N's `jobs`, or the `models` digests it must record) computed from other models;
    None when it is up to date."""
    if not path.exists():
        return "missing"
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError:
        return "unreadable"
    saved, now = record.get("settings") or {}, _settings(section)
    changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if changed:
        return f"computed with other settings ({', '.join(f'memorization.{k}' for k in changed)})"
    if models is None and jobs is not None:
        models = models_of(jobs)
    if models is not None and record.get("models") != models:
        return "computed from other models (the runs were trained again)"
    return None


def is_finished_n(path: Path, section: MemorizationSection, jobs: dict | None = None) -> bool:
    """True when N{n}.json exists and was computed with the current settings (and, with the
    N's `jobs`, from the runs' current models)."""
    return stale_reason(path, section, jobs) is None


def analyze_sweep(config: ExperimentConfig, out=None, images: torch.Tensor | None = None,
                  log=print, model_of=None) -> dict:
    """Run the analysis of every N whose results are missing or stale; write results.json,
    the figures and the report. Returns the results (see `experiment_report.write_outputs`)."""
    section = config.memorization
    if config.data.n_test < 1:
        raise ConfigError("data.n_test=0 leaves no held-out images for the test PSNR and the "
                          "distance to memorization; set data.n_test >= 1")
    pairs = pair_jobs(config, out)
    if section.models:  # models trained elsewhere (workflows/external_models.py)
        pairs = external_pairs(pairs, section.models)
        check_external(pairs, config.data, resolve_device(config.train.device, "train.device"))
    else:
        check_runs(pairs, config.data)
    adir = claim(analysis_dir(config, out), "memorization analysis")
    reasons = {n: stale_reason(adir / f"N{n}.json", section, pairs[n]) for n in pairs}
    todo = [n for n in pairs if reasons[n] is not None]
    for n in pairs:
        if n not in todo:
            log(f"N={n}: analysis finished, skipped ({adir / f'N{n}.json'})")
        elif reasons[n] != "missing":
            log(f"N={n}: the saved analysis was {reasons[n]}; computing it again")
    unchecked = [n for n in pairs if n not in todo
                 and "overlap" not in json.loads((adir / f"N{n}.json").read_text())]
    if (todo or unchecked) and images is None:
        images = open_images(config.data)
    for n in unchecked:
        _add_overlap(adir / f"N{n}.json", pairs[n], images)
    if model_of is None:
        device = resolve_device(config.train.device, "train.device")

        def model_of(run_dir, training_data):
            return load_denoiser(run_dir, device)
    with torch_threads(config.train.threads):
        for n in todo:
            record = analyze_n(n, pairs[n], images, section, adir, model_of)
            log(f"N={n}: {_one_line(record)}")
    results_path = adir / "results.json"
    if (not todo and not unchecked and results_path.exists() and (adir / "report.html").exists()
            and (adir / FIGURES / "grid.png").exists()):
        results = json.loads(results_path.read_text())
        if set(results.get("per_n", {})) == {str(n) for n in pairs} and "summary" in results:
            log(f"results, figures and report up to date ({results_path})")
            return results
    records = [json.loads((adir / f"N{n}.json").read_text()) for n in pairs]
    return write_outputs(adir, records, section, quality=sweep_quality(config.data, pairs))


def _one_line(record: dict) -> str:
    """Progress, not results (those are printed once, at the end, by the caller)."""
    parts = [f"{record[s]['converged']}/{len(record['seeds'])} {s}" for s in SPLITS]
    return f"sampled and measured ({', '.join(parts)} samples converged)"
