"""`gahr sweep`: one training run per (N, split); list, run one job, or run all."""

import json
import shlex

from ._common import add_overrides_arg, print_verdict_notes, show_progress
from .train import add_train_shortcuts, shortcut_overrides


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="train one model per (N, split) of a sweep config",
        description="Without --list/--job: run every job in order, skipping finished ones; "
        "for an experiment config (one with a [memorization] section) then run the "
        "memorization analysis, as `gahr memorization`. Run dirs are <out>/N{n}_{split}/. "
        "--list prints one command per job, for a SLURM array or any scheduler.")
    p.add_argument("config", help="sweep TOML config ([data], [model], [train], [sweep])")
    add_overrides_arg(p)
    p.add_argument("--out", help="sweep root dir (default: sweep.out of the config)")
    add_train_shortcuts(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--list", action="store_true", help="print one command per job")
    group.add_argument("--job", type=int, metavar="I", help="run job I only (0-based)")
    group.add_argument("--dry-run", action="store_true", help="print the resolved config")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--retrain", action="store_true",
                   help="train again (replacing them) the runs saved with other settings than "
                   "the config's; without it such runs are refused")
    p.set_defaults(func=run)


def job_command(args, index: int) -> str:
    """The shell command that runs job `index` of this sweep."""
    words = ["gahr", "sweep", args.config]
    for item in args.overrides:
        words += ["--set", item]
    for flag in ("out", "device", "seed", "amp"):
        if getattr(args, flag) is not None:
            words += [f"--{flag}", str(getattr(args, flag))]
    if args.compile:
        words.append("--compile")
    if args.retrain:
        words.append("--retrain")
    return shlex.join(words + ["--job", str(index)])


def list_jobs(args, config) -> None:
    """Print one command per job, after checking every N against the data (and saying when
    test images must come from the other split); runs saved with other settings are marked."""
    from ..train import is_finished, sweep_jobs
    from ..train.checkpoint import config_changes
    from ..train.dataset import check_sizes, count_images, split_note

    jobs = sweep_jobs(config, args.out)
    num = count_images(config.data)
    for job in jobs:
        check_sizes(num, job.config.data)
    for i, job in enumerate(jobs):
        changed = config_changes(job.run_dir, job.config)
        state = ("  # trained with other settings: needs --retrain" if changed else
                 "  # finished" if is_finished(job.run_dir, config.train.epochs) else "")
        print(f"{job_command(args, i)}  # {job.name} -> {job.run_dir}{state}")
    notes = {split_note(num, job.config.data) for job in jobs} - {None}
    for note in sorted(notes):
        print(f"# {note}")


def run(args) -> int:
    from ..config import ExperimentConfig, SweepConfig, load_config, read_toml, to_dict
    from ..train import run_sweep
    from ..workflows.experiment import analysis_dir, run_experiment

    experiment = "memorization" in read_toml(args.config)
    config = load_config(args.config, shortcut_overrides(args),
                         cls=ExperimentConfig if experiment else SweepConfig)
    if args.dry_run:
        from ..train import sweep_jobs
        from ._dry_run import dry_run_notes

        print(json.dumps(to_dict(config), indent=2))
        dry_run_notes(args.config, {j.name: j.config.data for j in sweep_jobs(config, args.out)})
        return 0
    if args.list:
        list_jobs(args, config)
        return 0
    if experiment and args.job is None:  # the whole experiment, as `gahr memorization`
        from ..workflows.experiment_report import table_lines

        results = run_experiment(config, out=args.out, progress=show_progress(args),
                                 retrain=args.retrain)
        print("\n".join(table_lines(results)))
        print(f"sweep: memorization analysis of {len(results['table'])} values of N written\n"
              f"report: {analysis_dir(config, args.out) / 'report.html'}")
        print_verdict_notes(results)
        return 0
    ran = run_sweep(config, out=args.out, job=args.job, progress=show_progress(args),
                    retrain=args.retrain)
    print(f"sweep: {len(ran)} job(s) trained")
    return 0
