"""Image folders: crop/resize/gray geometry, bad files, near-duplicates, atomic caching."""

import numpy as np
import pytest
from PIL import Image

from gahr.data import folders as folders_module
from gahr.data import near_duplicates, open_dataset, prepare_folder, read_image
from gahr.errors import ConfigError, DataError


def save_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def smooth_images(n, size, seed):
    """Smooth uint8 images: random plane waves plus noise, distinct (correlation < 0.95)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    images = []
    for _ in range(n):
        fy, fx, phase = rng.uniform(0.5, 3, 2).tolist() + [rng.uniform(0, 2 * np.pi)]
        wave = np.sin(2 * np.pi * (fy * y + fx * x) + phase) + 0.5 * rng.standard_normal((1, 1))
        images.append(np.clip(128 + 100 * wave + 20 * rng.standard_normal((size, size)), 0, 255))
    return np.stack(images).astype(np.uint8)


def test_celeba_preset_is_luma_of_the_central_crop_averaged_over_2x2_blocks(tmp_path):
    """rows 29:189, cols 9:169 of a 218 x 178 face, gray by ITU-R 601, 160 -> 80 by 2x2 means."""
    rgb = np.random.default_rng(0).integers(0, 256, (218, 178, 3), dtype=np.uint8)
    path = save_png(tmp_path / "face.png", rgb)
    out = read_image(path, **{k: v for k, v in folders_module.FOLDER_PRESETS["celeba"].items()})
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    expected = luma[29:189, 9:169].reshape(80, 2, 80, 2).mean(axis=(1, 3))
    assert out.shape == (1, 80, 80) and out.dtype == np.uint8
    # float32 arithmetic may flip a value sitting at .5 when rounding: at most 1 level apart
    assert np.abs(out[0] - np.rint(expected)).max() <= 1
    assert np.abs(out[0] - expected).mean() < 0.3  # rounding alone gives 0.25 on average


def test_center_crop_keeps_the_middle_square_and_color(tmp_path):
    rgb = np.zeros((30, 50, 3), dtype=np.uint8)
    rgb[:, 10:40] = (200, 100, 50)  # the central 30 x 30 square
    out = read_image(save_png(tmp_path / "a.png", rgb), crop="center", gray=False)
    assert out.shape == (3, 30, 30)
    assert (out[0] == 200).all() and (out[1] == 100).all() and (out[2] == 50).all()
    small = read_image(tmp_path / "a.png", crop=(0, 10, 30, 30), size=(10, 15), gray=True)
    assert small.shape == (1, 10, 15)


def test_bad_files_are_skipped_and_listed_and_the_rest_cached(tmp_path):
    images = smooth_images(4, 16, seed=1)
    for i, image in enumerate(images):
        save_png(tmp_path / "in" / "sub" / f"{i}.png", image)
    (tmp_path / "in" / "garbage.png").write_bytes(b"not an image at all")
    whole = (tmp_path / "in" / "sub" / "0.png").read_bytes()
    (tmp_path / "in" / "truncated.png").write_bytes(whole[: len(whole) // 2])
    summary = prepare_folder(tmp_path / "in", tmp_path / "out.npy", dedup=None, progress=False)
    assert (summary.found, summary.written, len(summary.skipped)) == (6, 4, 2)
    assert {p.split("/")[-1] for p, _ in summary.skipped} == {"garbage.png", "truncated.png"}
    cached = open_dataset(str(tmp_path / "out.npy"))
    assert np.array_equal(np.rint(cached.numpy()[:, 0] * 255), images)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out.npy"]  # no temp files


def test_planted_duplicates_are_dropped_when_preparing(tmp_path):
    images = smooth_images(6, 20, seed=2)
    planted = np.concatenate([images, images[[1, 4]]])  # two exact repeats, appended last
    for i, image in enumerate(planted):
        save_png(tmp_path / "in" / f"{i:02d}.png", image)
    summary = prepare_folder(tmp_path / "in", tmp_path / "out.npy", progress=False)
    assert (summary.written, summary.duplicates) == (6, 2)
    assert np.array_equal(np.load(tmp_path / "out.npy")[:, 0], images)


def test_near_duplicates_match_a_brute_force_reference():
    """Planted repeats (noisy, brightness-changed) are found; a negative and the rest stay."""
    rng = np.random.default_rng(3)
    base = smooth_images(30, 40, seed=3).astype(np.float32)
    noisy = np.clip(base[5] + rng.normal(0, 3, base[5].shape), 0, 255)
    brighter = 0.5 * base[7] + 60  # an affine change keeps the correlation at 1
    negative = 255 - base[9]  # correlation -1: not a repeat
    stack = np.concatenate([base, noisy[None], brighter[None], negative[None]])[:, None]
    dropped = near_duplicates(stack, 0.95).tolist()
    assert dropped == [30, 31]
    # reference: correlations of mean-removed 2x2 block means (40 -> 20), every pair
    small = stack[:, 0].reshape(len(stack), 20, 2, 20, 2).mean(axis=(2, 4)).reshape(len(stack), -1)
    corr = np.corrcoef(small)
    reference = [i for i in range(len(stack)) if (corr[i, :i] > 0.95).any()]
    assert dropped == reference
    assert near_duplicates(stack, 0.95, chunk=7).tolist() == dropped  # blocks change nothing


def test_constant_images_are_never_duplicates_and_threshold_is_checked():
    flat = np.full((3, 1, 8, 8), 17, dtype=np.uint8)
    assert near_duplicates(flat).numel() == 0
    with pytest.raises(ConfigError):
        near_duplicates(flat, threshold=1.5)


def test_mixed_channels_need_a_conversion_option(tmp_path):
    save_png(tmp_path / "in" / "a.png", np.full((8, 8), 100, dtype=np.uint8))
    save_png(tmp_path / "in" / "b.png", np.full((8, 8, 3), 50, dtype=np.uint8))
    with pytest.raises(DataError, match="channel"):
        prepare_folder(tmp_path / "in", tmp_path / "x.npy", dedup=None, progress=False)
    assert not (tmp_path / "x.npy").exists()
    gray = prepare_folder(tmp_path / "in", tmp_path / "g.npy", gray=True, progress=False)
    color = prepare_folder(tmp_path / "in", tmp_path / "c.npy", gray=False, progress=False)
    assert gray.shape == (2, 1, 8, 8) and color.shape == (2, 3, 8, 8)
    assert np.load(tmp_path / "c.npy")[0].tolist() == np.full((3, 8, 8), 100).tolist()


def test_sizes_must_agree_and_folders_must_hold_images(tmp_path):
    save_png(tmp_path / "in" / "a.png", np.zeros((8, 8), dtype=np.uint8))
    save_png(tmp_path / "in" / "b.png", np.zeros((9, 8), dtype=np.uint8))
    with pytest.raises(DataError, match="size"):
        prepare_folder(tmp_path / "in", tmp_path / "x.npy", progress=False)
    assert prepare_folder(tmp_path / "in", tmp_path / "x.npy", size=4, dedup=None,
                          progress=False).shape == (2, 1, 4, 4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        prepare_folder(tmp_path / "empty", tmp_path / "y.npy", progress=False)
    with pytest.raises(ConfigError):
        prepare_folder(tmp_path / "in", tmp_path / "y.npy", preset="imagenet", progress=False)


def test_an_interrupted_preparation_leaves_no_cache_behind(tmp_path, monkeypatch):
    for i, image in enumerate(smooth_images(5, 12, seed=4)):
        save_png(tmp_path / "in" / f"{i}.png", image)
    calls = []
    real = folders_module.read_image

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(folders_module, "read_image", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare_folder(tmp_path / "in", tmp_path / "out.npy", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]
    monkeypatch.setattr(folders_module, "read_image", real)
    assert prepare_folder(tmp_path / "in", tmp_path / "out.npy", progress=False).written == 5


def test_a_folder_opens_directly_as_a_dataset(tmp_path):
    images = smooth_images(3, 10, seed=5)
    for i, image in enumerate(images):
        save_png(tmp_path / f"{i}.png", image)
    opened = open_dataset(str(tmp_path), size=5)
    assert opened.shape == (3, 1, 5, 5)
    assert open_dataset(str(tmp_path), n=2).shape == (2, 1, 10, 10)


@pytest.mark.slow
def test_near_duplicates_scale_to_tens_of_thousands_in_blocks():
    """20000 images of 40 x 40 in blocks of 512: every planted repeat found, nothing else."""
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (20000, 1, 40, 40), dtype=np.uint8)
    sources = rng.choice(10000, 50, replace=False)
    targets = 10000 + rng.choice(10000, 50, replace=False)
    images[targets] = images[sources]
    assert near_duplicates(images, 0.95).tolist() == sorted(targets.tolist())


def test_sixteen_bit_gray_images_are_rescaled_to_eight_bits(tmp_path):
    wide = (np.arange(64, dtype=np.float64).reshape(8, 8) * 1000).astype(np.uint16)
    path = save_png(tmp_path / "w.png", wide)
    assert Image.open(path).mode.startswith("I")
    out = read_image(path)
    assert out.shape == (1, 8, 8)
    assert np.array_equal(out[0], np.rint(wide.astype(np.float64) * 255 / 65535))
    assert read_image(path, gray=False).shape == (3, 8, 8)
