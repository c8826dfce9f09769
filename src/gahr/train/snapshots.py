"""Snapshots of the weights along training: `<run>/snapshots/step{S:08d}.safetensors`.

`train.snapshot_steps` names the global steps (`gahr.snapshot_steps`); after each of them the
evaluated net (the weight average when there is one, else the net) is written, weights only,
in the format of `gahr.nets.save` (a file `gahr.load_denoiser` opens on its own). Training is
deterministic and resumes bit-for-bit, so a snapshot already on disk is the one the run would
write again: a resumed run keeps it and writes only the missing ones after its checkpoint.
"""

import json

import torch
from safetensors.torch import save as save_bytes
from torch import nn

from ..io import write_bytes
from ..nets.registry import describe
from ..rundir import RunDir
from ..snapshot_steps import snapshot_schedule


class Snapshots:
    """The snapshot steps of one run and the writer of the missing ones."""

    def __init__(self, run_dir, steps: list[int], meta: dict):
        self.run = RunDir(run_dir)
        self.steps = frozenset(steps)
        self.meta = dict(meta)

    @classmethod
    def of(cls, run_dir, tc, steps_per_epoch: int, train_images: torch.Tensor
           ) -> "Snapshots | None":
        """The snapshots `tc.snapshot_steps` asks of a run (None when it asks none)."""
        steps = snapshot_schedule(tc.snapshot_steps, tc.epochs * steps_per_epoch)
        if not steps:
            return None
        meta = {"mean_intensity": train_images.mean().item(), "n_train": len(train_images),
                "image_size": list(train_images.shape[-2:]), "sigma_min": tc.sigma_min,
                "sigma_max": tc.sigma_max}
        return cls(run_dir, steps, meta)

    def due(self, step: int) -> bool:
        """True when `step` is a snapshot step whose file is not written yet."""
        return step in self.steps and not self.run.snapshot(step).exists()

    def write(self, net: nn.Module, step: int) -> None:
        """Save `net`'s weights as the snapshot after global step `step` (atomically)."""
        meta = {**getattr(net, "meta", {}), **self.meta, "step": int(step)}
        state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
        write_bytes(self.run.snapshot(step),
                    save_bytes(state, metadata={"gahr": json.dumps(describe(net, meta))}))
