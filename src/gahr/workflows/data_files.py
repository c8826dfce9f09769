"""`gahr data show` as a call: a PNG grid of the first images of any data source."""

import math
from pathlib import Path

from ..data import open_dataset
from ..data.store import image_count, source_kind
from ..io import check_out_file
from ..report import save_image_grid


def show_dataset(source: str, out, *, n: int = 16, nrow: int | None = None, seed=0,
                 **options) -> Path:
    """Save a PNG grid of the first n images of `source` (see `open_dataset`)."""
    check_out_file(out, (".png",), "picture")
    if source_kind(source) == "npy":
        n = min(n, image_count(source))
    elif source_kind(source) == "folder":  # a folder is read whole; show its first images
        return save_image_grid(open_dataset(source, **options)[:n], out,
                               nrow=nrow or math.ceil(math.sqrt(n)), save_data=False)
    images = open_dataset(source, n=n, seed=seed, **options)
    nrow = nrow or math.ceil(math.sqrt(len(images)))
    return save_image_grid(images, out, nrow=nrow, save_data=False)
