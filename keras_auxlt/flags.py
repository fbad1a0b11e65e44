"""Every command-line flag of keras-auxlt, declared in this one module.

`train.py`, `evaluate.py` and `python -m keras_auxlt.data.stats` define the groups they need
and turn parsed flags into the typed configs with the `*_config_from_flags` helpers.
"""

from absl import flags

from keras_auxlt.data.loading import DataConfig
from keras_auxlt.data.long_tail import PROFILES

FLAGS = flags.FLAGS


def define_data_flags():
    flags.DEFINE_string("dataset", "cifar10", "Data set name: a TFDS builder (cifar10, cifar100, ...) or a label "
                        "for list-file / image-folder data (imagenet_lt, places_lt, inat2018).")
    flags.DEFINE_string("data_dir", "", "Image folder (<dir>/<split>/<class>/<file>) or its .tar/.tar.gz archive; "
                        "the root that list-file paths are relative to; or a TFDS data dir.")
    flags.DEFINE_bool("tfds_download", True, "Let TFDS download and prepare a data set that is not prepared yet.")
    flags.DEFINE_string("train_list", "", "List file of the training split: lines 'relative/path.jpg label'.")
    flags.DEFINE_alias("list_file", "train_list")
    flags.DEFINE_string("val_list", "", "List file of the validation split.")
    flags.DEFINE_string("test_list", "", "List file of the test split.")
    flags.DEFINE_string("class_names_file", "", "Optional file with one class name per line (line i = class i).")
    flags.DEFINE_float("imbalance_ratio", 1.0, "Long-tailed subset of the training split with n_max / n_min = "
                       "this ratio; 1 keeps the split as it is.")
    flags.DEFINE_enum("lt_profile", "exp", PROFILES, "Long-tail profile: exponential or step.")
    flags.DEFINE_float("lt_step_fraction", 0.5, "Step profile: fraction of classes cut to n_max / ratio.")
    flags.DEFINE_integer("lt_seed", 0, "Seed of the long-tail selection (0 = the reference subsets).")
    flags.DEFINE_bool("validate_images", True, "Decode every image once before training and report all bad files.")
    flags.DEFINE_bool("skip_bad_images", False, "Drop unreadable or corrupt images (count reported) instead of "
                      "stopping.")


def data_config_from_flags():
    return DataConfig(
        dataset=FLAGS.dataset, data_dir=FLAGS.data_dir, tfds_download=FLAGS.tfds_download,
        train_list=FLAGS.train_list, val_list=FLAGS.val_list, test_list=FLAGS.test_list,
        class_names_file=FLAGS.class_names_file, imbalance_ratio=FLAGS.imbalance_ratio,
        lt_profile=FLAGS.lt_profile, lt_step_fraction=FLAGS.lt_step_fraction, lt_seed=FLAGS.lt_seed,
        validate_images=FLAGS.validate_images, skip_bad_images=FLAGS.skip_bad_images)
