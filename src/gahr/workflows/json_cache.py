"""Resumable caches of finished work: a dict kept in a JSON file, and a prefixed view of one."""

import json
import time
from collections.abc import MutableMapping
from pathlib import Path

from ..io import save_json

#: Entries computed faster than this are not logged one by one.
QUIET_SECONDS = 0.1


class JsonCache(MutableMapping):
    """A dict kept in a JSON file, rewritten (atomically) after every new entry, with the
    seconds each entry took; entries of other `settings` are dropped on load."""

    def __init__(self, path: Path, settings: dict, log=print):
        self.path, self.settings, self.log = Path(path), settings, log
        self.entries, self.seconds = {}, {}
        if self.path.exists():
            saved = json.loads(self.path.read_text())
            if saved.get("settings") == settings:
                self.entries, self.seconds = saved["entries"], saved["seconds"]
        self.clock = time.perf_counter()

    def __getitem__(self, key):
        return self.entries[key]

    def __setitem__(self, key, value):
        now = time.perf_counter()
        self.entries[key], self.seconds[key] = value, now - self.clock
        self.clock = now
        save_json({"settings": self.settings, "entries": self.entries, "seconds": self.seconds},
                  self.path)
        if self.seconds[key] >= QUIET_SECONDS:  # a line per instant entry says nothing
            self.log(f"  {key}: {self.seconds[key]:.1f} s")

    def __delitem__(self, key):
        del self.entries[key]

    def __iter__(self):
        return iter(self.entries)

    def __len__(self):
        return len(self.entries)


class Prefixed(MutableMapping):
    """A view of `cache` whose keys carry `prefix` (one cache, several calibrations)."""

    def __init__(self, cache, prefix):
        self.cache, self.prefix = cache, prefix

    def __getitem__(self, key):
        return self.cache[self.prefix + key]

    def __setitem__(self, key, value):
        self.cache[self.prefix + key] = value

    def __delitem__(self, key):
        del self.cache[self.prefix + key]

    def __iter__(self):
        n = len(self.prefix)
        return (k[n:] for k in self.cache if k.startswith(self.prefix))

    def __len__(self):
        return sum(1 for _ in self)
