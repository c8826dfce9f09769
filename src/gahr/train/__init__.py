"""Training universal blind bias-free denoisers: loop, noise sampling, checkpoints, DDP, sweeps.

`train(config, run_dir, images=None)` trains (or resumes) one run; `open_images` / `select`
give a run its images and split; `sweep_jobs` / `run_sweep` lay out and run the (N, split)
grid. `psnr` and `evaluate` (from `gahr.metrics`) measure a denoiser.
"""

from .checkpoint import is_finished, load_checkpoint
from .dataset import TrainingData, open_images, select
from .loop import TrainResult, build_net, train
from .metrics import evaluate, psnr, read_metrics, summarize
from .noise import epoch_order, sample_sigmas
from .sweep import Job, job_name, run_sweep, sweep_jobs

__all__ = ["Job", "TrainResult", "TrainingData", "build_net", "epoch_order", "evaluate",
           "is_finished", "job_name", "load_checkpoint", "open_images", "psnr", "read_metrics",
           "run_sweep", "sample_sigmas", "select", "summarize", "sweep_jobs", "train"]


def __getattr__(name):
    if name == "load_images":  # deprecated until 0.2: now open_images
        from . import dataset

        return dataset.load_images
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
