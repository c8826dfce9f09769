"""The config system: TOML + typed overrides, unknown keys refused, JSON round trip, presets."""

import json
from pathlib import Path

import pytest

from gahr.config import (
    Config,
    SweepConfig,
    load_config,
    parse_override,
    read_config,
    save_config,
    to_dict,
    with_overrides,
)
from gahr.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_defaults_are_the_papers_training_numbers():
    tc = Config().train
    assert (tc.lr, tc.lr_halve_every, tc.epochs, tc.batch_size) == (1e-3, 100, 1000, 512)
    assert tc.samples_per_epoch == 250_000 and (tc.sigma_min, tc.sigma_max) == (0.0, 1.0)


@pytest.mark.parametrize("text, path, value", [
    ("train.lr=5e-4", ["train", "lr"], 5e-4),
    ("data.source=discs", ["data", "source"], "discs"),
    ("data.split=S1", ["data", "split"], "S1"),
    ("train.eval_sigmas=[0.1, 0.2]", ["train", "eval_sigmas"], [0.1, 0.2]),
    ("train.compile=true", ["train", "compile"], True),
    ("data.options.radius=3", ["data", "options", "radius"], 3),
    ("train.device=cuda:1", ["train", "device"], "cuda:1"),
])
def test_parse_override(text, path, value):
    assert parse_override(text) == (path, value)


def test_overrides_are_type_checked_and_converted(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('[data]\nsource = "calpha"\nn_train = 10\n[model]\narch = "bfcnn"\n'
                    'num_layers = 5\n[train]\nlr = 1\n')
    cfg = load_config(toml, ["train.sigma_max=100/255", "data.options.alpha=2",
                             "model.num_kernels=16", "data.n_train=all"])
    assert cfg.data.source == "calpha" and cfg.data.n_train == "all"
    assert cfg.data.options == {"alpha": 2}
    assert cfg.model.arch == "bfcnn" and cfg.model.config == {"num_layers": 5, "num_kernels": 16}
    assert isinstance(cfg.train.lr, float) and cfg.train.lr == 1.0  # int promoted
    assert cfg.train.sigma_max == pytest.approx(100 / 255)


@pytest.mark.parametrize("override, words", [
    ("train.bogus=1", "unknown key train.bogus"),
    ("bogus.key=1", "unknown key bogus"),
    ("model.depth=3", "unknown key model.depth"),
    ("model.arch=resnet", "model.arch='resnet' is unknown"),
    ("train.lr=fast", "train.lr='fast' must be a number"),
    ("train.epochs=2.5", "train.epochs=2.5 must be an integer"),
    ("train.compile=1", "must be true/false"),
    ("data.split=S3", "choose one of 'S1', 'S2', 'all'"),
    ("data.n_train=some", "data.n_train='some' is not an integer or 'all'"),
    ("train.sigma_max=0", "need 0 <= sigma_min < sigma_max"),
    ("train.sigma_min=-0.1", "need 0 <= sigma_min < sigma_max"),
    ("train.batch_size=0", "train.batch_size=0 must be at least 1"),
    ("model.num_kernels=many", "model.num_kernels='many' must be an integer"),
    ("sweep.out=x", "runs with `gahr sweep`"),
    ("train", "write section.key=value"),
])
def test_bad_settings_raise_one_line_config_errors(override, words):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert words in str(e.value) and "\n" not in str(e.value)


def test_json_round_trip_and_with_overrides(tmp_path):
    cfg = load_config(None, ["model.arch=bfcnn", "model.num_layers=4", "data.options.wrap=true",
                             "train.eval_sigmas=[\"25/255\"]"])
    save_config(cfg, tmp_path / "config.json")
    assert read_config(tmp_path / "config.json") == cfg
    assert json.loads((tmp_path / "config.json").read_text())["model"] == {
        "arch": "bfcnn", "num_layers": 4}
    changed = with_overrides(cfg, ["train.lr=0.5"])
    assert changed.train.lr == 0.5 and cfg.train.lr == 1e-3  # frozen: a copy


def test_data_options_are_checked_against_the_generator_when_read():
    """A misspelt option fails when the file is read, naming the key and the valid ones (the
    generator's own parameters); values take the parameter's type."""
    with pytest.raises(ConfigError, match=r"data\.options\.radius for source 'discs'.*wrap"):
        load_config(None, ["data.options.radius=3"])
    cfg = load_config(None, ["data.source=calpha", "data.options.alpha=\"3/2\"",
                             "data.options.blur=[2, 2]"])
    assert cfg.data.options == {"alpha": 1.5, "blur": (2, 2)}
    with pytest.raises(ConfigError, match="data.options.pad"):
        load_config(None, ["data.source=fashion-mnist", "data.options.pad=3"])
    with pytest.raises(ConfigError, match="valid keys: none"):
        load_config(None, ["data.source=x.npy", "data.options.gray=true"])


def test_sweep_section_loads_only_into_sweep_configs():
    cfg = load_config(None, ["sweep.n_train=[1, 10, \"all\"]", "sweep.splits=[\"S2\"]"],
                      cls=SweepConfig)
    assert cfg.sweep.n_train == (1, 10, "all") and cfg.sweep.splits == ("S2",)
    with pytest.raises(ConfigError, match="sweep.splits"):
        load_config(None, ["sweep.splits=[]"], cls=SweepConfig)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("[train\nlr = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")


# Training and sweep presets (configs/experiments/ holds the memorization experiments, whose
# extra sections load with gahr.analysis's own config class and are tested there).
PRESETS = sorted(p for d in ("paper", "cpu", "test") for p in (CONFIGS / d).glob("*.toml"))


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_every_training_preset_loads(path):
    raw = path.read_text()
    cls = SweepConfig if "[sweep]" in raw else Config
    cfg = load_config(path, cls=cls)
    assert to_dict(cfg)["model"]["arch"] in ("unet", "bfcnn")
