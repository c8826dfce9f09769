"""`checkpoint.pt`: everything a run needs to resume bit-for-bit, weights-only loadable."""

import json
from pathlib import Path

import torch

from ..config import Config, to_dict
from ..errors import ConfigError
from ..io import torch_bytes, write_bytes
from ..rundir import CHECKPOINT, CONFIG_JSON, RunDir  # noqa: F401 - CONFIG_JSON re-exported
from .records import check_records

# Settings that may change between a run and its resumption without changing its result.
# `train.epochs` may grow (training is extended) when the learning rate does not depend on it
# (see `config_changes`).
# `snapshot_steps` adds files, never changes the weights; a run already past a new snapshot step
# cannot write it (`gahr dynamics` says so).
RESUMABLE_CHANGES = {"epochs", "device", "threads", "compile", "eval_every", "snapshot_steps"}
#: Learning-rate schedules under which a run trained for E epochs is the first E epochs of a
#: longer run ("cosine" spreads its decay over train.epochs, so it changes with it).
EXTENSIBLE_SCHEDULES = ("halving",)
_NOT_RECORDED = "<not recorded>"


def save_checkpoint(run_dir, *, net, optimizer, noise_rng: torch.Generator, epoch: int,
                    step: int, loss_sum: float, loss_count: int, ema=None) -> None:
    """Write the state after `step` steps of epoch `epoch` (step 0: the epoch has not begun);
    `ema`, a `WeightAverage`, is saved beside the net."""
    state = {
        "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "noise_rng": noise_rng.get_state().cpu(),
        "epoch": int(epoch), "step": int(step),
        "loss_sum": float(loss_sum), "loss_count": int(loss_count),
    }
    if ema is not None:
        state["ema"] = ema.state_dict()
    write_bytes(Path(run_dir) / CHECKPOINT, torch_bytes(state))


def load_checkpoint(run_dir) -> dict | None:
    """The checkpoint of `run_dir` (plain tensors and numbers), or None when there is none."""
    return RunDir(run_dir).read_checkpoint()


def config_changes(run_dir, config: Config) -> dict[str, tuple]:
    """{"section.key": (saved value, requested value)} for every setting in which the run saved
    in `run_dir` differs from `config`, both resolved (the saved config.json holds resolved
    values; a key it lacks counts as a change). Settings in RESUMABLE_CHANGES are left out, but
    train.epochs only while the run's checkpoint is at or before the requested epochs and the
    learning-rate schedule is one of EXTENSIBLE_SCHEDULES. {} when `run_dir` holds no config.
    The one comparison behind resuming, skipping finished runs and reusing them."""
    run = RunDir(run_dir)
    old = run.saved_config()
    if not old:
        return {}
    new = json.loads(json.dumps(to_dict(config)))  # tuples -> lists, as saved
    changes = {}
    for section in sorted(set(old) | set(new)):
        before, after = old.get(section) or {}, new.get(section) or {}
        for key in sorted(set(before) | set(after)):
            if section == "train" and key in RESUMABLE_CHANGES:
                continue
            if before.get(key, _NOT_RECORDED) != after.get(key, _NOT_RECORDED):
                changes[f"{section}.{key}"] = (before.get(key, _NOT_RECORDED),
                                               after.get(key, _NOT_RECORDED))
    epochs = _epochs_change(run, old.get("train") or {}, config)
    if epochs is not None:
        changes["train.epochs"] = epochs
    size = config.data.size
    if changes.get("data.size", (0,))[0] is None and run.image_size() == (size, size):
        del changes["data.size"]  # trained at the source's native size, which is the size asked
    return changes


def _epochs_change(run: RunDir, saved: dict, config: Config) -> tuple | None:
    """(trained, requested) when train.epochs may not change as asked, else None."""
    requested = config.train.epochs
    if saved.get("epochs", requested) == requested:
        return None
    ckpt = run.read_checkpoint()
    done = ckpt["epoch"] if ckpt is not None else 0
    if done > requested:  # the run has gone further than asked: not the run asked for
        return (done, requested)
    if config.train.lr_schedule not in EXTENSIBLE_SCHEDULES:
        return (saved.get("epochs"), requested)
    return None


def describe_changes(changes: dict, limit: int = 4) -> str:
    """"model.num_kernels=8 (asked: 16), train.lr=0.002 (asked: 0.001)" for `config_changes`."""
    parts = [f"{key}={_show(old)} (asked: {_show(new)})"
             for key, (old, new) in list(changes.items())[:limit]]
    more = f" and {len(changes) - limit} more" if len(changes) > limit else ""
    return ", ".join(parts) + more


def _show(value) -> str:
    return _NOT_RECORDED if value == _NOT_RECORDED else repr(value)


def check_resumable(run_dir, config: Config) -> None:
    """Refuse to resume (or reuse) a run dir whose saved config differs from `config` in a
    setting that matters (`config_changes`), or whose config.json disagrees with its
    model.json (`records.check_records`)."""
    check_records(run_dir)
    changes = config_changes(run_dir, config)
    if changes:
        raise ConfigError(f"{run_dir} holds a run with other settings: "
                          f"{describe_changes(changes)}; use another --out or delete the run dir")


def is_finished(run_dir, epochs: int) -> bool:
    """True when `run_dir` holds a net trained for at least `epochs` epochs."""
    return RunDir(run_dir).is_finished(epochs)
