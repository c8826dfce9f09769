"""Splits, the .npy store, open_dataset and the `gahr data` command line."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gahr.cli import main
from gahr.data import (
    disjoint_splits,
    load_images,
    make_dataset,
    open_dataset,
    save_images,
    split_indices,
)
from gahr.data.synthetic import calpha, discs, render_discs
from gahr.errors import ConfigError, DataError, ShapeError


@pytest.mark.parametrize("num_images,n", [(10, 5), (101, 17), (7, 1)])
def test_splits_are_disjoint_first_and_last_n_of_one_permutation(num_images, n):
    idx1, idx2 = split_indices(num_images, n, seed=3)
    assert len(idx1) == len(idx2) == n
    assert len(set(idx1.tolist()) | set(idx2.tolist())) == 2 * n  # disjoint, no repeats
    perm = torch.randperm(num_images, generator=torch.Generator().manual_seed(3))
    assert torch.equal(idx1, perm[:n]) and torch.equal(idx2, perm[-n:])
    assert torch.equal(idx1, split_indices(num_images, n, seed=3)[0])
    if 2 * n == num_images:
        assert sorted(idx1.tolist() + idx2.tolist()) == list(range(num_images))


def test_disjoint_splits_return_the_indexed_images_and_reject_large_n():
    images = torch.arange(12.0).view(12, 1, 1, 1)
    s1, s2 = disjoint_splits(images, 6, seed=0)
    idx1, idx2 = split_indices(12, 6, seed=0)
    assert torch.equal(s1.view(-1), idx1.float()) and torch.equal(s2.view(-1), idx2.float())
    assert not torch.equal(idx1, split_indices(12, 6, seed=1)[0])
    with pytest.raises(DataError, match="N <= 6"):
        disjoint_splits(images, 7, seed=0)
    with pytest.raises(ConfigError):
        split_indices(12, 0)


def test_float32_files_round_trip_exactly_and_are_mapped_copy_on_write(tmp_path):
    images = calpha(6, 16, seed=0)
    path = save_images(images, tmp_path / "c.npy")
    loaded = load_images(path)
    assert torch.equal(loaded, images)
    loaded[0] = 0.5  # copy-on-write: the file keeps its values
    assert torch.equal(load_images(path), images)
    assert torch.equal(load_images(path, n=2), images[:2])


def test_uint8_files_round_to_the_nearest_level(tmp_path):
    images = torch.rand(5, 2, 4, 4)
    loaded = load_images(save_images(images, tmp_path / "u.npy", dtype="uint8"))
    assert (loaded - images).abs().max() <= 0.5 / 255 + 1e-7
    assert torch.equal(loaded * 255, (loaded * 255).round())
    np.save(tmp_path / "hw.npy", np.zeros((3, 5, 5), dtype=np.uint8))  # (N, H, W): one channel
    assert load_images(tmp_path / "hw.npy").shape == (3, 1, 5, 5)


def test_bad_files_are_data_errors(tmp_path):
    np.save(tmp_path / "range.npy", np.full((2, 1, 3, 3), 2.0, dtype=np.float32))
    np.save(tmp_path / "nan.npy", np.full((2, 1, 3, 3), np.nan, dtype=np.float32))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "ints.npy", np.zeros((2, 1, 3, 3), dtype=np.int64))
    whole = (tmp_path / "range.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(whole[:-10])
    for name in ("range", "nan", "obj", "ints", "cut", "missing"):
        with pytest.raises(DataError):
            load_images(tmp_path / f"{name}.npy")
    np.save(tmp_path / "flat.npy", np.zeros(5, dtype=np.uint8))
    with pytest.raises(ShapeError):
        load_images(tmp_path / "flat.npy")
    with pytest.raises(DataError, match="holds 2"):
        load_images(save_images(torch.zeros(2, 1, 2, 2), tmp_path / "two.npy"), n=3)
    with pytest.raises(ConfigError):
        save_images(torch.zeros(1, 1, 2, 2), tmp_path / "x.pt")


def test_open_dataset_dispatches_and_validates():
    assert torch.equal(open_dataset("calpha", n=3, size=16, seed=2, alpha=1.5),
                       calpha(3, 16, alpha=1.5, seed=2))
    assert torch.equal(open_dataset("discs", n=3, seed=1, wrap=True),
                       discs(3, seed=1, wrap=True)[0])
    with pytest.raises(ConfigError, match="calpha, discs, fashion-mnist"):
        open_dataset("imagenet")
    with pytest.raises(ConfigError, match="valid options: alpha"):
        open_dataset("calpha", n=2, gamma=3)
    with pytest.raises(ConfigError, match="give n"):
        open_dataset("discs")


def test_open_dataset_keeps_the_first_n_and_resizes_files(tmp_path):
    images = torch.rand(4, 1, 8, 8)
    path = str(save_images(images, tmp_path / "x.npy"))
    assert torch.equal(open_dataset(path, n=3), images[:3])
    halved = open_dataset(path, size=4)
    blocks = images.view(4, 1, 4, 2, 4, 2).mean(dim=(3, 5))  # shrinking 2x: 2x2 block means
    assert halved.shape == (4, 1, 4, 4) and torch.allclose(halved, blocks, atol=1e-6)
    doubled = open_dataset(path, size=16)  # bilinear: every value between its neighbours
    assert doubled.shape == (4, 1, 16, 16) and doubled.min() >= images.min()
    with pytest.raises(ConfigError, match="valid options: none"):
        open_dataset(path, split="train")


def test_make_discs_writes_images_params_and_a_sidecar(tmp_path):
    summary = make_dataset("discs", tmp_path / "d.npy", n=5, size=16, seed=3, scale=False)
    images = load_images(tmp_path / "d.npy")
    params = torch.from_numpy(np.load(tmp_path / "d.params.npy", allow_pickle=False))
    assert torch.allclose(images, render_discs(params, 16), atol=1e-6)
    assert (params[:, 2] == 4).all()  # scale frozen at size / 4
    sidecar = json.loads((tmp_path / "d.json").read_text())
    assert sidecar["options"]["scale"] is False and sidecar == summary
    with pytest.raises(ConfigError):
        make_dataset("fashion-mnist", tmp_path / "f.npy", n=2)


def test_cli_make_show_prepare(tmp_path, capsys):
    out = tmp_path / "c.npy"
    assert main(["data", "make", "calpha", "--n", "4", "--size", "16", "--alpha", "1",
                 "--blur", "2", "2", "--seed", "5", "--out", str(out)]) == 0
    assert torch.equal(load_images(out), calpha(4, 16, alpha=1.0, blur=(2, 2), seed=5))
    assert main(["data", "show", str(out), "--n", "9", "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").format == "PNG"
    assert main(["data", "make", "discs", "--n", "2", "--freeze", "translate", "--integer",
                 "--out", str(tmp_path / "d.npy")]) == 0
    (tmp_path / "in").mkdir()
    for i in range(3):
        Image.fromarray(np.full((6, 6), 40 * i, dtype=np.uint8)).save(tmp_path / "in" / f"{i}.png")
    assert main(["data", "prepare", str(tmp_path / "in"), "--out", str(tmp_path / "p.npy")]) == 0
    assert "wrote 3 images" in capsys.readouterr().out
    assert main(["data", "make", "calpha", "--n", "2", "--alpha", "7", "--out",
                 str(tmp_path / "e.npy")]) == 2
    assert "alpha must be in (0, 5]" in capsys.readouterr().err
