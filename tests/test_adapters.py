"""The diffusers adapter: x_hat equals the scheduler's own predicted x_0, the `diffusers:` loader
reads both directory layouts from local files, and bad directories give one-line errors."""

import json
import math

import pytest
import torch

import gahr
from gahr import GahrError
from gahr.adapters import VPDenoiser, from_diffusers, timestep_of, vp_sigmas
from gahr.nets import load_denoiser

diffusers = pytest.importorskip("diffusers")


def tiny_unet(channels: int = 1, size: int = 8, seed: int = 0):
    torch.manual_seed(seed)
    unet = diffusers.UNet2DModel(
        sample_size=size, in_channels=channels, out_channels=channels, layers_per_block=1,
        block_out_channels=(8, 16), norm_num_groups=4,
        down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"))
    with torch.no_grad():  # no zero-initialized layer may hide a wrong formula
        for p in unet.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return unet.eval()


def scheduler(prediction_type="epsilon", steps=100, **kw):
    return diffusers.DDPMScheduler(num_train_timesteps=steps, prediction_type=prediction_type,
                                   clip_sample=False, **kw)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction", "sample"])
def test_the_adapter_is_the_schedulers_predicted_x0(prediction_type):
    """x_hat(y, sigma_t) on [0, 1] = (pred_original_sample + 1) / 2 of DDPMScheduler.step at
    x_t = sqrt(abar_t) (2 y - 1), sigma_t = sqrt((1 - abar_t) / abar_t) / 2 (float64)."""
    unet, sch = tiny_unet().double(), scheduler(prediction_type)
    den = from_diffusers(unet, sch)
    gen = torch.Generator().manual_seed(1)
    for t in (0, 1, 17, 50, 99):
        abar = sch.alphas_cumprod[t].double()
        y_model = torch.randn(2, 1, 8, 8, generator=gen, dtype=torch.float64)
        x_t = abar.sqrt() * y_model
        with torch.no_grad():
            out = unet(x_t, t).sample
            want = sch.step(out, t, x_t).pred_original_sample
            sigma = float(((1 - abar) / abar).sqrt()) / 2
            got = 2 * den((y_model + 1) / 2, sigma=sigma) - 1
        sigma_t = torch.tensor([sigma], dtype=torch.float64)
        assert float(den.timestep(sigma_t)) == pytest.approx(t, abs=1e-9)
        assert float((got - want).abs().max()) < 1e-5, (prediction_type, t)
        assert float((want - y_model).abs().max()) > 1e-2  # a real correction, not identity


def test_timesteps_interpolate_in_log_sigma_and_clamp_at_the_ends():
    abar = scheduler().alphas_cumprod
    sigmas = vp_sigmas(abar)
    log_s = sigmas.log()
    mid = ((log_s[10] + log_s[11]) / 2).exp()
    quarter = (0.75 * log_s[40] + 0.25 * log_s[41]).exp()
    t = timestep_of(log_s, torch.stack([mid, quarter, sigmas[0] / 10, sigmas[-1] * 10,
                                        torch.tensor(0.0, dtype=torch.float64)]))
    assert torch.allclose(t, torch.tensor([10.5, 40.25, 0, 99, 0], dtype=torch.float64))


def test_data_range_and_no_clipping():
    """On [0, 1] data the sample-predicting model's output is x_hat as it is: an identity model
    returns its scaled input x_t = y / sqrt(1 + sigma^2), never clipped to [0, 1]."""
    class Identity(torch.nn.Module):
        def forward(self, x, t):
            return x

    den = VPDenoiser(Identity(), scheduler().alphas_cumprod, "sample", data_range=(0, 1),
                     channels=1)
    y, sigma = torch.full((1, 1, 2, 2), 3.0, dtype=torch.float64), 0.5
    assert torch.allclose(den(y, sigma=sigma), y / math.sqrt(1 + sigma**2))
    wide = VPDenoiser(Identity(), scheduler().alphas_cumprod, "sample", channels=1)
    s_model = 2 * sigma  # [-1, 1]: sigma' = 2 sigma, y' = 2 y - 1
    want = ((2 * y - 1) / math.sqrt(1 + s_model**2) + 1) / 2
    assert torch.allclose(wide(y, sigma=sigma), want)


def test_per_image_sigma_and_protocol():
    sch = scheduler()
    den = from_diffusers(tiny_unet(), sch)
    assert isinstance(den, gahr.DenoiserProtocol) and den.blind is False
    assert (den.channels, den.image_size) == (1, 8) and den.meta["image_size"] == [8, 8]
    y = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        both = den(y, sigma=torch.tensor([0.1, 0.4]))
        one = den(y[1:], sigma=0.4)
    assert torch.allclose(both[1:], one, atol=1e-6)
    table = vp_sigmas(sch.alphas_cumprod) / 2  # the table's ends on gahr's scale
    assert (den.sigma_min, den.sigma_max) == pytest.approx((float(table[0]), float(table[-1])))


def _save_pipeline(path, prediction_type="v_prediction"):
    unet, sch = tiny_unet(), scheduler(prediction_type)
    diffusers.DDPMPipeline(unet=unet, scheduler=sch).save_pretrained(path)
    return unet, sch


def _same_function(den, unet, sch):
    ref = from_diffusers(unet, sch)
    y = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        return torch.allclose(den(y, sigma=0.2), ref(y, sigma=0.2), atol=1e-6)


def test_loader_reads_a_pipeline_directory(tmp_path):
    unet, sch = _save_pipeline(tmp_path / "pipe")
    den = load_denoiser(f"diffusers:{tmp_path / 'pipe'}")
    assert isinstance(den, VPDenoiser) and den.prediction_type == "v_prediction"
    assert _same_function(den, unet, sch)
    assert _same_function(gahr.load_denoiser(f"diffusers:{tmp_path / 'pipe' / 'unet'}"), unet,
                          sch)  # the unet/ folder named directly finds ../scheduler


def test_loader_reads_a_bare_unet_directory_with_its_scheduler_config(tmp_path):
    unet, sch = tiny_unet(seed=3), scheduler("sample")
    unet.save_pretrained(tmp_path / "bare")
    sch.save_config(tmp_path / "bare")
    den = load_denoiser(f"diffusers:{tmp_path / 'bare'}")
    assert den.prediction_type == "sample" and _same_function(den, unet, sch)


@pytest.mark.parametrize("damage", ["missing", "no_scheduler", "garbled_config",
                                    "garbled_weights", "wrong_class"])
def test_bad_directories_give_one_line_errors(tmp_path, damage):
    path = tmp_path / "pipe"
    if damage != "missing":
        _save_pipeline(path)
    if damage == "no_scheduler":
        (path / "scheduler" / "scheduler_config.json").unlink()
    elif damage == "garbled_config":
        (path / "unet" / "config.json").write_text("{not json")
    elif damage == "garbled_weights":
        (path / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"\0" * 64)
    elif damage == "wrong_class":
        config = json.loads((path / "unet" / "config.json").read_text())
        (path / "unet" / "config.json").write_text(json.dumps({**config,
                                                               "_class_name": "VQModel"}))
    with pytest.raises(GahrError) as info:
        load_denoiser(f"diffusers:{path}")
    assert "\n" not in str(info.value) and f"diffusers:{path}" in str(info.value)


def test_without_diffusers_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    _save_pipeline(tmp_path / "pipe")
    monkeypatch.setitem(__import__("sys").modules, "diffusers", None)  # import fails
    with pytest.raises(GahrError, match=r"pip install -e \.\[diffusers\]"):
        load_denoiser(f"diffusers:{tmp_path / 'pipe'}")


def test_ddim_on_the_models_own_table_steps_through_table_timesteps():
    """DDIM with grid="table" hands the model integer table timesteps only."""
    from gahr.sample import ProbabilityFlow, synthesize

    den, seen = from_diffusers(tiny_unet(), scheduler()), []
    call = den.model.forward
    den.model.forward = lambda x, t: (seen.append(t.clone()), call(x, t))[1]
    r = synthesize(den, (1, 8, 8), 2, ProbabilityFlow("ddim", 10, grid="table"), seeds=[0, 1])
    t = torch.cat(seen)
    assert r.failed == [] and len(seen) == 10 and float(t.max()) == 99 and float(t.min()) == 0
    assert torch.allclose(t, t.round(), atol=1e-6)


def test_ddim_on_the_table_is_diffusers_ddim():
    """ProbabilityFlow("ddim") through the table levels of diffusers' DDIMScheduler (eta = 0,
    "leading" spacing, final alpha 1, no clipping) gives its samples, from the same noise
    (x_T = sqrt(abar_T) sigma'_T z is the VP form of y_0 = 0.5 + sigma_T z)."""
    import numpy as np

    from gahr.sample import ProbabilityFlow, synthesize

    unet = tiny_unet(seed=4)
    ddim = diffusers.DDIMScheduler(num_train_timesteps=100, clip_sample=False,
                                   set_alpha_to_one=True, timestep_spacing="leading")
    ddim.set_timesteps(10)
    steps = ddim.timesteps.tolist()
    den = from_diffusers(unet, ddim)

    class OnDDIMSteps(ProbabilityFlow):
        def sigmas(self, denoiser):
            return np.append(denoiser.table_sigmas[steps], 0.0)

    r = synthesize(den, (1, 8, 8), 3, OnDDIMSteps("ddim", 10), seeds=[0, 1, 2])
    z = torch.stack([torch.randn((1, 8, 8), generator=torch.Generator().manual_seed(s))
                     for s in (0, 1, 2)])
    x = z * float((1 - ddim.alphas_cumprod[steps[0]]).sqrt())
    with torch.no_grad():
        for t in ddim.timesteps:
            x = ddim.step(unet(x, t).sample, t, x, eta=0.0).prev_sample
    assert steps[:2] == [90, 80] and float((x - z).abs().max()) > 0.1
    assert float((r.samples - (x + 1) / 2).abs().max()) < 1e-4
