"""FID and KID (95% bootstrap intervals) of Fashion-MNIST models' samples against held-out
Fashion-MNIST test images, with the real-against-real value at each image size beside them:
the sample-quality table of the README (`gahr.workflows.quality`).

Each model draws `--n` samples (seeds 0..n-1, `gahr sample`'s seeds, the `--preset` sampler,
kadkhodaie2021 by default) into OUT/NAME.npz (kept: a rerun measures again without sampling);
the features are the shipped classifier's (`fashion32`), 16x16 images brought to 32x32
bilinearly, their reference images area-averaged to 16x16 and brought back the same way.

    OMP_NUM_THREADS=1 python tools/quality_table.py --out DIR [--n 200] [--preset P] [SPEC ...]
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from gahr.io import save_json
from gahr.nets import load_denoiser
from gahr.sample import preset
from gahr.workflows.quality import model_quality
from gahr.workflows.sample_files import sample_to_files

MODELS = ("pretrained:fashion32", "pretrained:fashion16-n1000-s1", "pretrained:fashion16-n10-s1")


def measure(spec: str, out: Path, n: int, sampler: str = "kadkhodaie2021") -> dict:
    path = out / (spec.replace("pretrained:", "").replace("/", "_") + ".npz")
    if not path.exists():
        sample_to_files(spec, path, preset(sampler), n=n, seed=0, progress=False)
    samples = torch.from_numpy(np.load(path)["samples"][:n])
    found = model_quality(spec, load_denoiser(spec), samples)
    converged = int(torch.isfinite(samples.flatten(1)).all(1).sum())
    row = {"model": spec, "sampler": sampler, "size": int(samples.shape[-1]),
           "converged": converged, "n": n,
           "samples": found["samples"].as_dict(), "real": found["real"].as_dict(),
           "reference": found["reference"]}
    print(f"{spec}: {found['samples'].summary()}; real: {found['real'].summary()}", flush=True)
    return row


def markdown(rows: list[dict]) -> list[str]:
    def cells(q):
        return " | ".join(f"{q[k]['value']:.{p}f} [{q[k]['low']:.{p}f}, {q[k]['high']:.{p}f}]"
                          for k, p in (("fid", 2), ("kid", 3)))

    lines = ["| images | size | converged | FID [95% interval] | KID [95% interval] |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| real test images, other half, {r['samples']['n_samples']} of them | "
                     f"{r['size']} | | {cells(r['real'])} |")
        lines.append(f"| `{r['model']}` samples | {r['size']} | {r['converged']}/{r['n']} | "
                     f"{cells(r['samples'])} |")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("specs", nargs="*", default=list(MODELS))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--preset", default="kadkhodaie2021", help="sampler preset (gahr.sample)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [measure(spec, args.out, args.n, args.preset) for spec in args.specs]
    save_json(rows, args.out / "quality.json")
    text = "\n".join(markdown(rows))
    (args.out / "quality.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
