"""Configuration: frozen dataclasses loaded from TOML, overridden with `section.key=value`,
saved as JSON. One source of truth per default: the dataclass fields below.

A training run is `Config` ([data] [model] [train]); a sweep adds [sweep] (`SweepConfig`); the
memorization experiment adds [memorization] (`ExperimentConfig`). `load_config(path,
overrides, cls=...)` reads any of them; an unknown key or a value of the wrong type raises
`ConfigError` naming the key. The dict <-> dataclass machinery is `gahr.configfiles`. Model
settings are checked against the architecture's constructor, data options against the
generator's signature, so a misspelt option fails when the file is read, not hours later.
"""

import inspect
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .configfiles import (  # noqa: F401 - re-exported: where they have always been imported
    apply_overrides,
    coerce,
    from_dict,
    parse_override,
    read_toml,
    to_dict,
)
from .errors import ConfigError
from .snapshot_steps import check_snapshot_spec

Split = Literal["S1", "S2", "all"]
SPLITS = ("S1", "S2")  # the disjoint pair of the memorization experiment


def typed_arguments(params, values: dict, where: str, owner: str, also_valid=()) -> dict:
    """`values` checked against a signature's `params` (name -> inspect.Parameter): every
    key a parameter of it, every value coerced to its annotation (else its default's type).
    `also_valid`: the section's other keys, named first in the error."""
    out = {}
    for key, value in values.items():
        if key not in params:
            raise ConfigError(f"unknown key {where}{key} for {owner}; valid keys: "
                              f"{', '.join([*also_valid, *params]) or 'none'}")
        p = params[key]
        if p.annotation is not inspect.Parameter.empty:
            tp = p.annotation
        elif p.default is inspect.Parameter.empty or p.default is None:
            tp = typing.Any
        else:
            tp = type(p.default)
        out[key] = coerce(tp, value, f"{where}{key}")
    return out


@dataclass(frozen=True)
class DataConfig:
    """`[data]`: which images, and which subset of them is the training set."""

    source: str = "discs"  # "calpha" | "discs" | "fashion-mnist" | path to a .npy file
    num_images: int | None = None  # images to load or generate (None: the source's default)
    size: int | None = None  # image side in pixels (None: the source's native size)
    seed: int = 0  # seed of synthetic generation
    options: dict = field(default_factory=dict)  # passed to gahr.data.open_dataset
    n_train: int | Literal["all"] = "all"  # N, the training set size
    split: Split = "all"  # S1 / S2: disjoint halves of one seeded permutation
    split_seed: int = 0
    n_test: int = 256  # held-out images for the test PSNR

    def __post_init__(self):
        if self.n_train != "all" and self.n_train < 1:
            raise ConfigError(f"data.n_train={self.n_train}; use a positive N or \"all\"")
        if self.n_test < 0:
            raise ConfigError(f"data.n_test={self.n_test}; use 0 or more held-out images")
        if self.num_images is not None and self.num_images < 1:
            raise ConfigError(f"data.num_images={self.num_images}; use at least 1, or leave it "
                              "out for every image of the source")
        if self.size is not None and self.size < 1:
            raise ConfigError(f"data.size={self.size}; use a positive image side in pixels")
        from .data import source_options

        params = source_options(self.source)  # None: a path that does not exist yet
        if params is not None:
            object.__setattr__(self, "options", typed_arguments(
                params, self.options, "data.options.", f"source {self.source!r}"))


@dataclass(frozen=True)
class ModelConfig:
    """`[model]`: `arch` plus that architecture's settings (passed to `gahr.nets.build`).

    In TOML the settings sit flat beside `arch` (`num_kernels = 32`); `channels` defaults to
    the data's channel count.
    """

    arch: str = "unet"
    config: dict = field(default_factory=dict)

    @classmethod
    def _from_dict(cls, data: dict, where: str) -> "ModelConfig":
        from .nets import ARCHITECTURES

        data = dict(data)
        arch = data.pop("arch", cls.arch)
        if arch not in ARCHITECTURES:
            raise ConfigError(f"{where}arch={arch!r} is unknown; choose one of "
                              f"{', '.join(sorted(ARCHITECTURES))}")
        params = inspect.signature(ARCHITECTURES[arch]).parameters
        config = typed_arguments(params, data, where, f"arch {arch!r}", also_valid=("arch",))
        return cls(arch=arch, config=config)

    def _to_dict(self) -> dict:
        return {"arch": self.arch, **self.config}


#: The training recipes: values of the recipe fields of `TrainConfig` that a run leaves unset.
#: "paper" is every choice of the paper's code (Kaiming init of every conv, its small random
#: BF-norm gains, summed squared error, learning rate halved every `lr_halve_every` epochs, no
#: weight average, no clipping). "modern" is what `benchmarks/recipe.py` measured best per step
#: on a CPU budget; the measured effect of each choice is in the field comments below (UNet
#: 16 kernels / 2 blocks, batch 32, 600 steps unless said, PSNR on fresh images at
#: 0 / 2 / 5 / 15 / 25 / 50 / 100 (/255); "C^alpha" is blurred alpha = 2 at 32x32, "FMNIST"
#: Fashion-MNIST 32x32; the full table is in README.md).
RECIPES: dict[str, dict] = {
    "paper": dict(norm_gain_init="paper", output_init="kaiming", ema_decay=0.0,
                  loss_weight="none", lr_schedule="halving", warmup_steps=0, grad_clip=0.0),
    "modern": dict(norm_gain_init="paper", output_init="kaiming", ema_decay=0.0,
                   loss_weight="balanced", lr_schedule="cosine", warmup_steps=0, grad_clip=0.0),
}


@dataclass(frozen=True)
class TrainConfig:
    """`[train]`: noise sampling, optimization, evaluation and the device.

    The recipe fields (`norm_gain_init` .. `grad_clip`, default None) take the values of
    `RECIPES[recipe]` unless set; the saved config holds the resolved values.
    """

    epochs: int = 1000
    samples_per_epoch: int = 250_000  # small sets are repeated: every N sees the same steps
    batch_size: int = 512
    lr: float = 1e-3  # 2e-3: +0.2 to +2.1 dB at every sigma after 600 and 3000 steps (modern)
    lr_halve_every: int = 100  # epochs (lr_schedule = "halving")
    sigma_min: float = 0.0  # on the [0, 1] intensity scale
    sigma_max: float = 1.0
    sigma_dist: Literal["uniform", "quadratic"] = "uniform"  # quadratic: sqrt(sigma) uniform
    recipe: Literal["modern", "paper"] = "modern"
    # BF-norm gains: "paper" N(0, (2/9/64)^2) clamped to +-0.025, so a fresh net is close to
    # the identity denoiser; "ones" (the usual batch-norm init; a fresh net's residual is then
    # as large as the image). Paper against ones (both Kaiming output, plain loss, halving):
    # +4.3 / +3.4 / +2.8 dB at 0 / 15 / 25 (/255) on C^alpha, +5.2 / +3.9 / +3.1 on FMNIST.
    norm_gain_init: Literal["paper", "ones"] | None = None
    # The last conv: "kaiming" as every other conv (the paper), or "zero" (residual exactly 0).
    # One near-identity start is enough: zero output AND paper gains start so flat that the
    # modern recipe loses 1.6 / 16 dB at 0/255 and 0.3 / 2.4 dB at 100/255 on C^alpha / FMNIST.
    # Zero output with gains 1 is as good as Kaiming output with the paper's gains from 5/255
    # up (within 0.6 dB), and better below on C^alpha (+3.0 / +2.2 dB at 0 / 2 (/255)); the
    # default keeps the paper's initialization, which needs no change to the architecture.
    output_init: Literal["kaiming", "zero"] | None = None
    # Exponential moving average of the weights (0: off). The decay used at step t is
    # min(ema_decay, (1 + t) / (10 + t)), so short runs average over their last ~10% of steps.
    # The average is what is evaluated and saved; its BF-norm running sds are recomputed from
    # training batches before each evaluation (they are not averaged: the averaged weights
    # produce activations of another scale than the weights whose statistics were tracked).
    # Measured effect with the cosine schedule, whose steps shrink to 0 at the end: none
    # (within 0.1 dB at 600 and 3000 steps); with the paper's halving: 0 to -0.9 dB. Off.
    ema_decay: float | None = None
    # "none": summed squared error (the paper). "inverse_variance": each image's squared error
    # divided by max(sigma, 1/255)^2. "balanced": times s_w^2 / (sigma^2 + s_w^2), s_w =
    # loss_sigma_w: plain below s_w, per unit noise variance above it. The plain loss is
    # dominated by the high noise levels and leaves an error floor on clean images (C^alpha
    # 32.3 dB at 0/255 after 600 steps, worse than the noisy input from 5/255 down); balanced
    # with s_w = 0.05 gives 39.3 dB there and beats the input from 5/255 up, for -1.1 / -1.6 dB
    # at 50 / 100 (/255); on C^alpha s_w = 0.1 / 0.2 trade 2.8 / 4.7 dB at 0/255 for +0.7 /
    # +1.3 dB at 100/255; inverse_variance goes further (+18 dB at 0/255, -2.8 at 100/255).
    loss_weight: Literal["none", "inverse_variance", "balanced"] | None = None
    loss_sigma_w: float = 0.05
    # "halving": lr * 0.5^(epoch // lr_halve_every) (the paper); "cosine": per step, from lr
    # to 0 over the whole run, after `warmup_steps` of linear warm-up. Cosine against halving
    # (every 30% of the run): within 0.5 dB at 600 and 3000 steps; cosine needs no tuning of
    # lr_halve_every to the run's length.
    lr_schedule: Literal["halving", "cosine"] | None = None
    warmup_steps: int | None = None
    # Max global gradient norm; 0: no clipping. Clipping at 1 moved PSNR by -0.8 to +0.4 dB.
    grad_clip: float | None = None
    eval_sigmas: tuple[float, ...] = (5 / 255, 15 / 255, 25 / 255, 50 / 255, 100 / 255)
    eval_images: int = 256  # training images used for the train PSNR
    eval_every: int = 1  # epochs
    init: Literal["kaiming", "default"] = "kaiming"  # convs: kaiming normal, fan_in (the paper)
    seed: int = 0
    device: str = "auto"
    amp: Literal["off", "bf16"] = "off"
    compile: bool = False
    channels_last: Literal["auto", "on", "off"] = "auto"  # auto: on for CPU and CUDA
    threads: int = 0  # torch CPU threads; 0: torch's default (cores / ranks under DDP)
    # Weights kept along training (`gahr.snapshot_steps`): [100, 1000] or "log:K[:FIRST]".
    snapshot_steps: str | tuple[int, ...] = ()

    def __post_init__(self):
        check_snapshot_spec(self.snapshot_steps)
        for key, value in RECIPES[self.recipe].items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        for name in ("epochs", "samples_per_epoch", "batch_size", "lr_halve_every",
                     "eval_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name}={getattr(self, name)} must be at least 1")
        if not self.lr > 0:
            raise ConfigError(f"train.lr={self.lr} must be positive")
        if not 0 <= self.sigma_min < self.sigma_max:
            raise ConfigError(f"train.sigma_min={self.sigma_min:g} and sigma_max="
                              f"{self.sigma_max:g}: need 0 <= sigma_min < sigma_max "
                              "(noise levels on the [0, 1] scale)")
        if any(not s > 0 for s in self.eval_sigmas):
            raise ConfigError(f"train.eval_sigmas={list(self.eval_sigmas)}: every noise level "
                              "must be positive")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"train.ema_decay={self.ema_decay} must be in [0, 1); 0 is off")
        if not (self.loss_sigma_w > 0 and self.warmup_steps >= 0 and self.grad_clip >= 0):
            raise ConfigError("train.loss_sigma_w must be > 0, train.warmup_steps and "
                              "train.grad_clip >= 0 (0: off)")


@dataclass(frozen=True)
class Config:
    """A training run: `[data]`, `[model]`, `[train]`."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass(frozen=True)
class SweepSection:
    """`[sweep]`: one training run per (N, split)."""

    n_train: tuple[int | Literal["all"], ...] = (1, 10, 100, 1000)
    splits: tuple[Split, ...] = ("S1", "S2")
    out: str = "runs/sweep"  # run dirs are <out>/N{n}_{split}/
    # Jobs trained at once, each in its own process with train.threads threads (workers = 2
    # with threads = 1 keeps both cores of a 2-core machine busy on small nets).
    workers: int = 1

    def __post_init__(self):
        if not self.n_train or not self.splits:
            raise ConfigError("sweep.n_train and sweep.splits must each list at least one value")
        if self.workers < 1:
            raise ConfigError(f"sweep.workers={self.workers} must be at least 1")


@dataclass(frozen=True)
class SweepConfig(Config):
    """A sweep: the base run's sections plus `[sweep]`."""

    sweep: SweepSection = field(default_factory=SweepSection)


@dataclass(frozen=True)
class MemorizationSection:
    """`[memorization]`: sampling and metric settings of the analysis stage."""

    num_samples: int = 16  # same-seed sample pairs per N
    seed: int = 0  # sample i of every model uses seed `seed * 1_000_000 + i`
    sampler: str = "kadkhodaie2021"  # a name in gahr.sample.PRESETS
    beta: float | None = None  # changes to the sampler preset (None: the preset's value)
    h_0: float | None = None
    sigma_L: float | None = None
    sigma_0: float | None = None
    sigmas: tuple[float, ...] = (5 / 255, 15 / 255, 25 / 255, 50 / 255, 100 / 255)
    n_eval: int = 256  # images for train/test PSNR and distance to memorization
    thresholds: tuple[float, ...] = (0.5, 0.9, 0.95)  # fraction of samples above
    ratio: float = 1 / 3  # Gu et al. (2023) ratio test
    patch_size: int = 8  # 0: no patch-wise nearest neighbours
    min_contrast: float = 0.02  # sample patches with pixel std <= this are left out (background)
    batch_size: int = 64
    out: str = ""  # analysis dir; "" = <sweep.out>/memorization
    # models trained elsewhere: a spec template, e.g. "diffusers:runs/ddpm/N{n}_{split}"
    # ("" = the sweep's own runs; see gahr.workflows.external_models)
    models: str = ""

    def __post_init__(self):
        self.schedule()  # an unknown sampler or an impossible change fails here
        if self.models and ("{n}" not in self.models or "{split}" not in self.models):
            raise ConfigError(f"memorization.models={self.models!r} must name {{n}} and "
                              "{split}, e.g. \"diffusers:runs/ddpm/N{n}_{split}\"")
        if self.num_samples < 1 or self.n_eval < 1 or self.batch_size < 1:
            raise ConfigError("memorization.num_samples, n_eval and batch_size must be >= 1")
        if not self.sigmas or any(not s > 0 for s in self.sigmas):
            raise ConfigError(f"memorization.sigmas={list(self.sigmas)}: list positive noise "
                              "levels, e.g. [\"25/255\", \"100/255\"]")
        if self.patch_size < 0 or not 0 < self.ratio < 1 or not self.min_contrast >= 0:
            raise ConfigError("memorization.patch_size and min_contrast must be >= 0 and ratio "
                              "in (0, 1)")

    def schedule(self):
        """The sampler (`gahr.sample.PRESETS`): the preset with this section's changes."""
        from .sample.schedule import preset

        return preset(self.sampler, beta=self.beta, h_0=self.h_0, sigma_L=self.sigma_L,
                      sigma_0=self.sigma_0)


@dataclass(frozen=True)
class ExperimentConfig(SweepConfig):
    """A sweep plus its memorization analysis: `[data] [model] [train] [sweep] [memorization]`."""

    memorization: MemorizationSection = field(default_factory=MemorizationSection)


def load_config(path=None, overrides=(), cls=Config):
    """Read TOML `path` (None: all defaults), apply `--set` overrides, type-check into `cls`."""
    raw = read_toml(path) if path is not None else {}
    return from_dict(cls, apply_overrides(raw, overrides))


def with_overrides(config, overrides=()):
    """A copy of a config with `section.key=value` overrides applied and checked.

    Overriding `train.recipe` resets the recipe fields that the overrides do not set, so they
    follow the new recipe instead of keeping the old one's resolved values.
    """
    raw = to_dict(config)
    paths = [parse_override(text)[0] for text in overrides]
    if ["train", "recipe"] in paths and "train" in raw:
        for key in RECIPES["paper"]:
            if ["train", key] not in paths:
                raw["train"].pop(key, None)
    return from_dict(type(config), apply_overrides(raw, overrides))


def load_experiment(path, overrides=()) -> ExperimentConfig:
    """Read an experiment TOML (with `--set section.key=value` overrides)."""
    if path is not None and "sweep" not in read_toml(path):
        raise ConfigError(f"{path} has no [sweep] section; an experiment needs [sweep] n_train "
                          "and splits = [\"S1\", \"S2\"]")
    return load_config(path, overrides, cls=ExperimentConfig)


def save_config(config, path) -> None:
    from .io import save_json

    save_json(to_dict(config), path)


def read_config(path, cls=Config):
    """Read a `config.json` saved by `save_config`."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot read config {path} ({e})") from None
    return from_dict(cls, raw)
