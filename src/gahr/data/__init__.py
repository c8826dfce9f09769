"""Image data: the paper's synthetic classes, real image sets, preparation, splits.

Every function returns float32 image tensors (N, C, H, W) with intensities in [0, 1].
`open_dataset` is the single entry point of the training configs.
"""

from .dedup import near_duplicates, remove_near_duplicates
from .folders import PRESETS, find_images, load_image_folder, prepare_folder, read_image
from .idx import fashion_mnist, fashion_mnist_labels, read_idx
from .splits import disjoint_splits, split_indices
from .store import (
           NAMED_SOURCES,
           load_images,
           make_dataset,
           open_dataset,
           resize_images,
           save_images,
           show_dataset,
)
from .synthetic import calpha, discs, render_discs

__all__ = ["NAMED_SOURCES", "PRESETS", "calpha", "discs", "disjoint_splits", "fashion_mnist",
           "fashion_mnist_labels", "find_images", "load_image_folder", "load_images",
           "make_dataset", "near_duplicates", "open_dataset", "prepare_folder", "read_idx",
           "read_image", "remove_near_duplicates", "render_discs", "resize_images", "save_images",
           "show_dataset", "split_indices"]
