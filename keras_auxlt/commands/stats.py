"""Label statistics of a (long-tailed) training split, and its sorted class-count plot.

    python -m keras_auxlt.commands.stats --list_file ImageNet_LT_train.txt
    python -m keras_auxlt.commands.stats --dataset cifar10 \
        --data_dir ../shared/data/cifar10/cifar10_png.tar.gz --imbalance_ratio 100

Takes the data flags of train.py. Only labels are read: the images need not exist.
"""

import json
import os

from absl import app, flags

from keras_auxlt import flags as auxlt_flags
from keras_auxlt.commands.launch import launch
from keras_auxlt.data.errors import DataError
from keras_auxlt.data.shots import SHOT_THRESHOLDS

auxlt_flags.define_data_flags()
flags.DEFINE_string("split", "train", "Which split to describe.")
flags.DEFINE_string("plot", "", "PNG path of the class-count plot (default: <dataset>_<split>_class_counts.png).")
FLAGS = flags.FLAGS


def format_summary(stats):
    groups = stats["shot_groups"]
    return "\n".join([
        f"split            {stats['split']}",
        f"classes          {stats['num_classes']}",
        f"images           {stats['num_images']}",
        f"max / min count  {stats['max_count']} / {stats['min_count']}",
        f"imbalance ratio  {stats['imbalance_ratio']:.2f}",
        f"empty classes    {stats['empty_classes']}",
        f"many / medium / few classes  {groups['many']} / {groups['medium']} / {groups['few']}"
        f"   ({SHOT_THRESHOLDS} images)",
    ])


def plot_class_counts(counts, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ordered = np.sort(np.asarray(counts))[::-1]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(np.arange(len(ordered)), np.maximum(ordered, 0.5), width=1.0, color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlabel("class rank (sorted by training images)")
    ax.set_ylabel("images (log scale)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv):
    del argv
    from keras_auxlt.data.loading import load_split, make_source, summary  # TensorFlow: not for --help

    config = auxlt_flags.data_config_from_flags()
    try:
        split = load_split(make_source(config), FLAGS.split, config, check_images=False)
    except DataError as e:
        raise app.UsageError(str(e))
    stats = summary(split)
    print(format_summary(stats))
    path = FLAGS.plot or f"{FLAGS.dataset}_{FLAGS.split}_class_counts.png"
    ratio = f", imbalance ratio {stats['imbalance_ratio']:.0f}"
    plot_class_counts(split.class_counts, path, f"{FLAGS.dataset} {FLAGS.split}: {stats['num_images']} images{ratio}")
    print(f"plot             {os.path.abspath(path)}")
    print(json.dumps(stats))


def console():
    """The installed command (see pyproject.toml): the same main as `python -m` / the script."""
    launch(main, __doc__, {"data": ("split", *auxlt_flags.DATA_FLAGS), "output": ("plot",)})


if __name__ == "__main__":
    console()
