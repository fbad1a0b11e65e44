"""Train AuxLT (or a baseline) on a long-tailed data set.

    python train.py --flagfile=flags/cifar10_lt.cfg --data_dir=../shared/data/cifar10/cifar10_jpg.tar.gz
    python train.py --flagfile=flags/cifar10_lt_smoke.cfg      # a few hundred steps, about 3 minutes on a CPU

`auxlt-train` once installed (pip install .). The command lives in keras_auxlt/commands/train.py;
flags: keras_auxlt/flags.py; recipes: flags/*.cfg; guide: docs/training.md.
"""

from keras_auxlt.commands.train import console

if __name__ == "__main__":
    console()
