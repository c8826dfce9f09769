"""Data sources are a registry: a user-defined source works everywhere a named one does, and
an unknown name is refused with the list of known ones (never silently another class)."""

import numpy as np
import pytest
import torch

from gahr.config import DataConfig
from gahr.data import SOURCES, make_dataset, open_dataset, register_source, source_options
from gahr.errors import ConfigError, ShapeError
from gahr.train.dataset import count_images


def stripes(n: int, size: int = 8, seed: int = 0, period: int = 4):
    """Vertical stripes of a random phase per image, with the phases as latent parameters."""
    gen = torch.Generator().manual_seed(seed)
    phase = torch.randint(0, period, (n,), generator=gen)
    cols = torch.arange(size)
    images = (((cols[None, :] + phase[:, None]) % period) < period // 2).float()
    return images[:, None, None, :].expand(n, 1, size, size).clone(), phase[:, None].float()


@pytest.fixture
def registered():
    register_source("stripes", stripes, generated=True, param_columns=("phase",))
    register_source("ones", lambda scale=1.0: torch.full((5, 1, 4, 4), 0.5 * scale))
    yield
    del SOURCES["stripes"], SOURCES["ones"]


def test_a_user_defined_generated_source_opens_makes_and_configures(registered, tmp_path):
    images = open_dataset("stripes", n=6, size=8, seed=3, period=2)
    want, phase = stripes(6, size=8, seed=3, period=2)
    assert torch.equal(images, want)
    assert set(source_options("stripes")) == {"period"}
    config = DataConfig(source="stripes", num_images=6, options={"period": 2})
    assert count_images(config) == 6  # counted without generating
    with pytest.raises(ConfigError, match="unknown key data.options.blur"):
        DataConfig(source="stripes", options={"blur": 1})
    summary = make_dataset("stripes", tmp_path / "s.npy", n=4, size=8, seed=1)
    assert summary["params_columns"] == ["phase"]
    assert np.array_equal(np.load(tmp_path / "s.params.npy"), stripes(4, seed=1)[1].numpy())


def test_a_user_defined_read_source_keeps_the_first_n(registered):
    images = open_dataset("ones", n=3, scale=2.0)
    assert images.shape == (3, 1, 4, 4) and float(images.max()) == 1.0
    with pytest.raises(ConfigError, match="cannot make 'ones'"):
        make_dataset("ones", "x.npy", n=2)


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(ConfigError, match="unknown data source 'disks'.*calpha, discs"):
        open_dataset("disks", n=4)
    with pytest.raises(ConfigError, match="cannot make 'disks'.*calpha, discs"):
        make_dataset("disks", "x.npy", n=4)
    with pytest.raises(ConfigError, match="plain name"):
        register_source("folder", stripes)


def test_a_source_returning_no_images_is_a_shape_error(registered):
    register_source("flat", lambda n, seed=0: torch.zeros(n, 4), generated=True)
    try:
        with pytest.raises(ShapeError, match="'flat' gave \\(2, 4\\)"):
            open_dataset("flat", n=2)
    finally:
        del SOURCES["flat"]
