"""Sweeps: one training run per (N, split), e.g. the paper's N = 1 ... 10^5 on S1 and S2.

Layout on disk (stable: the memorization analysis finds its runs through `sweep_jobs`):

    <out>/sweep.json          the resolved sweep config
    <out>/N{n}_{split}/       one run dir per job, e.g. N100_S1/, N100_S2/, Nall_S1/

Jobs are ordered by N, then split, as listed in `[sweep]`; job I is `sweep_jobs(config)[I]`.
"""

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import torch

from ..config import Config, SweepConfig, save_config
from ..errors import CheckpointError, ConfigError
from ..locking import claim, holds_locks
from ..rundir import RunDir
from .checkpoint import config_changes, describe_changes, is_finished
from .dataset import open_images, sizes_text, split_note, split_sizes
from .metrics import summarize
from .objective import loss_key
from .records import check_records, record_disagreements
from .workers import die_with_parent, exit_if_orphaned


class Job(NamedTuple):
    name: str  # N{n}_{split}
    run_dir: Path
    config: Config  # the single-run config of this job


def job_name(n_train, split: str) -> str:
    return f"N{n_train}_{split}"


def sweep_jobs(config: SweepConfig, out=None) -> list[Job]:
    """Every job of the sweep: (name, run dir under `out` or `sweep.out`, run config)."""
    root = Path(out if out is not None else config.sweep.out)
    base = Config(data=config.data, model=config.model, train=config.train)
    jobs = []
    for n in config.sweep.n_train:
        for split in config.sweep.splits:
            cfg = replace(base, data=replace(base.data, n_train=n, split=split))
            jobs.append(Job(job_name(n, split), root / job_name(n, split), cfg))
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise ConfigError(f"sweep lists a job twice ({', '.join(names)}); remove repeated "
                          "values from sweep.n_train or sweep.splits")
    return jobs


@holds_locks
def run_sweep(config: SweepConfig, out=None, job: int | None = None,
              images: torch.Tensor | None = None, progress: bool = True,
              log: Callable[[str], None] = print, retrain: bool = False) -> list[Job]:
    """Run job `job` of the sweep, or every unfinished job in order; returns the jobs run.

    The image set is loaded once (or taken from `images`) and every N is checked against it
    before the first job starts. Finished jobs are skipped, interrupted ones resume. A run dir
    whose saved config differs from its job's (`config_changes`) is refused with ConfigError
    naming the settings, before anything trains; with `retrain` it is deleted and trained again.
    """
    from .loop import train

    jobs = sweep_jobs(config, out)
    if job is not None and not 0 <= job < len(jobs):
        raise ConfigError(f"--job {job} does not exist; this sweep has jobs 0 to {len(jobs) - 1}")
    selected = jobs if job is None else [jobs[job]]
    claim(Path(out if out is not None else config.sweep.out), "sweep")  # sweep.json's writer
    for j in selected:
        RunDir(j.run_dir).check_writable()
    replace_changed(selected, retrain, log)
    todo = [j for j in selected if not finished(j, config.train.epochs, retrain, log)]
    for j in selected:
        if j not in todo:
            log(f"{j.name}: finished, skipped (trained with these settings; {j.run_dir})")
    if not todo:
        return []
    given = images
    if images is None:
        images = open_images(config.data)
    sizes = {j.name: sizes_text(*split_sizes(len(images), j.config.data)) for j in todo}
    for j in todo:
        note = split_note(len(images), j.config.data)
        if note:
            log(f"{j.name}: {note}")
    save_config(config, Path(out if out is not None else config.sweep.out) / "sweep.json")
    if config.sweep.workers > 1 and len(todo) > 1:
        _train_in_parallel(todo, config.sweep.workers, given, log, sizes)
        return todo
    for j in todo:
        result = train(j.config, j.run_dir, images=images, progress=progress)
        log(f"{j.name}: {summarize(result.metrics, loss_key(j.config))}; "
            f"{sizes[j.name]} ({j.run_dir})")
    return todo


def finished(job: Job, epochs: int, retrain: bool, log) -> bool:
    """`is_finished`; with `retrain`, a run whose weights or checkpoint are damaged (a
    CheckpointError) is deleted, to be trained again."""
    try:
        return is_finished(job.run_dir, epochs)
    except CheckpointError as e:
        if not retrain:
            raise
        log(f"{job.name}: {str(e).split(';')[0]}; deleting it to train again (--retrain)")
        RunDir(job.run_dir).delete()
        return False


def _train_job(config: Config, run_dir: str, images: torch.Tensor | None) -> dict:
    """One job in a worker process; without `images` it opens them itself (the same ones)."""
    from .loop import train

    try:
        return train(config, run_dir, images=images, progress=False).metrics
    finally:
        exit_if_orphaned()


def _train_in_parallel(todo: list[Job], workers: int, images, log, sizes: dict) -> None:
    """Train `todo` in `workers` spawned processes, logging each job as it finishes. Each run is
    the one a single process gives (same config, same seeds); an interrupt reaches every
    worker, which checkpoints as a single process does; a worker whose parent dies (SIGKILL)
    checkpoints and ends too (`die_with_parent`)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(todo)), mp_context=context,
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(_train_job, j.config, str(j.run_dir), images): j for j in todo}
        try:
            for future in as_completed(futures):
                j = futures[future]
                log(f"{j.name}: {summarize(future.result(), loss_key(j.config))}; "
                    f"{sizes[j.name]} ({j.run_dir})")
        except KeyboardInterrupt:
            stop_workers(pool)
            raise


def stop_workers(pool, grace: float = 60.0) -> None:
    """After a stop request to the parent alone (`kill -INT`, not a Ctrl-C to the whole
    terminal): no queued job starts, and the workers are asked to stop (SIGTERM, the training
    loop's request: it checkpoints and ends), again until they have ended (a worker may have
    taken a job already queued to it), instead of being waited for to the end of training."""
    import multiprocessing

    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    while (alive := multiprocessing.active_children()) and time.monotonic() < deadline:
        for worker in alive:
            with contextlib.suppress(OSError):
                os.kill(worker.pid, signal.SIGTERM)
        time.sleep(0.5)


def replace_changed(jobs: list[Job], retrain: bool, log: Callable[[str], None]) -> None:
    """`check_reuse`, then with `retrain` delete (logging it) every run dir holding a run with
    other settings, so that it trains again from scratch. `gahr train --retrain` uses it too."""
    changed = check_reuse(jobs, retrain)
    for j in jobs:
        if j.name in changed:
            log(f"{j.name}: trained with other settings ({describe_changes(changed[j.name])}); "
                f"deleting it to train again (--retrain)")
            RunDir(j.run_dir).delete()


def check_reuse(jobs: list[Job], retrain: bool = False) -> dict[str, dict]:
    """{job name: `config_changes`} of the jobs whose run dir holds a run with other settings.
    Without `retrain`, any such job is a ConfigError that names the settings and the way out."""
    changed = {j.name: c for j in jobs if (c := config_changes(j.run_dir, j.config))}
    for j in jobs:
        if retrain and record_disagreements(j.run_dir):
            changed.setdefault(j.name, record_disagreements(j.run_dir))
        elif not retrain:
            check_records(j.run_dir)
    if changed and not retrain:
        first = next(j for j in jobs if j.name in changed)
        others = [name for name in changed if name != first.name]
        also = f" (also {', '.join(others)})" if others else ""
        raise ConfigError(f"{first.run_dir} was trained with other settings: "
                          f"{describe_changes(changed[first.name])}{also}; use another --out, "
                          "or --retrain to train the changed runs again (replacing them)")
    return changed
