"""One writer per output directory: an exclusive lock on a file inside it.

`claim(path)` takes the lock of an output directory (creating the directory) before a command
writes there; a second process that claims it gets `BusyError` (one line, exit 2) naming the
holder's pid and command. The lock is an `fcntl.flock` on `<dir>/.gahr.lock`, so the operating
system drops it when the holder exits, however it ends (a SIGKILL included): the next writer
takes it over at once. The file records the holder (pid, command) for the message; where the
filesystem has no flock, that record is the lock (taken over when its pid is dead).

Locks are held until the innermost `holding()` scope that took them ends (the CLI runs every
command in one; `train` and `run_sweep` open their own), or, taken outside any scope, until
the process exits. A process may claim a directory again; a child of the holder (a sweep's
worker processes) works under its parent's lock; ranks other than 0 of a torchrun job, which
write nothing, take no lock.
"""

import contextlib
import errno
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import BusyError, OutputError

LOCK_NAME = ".gahr.lock"

try:  # POSIX; elsewhere the pid record alone is the lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


@dataclass
class _Held:
    fd: int | None  # None: under the parent's lock, or a filesystem without flock
    created: bool  # this process created the directory (removed again if left empty)


_HELD: dict[str, _Held] = {}
_SCOPES: list[list[str]] = []


def claim(path, kind: str = "output") -> Path:
    """Lock output directory `path` (created if missing) for this process; BusyError when
    another process holds it. Returns the path."""
    path = Path(path)
    key = os.path.abspath(path)
    if key in _HELD or os.environ.get("RANK", "0") not in ("", "0"):
        return path
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                     0o666)
    except OSError as e:
        raise OutputError(f"cannot write into {path} ({e.strerror}); choose another output "
                          "directory") from None
    try:
        held = _lock(fd, path, kind, created)
    except BaseException:
        os.close(fd)
        raise
    _HELD[key] = held
    if _SCOPES:
        _SCOPES[-1].append(key)
    return path


def _lock(fd: int, path: Path, kind: str, created: bool) -> _Held:
    holder = _read_holder(fd)
    try:
        if fcntl is None:
            raise OSError(errno.ENOLCK, "no flock")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if holder.get("pid") == os.getppid():  # our parent's lock: we are its worker
            os.close(fd)
            return _Held(None, created)
        raise BusyError(_busy_message(path, kind, holder)) from None
    except OSError:  # no flock on this filesystem: the pid record decides
        if _alive(holder.get("pid")) and holder.get("pid") not in (os.getpid(), os.getppid()):
            raise BusyError(_busy_message(path, kind, holder)) from None
    record = {"pid": os.getpid(), "command": " ".join(["gahr", *sys.argv[1:]])[:200],
              "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
    return _Held(fd, created)


def _read_holder(fd: int) -> dict:
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(os.pread(fd, 4096, 0) or b"{}")
        if isinstance(record, dict):
            return record
    return {}


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _busy_message(path: Path, kind: str, holder: dict) -> str:
    pid = holder.get("pid", "unknown")
    what = f" ({holder['command']})" if holder.get("command") else ""
    return (f"{path} is being written by another gahr process, pid {pid}{what}; wait for it to "
            f"finish or stop it (kill {pid}), or give the {kind} another output directory")


def release(path) -> None:
    """Drop this process's lock of `path` (a no-op when it holds none); a directory this
    process created and left holding nothing but the lock file is removed."""
    key = os.path.abspath(path)
    held = _HELD.pop(key, None)
    if held is None:
        return
    if held.created:
        directory = Path(key)
        with contextlib.suppress(OSError):
            if [p.name for p in directory.iterdir()] == [LOCK_NAME]:
                (directory / LOCK_NAME).unlink()
                directory.rmdir()
    if held.fd is not None:
        os.close(held.fd)  # closing the file drops the flock


def is_held(path) -> bool:
    """True when this process holds (or works under its parent's) lock of `path`."""
    return os.path.abspath(path) in _HELD


@contextlib.contextmanager
def holding():
    """A scope: locks claimed inside it (and not held before) are released when it ends."""
    _SCOPES.append([])
    try:
        yield
    finally:
        for key in reversed(_SCOPES.pop()):
            release(key)


def holds_locks(fn):
    """Decorator: run `fn` in its own `holding()` scope."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with holding():
            return fn(*args, **kwargs)

    return wrapper
