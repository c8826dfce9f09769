"""The paper presets (configs/paper/*.toml: 80x80, UNet 64 kernels / 3 blocks, batch 512) end to
end for a few steps: one prepared command to run when a GPU is lent.

On a CUDA device, per preset: images/second of `gahr.train.train` in float32 and in bf16 +
torch.compile (their ratio), the peak GPU memory of each, and one `torchrun --nproc-per-node 1
-m gahr train` over NCCL (its exit status and wall seconds). On a CPU: the same presets for
`--steps` steps (default 2) at a batch of `--cpu-batch` (default 4; 512 images of 80x80 through
this UNet take minutes a step on one core), float32 only: the pipeline runs, not a speed.

The data are generated discs at 80x80 for every preset (the CelebA preset's .npy is not needed):
the check measures the training pipeline, whose cost does not depend on the pixels.

    python benchmarks/gpu_check.py [--steps 5] [--presets celeba80_unet ...] [--no-torchrun]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from gahr.config import load_config
from gahr.data import open_dataset, save_images
from gahr.train import train

PAPER = Path(__file__).resolve().parents[1] / "configs" / "paper"


def overrides(steps: int, batch: int, device: str, data: str | None = None) -> list[str]:
    """Settings that shrink a preset's run to `steps` steps on a small generated set."""
    out = ["train.epochs=1", f"train.samples_per_epoch={steps * batch}",
           f"train.batch_size={batch}", "train.eval_images=8", "train.eval_sigmas=[0.1]",
           "data.split=all", "data.n_train=all", "data.n_test=8", f"train.device={device}",
           "data.size=80"]
    return out + ([f"data.source={data}", "data.options={}"] if data else [])


def timed_train(preset: Path, images: torch.Tensor, sets: list[str]) -> dict:
    """Train for a few steps; images/second over steps 2..end and the peak CUDA memory."""
    config = load_config(preset, sets)
    stamps = []

    def stamp(epoch, step, loss):
        loss.item()  # waits for the device
        stamps.append(time.perf_counter())

    cuda = config.train.device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as run_dir:
        train(config, run_dir, images=images, progress=False, callbacks=[stamp])
    rate = ((len(stamps) - 1) * config.train.batch_size / (stamps[-1] - stamps[0])
            if len(stamps) > 1 else float("nan"))
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    return {"img_s": rate, "steps": len(stamps), "peak_gib": peak}


def torchrun(preset: Path, sets: list[str]) -> dict:
    """One `torchrun --nproc-per-node 1 -m gahr train` over NCCL: exit status and wall time."""
    with tempfile.TemporaryDirectory() as run_dir:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "1", "-m",
               "gahr", "train", str(preset), "--quiet", "--out", run_dir]
        for s in sets:
            cmd += ["--set", s]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        wall = time.perf_counter() - start
    tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
    return {"rc": done.returncode, "wall_s": wall, "last_line": tail[0]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=None, help="default: 5 on CUDA, 2 on a CPU")
    p.add_argument("--cpu-batch", type=int, default=4)
    p.add_argument("--presets", nargs="+", default=sorted(f.stem for f in PAPER.glob("*.toml")))
    p.add_argument("--no-torchrun", action="store_true")
    args = p.parse_args(argv)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    steps = args.steps or (5 if cuda else 2)
    print(f"device: {torch.cuda.get_device_name(0) if cuda else 'cpu (no CUDA device)'}, "
          f"torch {torch.__version__}, {steps} steps per run", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.presets:
            preset = PAPER / f"{name}.toml"
            batch = load_config(preset).train.batch_size if cuda else args.cpu_batch
            images = open_dataset("discs", n=2 * batch + 16, size=80, seed=0)
            data = Path(tmp) / f"{name}.npy"
            save_images(images, data)
            sets = overrides(steps + 1, batch, device, str(data))
            fp32 = timed_train(preset, images, sets)
            row = {"preset": name, "batch": batch, "fp32": fp32}
            line = (f"{name}: batch {batch}, fp32 {fp32['img_s']:.1f} img/s over "
                    f"{fp32['steps']} steps")
            if cuda:
                fast = timed_train(preset, images, [*sets, "train.amp=bf16",
                                                    "train.compile=true"])
                row["bf16_compile"] = fast
                line += (f", bf16+compile {fast['img_s']:.1f} img/s "
                         f"(x{fast['img_s'] / fp32['img_s']:.2f}), peak memory "
                         f"{fp32['peak_gib']:.1f} / {fast['peak_gib']:.1f} GiB")
                if not args.no_torchrun:
                    row["torchrun"] = run = torchrun(preset, sets)
                    line += f"; torchrun x1 NCCL rc {run['rc']} in {run['wall_s']:.0f} s"
            print(line, flush=True)
            rows.append(row)
    return 0 if all(r["fp32"]["steps"] >= steps for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
