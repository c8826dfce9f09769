"""`gahr eigen`, `sample`, `symmetry`, `compare` and `memorization` end to end on tiny saved
diffusers pipelines (`diffusers:DIR`), in seconds."""

import json

import numpy as np
import pytest
import torch

from gahr.analysis import effective_dimension
from gahr.cli import main
from gahr.metrics import noise_sample
from gahr.nets import load_denoiser

diffusers = pytest.importorskip("diffusers")


def save_pipeline(path, seed: int, data: dict | None = None):
    """A random 8x8 gray UNet2DModel with a 100-step DDPM scheduler (epsilon), saved as a
    pipeline; `data`: a gahr config.json beside it naming its training set."""
    torch.manual_seed(seed)
    unet = diffusers.UNet2DModel(
        sample_size=8, in_channels=1, out_channels=1, layers_per_block=1,
        block_out_channels=(8, 16), norm_num_groups=4,
        down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"))
    sch = diffusers.DDPMScheduler(num_train_timesteps=100)
    diffusers.DDPMPipeline(unet=unet, scheduler=sch).save_pretrained(path)
    if data is not None:
        (path / "config.json").write_text(json.dumps({"data": data}))
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("diffusers_cli")
    images = np.random.default_rng(0).random((16, 1, 8, 8)).astype(np.float32)
    np.save(root / "images.npy", images)
    for seed, split in enumerate(("S1", "S2")):
        data = {"source": str(root / "images.npy"), "n_train": 2, "split": split, "n_test": 4}
        save_pipeline(root / f"N2_{split}", seed, data)
    return root


def test_eigen_takes_the_sigma_of_the_noisy_image(root, tmp_path):
    spec = f"diffusers:{root / 'N2_S1'}"
    assert main(["eigen", spec, "--input", str(root / "images.npy"), "--sigma", "0.2",
                 "--out", str(tmp_path / "e")]) == 0
    summary = json.loads((tmp_path / "e" / "summary.json").read_text())
    den = load_denoiser(spec)
    x = torch.from_numpy(np.load(root / "images.npy")[:1])
    y = x + 0.2 * noise_sample(x.shape, 0)
    at = {s: float(effective_dimension(den, y, sigma=s).value) for s in (0.2, 0.05)}
    assert summary["effective_dimension"] == pytest.approx(at[0.2], abs=1e-3)
    assert abs(at[0.2] - at[0.05]) > 0.5  # the sigma handed over matters
    assert main(["eigen", spec, "--sigma", "0.2", "--out", str(tmp_path / "f")]) == 0  # test
    assert (tmp_path / "f" / "eigenvectors.png").exists()  # image from its recorded data


@pytest.mark.parametrize("sampler", ["heun", "ddim", "kadkhodaie2021"])
def test_sample(root, tmp_path, sampler):
    out = tmp_path / "s.npz"
    assert main(["sample", f"diffusers:{root / 'N2_S1'}", "--sampler", sampler, "--n", "3",
                 "--out", str(out), "--quiet"]) == 0
    saved = np.load(out)
    assert saved["samples"].shape == (3, 1, 8, 8) and np.isfinite(saved["samples"]).all()
    if sampler == "heun":
        assert (saved["steps"] == 35).all()


def test_symmetry(root, tmp_path):
    spec = f"diffusers:{root / 'N2_S1'}"
    assert main(["symmetry", spec, "--out", str(tmp_path), "--sigmas", "0.1", "0.3",
                 "--n-images", "1"]) == 0
    rows = json.loads((tmp_path / "symmetry.json").read_text())["rows"][spec]
    assert [r["sigma"] for r in rows] == [0.1, 0.3]


def test_compare(root, tmp_path):
    assert main(["compare", f"diffusers:{root / 'N2_S1'}", "--oracle", "memorizer",
                 "--images", "2", "--samples", "2", "--sigmas", "0.1", "--sampler", "heun",
                 "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["n"] == 2 and results["settings"]["sampler"] == "heun"


def test_memorization_on_models_trained_elsewhere(root, tmp_path):
    config = tmp_path / "experiment.toml"
    config.write_text(f"""
[data]
source = "{root / 'images.npy'}"
n_test = 4
[sweep]
n_train = [2]
out = "{tmp_path / 'sweep'}"
[memorization]
models = "diffusers:{root}/N{{n}}_{{split}}"
sampler = "heun"
num_samples = 2
n_eval = 2
sigmas = [0.1]
patch_size = 0
""")
    assert main(["memorization", str(config), "--quiet"]) == 0
    record = json.loads((tmp_path / "sweep" / "memorization" / "N2.json").read_text())
    assert record["S1"]["converged"] == 2 and record["S1"]["denoiser_calls"] == [35, 35]
    assert record["models"]["S1"] != record["models"]["S2"]  # digests of two different models
    assert not (tmp_path / "sweep" / "N2_S1").exists()  # nothing was trained
    assert main(["memorization", str(config), "--models", "diffusers:/nowhere/N{n}_{split}",
                 "--quiet"]) == 2
