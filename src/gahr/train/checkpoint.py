"""`checkpoint.pt`: everything a run needs to resume bit-for-bit, weights-only loadable."""

from pathlib import Path

import torch

from ..config import Config, read_config, to_dict
from ..errors import ConfigError
from ..io import atomic_path
from ..rundir import CHECKPOINT, CONFIG_JSON, RunDir

# Settings that may change between a run and its resumption without changing its result
# (epochs: training can be extended).
RESUMABLE_CHANGES = {"epochs", "device", "threads", "compile", "eval_every"}


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
    with atomic_path(Path(run_dir) / CHECKPOINT) as tmp:
        torch.save(state, tmp)


def load_checkpoint(run_dir) -> dict | None:
    """The checkpoint of `run_dir` (plain tensors and numbers), or None when there is none."""
    return RunDir(run_dir).read_checkpoint()


def check_resumable(run_dir, config: Config) -> None:
    """Refuse to resume a run dir whose saved config differs in a setting that matters."""
    path = Path(run_dir) / CONFIG_JSON
    if not path.exists():
        return
    old, new = to_dict(read_config(path)), to_dict(config)
    for section in new:
        for key in sorted(set(old[section]) | set(new[section])):
            if section == "train" and key in RESUMABLE_CHANGES:
                continue
            if old[section].get(key) != new[section].get(key):
                raise ConfigError(
                    f"{run_dir} holds a run with {section}.{key}={old[section].get(key)!r}, not "
                    f"{new[section].get(key)!r}; use another --out or delete the run dir")


def is_finished(run_dir, epochs: int) -> bool:
    """True when `run_dir` holds a net trained for at least `epochs` epochs."""
    return RunDir(run_dir).is_finished(epochs)
