"""Atomic file writes, output checks and small JSON helpers: finished work is never left
half-written, and an output path that cannot be written says so before any work starts.

A full disk is one error, `DiskFullError` (one line, exit 2), wherever it strikes: `disk_full`
recognizes ENOSPC/EDQUOT and the wrappers torch and safetensors put around them, and
`atomic_path` removes the half-written temporary file and raises it. `atomic_path` syncs the
temporary file to the device before renaming it into place (and the directory after), so a power
cut leaves the old file or the whole new one, never a renamed empty one.
"""

import contextlib
import errno
import hashlib
import io
import json
import os
import tempfile
import threading
from pathlib import Path

from .errors import DiskFullError, OutputError
from .locking import LOCK_NAME, claim

_UMASK_LOCK = threading.Lock()
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
#: How a failed write reads once torch's zip writer (which drops the errno: "unexpected pos
#: 1262400 vs 1262288", "file write failed") or safetensors' (os error 28) has wrapped it.
DISK_FULL_WORDS = ("No space left on device", "os error 28", "StorageFull",
                   "Disk quota exceeded", "unexpected pos", "file write failed")


def disk_full(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) is a write that failed for lack of space."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        if isinstance(exc, Exception) and any(w in str(exc) for w in DISK_FULL_WORDS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def disk_full_error(where=None) -> DiskFullError:
    """The one-line error of a full disk (`where`: the file being written, when known)."""
    at = f" writing {where}" if where is not None else ""
    return DiskFullError(f"no space left on the device{at}; free some space (or choose another "
                         "output path) and rerun the same command: finished work is kept, "
                         "nothing half-written is")


def file_sha256(path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bytes(path, data: bytes) -> None:
    """Write `data` to `path` atomically (torch's and safetensors' serializations go through
    here, as bytes: their own file writers hide a full disk behind other messages)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def torch_bytes(obj) -> bytes:
    """`torch.save(obj)` into memory."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def current_umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def make_parent(path) -> Path:
    """Create the directory that will hold `path`; OutputError when a file stands in its way."""
    path = Path(path)
    _check_parents(path, "cannot write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the directory {path.parent} ({e.strerror}); choose "
                          "another output path") from None
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success rename it onto `path`, else delete it.

    The file gets the mode an ordinary `open(path, "w")` would give it (0666 less the umask),
    not the 0600 of a temporary file, so results can be shared as the umask allows."""
    path = make_parent(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory; choose a file name")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        if disk_full(e):
            raise disk_full_error(path) from None
        raise OutputError(f"cannot write into {path.parent} ({e.strerror}); choose another "
                          "output path") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        fsync_path(tmp)  # the bytes on disk before the name: a power cut leaves no empty file
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, Exception) and not isinstance(e, DiskFullError) and disk_full(e):
            raise disk_full_error(path) from None
        raise


def fsync_path(path) -> None:
    """Flush `path`'s bytes to the device (`os.fsync`); its errors (a full disk among them)
    propagate."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path) -> None:
    """Flush directory `path`'s entries (a rename into it) to the device, on POSIX; a
    filesystem that cannot sync a directory is left as it is."""
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover - Windows
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_out_dir(path, markers, kind: str, forbidden=()) -> Path:
    """Refuse an output directory that cannot be `kind`'s: a file, a directory holding files
    but none of `markers` (glob patterns of the files `kind` writes), or one that holds any of
    `forbidden` (another kind's files), whose contents the new outputs would mix with or
    overwrite. Then takes the directory's lock (`gahr.locking.claim`: created if missing;
    BusyError while another process writes there) and returns the path."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"output directory {path} is a file; give a directory for the {kind}")
    _check_parents(path, "output directory")
    if not path.is_dir() or not any(p.is_file() and p.name != LOCK_NAME
                                    for p in path.rglob("*")):
        return claim(path, kind)  # new, or holding no file (e.g. the folders of a failed run)
    other = [m for m in forbidden if (path / m).exists()]
    if other:
        raise OutputError(f"output directory {path} holds {other[0]}, not a {kind}; choose a "
                          "new or empty directory")
    if not any(next(path.glob(m), None) is not None for m in markers):
        raise OutputError(f"output directory {path} is not empty and holds no {kind} (none of "
                          f"{', '.join(markers)}); choose a new or empty directory")
    return claim(path, kind)


def check_out_file(path, suffixes, kind: str) -> Path:
    """Refuse an output file path that is a directory, lies under a file, or does not end in
    one of `suffixes`. Returns the path; nothing is created."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"output {path} is a directory; give a file name ending in "
                          f"{suffixes[0]} for the {kind}")
    if path.suffix.lower() not in suffixes:
        raise OutputError(f"output {path} does not end in {' or '.join(suffixes)}; name the "
                          f"{kind} file e.g. {path.with_suffix(suffixes[0]).name}")
    _check_parents(path, "output")
    return path


def _check_parents(path: Path, what: str) -> None:
    """OutputError when the nearest existing ancestor of `path` is a file."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{what} {path}: {parent} is a file, not a directory; "
                                  "choose another output path")
            return


def save_json(obj, path) -> None:
    """Write `obj` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def load_json(path):
    return json.loads(Path(path).read_text())
