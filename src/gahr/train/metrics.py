"""Denoising quality: PSNR, evaluation over noise levels, and the per-epoch metrics log."""

import csv
import io
import math
from pathlib import Path

import torch

from ..errors import ShapeError
from ..io import atomic_path


def psnr(x_hat: torch.Tensor, x: torch.Tensor, data_range: float = 1.0,
         per_image: bool = False):
    """Peak signal-to-noise ratio 10 log10(data_range^2 / MSE), MSE per image.

    Returns the mean over images of the per-image PSNR (as the paper's batch average), or
    the `(B,)` tensor of per-image values with `per_image=True`. Identical images give inf.
    """
    if x_hat.shape != x.shape:
        raise ShapeError(f"psnr: shapes {tuple(x_hat.shape)} and {tuple(x.shape)} differ; "
                         "compare an estimate with its own clean images")
    if x.dim() < 2:
        x_hat, x = x_hat[None], x[None]
    mse = (x_hat.detach().float() - x.detach().float()).square().flatten(1).mean(1)
    values = 10 * torch.log10(data_range**2 / mse)
    return values if per_image else values.mean().item()


def noise_sample(shape, seed: int, device) -> torch.Tensor:
    """Standard Gaussian noise drawn on the CPU from `seed`: the same on every device."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g).to(device)


@torch.no_grad()
def evaluate(denoiser, images: torch.Tensor, sigmas, seed: int = 0,
             batch_size: int = 256) -> dict[float, float]:
    """Mean PSNR of `denoiser(images + sigma * z)` against `images`, for each sigma.

    One noise draw z (from `seed`) serves every sigma, so the PSNR-vs-sigma curve is smooth.
    `denoiser` is any callable y -> x_hat (a `gahr.Denoiser`, an oracle, a lambda).
    """
    if images.dim() != 4 or len(images) == 0:
        raise ShapeError(f"evaluate takes a non-empty (N, C, H, W) tensor, got shape "
                         f"{tuple(images.shape)}")
    z = noise_sample(images.shape, seed, "cpu")
    out = {}
    for sigma in sigmas:
        values = []
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size]
            y = x + float(sigma) * z[start:start + batch_size].to(x.device)
            values.append(psnr(denoiser(y), x, per_image=True).cpu())
        out[float(sigma)] = torch.cat(values).mean().item()
    return out


def sigma_label(sigma: float) -> str:
    """Column label of a noise level on the 0-255 scale: 25/255 -> '25'."""
    return f"{sigma * 255:.4g}"


def summarize(row: dict) -> str:
    """One line: epoch, loss, train/test PSNR at the eval sigma nearest 25/255."""
    labels = sorted({k.split("_psnr_")[1] for k in row if "_psnr_" in k},
                    key=lambda s: abs(float(s) - 25))
    parts = [f"epoch {row.get('epoch', '?')}"]
    if "loss" in row:
        parts.append(f"loss {row['loss']:.4g}")
    if labels:
        psnrs = [f"{p} {row[f'{p}_psnr_{labels[0]}']:.2f}" for p in ("train", "test")
                 if f"{p}_psnr_{labels[0]}" in row]
        parts.append(f"PSNR at sigma={labels[0]}/255: {' / '.join(psnrs)} dB")
    return ", ".join(parts)


class MetricsLog:
    """`metrics.csv`, one row per evaluated epoch, rewritten atomically; TensorBoard if present."""

    def __init__(self, run_dir, keep_until_epoch: int = 0, enabled: bool = True):
        self.path = Path(run_dir) / "metrics.csv"
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
    path = Path(run_dir) / "metrics.csv"
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [_parse_row(r) for r in csv.DictReader(f)]


def _parse_row(row: dict) -> dict:
    return {k: (int(v) if k in ("epoch", "step") else float(v)) for k, v in row.items()}


def _tensorboard(log_dir):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(log_dir=str(log_dir))
