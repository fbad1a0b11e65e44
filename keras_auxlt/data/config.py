"""What data a run reads and how its pipeline draws it: plain dataclasses with no TensorFlow behind them (the
flags module builds them, and parsing flags or printing --help must not wait for TensorFlow to load).
keras_auxlt.data.loading turns a DataConfig into splits, keras_auxlt.data.pipeline a PipelineConfig into
tf.data streams."""

import dataclasses

from keras_auxlt.choices import AUTO_AUGMENT_POLICIES, TRAIN_AUGMENTATIONS
from keras_auxlt.data.errors import DataError


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the data comes from and which long-tailed subset of its training split to use.

    Source choice: list files if `train_list` is set (paths relative to `data_dir`); else an
    image folder if `data_dir` is an archive or a directory with a `train/` folder; else the
    TFDS builder `dataset` with `data_dir` as TFDS data dir.

    `val_per_class` > 0 makes the validation split of data that has none (CIFAR-LT): that many
    images of every class from the training split's images outside the long-tailed subset
    (`long_tail.select_long_tail_and_validation`).
    """

    dataset: str = "cifar10"
    data_dir: str = ""
    tfds_download: bool = True
    train_list: str = ""
    val_list: str = ""
    test_list: str = ""
    class_names_file: str = ""
    imbalance_ratio: float = 1.0  # 1 keeps the training split as it is
    lt_profile: str = "exp"
    lt_step_fraction: float = 0.5
    lt_seed: int = 0
    val_per_class: int = 0
    validate_images: bool = True
    skip_bad_images: bool = False


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    batch_size: int = 128  # global, per stream
    image_size: int = 32
    augment: str = "cifar"  # see choices.TRAIN_AUGMENTATIONS
    auto_augment: str = ""  # "", "randaugment", "autoaugment" (imagenet augmentation only)
    eval_style: str = "cifar"  # "cifar" (as is) or "imagenet" (resize + centre crop)
    seed: int = 0
    balanced_sampler: str = "balanced"  # the balanced stream's sampler, or "sqrt", "reversed"

    def __post_init__(self):
        if self.batch_size < 1:
            raise DataError(f"batch_size must be positive. Received: batch_size={self.batch_size}")
        check_augmentation(self.augment, self.auto_augment)


def check_augmentation(name, auto_augment=""):
    """Raise DataError unless `name` (--augment) and `auto_augment` (--auto_augment) go together."""
    if name not in TRAIN_AUGMENTATIONS:
        raise DataError(f"Unknown augmentation. Accepted: {', '.join(TRAIN_AUGMENTATIONS)}. Received: augment={name!r}")
    if auto_augment not in AUTO_AUGMENT_POLICIES:
        raise DataError(f"Unknown auto-augment policy. Accepted: none, randaugment, autoaugment. "
                        f"Received: auto_augment={auto_augment!r}")
    if auto_augment and name != "imagenet":
        raise DataError(f"auto_augment={auto_augment!r} needs augment='imagenet'. Received: augment={name!r}")


def steps_per_epoch(num_examples, batch_size):
    """One epoch is N / B steps (method.md), rounded up as the reference data loaders do."""
    return -(-num_examples // batch_size)
