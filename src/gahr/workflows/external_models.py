"""The memorization experiment on models trained outside gahr: `[memorization] models`.

`models` is a spec template with `{n}` and `{split}`, e.g. "diffusers:runs/ddpm/N{n}_{split}":
for each N of the sweep and each split S1/S2 the experiment loads that model
(`load_denoiser`) instead of the sweep's run dir, trains nothing, and measures it on the
split's training images from the config's `[data]` (the same S1/S2 split gahr's own runs get:
the first / last N of one seeded permutation). The models must have been trained on exactly
those images; gahr cannot check that. A model's record names it by a digest of its weights
files, so a rerun recomputes an N whose models changed.
"""

import hashlib

from ..errors import ConfigError, ShapeError
from ..nets import load_denoiser
from ..nets.registry import resolve_model_path
from ..rundir import RunDir


def check_template(template: str) -> None:
    """ConfigError unless the template names both {n} and {split} and nothing else."""
    try:
        names = {template.format(n=1, split="S1"), template.format(n=2, split="S2")}
    except (KeyError, IndexError, ValueError) as e:
        raise ConfigError(f"memorization.models={template!r}: use the fields {{n}} and "
                          f"{{split}} only ({e})") from None
    if len(names) < 2 or "{split}" not in template or "{n}" not in template:
        raise ConfigError(f"memorization.models={template!r} must name {{n}} and {{split}}, "
                          "e.g. \"diffusers:runs/ddpm/N{n}_{split}\"")


def external_pairs(pairs: dict, template: str) -> dict:
    """The sweep's {N: {split: Job}} with each job's run_dir replaced by its model spec."""
    check_template(template)
    return {n: {split: job._replace(run_dir=template.format(n=n, split=split))
                for split, job in jobs.items()} for n, jobs in pairs.items()}


def check_external(pairs: dict, data, device="cpu") -> None:
    """Load every model once before the long work: a one-line error for a missing or broken
    one, or for one of another image size than the sweep's `[data]`."""
    for jobs in pairs.values():
        for job in jobs.values():
            den = load_denoiser(job.run_dir, device)
            size = getattr(den, "image_size", None)
            if size is not None and data.size is not None and int(size) != int(data.size):
                raise ShapeError(f"{job.run_dir} takes {size}x{size} images but the sweep's "
                                 f"[data] has size {data.size}; set data.size = {size}")


def model_digest(spec) -> str | None:
    """SHA-256 of a model's weights: a gahr run's weights file, else every .safetensors file
    under the spec's path (by relative name and content); None when there is none."""
    path = resolve_model_path(spec)
    run = RunDir(path)
    if run.has_model():
        return run.weights_digest()
    files = sorted(path.rglob("*.safetensors")) if path.is_dir() else \
        [path] if path.is_file() else []
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        with open(file, "rb") as f:
            for block in iter(lambda f=f: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()

