"""`gahr train`: train a universal blind bias-free denoiser from a TOML config."""

import json

from ._common import add_overrides_arg, show_progress
from ._dry_run import dry_run_notes


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train a blind bias-free denoiser (rerun: resumes from its checkpoint)",
        description="Train a bias-free net to remove Gaussian noise of any level in "
        "[sigma_min, sigma_max] without being told the level. Rerunning the same command "
        "resumes; under `torchrun --nproc-per-node K -m gahr train ...` it runs DDP.")
    p.add_argument("config", nargs="?", default=None,
                   help="TOML config (e.g. configs/cpu/discs32_unet.toml); omitted: defaults")
    add_overrides_arg(p)
    p.add_argument("--out", help="run dir to write (required unless --dry-run)")
    add_train_shortcuts(p)
    p.add_argument("--retrain", action="store_true",
                   help="train again (deleting it) a run in --out saved with other settings or "
                   "with damaged weights; without it such a run is refused")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def add_train_shortcuts(p) -> None:
    """`--device/--seed/--amp/--compile`, read back by `shortcut_overrides`."""
    p.add_argument("--device", help="shortcut for --set train.device=...")
    p.add_argument("--seed", type=int, help="shortcut for --set train.seed=...")
    p.add_argument("--amp", choices=["off", "bf16"], help="shortcut for --set train.amp=...")
    p.add_argument("--compile", action="store_true", help="shortcut for --set train.compile=true")


def shortcut_overrides(args) -> list[str]:
    """The `--set` overrides, plus those of the shortcut flags (which win)."""
    out = list(args.overrides)
    for key, value in [("device", args.device), ("seed", args.seed), ("amp", args.amp)]:
        if value is not None:
            out.append(f"train.{key}={value}")
    if getattr(args, "compile", False):
        out.append("train.compile=true")
    return out


def run(args) -> int:
    from ..config import load_config, to_dict
    from ..errors import ConfigError
    from ..train import summarize, train
    from ..train.dataset import sizes_text
    from ..train.objective import loss_key

    config = load_config(args.config, shortcut_overrides(args))
    if args.dry_run:
        print(json.dumps(to_dict(config), indent=2))
        dry_run_notes(args.config, {"": config.data})
        return 0
    if not args.out:
        raise ConfigError("no run dir given; add --out RUN_DIR")
    check_reuse(config, args.out, args.retrain)
    result = train(config, args.out, progress=show_progress(args))
    state = "already finished" if result.already_finished else "trained"
    if result.is_main:
        sizes = f"; {sizes_text(*result.sizes)}" if result.sizes and result.sizes[0] else ""
        print(f"{state}: {summarize(result.metrics, loss_key(config))}{sizes} -> "
              f"{result.run_dir}")
    return 0


def check_reuse(config, out, retrain: bool) -> None:
    """Refuse (naming --retrain) a run in `out` saved with other settings; with `retrain`
    delete it, or one whose weights are damaged, to train again: the sweep's `replace_changed`
    and `finished`, on a job of one run, under the run dir's lock."""
    import os
    from pathlib import Path

    from ..errors import ConfigError
    from ..rundir import RunDir
    from ..train.sweep import Job, finished, replace_changed

    if retrain and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("--retrain does not run under torchrun (every rank would delete the "
                          "run); delete the run dir first, or use a new --out")
    job = Job(str(out), Path(out), config)
    RunDir(job.run_dir).check_writable()
    replace_changed([job], retrain, print)
    if retrain:
        finished(job, config.train.epochs, retrain, print)
