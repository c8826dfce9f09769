"""`gahr dynamics`: memorization in time, measured on the snapshots of an S1/S2 sweep.

For each N and each snapshot step S of its two runs (`train.snapshot_steps`), both models
sample from the same seeds (`experiment.sample_pair`) and are measured (`measure_snapshot`):
per split, the ratio-test flag of every sample, f_mem with its bootstrap interval, train and
test PSNR, the distance to the memorizer and the Gaussian share per sigma; and the same-seed
S1/S2 similarity. Each (N, S) is saved as `<out>/records/N{n}_step{S:08d}.json` and skipped on
rerun while its settings and snapshot files are unchanged. From the records
(`dynamics_report.write_outputs`): `dynamics.json` (rows, tau_mem, tau_gen, exponent),
figures and `report.html`. The definitions are in `gahr.analysis.dynamics`.
"""

import json
from pathlib import Path

import torch

from ..analysis import memorization as mem
from ..analysis.dynamics import f_mem_interval, gaussian_share
from ..config import SPLITS, save_config
from ..devices import resolve_device, torch_threads
from ..errors import ConfigError
from ..io import file_sha256, save_json
from ..metrics import sigma_label
from ..nets import load_denoiser
from ..oracles import GaussianFitOracle
from ..rundir import RunDir
from ..snapshot_steps import snapshot_schedule
from ..train import open_images, run_sweep, select
from .dynamics_config import DynamicsConfig
from .dynamics_report import write_outputs
from .experiment import (
    _per_sample,
    _plain,
    _settings,
    check_runs,
    gap_and_distance,
    pair_jobs,
    sample_pair,
    stale_reason,
)
from .quality import quality_with_baseline

RECORDS = "records"


def output_dir(config: DynamicsConfig, out=None) -> Path:
    root = Path(out if out is not None else config.sweep.out)
    return Path(config.dynamics.out) if config.dynamics.out else root


def run_dynamics(config: DynamicsConfig, out=None, train: bool = True,
                 images: torch.Tensor | None = None, progress: bool = True, log=print,
                 retrain: bool = False) -> dict:
    """Train the sweep's unfinished runs with their snapshots (skipped with `train=False`),
    measure every (N, snapshot) not measured yet, write dynamics.json, figures, report.html.
    `out`: the sweep root (default `sweep.out`); the outputs go there too unless
    `dynamics.out` says otherwise. Returns the contents of dynamics.json."""
    pairs = pair_jobs(config, out)
    steps = _steps(config)
    _check_snapshots(pairs, steps, retrain, log)
    if train:
        ran = run_sweep(config, out=out, images=images, progress=progress, log=log,
                        retrain=retrain)
        log(f"dynamics: {len(ran)} training job(s) run")
    check_runs(pairs, config.data)
    _check_snapshots(pairs, steps, False, log)
    root = output_dir(config, out)
    save_config(config, root / "dynamics_config.json")
    todo = [(n, s) for n in pairs for s in steps
            if _stale(root, n, s, pairs[n], config) is not None]
    log(f"dynamics: {len(pairs) * len(steps) - len(todo)} of {len(pairs) * len(steps)} "
        "(N, snapshot) measurements already done")
    if todo and images is None:
        images = open_images(config.data)
    device = resolve_device(config.train.device, "train.device")
    with torch_threads(config.train.threads):
        for n, step in todo:
            record = measure_snapshot(n, step, pairs[n], images, config, device)
            save_json(record, _record_path(root, n, step))
            f = [record[s]["f_mem"] for s in SPLITS]
            log(f"N={n} step {step}: f_mem S1 {_show(f[0])}, S2 {_show(f[1])}")
    records = [json.loads(_record_path(root, n, s).read_text()) for n in pairs for s in steps]
    return write_outputs(root, records, config)


def _show(interval) -> str:
    return "n/a" if interval is None else f"{interval['value']:.2f}"


def _steps(config: DynamicsConfig) -> list[int]:
    tc = config.train
    return snapshot_schedule(tc.snapshot_steps,
                             tc.epochs * max(1, tc.samples_per_epoch // tc.batch_size))


def _check_snapshots(pairs: dict, steps: list[int], retrain: bool, log) -> None:
    """A finished run without every snapshot cannot write them: deleted with `retrain`, else a
    ConfigError naming it."""
    for jobs in pairs.values():
        for job in jobs.values():
            run = RunDir(job.run_dir)
            missing = sorted(set(steps) - set(run.snapshot_steps()))
            if not missing or not run.has_model():
                continue
            if not retrain:
                raise ConfigError(f"{job.run_dir} finished without snapshots at steps "
                                  f"{missing[:4]}{' ...' if len(missing) > 4 else ''}; rerun "
                                  "with --retrain to train it again, or use another --out")
            log(f"{job.name}: finished without the snapshots asked for; training it again "
                "(--retrain)")
            run.delete()


def _record_path(root: Path, n, step: int) -> Path:
    return root / RECORDS / f"N{n}_step{step:08d}.json"


def _models(jobs: dict, step: int) -> dict:
    return {split: file_sha256(RunDir(job.run_dir).snapshot(step))
            for split, job in sorted(jobs.items())}


def _stale(root: Path, n, step: int, jobs: dict, config: DynamicsConfig) -> str | None:
    """Why the record of (n, step) must be measured (again); None when it is up to date."""
    path = _record_path(root, n, step)
    reason = stale_reason(path, config.memorization, models=_models(jobs, step))
    if reason is not None:
        return reason
    record = json.loads(path.read_text())
    if "quality" not in record:
        return "measured before sample quality (FID/KID) was recorded"
    if record.get("copy_distance", "l2") != config.dynamics.copy_distance:
        return f"copies tested with the {record.get('copy_distance', 'l2')} distance"
    return None


def measure_snapshot(n, step: int, jobs: dict, images: torch.Tensor, config: DynamicsConfig,
                     device) -> dict:
    """Sample both snapshots of one (N, step) from the same seeds and measure them."""
    section = config.memorization
    data = {split: select(images, job.config.data) for split, job in jobs.items()}
    denoisers = {split: load_denoiser(RunDir(job.run_dir).snapshot(step), device).eval()
                 for split, job in jobs.items()}
    results = sample_pair(denoisers, tuple(images.shape[1:]), section)
    distance = config.dynamics.copy_distance
    record = {"n": n, "step": step, "settings": _settings(section), "models": _models(jobs, step),
              "seeds": results["S1"].seeds, "copy_distance": distance}
    for split in SPLITS:
        res = results[split]
        record[split] = _split_measures(res.samples.detach().cpu(), res.ok, denoisers[split],
                                        data[split], section, distance)
    both = results["S1"].ok & results["S2"].ok
    record["same_seed_similarity"] = None
    if both.any():
        same = mem.same_seed_similarity(results["S1"].samples[both].cpu(),
                                        results["S2"].samples[both].cpu())
        record["same_seed_similarity"] = _per_sample(same, both)
    pooled = torch.cat([results[s].samples[results[s].ok].detach().cpu() for s in SPLITS])
    record["quality"] = quality_with_baseline(pooled, config.data,
                                              [job.config.data for job in jobs.values()])
    return record


def _split_measures(samples, ok, denoiser, data, section, distance: str) -> dict:
    own, test = data.train, data.test[:section.n_eval]
    out: dict = {"converged": int(ok.sum()), "memorized": [None] * len(ok), "f_mem": None}
    if ok.any() and len(own) >= 2:
        flags = mem.ratio_test(mem.copy_distances(samples[ok], own, distance), section.ratio)
        out["memorized"] = _per_sample(flags.double(), ok, lambda v: bool(v))
        out["f_mem"] = f_mem_interval(flags.numpy(), seed=section.seed)
    out.update(gap_and_distance(denoiser, own, own[:section.n_eval], test, section))
    out["gaussian_share"] = None
    if len(own) >= 2:
        share = gaussian_share(denoiser, GaussianFitOracle(own), test, section.sigmas,
                               seed=section.seed + 2, batch_size=section.batch_size)
        out["gaussian_share"] = {sigma_label(s): _plain(v) for s, v in share.items()}
    return out
