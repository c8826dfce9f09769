"""End-of-run figures: PSNR against epoch, and a test image denoised at each eval sigma."""

from pathlib import Path

import torch

from ..io import atomic_path
from ..metrics import noise_sample, sigma_label
from .objective import eval_denoiser


def write_figures(net, data, tc, rows: list[dict], out_dir) -> None:
    """`psnr.png` (train/test PSNR per sigma against epoch) and `denoised.png`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, sigma in enumerate(tc.eval_sigmas):
        for part, style in (("train", "--"), ("test", "-")):
            key = f"{part}_psnr_{sigma_label(sigma)}"
            pts = [(r["epoch"], r[key]) for r in rows if key in r]
            if pts:
                ax.plot(*zip(*pts), style, color=f"C{i}",
                        label=f"{part}, sigma={sigma_label(sigma)}/255")
    ax.set(xlabel="epoch", ylabel="PSNR (dB)", title="denoising PSNR")
    ax.legend(fontsize=6, ncol=2)
    _save(fig, out_dir / "psnr.png")
    plt.close(fig)

    images = data.test if len(data.test) else data.train
    x = images[:1].to(next(net.parameters()).device)
    sigmas = torch.tensor(tc.eval_sigmas, device=x.device).view(-1, 1, 1, 1)
    y = x + sigmas * noise_sample(x.shape, tc.seed, x.device)
    with torch.no_grad():
        x_hat = eval_denoiser(net.eval())(y, sigma=sigmas)
    fig, axes = plt.subplots(2, len(sigmas), figsize=(1.6 * len(sigmas), 3.4), squeeze=False)
    for j in range(len(sigmas)):
        for i, img in enumerate((y[j], x_hat[j])):
            shown = img.clamp(0, 1).permute(1, 2, 0).cpu().numpy()
            axes[i, j].imshow(shown.squeeze(-1) if shown.shape[-1] == 1 else shown,
                              cmap="gray", vmin=0, vmax=1)
            axes[i, j].axis("off")
        axes[0, j].set_title(f"sigma={sigma_label(float(sigmas[j]))}/255", fontsize=7)
    _save(fig, out_dir / "denoised.png")
    plt.close(fig)


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
