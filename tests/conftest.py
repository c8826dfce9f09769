"""Shared test settings: small, deterministic, CPU, one thread."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    # Tiny tensors gain nothing from two threads, and two threads stalled 10-100x when other
    # jobs shared the cores; code under test may change the count, so reset it for every test.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(n)
