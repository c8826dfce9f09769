"""Atomic file writes, output checks and small JSON helpers: finished work is never left
half-written, and an output path that cannot be written says so before any work starts."""

import contextlib
import json
import os
import tempfile
import threading
from pathlib import Path

from .errors import OutputError
from .locking import LOCK_NAME, claim

_UMASK_LOCK = threading.Lock()


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
        raise OutputError(f"cannot write into {path.parent} ({e.strerror}); choose another "
                          "output path") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
