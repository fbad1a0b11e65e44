"""Data sources: TFDS, image folders (or their archives), list files and NumPy arrays.

Every source answers `load(split_name) -> Split` and lists its `split_names`. Class indices
are fixed per source (sorted folder names, the list file's labels, TFDS's label feature),
so every split of one source agrees on them.
"""

import os

import numpy as np

from keras_auxlt.data import archive
from keras_auxlt.data.errors import DataError
from keras_auxlt.data.split import Split

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


class ArraySource:
    """In-memory NumPy arrays: `{split_name: (images uint8 [N, H, W, 3], labels [N])}`."""

    def __init__(self, splits, class_names=None):
        self._splits = dict(splits)
        if not self._splits:
            raise DataError("ArraySource needs at least one split")
        if class_names is None:
            num_classes = 1 + max(int(np.max(labels)) for _, labels in self._splits.values())
            class_names = [str(i) for i in range(num_classes)]
        self.class_names = tuple(class_names)

    @property
    def split_names(self):
        return tuple(self._splits)

    def load(self, split_name):
        if split_name not in self._splits:
            raise DataError(f"No split {split_name!r} in the arrays. Available: {', '.join(self._splits)}")
        images, labels = self._splits[split_name]
        return Split(split_name, labels, self.class_names, images=images, origin="arrays")


class ImageFolderSource:
    """`<root>/<split>/<class_name>/<file>`; class index = position among sorted class folders.

    `root` may be a directory or a .tar / .tar.gz archive of that layout (extracted once into
    a cache keyed by its checksum). Files that are not images (by suffix) are ignored. Class
    names come from the `train` split when there is one, so all splits share one indexing.
    """

    def __init__(self, root):
        if not os.path.exists(root):
            raise DataError(f"Image folder or archive not found: {root}")
        self.origin = root
        directory = archive.extracted_archive(root) if archive.is_archive(root) else root
        if not os.path.isdir(directory):
            raise DataError(f"{root} is neither a directory nor a .tar/.tar.gz archive")
        self.root = descend_single_wrapper(directory)
        self._class_names = None

    @property
    def split_names(self):
        return tuple(sorted(d for d in os.listdir(self.root) if os.path.isdir(os.path.join(self.root, d))))

    @property
    def class_names(self):
        if self._class_names is None:
            reference = "train" if "train" in self.split_names else (self.split_names or [None])[0]
            if reference is None:
                raise DataError(f"{self.origin}: no split folders (expected e.g. train/ and test/)")
            self._class_names = tuple(_class_dirs(os.path.join(self.root, reference)))
            if not self._class_names:
                raise DataError(f"{self.origin}: split {reference!r} has no class folders")
        return self._class_names

    def load(self, split_name):
        split_dir = os.path.join(self.root, split_name)
        if not os.path.isdir(split_dir):
            raise DataError(f"{self.origin}: no split {split_name!r}. Available: {', '.join(self.split_names) or 'none'}")
        index = {name: i for i, name in enumerate(self.class_names)}
        paths, labels = [], []
        for name in _class_dirs(split_dir):
            if name not in index:
                raise DataError(
                    f"{self.origin}: class folder {split_name}/{name} is not among the classes of the reference split "
                    f"({len(index)} classes)"
                )
            class_dir = os.path.join(split_dir, name)
            files = sorted(f for f in os.listdir(class_dir) if f.lower().endswith(IMAGE_SUFFIXES))
            paths.extend(os.path.join(class_dir, f) for f in files)
            labels.extend([index[name]] * len(files))
        return Split(split_name, np.asarray(labels, np.int64), self.class_names, paths=np.asarray(paths, object),
                     origin=self.origin)


class ListFileSource:
    """ImageNet-LT / Places-LT / iNaturalist 2018 lists: lines `relative/path.jpg <label>`.

    `list_files` maps split names to list files; paths are relative to `data_root`.
    `class_names_file` (optional) has one class name per line, line i naming class i;
    without it the classes are 0..max label over all list files.
    """

    def __init__(self, list_files, data_root="", class_names_file=None):
        if not list_files:
            raise DataError("ListFileSource needs at least one list file")
        self.data_root = data_root
        self._parsed = {name: parse_list_file(path) for name, path in list_files.items()}
        self._files = dict(list_files)
        if class_names_file:
            self.class_names = tuple(_read_class_names(class_names_file))
        else:
            num_classes = 1 + max(int(labels.max()) for _, labels in self._parsed.values())
            self.class_names = tuple(str(i) for i in range(num_classes))

    @property
    def split_names(self):
        return tuple(self._parsed)

    def load(self, split_name):
        if split_name not in self._parsed:
            raise DataError(f"No list file for split {split_name!r}. Given: {', '.join(self._parsed)}")
        rel_paths, labels = self._parsed[split_name]
        paths = np.asarray([os.path.join(self.data_root, p) for p in rel_paths], object)
        return Split(split_name, labels, self.class_names, paths=paths, origin=self._files[split_name])


class TFDSSource:
    """A TFDS image-classification builder, loaded into memory as uint8 arrays.

    Nothing is downloaded unless `download=True`; a builder that is not prepared in
    `data_dir` is an error otherwise. Builders with varying image sizes need the image-folder
    or list-file source instead.
    """

    def __init__(self, name, data_dir=None, download=False):
        import tensorflow_datasets as tfds  # imported here: slow, and only this source needs it

        self._tfds = tfds
        try:
            self.builder = tfds.builder(name, data_dir=data_dir)
        except tfds.core.registered.DatasetNotFoundError as e:
            raise DataError(f"TFDS does not know a dataset named {name!r} ({str(e).splitlines()[0]})") from e
        if not self.builder.is_prepared():
            if not download:
                raise DataError(
                    f"TFDS dataset {name!r} is not prepared in {self.builder.data_dir!r} and downloading is off. "
                    "Prepare it with network access (tfds build / --tfds_download), or pass --data_dir pointing "
                    "to an image folder or archive."
                )
            try:
                self.builder.download_and_prepare()
            except Exception as e:  # network and download errors come in many types
                raise DataError(f"TFDS could not download and prepare {name!r} into {self.builder.data_dir!r}: "
                                f"{str(e).splitlines()[0] if str(e) else type(e).__name__}. Without network access, "
                                "pass --data_dir pointing to an image folder or its .tar.gz archive.") from e
        self.image_key, self.label_key = self.builder.info.supervised_keys or ("image", "label")
        self.class_names = tuple(self.builder.info.features[self.label_key].names)
        shape = self.builder.info.features[self.image_key].shape
        if None in shape[:2]:
            raise DataError(f"TFDS dataset {name!r} has images of varying size {shape}; use a list-file source")
        self.origin = f"tfds:{name}"

    @property
    def split_names(self):
        return tuple(self.builder.info.splits)

    def load(self, split_name):
        try:
            ds = self.builder.as_dataset(split=split_name, as_supervised=True, shuffle_files=False)
        except (ValueError, KeyError) as e:
            raise DataError(f"{self.origin}: no split {split_name!r}. Available: {', '.join(self.split_names)}") from e
        images, labels = self._tfds.as_numpy(ds.batch(1 << 30)).__iter__().__next__()
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        return Split(split_name, labels, self.class_names, images=images, origin=self.origin)


def parse_list_file(path):
    """(relative paths, labels) of a list file; malformed lines name the file and line."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise DataError(f"Cannot read list file {path}: {e}") from e
    paths, labels = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.strip().rsplit(None, 1)
        if len(parts) != 2:
            raise DataError(f"{path}:{number}: expected '<relative/path.jpg> <label>', got {line!r}")
        try:
            label = int(parts[1])
        except ValueError:
            raise DataError(f"{path}:{number}: label {parts[1]!r} is not an integer") from None
        if label < 0:
            raise DataError(f"{path}:{number}: label {label} is negative")
        paths.append(parts[0])
        labels.append(label)
    if not labels:
        raise DataError(f"{path}: the list file has no entries")
    return paths, np.asarray(labels, np.int64)


def _read_class_names(path):
    try:
        with open(path, encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
    except OSError as e:
        raise DataError(f"Cannot read class-name file {path}: {e}") from e
    if not names:
        raise DataError(f"{path}: the class-name file is empty")
    return names


def _class_dirs(split_dir):
    return sorted(d for d in os.listdir(split_dir) if os.path.isdir(os.path.join(split_dir, d)))


def has_image_folder_layout(directory):
    """Whether `directory` is an image folder: a split folder (train/, test/ or val/) in it or in its one wrapper."""
    root = descend_single_wrapper(directory)
    return any(os.path.isdir(os.path.join(root, split)) for split in ("train", "test", "val"))


def misplaced_image_folder(directory, peek=5):
    """Why `directory` looks like part of an image folder rather than one (None if it does not): image files
    directly in it, or class folders of images with no split folder above them. Looks at `peek` entries."""
    entries = sorted(e for e in os.listdir(directory) if not e.startswith("."))
    images = [e for e in entries if e.lower().endswith(IMAGE_SUFFIXES)]
    layout = "an image folder is <root>/train/<class>/<image>, with test/ (and optionally val/) beside train/"
    if images:
        return (f"{directory} holds {len(images)} image files directly ({', '.join(images[:3])}"
                f"{', ...' if len(images) > 3 else ''}): {layout}")
    folders = [e for e in entries if os.path.isdir(os.path.join(directory, e))]
    with_images = [f for f in folders[:peek] if any(n.lower().endswith(IMAGE_SUFFIXES)
                                                    for n in os.listdir(os.path.join(directory, f)))]
    if with_images:
        shown = with_images[:3]
        return (f"{directory} holds {len(folders)} folders, class folders of images ({', '.join(shown)}"
                f"{', ...' if len(folders) > len(shown) else ''}), but no train/ folder: {layout}. If it is one split, "
                "pass the folder above it")
    return None


def descend_single_wrapper(directory):
    """Archives often wrap the layout in one top folder (cifar10/train/...): step into it."""
    entries = [e for e in os.listdir(directory) if not e.startswith(".")]
    if len(entries) == 1:
        inner = os.path.join(directory, entries[0])
        if any(os.path.isdir(os.path.join(inner, split)) for split in ("train", "test", "val")):
            return inner
    return directory
