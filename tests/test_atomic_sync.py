"""Atomic writes reach the device before their name does: `atomic_path` fsyncs the temporary
file before renaming it into place (a power cut cannot leave a renamed, empty file), then the
directory; a full disk found by the fsync is the usual one-line error."""

import errno
import json
import os
import stat

import pytest

from gahr import io as gio
from gahr.errors import DiskFullError


@pytest.fixture
def calls(monkeypatch):
    """Record ("fsync", inode, is_dir) and ("replace", inode of the source, destination)."""
    seen = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(fd):
        st = os.fstat(fd)
        seen.append(("fsync", st.st_ino, stat.S_ISDIR(st.st_mode)))
        return fsync(fd)

    def recording_replace(src, dst):
        seen.append(("replace", os.stat(src).st_ino, str(dst)))
        return replace(src, dst)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    return seen


def test_the_temporary_file_is_synced_before_it_is_renamed(tmp_path, calls):
    target = tmp_path / "out" / "weights.bin"
    gio.write_bytes(target, b"x" * 1000)
    assert target.read_bytes() == b"x" * 1000
    renames = [i for i, c in enumerate(calls) if c[0] == "replace"]
    assert len(renames) == 1 and calls[renames[0]][2] == str(target)
    moved = calls[renames[0]][1]  # the temporary file's inode, now the target's
    assert os.stat(target).st_ino == moved
    synced = [i for i, c in enumerate(calls) if c[0] == "fsync" and c[1] == moved]
    assert synced and synced[0] < renames[0], calls
    if hasattr(os, "O_DIRECTORY"):  # POSIX: the directory's entry after the rename
        parent = os.stat(target.parent).st_ino
        assert any(c == ("fsync", parent, True) for c in calls[renames[0] + 1:]), calls


def test_a_full_disk_at_the_sync_is_one_line_and_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    gio.save_json({"old": 1}, target)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFullError, match="no space left on the device writing") as e:
        gio.save_json({"new": 2}, target)
    assert "\n" not in str(e.value)
    assert json.loads(target.read_text()) == {"old": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]  # no temporary file
