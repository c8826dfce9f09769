"""The table of src/gahr/pretrained/README.md: each shipped model's denoising PSNR on images of
its class that its training never saw (its run's held-out test set, 64 images, noise seed 123),
beside the noisy input's, at 2 / 5 / 15 / 25 / 50 / 100 (/255).

    python tools/pretrained_table.py
"""

import torch

import gahr
from gahr.metrics import evaluate
from gahr.nets import pretrained_names, resolve_model_path
from gahr.rundir import RunDir
from gahr.train import open_images, select

SIGMAS = [s / 255 for s in (2, 5, 15, 25, 50, 100)]


def row(name: str) -> str:
    run = RunDir(resolve_model_path(f"pretrained:{name}"))
    config = run.config()
    test = select(open_images(config.data), config.data).test[:64]
    out = evaluate(gahr.pretrained(name), test, SIGMAS, seed=123)
    steps = config.train.epochs * (config.train.samples_per_epoch // config.train.batch_size)
    psnr = " / ".join(f"{out[s]:.1f}" for s in SIGMAS)
    return f"| `{name}` | {run.meta()['n_train']} | {steps} x {config.train.batch_size} | {psnr} |"


def main() -> None:
    torch.set_num_threads(1)
    noisy = evaluate(lambda y: y, torch.zeros(64, 1, 32, 32), SIGMAS, seed=123)
    print("| name | N | steps x batch | held-out PSNR (dB) at 2 / 5 / 15 / 25 / 50 / 100 (/255) |")
    print("| --- | --- | --- | --- |")
    print("| noisy input | | | " + " / ".join(f"{noisy[s]:.1f}" for s in SIGMAS) + " |")
    for name in pretrained_names():
        print(row(name), flush=True)


if __name__ == "__main__":
    main()
