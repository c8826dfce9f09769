"""What `--dry-run` says besides the resolved config: the N each run would really train on, and
that a missing config means gahr's paper-scale defaults. Printed to stderr (stdout stays the
JSON of the config, for tools that read it)."""

import sys

from ..errors import GahrError


def dry_run_notes(config_path, datas: dict, out=None) -> list[str]:
    """Print (to `out`, default stderr) and return the notes: one line on the defaults when no
    config file was given, then per run (label -> `DataConfig`) its training and test set
    sizes, or why it would be refused."""
    from ..config import TrainConfig
    from ..train.dataset import count_images, sizes_text, split_sizes

    lines = []
    first = next(iter(datas.values()))
    try:
        num = count_images(first)
    except GahrError as e:
        lines.append(f"note: the data cannot be opened, so N is unknown: {e}")
        num = None
    for label, data in datas.items() if num is not None else ():
        try:
            sizes = sizes_text(*split_sizes(num, data), num)
        except GahrError as e:
            sizes = f"would be refused: {e}"
        lines.append(f"{label}: {sizes}" if label else sizes)
    if config_path is None:  # last: the line a reader sees first under the JSON
        t = TrainConfig()
        lines.append(f"note: no config file given, so these are gahr's paper-scale defaults "
                     f"({t.epochs} epochs of {t.samples_per_epoch} images, batch "
                     f"{t.batch_size}: days on a CPU); pass a config, e.g. "
                     "configs/cpu/discs32_unet.toml")
    for line in lines:
        print(line, file=out or sys.stderr)
    return lines
