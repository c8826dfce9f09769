"""`[dynamics]`: the settings of `gahr dynamics` beside the experiment's sections."""

from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.memorization import COPY_DISTANCES
from ..config import ExperimentConfig, load_config
from ..configfiles import read_toml
from ..errors import ConfigError


@dataclass(frozen=True)
class DynamicsSection:
    """`[dynamics]`: how tau_mem, tau_gen and tau_best are read off the snapshots' measurements.

    Sampling, noise levels, the ratio of the ratio test and the evaluation images are those of
    `[memorization]`.
    """

    # f_mem (both models' samples pooled) above which a model counts as memorizing: tau_mem is
    # the first step past it; the onset N (`--widths`) is where the last snapshot crosses it.
    threshold: float = 0.25
    # tau_gen: the first step at which the test PSNR (mean over memorization.sigmas) exceeds the
    # identity denoiser's by this many dB (the net has begun to generalize)
    gen_gain_db: float = 1.0
    # tau_best: the first step at which the test PSNR is within this many dB of its best
    gen_margin_db: float = 0.5
    # the distance of the ratio test (`analysis.memorization.COPY_DISTANCES`): "cosine" counts a
    # training image drawn at another contrast as a copy (bias-free nets do draw them so), "l2"
    # is Gu et al.'s pixel distance
    copy_distance: str = "cosine"
    out: str = ""  # output dir; "" = the sweep root (sweep.out or --out)

    def __post_init__(self):
        if not 0 <= self.threshold < 1:
            raise ConfigError(f"dynamics.threshold={self.threshold} must be in [0, 1): a "
                              "fraction of samples")
        if self.copy_distance not in COPY_DISTANCES:
            raise ConfigError(f"dynamics.copy_distance={self.copy_distance!r}: choose one of "
                              f"{', '.join(COPY_DISTANCES)}")
        for name in ("gen_margin_db", "gen_gain_db"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"dynamics.{name}={getattr(self, name)} must be > 0 (dB)")


@dataclass(frozen=True)
class DynamicsConfig(ExperimentConfig):
    """An experiment whose runs keep snapshots: `[data] [model] [train] [sweep] [memorization]
    [dynamics]`."""

    dynamics: DynamicsSection = field(default_factory=DynamicsSection)


def load_dynamics(path, overrides=()) -> DynamicsConfig:
    """Read a dynamics TOML (with `--set section.key=value` overrides) and check that its runs
    keep snapshots."""
    if path is not None and "sweep" not in read_toml(path):
        raise ConfigError(f"{path} has no [sweep] section; `gahr dynamics` needs [sweep] n_train "
                          "and splits = [\"S1\", \"S2\"]")
    config = load_config(path, overrides, cls=DynamicsConfig)
    if not config.train.snapshot_steps:
        raise ConfigError("train.snapshot_steps is empty: `gahr dynamics` measures the weights "
                          "kept along training; set e.g. train.snapshot_steps = \"log:12:20\"")
    return config


PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"
QUICK_PRESET = PRESET_DIR / "dynamics_quick.toml"


def dynamics_config(path=None, quick: bool = False, overrides=()) -> DynamicsConfig:
    """The config of `gahr dynamics`: the TOML at `path`, or with `quick` the embedded toy
    preset; exactly one of them."""
    if quick == (path is not None):
        raise ConfigError("give a dynamics TOML or --quick (the embedded toy preset), not both "
                          "and not neither")
    return load_dynamics(QUICK_PRESET if quick else path, overrides)
