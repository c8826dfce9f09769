"""Shared test settings: small, deterministic, CPU, one thread; `load_script` for the
repository's scripts (benchmarks/, tools/), which are files, not modules of gahr."""

import importlib.util
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str):
    """The module of the script at `relative` (from the repository root), executed once more."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    # Tiny tensors gain nothing from two threads, and two threads stalled 10-100x when other
    # jobs shared the cores; code under test may change the count, so reset it for every test.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(n)
