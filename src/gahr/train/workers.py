"""Worker processes that end with their parent: a sweep's workers must not train on (writing
into run dirs, then idling forever) after the `gahr` process that started them was killed.

`die_with_parent(pid)`, a pool's initializer, asks Linux to send the worker SIGTERM when its
parent dies (prctl PR_SET_PDEATHSIG) and starts a watchdog thread that notices a new parent
pid everywhere else (or when the parent died before the prctl). SIGTERM is the training
loop's stop request (`StopRequest`): the worker writes its checkpoint after the current step
and ends as its job does (`exit_if_orphaned`: nobody is left to take the result); the
watchdog ends it outright if it has not ended `GRACE` seconds later.
"""

import contextlib
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL = 0.5  # seconds between the watchdog's looks at the parent pid
GRACE = 10.0  # seconds a worker gets to checkpoint after its parent died


_PARENT: list[int] = []  # the pid `die_with_parent` was given, in a worker


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when process `parent_pid` (its parent) does."""
    _PARENT[:] = [parent_pid]
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    threading.Thread(target=_watch, args=(parent_pid,), name="gahr-parent-watchdog",
                     daemon=True).start()


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL)
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)  # a stop request: checkpoint, then end
    time.sleep(GRACE)
    os._exit(1)


def exit_if_orphaned() -> None:
    """End this worker at once when its parent has died (called as a job ends, checkpointed:
    nobody is left to take the result or to give it another job)."""
    if _PARENT and os.getppid() != _PARENT[0]:
        os._exit(1)
