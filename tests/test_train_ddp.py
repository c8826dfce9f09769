"""DDP on 2 gloo processes equals one process with the same global batch.

Fair comparison: a net without batch normalization (a 2-layer BF-CNN: conv, ReLU, conv). BF
batch-norm normalizes by per-rank statistics under DDP (there is no synchronized bias-free
norm), so a BN net under DDP optimizes a slightly different objective than one process does
on the whole batch, exactly as torch's own BatchNorm without SyncBatchNorm. Without BN the two
objectives are identical: each rank's loss is its shard's summed squared error / (B / 2), DDP
averages the two gradients, giving the gradient of the global sum / B. Every rank draws the
whole global batch's sigmas and noise from the shared generator and keeps its own shard, so
both runs see the same samples; they then differ only by float summation order (per-rank sums
and the all-reduce), ~1e-7 relative per step, which Adam's normalized update keeps at that
size. Were the shards not distinct (both ranks training on the same half), the weights would
differ by ~lr per step, far beyond the tolerance.
"""

import socket

import pytest
import torch
import torch.multiprocessing as mp
from test_train import discs

from gahr.config import load_config
from gahr.train import train


def _config():
    return load_config(None, ["model.arch=bfcnn", "model.num_kernels=8", "model.num_layers=2",
                              "train.epochs=2", "train.samples_per_epoch=48",
                              "train.batch_size=8", "train.eval_sigmas=[0.2]",
                              "train.eval_images=8", "data.n_test=8", "train.device=cpu",
                              "train.threads=1", "train.lr=1e-2"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, run_dir: str, images, config) -> None:
    import os

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    train(config, run_dir, images=images, progress=False)


def test_two_gloo_ranks_match_one_process(tmp_path):
    images, config = discs(64, 12), _config()
    single = train(config, tmp_path / "single", images=images, progress=False)
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "ddp"), images, config), nprocs=2,
             join=True)
    ddp = torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=True)
    assert ddp["epoch"] == 2
    ref = single.net.state_dict()
    moved = max((ref[k] - single_init).abs().max().item()
                for k, single_init in _initial(config, images).items())
    for k, v in ddp["model"].items():
        torch.testing.assert_close(v, ref[k], rtol=1e-4, atol=1e-5)
    assert moved > 100 * 1e-5  # training moved the weights far beyond the tolerance


def _initial(config, images) -> dict:
    from gahr.train import build_net, select

    return build_net(config, select(images, config.data).train).state_dict()


@pytest.mark.slow
def test_ddp_with_batch_norm_stays_close(tmp_path):
    """With BF batch-norm the per-rank statistics change the objective a little: the
    DDP-trained UNet denoises as well as the single-process one (test PSNR within 0.5 dB)."""
    images = discs(256, 16)
    config = load_config(None, ["model.num_kernels=8", "model.num_blocks=2", "train.epochs=2",
                                "train.samples_per_epoch=1024", "train.batch_size=32",
                                "train.eval_sigmas=[\"50/255\"]", "data.n_test=64",
                                "train.device=cpu", "train.threads=1"])
    single = train(config, tmp_path / "single", images=images, progress=False)
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "ddp"), images, config), nprocs=2,
             join=True)
    from gahr.train import read_metrics

    ddp = read_metrics(tmp_path / "ddp")[-1]
    assert abs(ddp["test_psnr_50"] - single.metrics["test_psnr_50"]) < 0.5


@pytest.mark.slow
def test_torchrun_cli_runs_and_resumes(tmp_path):
    """`torchrun --nproc-per-node 2 -m gahr train` trains; rank 0 alone writes the run dir."""
    import subprocess
    import sys
    from pathlib import Path

    preset = Path(__file__).resolve().parents[1] / "configs" / "test" / "tiny.toml"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-port", str(_free_port()), "-m", "gahr", "train", str(preset),
           "--set", "train.threads=1", "--out", str(tmp_path), "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("trained:") == 1 and "trained: epoch 2" in done.stdout
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["epoch"] == 2
