"""python -m serving.server --model_base_path exports/cifar10_lt --model_name cifar10_lt [flags]: the local
server of keras_auxlt.commands.serve (`auxlt-serve` once installed)."""

from keras_auxlt.commands.serve import console

if __name__ == "__main__":
    console()
