"""The per-epoch metrics log of a run (`metrics.csv`) and its one-line summary.

PSNR, noise-level labels, the shared noise draw and `evaluate` live in `gahr.metrics`; they are
re-exported here, where training has always offered them.
"""

import csv
import io
import math
from pathlib import Path

from ..io import atomic_path
from ..metrics import evaluate, noise_sample, psnr, sigma_label
from ..rundir import METRICS_CSV

__all__ = ["MetricsLog", "evaluate", "noise_sample", "psnr", "read_metrics", "sigma_label",
           "summarize"]


#: The unit of the training loss of each `train.loss_weight` (see `gahr.train.recipe`).
LOSS_UNITS = {"none": "squared error summed over pixels, per image, intensities in [0, 1]",
              "balanced": "weighted squared error summed over pixels, per image, intensities "
                          "in [0, 1]",
              "inverse_variance": "squared error summed over pixels, per image, in units of "
                                  "the noise variance"}
LOSS_UNITS["edm"] = ("EDM-weighted squared error lambda(sigma') ||D' - x'||^2 summed over pixels, "
                     "per image, in the model's intensity range")


def summarize(row: dict, loss_weight: str | None = None) -> str:
    """One line: epoch, loss (with the unit of `loss_weight` when given), train/test PSNR at
    the eval sigma nearest 25/255."""
    labels = sorted({k.split("_psnr_")[1] for k in row if "_psnr_" in k},
                    key=lambda s: abs(float(s) - 25))
    parts = [f"epoch {row.get('epoch', '?')}"]
    if "loss" in row:
        unit = LOSS_UNITS.get(loss_weight)
        parts.append(f"loss {row['loss']:.4g}" + (f" ({unit})" if unit else ""))
    if labels:
        psnrs = [f"{p} {row[f'{p}_psnr_{labels[0]}']:.2f}" for p in ("train", "test")
                 if f"{p}_psnr_{labels[0]}" in row]
        parts.append(f"PSNR at sigma={labels[0]}/255: {' / '.join(psnrs)} dB")
    return ", ".join(parts)


class MetricsLog:
    """`metrics.csv`, one row per evaluated epoch, rewritten atomically; TensorBoard if present."""

    def __init__(self, run_dir, keep_until_epoch: int = 0, enabled: bool = True):
        self.path = Path(run_dir) / METRICS_CSV
        self.enabled = enabled
        self.rows: list[dict] = []
        if enabled:
            # Rows past the checkpoint belong to work that is being redone.
            self.rows = [r for r in read_metrics(run_dir) if r["epoch"] <= keep_until_epoch]
        self.writer = _tensorboard(Path(run_dir) / "tensorboard") if enabled else None

    def append(self, row: dict) -> None:
        if not self.enabled:
            return
        self.rows.append(row)
        buf = io.StringIO()
        names = list(dict.fromkeys(k for r in self.rows for k in r))
        writer = csv.DictWriter(buf, fieldnames=names)
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_path(self.path) as tmp:
            tmp.write_text(buf.getvalue())
        if self.writer is not None:
            for key, value in row.items():
                if key != "epoch" and isinstance(value, float) and math.isfinite(value):
                    self.writer.add_scalar(key, value, global_step=row["epoch"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(run_dir) -> list[dict]:
    """The rows of a run dir's `metrics.csv` (empty when there is none)."""
    path = Path(run_dir) / METRICS_CSV
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [_parse_row(r) for r in csv.DictReader(f)]


def _parse_row(row: dict) -> dict:
    # An epoch without evaluation (eval_every > 1) leaves the PSNR cells blank: no key.
    return {k: (int(v) if k in ("epoch", "step") else float(v)) for k, v in row.items()
            if v != ""}


def _tensorboard(log_dir):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(log_dir=str(log_dir))
