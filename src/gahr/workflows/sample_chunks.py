"""Sampling in chunks saved as they finish: a failure part way (a full disk, a kill) keeps the
finished samples in `<out stem>.partial.npz`, and the rerun of the same command resumes after
them instead of drawing them again.

The chunks are the same whether a run is resumed or not (`chunk` seeds each, in order), so a
resumed run computes exactly what an uninterrupted one does. The partial file records what
its samples depend on (the model's weights, the shape, the schedule, the seeds, the chunk
size); a partial file of other settings is ignored and replaced.
"""

import json
from pathlib import Path

import numpy as np

from ..io import file_sha256
from ..nets.registry import WEIGHTS, resolve_model_path
from ..sample import SampleResult, synthesize

#: Seeds per chunk when no batch size is given (the sampler's default batch).
CHUNK = 64


def partial_path(out) -> Path:
    out = Path(out)
    return out.with_name(f"{out.stem}.partial.npz")


def model_key(spec) -> str:
    """What identifies the model's weights: their SHA-256 when `spec` is a gahr weights file,
    run dir or pretrained name, else the spec itself."""
    try:
        path = resolve_model_path(spec)
    except Exception:  # noqa: BLE001 - another loader's spec: the spec is the key
        return str(spec)
    file = path / WEIGHTS if path.is_dir() else path
    return file_sha256(file) if file.is_file() else str(spec)


def sample_in_chunks(denoiser, shape, seeds: list[int], schedule, out, key: dict,
                     batch_size=None, log=print, **options) -> SampleResult:
    """`synthesize(denoiser, shape, len(seeds), schedule, seeds=seeds, ...)`, `chunk` seeds
    at a time, the finished ones saved to `partial_path(out)` after each chunk (and resumed
    from it). `key`: the settings the samples depend on, beyond the seeds. The caller writes
    the whole result and then removes the partial file."""
    if not seeds:  # nothing to draw in chunks: the sampler's own checks say why
        return synthesize(denoiser, shape, 0, schedule, seeds=seeds, batch_size=batch_size,
                          **options)
    chunk = int(batch_size or CHUNK)
    key = json.dumps({**key, "seeds": [seeds[0], len(seeds)], "chunk": chunk}, sort_keys=True,
                     default=str)
    partial = partial_path(out)
    parts = [done] if (done := _resume(partial, key)) is not None else []
    start = len(done.samples) if done is not None else 0
    if start:
        log(f"resuming: {start} of {len(seeds)} samples were saved in {partial}")
    for i in range(start, len(seeds), chunk):
        part = seeds[i:i + chunk]
        parts = [SampleResult.concat([*parts, synthesize(
            denoiser, shape, len(part), schedule, seeds=part, batch_size=batch_size,
            **options)])]
        if i + chunk < len(seeds):
            parts[0].save(partial, key=np.asarray(key))
    return parts[0]


def _resume(partial: Path, key: str) -> SampleResult | None:
    """The samples saved in `partial` when they were drawn with `key`, else None."""
    if not partial.exists():
        return None
    try:
        with np.load(partial, allow_pickle=False) as f:
            same = "key" in f and str(f["key"]) == key
        return SampleResult.load(partial) if same else None
    except (OSError, ValueError, KeyError):
        return None  # unreadable: drawn again
