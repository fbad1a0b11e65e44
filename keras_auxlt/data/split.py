"""`Split`: one split of a data set as labels plus images given as file paths or arrays."""

import dataclasses
from typing import Optional

import numpy as np

from keras_auxlt.data.errors import DataError


@dataclasses.dataclass(frozen=True)
class Split:
    """Images (file paths or a uint8 array), integer labels and class names of one split.

    Exactly one of `paths` (str array [N]) and `images` (uint8 array [N, H, W, 3]) is set.
    `origin` says where the data came from, for error messages.
    """

    name: str
    labels: np.ndarray
    class_names: tuple
    paths: Optional[np.ndarray] = None
    images: Optional[np.ndarray] = None
    origin: str = ""

    def __post_init__(self):
        labels = np.asarray(self.labels)
        if labels.ndim != 1:
            raise DataError(f"{self.where}: labels must be 1-D. Received shape {labels.shape}")
        if labels.size and not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"{self.where}: labels must be integers. Received dtype {labels.dtype}")
        object.__setattr__(self, "labels", labels.astype(np.int64))
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        if (self.paths is None) == (self.images is None):
            raise DataError(f"{self.where}: give exactly one of paths and images")
        n = len(self.labels)
        if n == 0:
            raise DataError(f"{self.where}: the split is empty")
        data = self.paths if self.paths is not None else self.images
        if len(data) != n:
            raise DataError(f"{self.where}: {len(data)} images but {n} labels")
        if self.images is not None:
            images = np.asarray(self.images)
            if images.ndim != 4 or images.shape[-1] != 3:
                raise DataError(f"{self.where}: images must be [N, H, W, 3]. Received shape {images.shape}")
            object.__setattr__(self, "images", images.astype(np.uint8, copy=False))
        else:
            object.__setattr__(self, "paths", np.asarray(self.paths, dtype=object).astype(str))
        bad = np.flatnonzero((self.labels < 0) | (self.labels >= self.num_classes))
        if bad.size:
            i = bad[0]
            raise DataError(
                f"{self.where}: label {self.labels[i]} of example {i} ({self.describe(i)}) is out of range "
                f"[0, {self.num_classes}); {bad.size} labels out of range in all"
            )

    @property
    def where(self):
        return f"{self.origin or 'data'} [{self.name}]"

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def class_counts(self):
        return np.bincount(self.labels, minlength=self.num_classes)

    def __len__(self):
        return len(self.labels)

    def describe(self, i):
        """Human-readable name of example i: its file, or its array index."""
        return self.paths[i] if self.paths is not None else f"array index {i}"

    def subset(self, indices, name=None):
        indices = np.asarray(indices, dtype=np.int64)
        return dataclasses.replace(
            self,
            name=name or self.name,
            labels=self.labels[indices],
            paths=None if self.paths is None else self.paths[indices],
            images=None if self.images is None else self.images[indices],
        )

    def require_all_classes(self):
        """Raise if a class has no images (a class-balanced sampler cannot draw from it)."""
        empty = np.flatnonzero(self.class_counts == 0)
        if empty.size:
            names = ", ".join(f"{c} ({self.class_names[c]})" for c in empty[:10])
            more = f" and {empty.size - 10} more" if empty.size > 10 else ""
            raise DataError(f"{self.where}: classes with zero images: {names}{more}")
        return self
