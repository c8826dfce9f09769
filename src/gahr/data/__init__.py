"""Image data: the paper's synthetic classes, real image sets, preparation, splits.

Every function returns float32 image tensors (N, C, H, W) with intensities in [0, 1].
`open_dataset` is the single entry point of the training configs; named sources live in a
registry (`SOURCES`, `register_source`, `data/sources.py`).
"""

from .dedup import cross_duplicates, near_duplicates, remove_near_duplicates
from .folders import FOLDER_PRESETS, find_images, load_image_folder, prepare_folder, read_image
from .idx import fashion_mnist, fashion_mnist_labels, read_idx
from .sources import SOURCES, is_generated, register_source
from .splits import disjoint_splits, split_indices
from .store import (
           NAMED_SOURCES,
           load_image,
           load_images,
           make_dataset,
           open_dataset,
           resize_images,
           save_images,
           source_options,
)
from .synthetic import calpha, discs, render_discs

__all__ = ["FOLDER_PRESETS", "NAMED_SOURCES", "SOURCES", "calpha", "cross_duplicates", "discs",
           "disjoint_splits", "fashion_mnist", "fashion_mnist_labels", "find_images",
           "is_generated", "load_image", "load_image_folder", "load_images", "make_dataset",
           "near_duplicates", "open_dataset", "prepare_folder", "read_idx", "read_image",
           "register_source", "remove_near_duplicates", "render_discs", "resize_images",
           "save_images", "source_options", "split_indices"]


def __getattr__(name):
    """Deprecated name, kept until 0.2: `PRESETS` (now `FOLDER_PRESETS`: three modules had a
    `PRESETS`). `show_dataset` moved to `gahr.workflows.data_files` (drawing is the workflows'
    job; the data package imports nothing above it)."""
    import warnings

    if name == "PRESETS":
        warnings.warn("gahr.data.PRESETS is now gahr.data.FOLDER_PRESETS", DeprecationWarning,
                      stacklevel=2)
        return FOLDER_PRESETS
    if name == "show_dataset":
        raise AttributeError("gahr.data.show_dataset moved to "
                             "gahr.workflows.data_files.show_dataset")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
