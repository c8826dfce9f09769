"""Train a tiny DDPM with diffusers alone (no gahr training code), then hand it to gahr.

The model is a diffusers `UNet2DModel` with a `DDPMScheduler` (epsilon prediction, images on
[-1, 1]), trained with the usual noise-prediction loss on the S1 or S2 half of a gahr
experiment's `[data]` (gahr's own split, so `gahr memorization --models` measures it against
exactly its training set). It is saved as a `DDPMPipeline` directory with gahr's `config.json`
(its `[data]`) beside, which gahr reads as `diffusers:DIR`.

    python examples/tiny_ddpm.py configs/experiments/discs_ddpm.toml --n 10 --split S1 \\
        --out runs/discs_ddpm/N10_S1
"""

import argparse
import json
import time
from pathlib import Path

import torch
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

from gahr.config import load_experiment, to_dict
from gahr.train import open_images, select


def training_images(config_path, n: int, split: str) -> tuple[torch.Tensor, dict]:
    """The split's training images (N, C, H, W) in [0, 1] and the `[data]` that names them."""
    data = load_experiment(config_path).data
    data = type(data)(**{**to_dict(data), "n_train": n, "split": split})
    return select(open_images(data), data).train, to_dict(data)


def train(images: torch.Tensor, steps: int, batch_size: int, seed: int,
          channels=(16, 32)) -> UNet2DModel:
    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=images.shape[-1], in_channels=images.shape[1],
                       out_channels=images.shape[1], layers_per_block=1,
                       block_out_channels=tuple(channels), norm_num_groups=8,
                       down_block_types=("DownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "UpBlock2D"))
    scheduler = DDPMScheduler(num_train_timesteps=1000)
    opt = torch.optim.Adam(unet.parameters(), lr=1e-3)
    lr = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for step in range(steps):
        x = images[torch.randint(len(images), (batch_size,))] * 2 - 1  # [0, 1] -> [-1, 1]
        noise = torch.randn_like(x)
        t = torch.randint(0, 1000, (batch_size,))
        loss = torch.nn.functional.mse_loss(unet(scheduler.add_noise(x, noise, t), t).sample,
                                            noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        lr.step()
        if step % 250 == 0 or step == steps - 1:
            print(f"step {step}: loss {loss.item():.4f}", flush=True)
    return unet.eval()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="a gahr experiment TOML (its [data] is used)")
    p.add_argument("--n", type=int, required=True, help="N, the training set size")
    p.add_argument("--split", choices=["S1", "S2"], required=True)
    p.add_argument("--out", required=True, help="pipeline directory to write")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--channels", type=int, nargs=2, default=[16, 32],
                   help="channels of the UNet's two levels")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    images, data = training_images(args.config, args.n, args.split)
    t0 = time.perf_counter()
    unet = train(images, args.steps, args.batch_size, args.seed, args.channels)
    out = Path(args.out)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=1000)).save_pretrained(out)
    (out / "config.json").write_text(json.dumps({"data": data}, indent=1))
    print(f"{sum(p.numel() for p in unet.parameters())} parameters, {args.steps} steps in "
          f"{time.perf_counter() - t0:.0f} s -> {out}")


if __name__ == "__main__":
    main()
