"""train.amp = "bf16": native bf16 found in /proc/cpuinfo's flags, a warning where it is not."""

import warnings

import pytest
import torch

from gahr.train import precision


def test_native_bf16_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor : 0\nflags : fpu sse avx512f avx512_bf16 avx2\n")
    assert precision.cpu_bf16_flags(str(info)) == ("avx512_bf16",)
    info2 = tmp_path / "cpuinfo2"
    info2.write_text("flags : fpu sse avx2\n")
    assert precision.cpu_bf16_flags(str(info2)) == ()
    assert precision.cpu_bf16_flags(str(tmp_path / "missing")) == ()


def test_bf16_on_a_cpu_without_it_warns_and_with_it_does_not(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: ())
    with pytest.warns(UserWarning, match="emulated"):
        precision.check_amp("bf16", cpu)
    monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: ("amx_bf16",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        precision.check_amp("bf16", cpu)
        precision.check_amp("off", cpu)
