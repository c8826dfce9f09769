"""What a command prints: progress bars only on a terminal, each result once, units named."""

import io
import sys
from pathlib import Path

from gahr.cli import main
from gahr.commands import _common
from gahr.train.metrics import LOSS_UNITS, summarize

TINY = Path(__file__).resolve().parents[1] / "configs" / "test" / "tiny.toml"


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_progress_bars_only_on_a_terminal(monkeypatch):
    class Args:
        quiet = False
    monkeypatch.setattr(sys, "stderr", _Stream(tty=True))
    assert _common.show_progress(Args())
    Args.quiet = True
    assert not _common.show_progress(Args())
    monkeypatch.setattr(sys, "stderr", _Stream(tty=False))  # a log file or a pipe
    Args.quiet = False
    assert not _common.show_progress(Args())


def test_loss_is_printed_with_its_unit():
    row = {"epoch": 3, "loss": 0.107, "train_psnr_25": 26.3, "test_psnr_25": 26.6}
    assert "loss 0.107 (squared error summed over pixels, per image, intensities in [0, 1])" \
        in summarize(row, "none")
    assert LOSS_UNITS["inverse_variance"] in summarize(row, "inverse_variance")
    assert summarize(row).startswith("epoch 3, loss 0.107, PSNR")  # unit unknown: none printed


def test_each_epoch_result_is_printed_once(tmp_path, capsys, monkeypatch):
    """With progress on (a terminal), the per-epoch lines of the loop and the command's final
    line never repeat the same epoch."""
    from gahr.commands import train as train_command
    monkeypatch.setattr(train_command, "show_progress", lambda args: True)
    assert main(["train", str(TINY), "--set", "train.threads=1", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    epochs = [line.split(",")[0].split("epoch ")[-1] for line in printed if "epoch " in line]
    assert epochs == ["1", "2"], printed
    assert printed[-1].startswith("trained: epoch 2, loss") and "per image" in printed[-1]
