"""The table of src/gahr/pretrained/README.md: each shipped model's denoising PSNR on images of
its class that its training never saw (its run's held-out test set, 64 images, noise seed 123;
a memorizer also on its training images), beside the noisy input's, at 2 / 5 / 15 / 25 / 50 /
100 (/255).

    python tools/pretrained_table.py
"""

import torch

import gahr
from gahr.metrics import evaluate
from gahr.nets import MEMORIZING_PRETRAINED, pretrained_names, resolve_model_path
from gahr.rundir import RunDir
from gahr.train import open_images, select

SIGMAS = [s / 255 for s in (2, 5, 15, 25, 50, 100)]


def rows(name: str) -> list[str]:
    run = RunDir(resolve_model_path(f"pretrained:{name}"))
    config = run.config()
    data = select(open_images(config.data), config.data)
    steps = config.train.epochs * (config.train.samples_per_epoch // config.train.batch_size)
    parts = [("held-out", data.test)]
    if name in MEMORIZING_PRETRAINED:  # what a memorizer denoises: its own training images
        parts.append(("its training", data.train))
    denoiser, n_train = gahr.pretrained(name), run.meta()["n_train"]
    out = []
    for what, images in parts:
        psnr = evaluate(denoiser, images[:64], SIGMAS, seed=123)
        text = " / ".join(f"{psnr[s]:.1f}" for s in SIGMAS)
        out.append(f"| `{name}` | {n_train} | {steps} x {config.train.batch_size} | {what} | "
                   f"{text} |")
    return out


def main() -> None:
    torch.set_num_threads(1)
    noisy = evaluate(lambda y: y, torch.zeros(64, 1, 32, 32), SIGMAS, seed=123)
    print("| name | N | steps x batch | images | PSNR (dB) at 2 / 5 / 15 / 25 / 50 / 100 (/255) |")
    print("| --- | --- | --- | --- | --- |")
    print("| noisy input | | | any | " + " / ".join(f"{noisy[s]:.1f}" for s in SIGMAS) + " |")
    for name in pretrained_names():
        print("\n".join(rows(name)), flush=True)


if __name__ == "__main__":
    main()
