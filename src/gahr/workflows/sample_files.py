"""`gahr sample` and `gahr solve` as calls: load a model, sample or solve, write the files.

Model: `gahr.load_denoiser(spec)` (a run dir, a .safetensors file or `pretrained:NAME`); the
sampler starts at the training set's mean intensity stored in the model's meta
(`mean_intensity`), else 0.5.
Seeds: sample i of seed s uses seed s * 1_000_000 + i, as the memorization experiment does, so
`gahr sample --seed s` reproduces its samples of the same model.
"""

from pathlib import Path

import numpy as np
import torch

from ..data import load_image, read_image
from ..errors import ConfigError, DataError
from ..io import atomic_path, check_out_dir, check_out_file, save_json
from ..locking import claim_file
from ..metrics import psnr
from ..nets import load_denoiser
from ..report import save_image_grid
from ..rundir import trained_image_size
from ..sample import SampleResult, make_operator, solve
from ..sample.quality import ssim
from ..sample.schedule import Policy
from .sample_chunks import model_key, partial_path, sample_in_chunks

#: What `solve_to_files` writes.
SOLVE_FILES = ("metrics.json", "reconstruction.npz", "measurement.npy", "measured.png")


def sample_to_files(run_dir, out, schedule: Policy | None = None, n: int = 64, seed: int = 0,
                    size=None, batch_size=None, device="cpu", png: bool = True,
                    progress: bool = True) -> SampleResult:
    """Draw n samples from the model in `run_dir` under `schedule` (default: the 2021 preset),
    write `out` (.npz, see SampleResult.save) and a PNG grid of the converged samples beside
    it (failed samples are left out of the grid and named in its title; see `result_grid`).
    `size` (H or (H, W)) defaults to the training size in the model's meta. Samples are drawn
    and saved in chunks (`sample_in_chunks`): a rerun after a failure resumes."""
    check_out_file(out, (".npz",), "samples")
    claim_file(out, "samples")  # one writer: the partial file is ours alone
    den = load_denoiser(run_dir, device)
    shape = (den.channels, *_image_size(size, den.meta))
    seeds = [seed * 1_000_000 + i for i in range(n)]
    start_mean = den.meta.get("mean_intensity")
    key = {"model": model_key(run_dir), "shape": shape, "schedule": repr(schedule),
           "start_mean": start_mean}
    result = sample_in_chunks(den, shape, seeds, schedule, out, key, batch_size=batch_size,
                              start_mean=start_mean, device=device, progress=progress)
    result.save(out)
    if png:
        result_grid(result, Path(out).with_suffix(".png"))
    partial_path(out).unlink(missing_ok=True)
    return result


def solve_to_files(run_dir, out_dir, task: str, schedule: Policy | None = None, input=None,
                   measurement=None, n: int = 1, seed: int = 0, factor: int = 4, p: float = 0.25,
                   box=None, mask=None, device="cpu", progress: bool = True) -> dict:
    """Solve one inverse problem with the model in `run_dir` and write into `out_dir`:
    measurement.npy, measured.png (M M^T x), reconstruction.npz/.png (n posterior samples),
    and metrics.json (PSNR/SSIM of each reconstruction and of M M^T x when `input`, the
    ground-truth image, is given). Either `input` (measured here) or `measurement` (.npy of
    M^T x, shape (K,) or (1, K)) plus `size` through the input is needed."""
    if (input is None) == (measurement is None):
        raise ConfigError("give either an input image (measured here) or a measurement .npy")
    check_out_dir(out_dir, SOLVE_FILES, "inverse-problem result")
    den = load_denoiser(run_dir, device)
    channels, meta = den.channels, den.meta
    truth = load_image(input, channels).to(device) if input is not None else None
    shape = tuple(truth.shape[1:]) if truth is not None else (channels, *_image_size(None, meta))
    mask_t = _read_mask(mask) if mask is not None else None
    op = make_operator(task, shape, factor=factor, p=p, box=box, mask=mask_t,
                       generator=torch.Generator().manual_seed(seed))
    m = op.measure(truth) if truth is not None else _read_measurement(measurement)
    seeds = [seed * 1_000_000 + i for i in range(n)]
    result = solve(den, op, m.to(device).expand(n, -1), schedule, seeds=seeds, device=device,
                   start_mean=meta.get("mean_intensity"), progress=progress)
    out_dir = Path(out_dir)
    _save_npy(out_dir / "measurement.npy", m.cpu().numpy())
    _grid(op.lift(m).cpu(), out_dir / "measured.png")
    result.save(out_dir / "reconstruction.npz")
    result_grid(result, out_dir / "reconstruction.png")
    metrics = _metrics(result, op, m, truth)
    save_json(metrics, out_dir / "metrics.json")
    return metrics


def _metrics(result, op, m, truth) -> dict:
    out = {"task": op.name, "measured_dims": op.dim, "image_dims": int(np.prod(op.shape)),
           "steps": result.steps.tolist(), "failed": result.failed}
    if truth is not None:
        good = result.good()
        naive = op.lift(m)
        out["psnr_measured"] = psnr(naive, truth)
        out["ssim_measured"] = float(ssim(naive, truth)[0])
        ref = truth.expand_as(good)
        out["psnr"] = psnr(good, ref, per_image=True).tolist() if len(good) else []
        out["ssim"] = ssim(good, ref).tolist() if len(good) else []
    return out


def _image_size(size, meta) -> tuple[int, int]:
    if size is None:
        size = trained_image_size(meta)
    if size is None:
        raise ConfigError("the model does not record its training image size; pass --size H "
                          "(or --size H W)")
    if isinstance(size, int):
        return size, size
    size = tuple(int(s) for s in size)
    if not 1 <= len(size) <= 2 or min(size) < 1:
        raise ConfigError(f"size {size}: give one side H or two sides H W, positive")
    return (size[0], size[0]) if len(size) == 1 else (size[0], size[1])


def _read_mask(path) -> torch.Tensor:
    path = Path(path)
    if path.suffix == ".npy":
        return torch.from_numpy(np.load(path, allow_pickle=False)).bool()
    try:
        return torch.from_numpy(read_image(path, gray=True)[0] > 127)
    except ValueError as e:
        raise DataError(f"mask {path}: {e}; pass a .npy or a black/white image") from None


def _read_measurement(path) -> torch.Tensor:
    try:
        m = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npy measurement ({e})") from None
    return torch.from_numpy(np.asarray(m, dtype=np.float32)).reshape(1, -1)


def _save_npy(path: Path, array) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def _grid(images: torch.Tensor, path: Path) -> None:
    save_image_grid(images.detach().cpu().clamp(0, 1), path, save_data=False)


def result_grid(result: SampleResult, path: Path) -> Path | None:
    """A PNG grid of the converged samples only: a failed sample is never drawn as if it were
    one. When some failed, the title says how many converged and which were left out; when all
    failed, no grid is written (and an old one at `path` is removed). Returns the path or None."""
    path = Path(path)
    n, failed = len(result.samples), result.failed
    if len(failed) == n:
        path.unlink(missing_ok=True)
        return None
    good = result.good().detach().cpu().clamp(0, 1)
    if not failed:
        return save_image_grid(good, path, save_data=False)
    shown = ", ".join(f"#{i}" for i in failed[:8]) + (", ..." if len(failed) > 8 else "")
    title = f"{n - len(failed)} of {n} samples; failed, left out: {shown}"
    return save_image_grid(good, path, title=title, save_data=False)

