"""Reliability round 3 (issue 24), classes 5, 6 and 8: data that lies, verdicts from invalid
experiments, and the Python API's inputs. Each test fails without its fix."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gahr.analysis import effective_dimension, eigen
from gahr.cli import main
from gahr.config import DataConfig
from gahr.data import load_images, open_dataset
from gahr.errors import ConfigError, DataError, GahrError, ShapeError
from gahr.metrics import check_sigma, evaluate
from gahr.nets import Denoiser, build, denoise
from gahr.oracles.noise_level import noise_variances
from gahr.train import select
from gahr.train.dataset import check_sizes, split_sizes

TINY = Path(__file__).resolve().parents[1] / "configs" / "test" / "tiny.toml"


def tiny_denoiser(seed=0):
    torch.manual_seed(seed)
    return Denoiser(build("bfcnn", num_kernels=4, num_layers=2))


# --- class 5: data that lies --------------------------------------------------------------


def test_channels_last_arrays_are_refused_with_the_transpose(tmp_path):
    rgb = np.random.default_rng(0).random((6, 16, 16, 3), dtype=np.float32)
    path = tmp_path / "hwc.npy"
    np.save(path, rgb)
    with pytest.raises(ShapeError, match=r"channels-last.*transpose"):
        load_images(path)
    with pytest.raises(ShapeError, match="channels-last"):
        select(torch.from_numpy(rgb), DataConfig(n_train=2, n_test=1))
    np.save(path, np.ascontiguousarray(rgb.transpose(0, 3, 1, 2)))  # the fix it names
    assert load_images(path).shape == (6, 3, 16, 16)


def test_a_test_set_larger_than_the_data_is_refused_before_training():
    """200 images with n_test = 256 used to train on N = 1 image without a word."""
    with pytest.raises(ConfigError, match=r"n_test=256.*only 200.*N = 1"):
        check_sizes(200, DataConfig(n_test=256))
    with pytest.raises(ConfigError, match="leaves no test image"):
        check_sizes(200, DataConfig(n_train=200, n_test=16))
    assert check_sizes(200, DataConfig(n_train=200, n_test=0)) == 200  # no test set, by choice


@pytest.mark.parametrize("split,n_train,n_test", [("all", "all", 16), ("all", 150, 64),
                                                  ("S1", 40, 16), ("S2", 90, 64)])
def test_split_sizes_are_the_sizes_select_gives(split, n_train, n_test):
    data = DataConfig(n_train=n_train, split=split, n_test=n_test)
    images = torch.rand(200, 1, 4, 4)
    chosen = select(images, data)
    assert split_sizes(200, data) == (len(chosen.train), len(chosen.test))


def test_training_summary_and_dry_run_state_n(tmp_path, capsys):
    assert main(["train", str(TINY), "--dry-run"]) == 0
    assert "N = 48 training images, 16 test images (of 64)" in capsys.readouterr().err
    assert main(["train", "--dry-run"]) == 0
    assert "paper-scale defaults" in capsys.readouterr().err
    out = tmp_path / "run"
    assert main(["train", str(TINY), "--set", "train.threads=1", "--out", str(out),
                 "--quiet"]) == 0
    assert "N = 48 training images, 16 test images" in capsys.readouterr().out
    assert main(["train", str(TINY), "--set", "train.threads=1", "--out", str(out),
                 "--quiet"]) == 0
    assert "already finished" in (printed := capsys.readouterr().out) and "N = 48" in printed
    # A hand edit of config.json that disagrees with the trained model is named.
    config = json.loads((out / "config.json").read_text())
    config["model"]["num_kernels"] = 16
    (out / "config.json").write_text(json.dumps(config))
    assert main(["train", str(TINY), "--set", "train.threads=1", "--set",
                 "model.num_kernels=16", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "config.json disagrees" in err and "model.num_kernels: 16 in config.json, 8 in " \
        "model.json" in err


def test_open_dataset_takes_options_in_the_config_shape(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    nested = open_dataset(tmp_path, options={"gray": True})
    assert nested.shape == (3, 1, 8, 8)
    assert torch.equal(nested, open_dataset(tmp_path, gray=True))
    with pytest.raises(ConfigError, match="given twice"):
        open_dataset(tmp_path, gray=False, options={"gray": True})


# --- class 8: the Python API --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_float_dtypes_are_converted(dtype):
    den = tiny_denoiser()
    x = torch.rand(2, 1, 8, 8)
    y = x.to(dtype)
    expected = den(y.float())
    assert torch.allclose(den(y), expected) and torch.allclose(denoise(den, y, 0.1), expected)
    assert evaluate(den, y, [0.1])[0.1] == pytest.approx(evaluate(den, y.float(), [0.1])[0.1])
    exact = effective_dimension(den, y.float()[:1]).value
    assert effective_dimension(den, y[:1]).value == pytest.approx(exact, rel=1e-5)
    assert eigen(den, y[:1], k=2).lambda_k.shape == (2,)


def test_integer_images_are_refused_with_a_gahr_error():
    den = tiny_denoiser()
    x8 = torch.randint(0, 256, (2, 1, 8, 8), dtype=torch.uint8)
    for call in (lambda: den(x8), lambda: denoise(den, x8), lambda: evaluate(den, x8, [0.1]),
                 lambda: effective_dimension(den, x8[:1])):
        with pytest.raises(DataError, match=r"uint8.*x.float\(\) / 255"):
            call()


@pytest.mark.parametrize("bad", ["0.1", True, b"0.1", np.bool_(True)])
def test_a_sigma_that_is_a_string_or_a_bool_is_refused(bad):
    den = tiny_denoiser()
    x = torch.rand(2, 1, 8, 8)
    for call in (lambda: check_sigma(bad), lambda: noise_variances(bad, 2, "cpu"),
                 lambda: evaluate(den, x, [bad]), lambda: denoise(den, x, bad),
                 lambda: effective_dimension(den, x[:1], sigma=bad)):
        with pytest.raises(ConfigError, match="not a noise level"):
            call()


def test_evaluate_keys_are_the_sigmas_the_caller_wrote():
    den = tiny_denoiser()
    x = torch.rand(2, 1, 8, 8)
    assert list(evaluate(den, x, [0.1, 25 / 255])) == [0.1, 25 / 255]
    assert list(evaluate(den, x, 0.1)) == [0.1]
    for sigmas in (np.array([0.1, 0.2], dtype=np.float32), torch.tensor([0.1, 0.2]),
                   [torch.tensor(0.1), np.float32(0.2)]):
        result = evaluate(den, x, sigmas)
        assert list(result) == [0.1, 0.2]  # not 0.10000000149011612
        assert result[0.1] == pytest.approx(evaluate(den, x, [0.1])[0.1], abs=1e-4)
    with pytest.raises(GahrError):
        evaluate(den, x, [0.0])


# --- class 6: verdicts from invalid experiments -------------------------------------------


def test_cross_duplicates_finds_copies_and_only_copies():
    from gahr.data import cross_duplicates

    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(10, 1, 8, 8, generator=g), torch.rand(12, 1, 8, 8, generator=g)
    assert len(cross_duplicates(a, b)) == 0
    b[[3, 7]] = a[[0, 5]]
    b[9] = a[2] * 0.5 + 0.1  # the same image at another contrast: correlation 1
    assert cross_duplicates(a, b).tolist() == [3, 7, 9]
    flat = torch.full((4, 1, 8, 8), 0.3)  # constant images: no correlation, still copies
    assert cross_duplicates(flat[:2], flat[2:]).tolist() == [0, 1]


def _analysed(tmp_path, images, num_samples):
    from test_memorization_experiment import FAST, make_config, oracle_loader, plant_runs

    from gahr.workflows.experiment import analyze_sweep

    config = make_config(tmp_path, n_train=(4,), num_samples=num_samples, **FAST)
    plant_runs(config)
    return analyze_sweep(config, images=images, log=lambda s: None, model_of=oracle_loader)


def test_copies_of_one_image_get_no_verdict_and_a_warning(tmp_path):
    from gahr.workflows import captions

    one = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    results = _analysed(tmp_path, one.repeat(20, 1, 1, 1), num_samples=6)
    row = results["summary"][0]
    assert row["overlap"]["S2_in_S1"] == 4 and row["overlap"]["n"] == 4
    assert captions.regime(row) == "overlap"
    text = captions.headline(results["summary"])
    assert "not disjoint" in text and "no verdict" in text and ": generalization" not in text
    assert results["warnings"] and "not disjoint" in results["warnings"][0]
    html = (tmp_path / "memorization" / "report.html").read_text()
    assert "not disjoint" in html and results["table"][0]["S2 images repeating S1"] == 4


def test_too_few_pairs_give_no_interval_and_no_verdict(tmp_path):
    from gahr.analysis.bootstrap import MIN_VALUES, bootstrap_interval
    from gahr.workflows import captions

    images = torch.rand(20, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    results = _analysed(tmp_path, images, num_samples=1)
    row = results["summary"][0]
    assert row["overlap"]["S2_in_S1"] == 0 and captions.regime(row) == "too few"
    text = captions.similarity_sentence(row)
    assert "1 same-seed pair converged" in text and "no verdict" in text
    assert "too few for an interval" in captions.fmt(row["same_seed"])
    assert "[" not in captions.fmt(row["same_seed"])  # no zero-width "95% interval"
    # MIN_VALUES is where the interval stops being the sample's whole range.
    for n in (MIN_VALUES - 1, MIN_VALUES):
        x = np.random.default_rng(n).random(n)
        found = bootstrap_interval(x)
        assert ((found.low, found.high) == (x.min(), x.max())) == (n < MIN_VALUES)
    assert "too few" in bootstrap_interval([0.5]).format()
