"""Device names and the scoped number of torch CPU threads."""

import pytest
import torch

from gahr.devices import resolve_device, torch_threads
from gahr.errors import ConfigError


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda"}
    with pytest.raises(ConfigError, match="train.device"):
        resolve_device("nonsense", "train.device")


def test_torch_threads_sets_and_restores_even_on_error():
    before = torch.get_num_threads()
    target = 2 if before != 2 else 1
    with torch_threads(target):
        assert torch.get_num_threads() == target
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(target):
        raise RuntimeError("interrupted")
    assert torch.get_num_threads() == before
    with torch_threads(0):  # 0: keep the current number
        assert torch.get_num_threads() == before
