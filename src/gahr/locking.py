"""One writer per output directory: an exclusive lock on a file inside it.

`claim(path)` takes the lock of an output directory (creating the directory) before a command
writes there, `claim_file(path)` that of an output file; a second process that claims it gets
`BusyError` (one line, exit 2) naming the holder's pid and command. The lock is an
`fcntl.flock` on `<dir>/.gahr.lock` (`<dir>/.NAME.lock` for a file), so the operating system
drops it when the holder exits, however it ends (a SIGKILL included): the next writer takes it
over at once. The file records the holder (pid, command) for the message, and is removed when
the lock is released; where the filesystem has no flock, the record is the lock (taken over
when its pid is dead).

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
    lock_file: Path
    created: Path | None  # a directory this process created (removed again if left empty)


_HELD: dict[str, _Held] = {}
_SCOPES: list[list[str]] = []


def claim(path, kind: str = "output") -> Path:
    """Lock output directory `path` (created if missing) for this process; BusyError when
    another process holds it. Returns the path."""
    path = Path(path)
    created = None if path.exists() else path
    _make(path, path)
    _claim(path / LOCK_NAME, path, kind, created)
    return path


def claim_file(path, kind: str = "output") -> Path:
    """Lock output file `path` (its lock file `.NAME.lock` sits beside it) for this process;
    BusyError when another process writes it. Returns the path."""
    path = Path(path)
    _make(path.parent, path)
    _claim(path.parent / f".{path.name}.lock", path, kind, None)
    return path


def _make(directory: Path, shown: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot write {shown} ({e.strerror}); choose another output "
                          "path") from None


def _claim(lock_file: Path, shown: Path, kind: str, created: Path | None) -> None:
    key = os.path.abspath(lock_file)
    if key in _HELD or os.environ.get("RANK", "0") not in ("", "0"):
        return
    for _ in range(10):  # again when the file was removed by a holder ending meanwhile
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as e:
            raise OutputError(f"cannot write {shown} ({e.strerror}); choose another output "
                              "path") from None
        try:
            held = _lock(fd, lock_file, shown, kind, created)
        except BaseException:
            os.close(fd)
            raise
        if held.fd is None or _same_file(fd, lock_file):
            break
        os.close(fd)
    _HELD[key] = held
    if _SCOPES:
        _SCOPES[-1].append(key)


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _lock(fd: int, lock_file: Path, shown: Path, kind: str, created) -> _Held:
    holder = _read_holder(fd)
    try:
        if fcntl is None:
            raise OSError(errno.ENOLCK, "no flock")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if holder.get("pid") == os.getppid():  # our parent's lock: we are its worker
            os.close(fd)
            return _Held(None, lock_file, created)
        raise BusyError(_busy_message(shown, kind, holder)) from None
    except OSError:  # no flock on this filesystem: the pid record decides
        if _alive(holder.get("pid")) and holder.get("pid") not in (os.getpid(), os.getppid()):
            raise BusyError(_busy_message(shown, kind, holder)) from None
    record = {"pid": os.getpid(), "command": " ".join(["gahr", *sys.argv[1:]])[:200],
              "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    with contextlib.suppress(OSError):  # the record only names us; a full disk keeps the lock
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
    return _Held(fd, lock_file, created)


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


def release(lock_file) -> None:
    """Drop this process's lock held through `lock_file` (a no-op when it holds none): the
    lock file goes, and so does a directory this process created and left empty."""
    held = _HELD.pop(os.path.abspath(lock_file), None)
    if held is None or held.fd is None:
        return
    with contextlib.suppress(OSError):
        held.lock_file.unlink()  # before closing: a waiting writer then opens a new file
    os.close(held.fd)  # closing the file drops the flock
    if held.created is not None:
        with contextlib.suppress(OSError):
            held.created.rmdir()  # only if empty


def is_held(path) -> bool:
    """True when this process holds (or works under its parent's) lock of output directory
    or file `path`."""
    path = Path(path)
    return any(os.path.abspath(p) in _HELD
               for p in (path / LOCK_NAME, path.parent / f".{path.name}.lock"))


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
