"""From a `DataConfig` to the splits a run uses: source choice, long-tailed subset, checks."""

import os

from keras_auxlt.data import archive, validate
from keras_auxlt.data.config import DataConfig as DataConfig  # where the callers of load_split take it from
from keras_auxlt.data.errors import DataError
from keras_auxlt.data.long_tail import long_tail_counts, select_long_tail, select_long_tail_and_validation
from keras_auxlt.data.shots import shot_group_sizes
from keras_auxlt.data.sources import (
    ImageFolderSource,
    ListFileSource,
    TFDSSource,
    descend_single_wrapper,
    has_image_folder_layout,
    misplaced_image_folder,
)


def make_source(config):
    if config.train_list:
        return _list_file_source(config)
    if not config.data_dir:
        return TFDSSource(config.dataset, download=config.tfds_download)
    if archive.is_archive(config.data_dir) or (os.path.isdir(config.data_dir) and has_image_folder_layout(config.data_dir)):
        return ImageFolderSource(config.data_dir)
    if not os.path.exists(config.data_dir):
        raise DataError(f"--data_dir {config.data_dir} does not exist")
    if os.path.isfile(config.data_dir):
        raise DataError(f"--data_dir {config.data_dir} is a file, and not an archive of an image folder "
                        f"({', '.join(archive.ARCHIVE_SUFFIXES)}): pass an image folder (train/<class>/<image>), its "
                        "archive, or a TFDS data directory")
    if not os.path.isdir(os.path.join(config.data_dir, config.dataset)):  # no TFDS data of the data set there
        reason = misplaced_image_folder(config.data_dir)
        if reason:
            raise DataError(f"--data_dir {reason}")
    return TFDSSource(config.dataset, data_dir=config.data_dir, download=config.tfds_download)


def _list_file_source(config):
    """The list files of `config`, their image paths relative to --data_dir: a folder, or an archive of one (read
    from its extracted copy). A relative list-file path is read from the working directory, else from that root
    (data sets such as Tiny-ImageNet-LT ship their list files there)."""
    root = config.data_dir
    if root and archive.is_archive(root):
        root = descend_single_wrapper(archive.extracted_archive(root))
    elif root and not os.path.isdir(root):
        raise DataError(f"--data_dir {root}: no such folder (list-file paths are relative to it: give the folder, or "
                        f"the archive of it, that holds the images)")

    def located(flag, path):
        if not path or os.path.isfile(path) or os.path.isabs(path) or not root:
            if path and not os.path.isfile(path):
                raise DataError(f"--{flag} {path}: no such file (a relative path is read from the working directory, "
                                f"{os.getcwd()}). The {config.dataset} list files come with the data set: pass each "
                                "one's path, and --data_dir=<the root its image paths are relative to>")
            return path
        inside = os.path.join(root, path)
        if not os.path.isfile(inside):
            raise DataError(f"--{flag} {path}: no such file in the working directory ({os.getcwd()}) nor in --data_dir "
                            f"({config.data_dir}). The {config.dataset} list files come with the data set: pass each "
                            "one's path, and --data_dir=<the root its image paths are relative to>")
        return inside

    lists = {split: located(f"{split}_list", getattr(config, f"{split}_list")) for split in ("train", "val", "test")}
    return ListFileSource({k: v for k, v in lists.items() if v}, data_root=root,
                          class_names_file=located("class_names_file", config.class_names_file) or None)


def long_tailed(split, config):
    """The long-tailed subset of a training split (the split itself when the ratio is 1)."""
    if config.imbalance_ratio == 1 and not config.val_per_class:
        return split
    counts = _long_tail_counts(split, config)
    if config.val_per_class:
        return split.subset(_with_validation(split, counts, config)[0])
    return split.subset(select_long_tail(split.labels, counts, seed=config.lt_seed))


def held_out_validation(split, config):
    """The validation split made from a training split's images outside its long-tailed subset."""
    indices = _with_validation(split, _long_tail_counts(split, config), config)[1]
    return split.subset(indices, name="val")


def _long_tail_counts(split, config):
    if config.imbalance_ratio == 1:
        return split.class_counts.tolist()
    n_max = int(split.class_counts.max())
    return long_tail_counts(n_max, split.num_classes, config.imbalance_ratio, config.lt_profile,
                            config.lt_step_fraction)


def _with_validation(split, counts, config):
    try:
        return select_long_tail_and_validation(split.labels, counts, config.val_per_class, seed=config.lt_seed,
                                               class_names=split.class_names)
    except DataError as e:
        raise DataError(f"{split.where}, --val_per_class={config.val_per_class}: {e}") from None


def has_validation(source, config):
    """Whether a run on `source` has a validation split: the source's own, or one made by --val_per_class.
    Asking for both is a DataError: one run validates on one split."""
    if config.val_per_class and "val" in source.split_names:
        raise DataError(f"--val_per_class={config.val_per_class}: the data already has a validation split "
                        f"({config.val_list or 'val'}); use it, or set --val_per_class=0")
    return bool(config.val_per_class) or "val" in source.split_names


def load_split(source, name, config, check_images=True, progress=True):
    """One split, long-tailed if it is `train`, with its files checked (and decoded if asked).

    `val` with `config.val_per_class` is made from the source's training split."""
    if name == "val" and config.val_per_class:
        has_validation(source, config)
        split = held_out_validation(source.load("train"), config)
    else:
        split = source.load(name)
    if name == "train":
        split = long_tailed(split, config).require_all_classes()
    if check_images:
        validate.check_files_exist(split)
        if config.validate_images:
            split, skipped = validate.validate_images(split, skip_bad=config.skip_bad_images, progress=progress)
            if skipped:
                print(f"[data] skipped {skipped} bad images in {split.where}")
                if name == "train":
                    split.require_all_classes()
    return split


def summary(split):
    """Label statistics of a split as a dict (used by the stats CLI and written into run dirs)."""
    counts = split.class_counts
    nonzero = counts[counts > 0]
    return {
        "split": split.name,
        "num_classes": split.num_classes,
        "num_images": int(len(split)),
        "max_count": int(counts.max()),
        "min_count": int(counts.min()),
        "imbalance_ratio": float(counts.max() / nonzero.min()) if nonzero.size else float("nan"),
        "empty_classes": int((counts == 0).sum()),
        "shot_groups": shot_group_sizes(counts),
    }

