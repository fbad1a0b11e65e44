"""Evaluate a trained run's primary head on the test split (and log its auxiliary heads).

    python evaluate.py --model_dir runs/cifar10_lt [--checkpoint auto|inference|best|last] [data flags]

`auxlt-evaluate` once installed (pip install .). The command lives in keras_auxlt/commands/evaluate.py.
"""

from keras_auxlt.commands.evaluate import console

if __name__ == "__main__":
    console()
