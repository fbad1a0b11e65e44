"""python -m serving.client --server localhost:8501 --model cifar10_lt cat.jpg: the client of
keras_auxlt.serving.client (`auxlt-client` once installed)."""

from keras_auxlt.commands.client import console

if __name__ == "__main__":
    console()
