"""Which global training steps keep a snapshot of the weights (`train.snapshot_steps`).

The setting is an explicit list of steps, e.g. `[100, 1000, 10000]`, or `"log:K"`: K steps
spaced evenly in log(step) from step 1 to the run's last step, or `"log:K:FIRST"` from step
FIRST. Log spacing suits dynamics that unfold over decades of training (memorization sets in
at a time proportional to N: Bonnaire, Urfin, Biroli & Mezard, NeurIPS 2025). Steps are
rounded to integers and repeats dropped; steps after the last one are left out (they become
due if training is extended). `()` or `""` keeps no snapshots.
"""

import math

from .errors import ConfigError

_FORMS = "a list of steps, e.g. [100, 1000], or \"log:K\" / \"log:K:FIRST\", e.g. \"log:8\""


def _log_spec(spec: str) -> tuple[int, int]:
    parts = spec.split(":")
    try:
        if parts[0] != "log" or len(parts) not in (2, 3):
            raise ValueError
        count, first = int(parts[1]), int(parts[2]) if len(parts) == 3 else 1
    except ValueError:
        raise ConfigError(f"train.snapshot_steps={spec!r} is not understood; write "
                          f"{_FORMS}") from None
    if count < 1 or first < 1:
        raise ConfigError(f"train.snapshot_steps={spec!r}: K and FIRST must be >= 1")
    return count, first


def check_snapshot_spec(spec) -> None:
    """ConfigError unless `spec` is a snapshot setting this module understands."""
    if isinstance(spec, str):
        if spec:
            _log_spec(spec)
        return
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in spec):
        raise ConfigError(f"train.snapshot_steps={list(spec)}: steps must be integers >= 1; "
                          f"write {_FORMS}")


def snapshot_schedule(spec, total_steps: int) -> list[int]:
    """The snapshot steps, ascending, of a run of `total_steps` global steps."""
    check_snapshot_spec(spec)
    total = int(total_steps)
    if isinstance(spec, str):
        if not spec:
            return []
        count, first = _log_spec(spec)
        if first >= total or count == 1:
            return [total] if first <= total else []
        ratio = math.log(total / first) / (count - 1)
        steps = {round(first * math.exp(k * ratio)) for k in range(count)}
        steps.add(total)  # exp(log) rounding must not lose the last step
    else:
        steps = set(spec)
    return sorted(s for s in steps if 1 <= s <= total)
