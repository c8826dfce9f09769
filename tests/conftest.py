"""Shared test settings: small, deterministic, CPU."""

import pytest
import torch

# One thread: tiny tensors gain nothing from two, and two threads stall badly when other
# jobs share the cores.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
