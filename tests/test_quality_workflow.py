"""Sample quality against held-out real images (gahr.workflows.quality) and `gahr sample
--quality`."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gahr.analysis.features import CLASSIFIER_FILE
from gahr.config import DataConfig
from gahr.configfiles import from_dict
from gahr.data import open_dataset
from gahr.data.idx import FASHION_MNIST_ROOT
from gahr.errors import ConfigError
from gahr.workflows.quality import (
    add_quality_columns,
    quality_against_real,
    real_baseline,
    real_reference,
    sweep_quality,
    training_indices,
)

FASHION = Path(FASHION_MNIST_ROOT).is_dir() and CLASSIFIER_FILE.is_file()


def test_real_discs_match_the_reference_and_blurred_ones_do_not():
    data = {"source": "discs", "size": 10}
    ref = real_reference(data, n_reference=200)
    real = real_baseline(ref, 100, n_resamples=50)
    assert real.features == "pixels" and real.kid.low < 0 < real.kid.high
    fresh = open_dataset("discs", n=100, size=10, seed=99)
    blurred = torch.nn.functional.avg_pool2d(fresh, 3, stride=1, padding=1)
    worse = quality_against_real(blurred, data, n_resamples=50, n_reference=200)
    assert worse.kid.low > real.kid.high and worse.fid.value > 2 * real.fid.value
    failed = torch.cat([fresh[:5], torch.full((3, 1, 10, 10), float("nan"))])
    assert quality_against_real(failed, data, n_resamples=10, n_reference=200).n_samples == 5


def test_memorization_table_gets_fid_and_kid_of_the_pooled_samples(tmp_path, monkeypatch):
    from gahr.workflows import quality

    monkeypatch.setattr(quality, "SWEEP_REFERENCE", 200)
    monkeypatch.setattr(quality, "SWEEP_RESAMPLES", 50)
    noise = torch.rand(40, 1, 10, 10, generator=torch.Generator().manual_seed(0))
    noise[3] = float("nan")  # a failed sample
    np.savez(tmp_path / "N4.npz", samples_S1=noise[:20].numpy(), samples_S2=noise[20:].numpy())
    table = [{"N": 4}, {"N": 9}]  # N = 9: no samples saved, no column
    measure = sweep_quality({"source": "discs", "size": 10}, {})
    add_quality_columns(table, tmp_path, [{"n": 4}, {"n": 9}], measure)
    row = table[0]
    assert row["quality_n"] == 39 and "kid" not in table[1]
    assert row["kid_low"] <= row["kid"] <= row["kid_high"] and row["kid_low"] > 0  # no discs
    assert sweep_quality({"source": "images.npy"}, {})(4, noise) is None


def test_unknown_data_has_no_reference():
    with pytest.raises(ConfigError, match="fid_kid"):
        real_reference({"source": "images.npy"})


@pytest.mark.skipif(not FASHION, reason="Fashion-MNIST or the classifier is not installed")
def test_fashion_reference_leaves_out_the_models_training_images():
    data = {"source": "fashion-mnist", "size": 16, "options": {"split": "all", "pad": True},
            "n_train": 1000, "split": "S1", "split_seed": 0, "n_test": 256}
    idx = training_indices(data)
    in_test = idx[idx >= 60000] - 60000
    assert len(idx) == 1000 and len(in_test) > 50
    ref = real_reference(data, exclude=[data], n_reference=5000)
    assert f"{len(in_test)} training images left out" in ref.description
    test = open_dataset("fashion-mnist", split="test", size=16)
    seen = {tuple(x.flatten().tolist()) for x in test[in_test]}
    kept = ref.images.tolist() + ref.baseline.tolist()
    assert len(kept) == 10000 - len(in_test)
    assert not seen & {tuple(torch.tensor(x).flatten().tolist()) for x in kept}
    # a run's resolved [data] section (a DataConfig, as the sweeps pass it) leaves out the same
    # images, not every image of split "all" (it once lost its n_train and split)
    config = from_dict(DataConfig, data, "data")
    assert torch.equal(training_indices(config), idx)
    assert torch.equal(real_reference(data, exclude=[config], n_reference=5000).images,
                       ref.images)


@pytest.mark.skipif(not FASHION, reason="Fashion-MNIST or the classifier is not installed")
def test_cli_sample_quality_writes_fid_and_kid(tmp_path, capsys, monkeypatch):
    from gahr.cli import main
    from gahr.workflows import quality

    monkeypatch.setattr(quality, "N_RESAMPLES", 50)
    monkeypatch.setattr(quality, "N_REFERENCE", 300)
    out = tmp_path / "s.npz"
    code = main(["sample", "pretrained:fashion16-n10-s1", "--n", "6", "--quality", "--quiet",
                 "--out", str(out)])
    assert code in (0, 1)
    saved = json.loads(out.with_suffix(".quality.json").read_text())
    assert saved["samples"]["features"] == "fashion32"
    assert saved["samples"]["kid"]["low"] <= saved["samples"]["kid"]["value"]
    assert saved["real"]["n_samples"] == saved["samples"]["n_samples"]
    assert "FID" in capsys.readouterr().out
