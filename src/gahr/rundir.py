"""One training run on disk (a "run dir"): its file names, whether it finished, its config and
the image size its model was trained on. Every module finds a run's files through here.

    <run>/config.json        the resolved run config (`gahr.config.save_config`)
    <run>/model.safetensors  the weights, the architecture in their metadata (`gahr.nets.save`)
    <run>/model.json         the same description and the model's meta, as plain JSON
    <run>/checkpoint.pt      the state to resume from, loadable with weights_only=True
    <run>/metrics.csv        one row per evaluated epoch
    <run>/figures/           the end-of-run figures
    <run>/snapshots/         weights along training, `step{S:08d}.safetensors` after global
                             step S (`train.snapshot_steps`; `gahr.train.snapshots`)
    <run>/complete.json      written last: the SHA-256 of the weights and the run's files

A run is finished when its checkpoint has reached the epochs asked for and its completion
record lists files that are all there, beside the very weights it recorded. A run killed (or
out of disk) after its last checkpoint has no record: the rerun writes its end (weights,
model.json, figures) again from the checkpoint. Weights that differ from the record (damaged,
or another run's) are refused, never trusted.

The two model files are the weights format of `gahr.nets` (any directory or file can hold
them, e.g. a shipped `pretrained:NAME`); a run dir adds the others.
"""

import contextlib
import json
import shutil
from pathlib import Path

import torch

from .config import Config, read_config
from .errors import CheckpointError, ConfigError
from .io import check_out_dir, file_sha256, save_json
from .nets.registry import MODEL_JSON, WEIGHTS

CONFIG_JSON, CHECKPOINT, METRICS_CSV, FIGURES, COMPLETE, SNAPSHOTS = (
    "config.json", "checkpoint.pt", "metrics.csv", "figures", "complete.json", "snapshots")

__all__ = ["CHECKPOINT", "COMPLETE", "CONFIG_JSON", "FIGURES", "METRICS_CSV", "MODEL_JSON",
           "RunDir", "SNAPSHOTS", "WEIGHTS", "trained_image_size"]


def trained_image_size(meta: dict, data: dict | None = None) -> tuple[int, int] | None:
    """(H, W) a model was trained on: what it saw (`meta["image_size"]`), else the side its
    `[data]` section names (`meta["data"]`, else `data`); None when neither records it."""
    if meta.get("image_size"):
        return tuple(int(s) for s in meta["image_size"])
    size = (meta.get("data") or {}).get("size") or (data or {}).get("size")
    return None if size is None else (int(size), int(size))


class RunDir:
    """A run dir at `path` (which need not exist yet)."""

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    config_json = property(lambda self: self.path / CONFIG_JSON)
    weights = property(lambda self: self.path / WEIGHTS)
    model_json = property(lambda self: self.path / MODEL_JSON)
    checkpoint = property(lambda self: self.path / CHECKPOINT)
    metrics_csv = property(lambda self: self.path / METRICS_CSV)
    figures = property(lambda self: self.path / FIGURES)
    complete = property(lambda self: self.path / COMPLETE)
    snapshots = property(lambda self: self.path / SNAPSHOTS)

    def snapshot(self, step: int) -> Path:
        """The weights file of the snapshot after global step `step`."""
        return self.snapshots / f"step{int(step):08d}.safetensors"

    def snapshot_steps(self) -> list[int]:
        """Global steps of the snapshots on disk, ascending."""
        if not self.snapshots.is_dir():
            return []
        return sorted(int(p.stem[4:]) for p in self.snapshots.glob("step*.safetensors")
                      if p.stem[4:].isdigit())

    def check_writable(self) -> "RunDir":
        """OutputError unless the path is new, empty or a run dir (config.json or
        checkpoint.pt): a file or a directory holding other things is refused."""
        check_out_dir(self.path, (CONFIG_JSON, CHECKPOINT), "training run")
        return self

    def delete(self) -> None:
        """Remove the run's own files (those named above) and then the directory if it is
        left empty; anything else in it stays."""
        for path in (self.complete, self.config_json, self.weights, self.model_json,
                     self.checkpoint, self.metrics_csv):
            path.unlink(missing_ok=True)
        for folder in (self.figures, self.snapshots):
            if folder.is_dir():
                shutil.rmtree(folder)
        with contextlib.suppress(OSError):
            self.path.rmdir()

    def weights_digest(self) -> str | None:
        """SHA-256 of the weights file (None before there is one): what results computed from
        the model record, so that they are recomputed when the model changes."""
        return file_sha256(self.weights) if self.weights.exists() else None

    def has_model(self) -> bool:
        """True when the run has written its trained weights."""
        return self.weights.exists()

    def read_checkpoint(self) -> dict | None:
        """The checkpoint (plain tensors and numbers), or None when there is none."""
        if not self.checkpoint.exists():
            return None
        try:
            return torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
            raise CheckpointError(f"{self.checkpoint} cannot be read ({type(e).__name__}: {e}); "
                                  "delete it to start the run over") from None

    def is_finished(self, epochs: int) -> bool:
        """True when the run holds a net trained for at least `epochs` epochs and everything
        its completion record lists; CheckpointError when its weights are not the ones the
        record names. False for a run whose end was cut short (its rerun writes it again)."""
        if not self.has_model():
            return False
        ckpt = self.read_checkpoint()
        if ckpt is None or ckpt["epoch"] < epochs:
            return False
        record = self.completion()
        if record is None:
            return False
        self.verify_weights(record)
        return all((self.path / name).exists() for name in record.get("files", ()))

    def write_completion(self) -> dict:
        """Write complete.json (after everything else): the weights' SHA-256 and the run's
        files, relative to the run dir. Returns the record."""
        names = [p.relative_to(self.path).as_posix() for p in sorted(self.path.rglob("*"))
                 if p.is_file() and not p.name.startswith(".") and p != self.complete]
        record = {"weights_sha256": self.weights_digest(), "files": names}
        save_json(record, self.complete)
        return record

    def completion(self) -> dict | None:
        """The completion record, None when there is none (or it was cut short)."""
        try:
            record = json.loads(self.complete.read_text())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def verify_weights(self, record: dict | None = None) -> None:
        """CheckpointError when the weights differ from those the completion record names (no
        record: nothing to check)."""
        record = self.completion() if record is None else record
        if record is None or record.get("weights_sha256") == self.weights_digest():
            return
        raise CheckpointError(
            f"{self.weights} is not the file this run wrote (its SHA-256 differs from the one "
            f"in {COMPLETE}: damaged or replaced); delete {WEIGHTS} and {COMPLETE} to write "
            "them again from the checkpoint, or train it again (--retrain, or a new --out)")

    def saved_config(self) -> dict:
        """config.json as a plain dict ({} when the run has none, e.g. a converted model)."""
        if not self.config_json.exists():
            return {}
        try:
            return json.loads(self.config_json.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"cannot read config {self.config_json} ({e})") from None

    def config(self, cls=None):
        """config.json as a checked config dataclass (`gahr.config.Config` by default)."""
        return read_config(self.config_json, cls or Config)

    def meta(self) -> dict:
        """The model's saved meta (model.json), {} before the run has saved a model."""
        if not self.model_json.exists():
            return {}
        return json.loads(self.model_json.read_text()).get("meta") or {}

    def image_size(self) -> tuple[int, int] | None:
        """(H, W) the run's model was trained on (see `trained_image_size`)."""
        return trained_image_size(self.meta(), self.saved_config().get("data"))

    def data_source(self) -> str | None:
        """The `data.source` the run was trained on, as its config names it."""
        return (self.saved_config().get("data") or {}).get("source")
