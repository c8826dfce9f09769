"""SIGINT / SIGTERM become a request to stop after the current step (and checkpoint)."""

import signal
import threading


class StopRequest:
    """Context manager: while active, SIGINT and SIGTERM set `requested` instead of killing.

    The training loop checks `requested` between steps, so the checkpoint it then writes is
    consistent. A second SIGINT falls back to the previous handler (an immediate stop). A
    request that nothing looked at before the block ended raises KeyboardInterrupt on leaving
    it, so a stop asked for between two looks is never lost.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        # Signal handlers can only be installed from the main thread.
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, exc_type, exc, tb):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if self.requested and exc_type is None:
            # A request that came after the last look at `requested` (during the last epoch's
            # evaluation or checkpoint) is still a request: honoured here, never swallowed.
            raise KeyboardInterrupt
        return False
