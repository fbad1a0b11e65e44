"""Shared fixtures: the shared CIFAR-10 archive and small generated image data."""

import os
import pathlib

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_CIFAR10 = REPO_ROOT.parent / "shared" / "data" / "cifar10" / "cifar10_jpg.tar.gz"
SHARED_TINY_IMAGENET_LT = REPO_ROOT.parent / "shared" / "data" / "tiny_imagenet_lt" / "tiny_imagenet_lt.tar.gz"
CIFAR10_LT100_COUNTS = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def repo_env(**extra):
    """Environment of a subprocess that imports keras_auxlt and tests from this checkout, plus `extra`."""
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), **extra}


def pil_decoded(encoded_images):
    """uint8 [N, H, W, 3] of encoded images as PIL decodes them: what a client sends as raw pixels."""
    import io

    from PIL import Image

    return np.stack([np.asarray(Image.open(io.BytesIO(data)).convert("RGB")) for data in encoded_images])


def _shared_archive(path, what):
    """`path` as a string; skip if absent (fail if AUXLT_REQUIRE_SHARED_DATA=1)."""
    if not path.is_file():
        message = f"shared {what} archive not found at {path}"
        if os.environ.get("AUXLT_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(message + " (AUXLT_REQUIRE_SHARED_DATA=1)")
        pytest.skip(message)
    return str(path)


@pytest.fixture(scope="session")
def shared_cifar10():
    """Path of ../shared/data/cifar10/cifar10_jpg.tar.gz; skip if absent (fail if AUXLT_REQUIRE_SHARED_DATA=1)."""
    return _shared_archive(SHARED_CIFAR10, "CIFAR-10")


@pytest.fixture(scope="session")
def shared_tiny_imagenet_lt():
    """Path of ../shared/data/tiny_imagenet_lt/tiny_imagenet_lt.tar.gz; skip if absent (fail if
    AUXLT_REQUIRE_SHARED_DATA=1)."""
    return _shared_archive(SHARED_TINY_IMAGENET_LT, "Tiny-ImageNet-LT")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A tiny trained run (3 classes, 32x32 inputs, AuxLT with random + rotation heads): export and serving."""
    import dataclasses

    from keras_auxlt.data.pipeline import PipelineConfig
    from keras_auxlt.training import trainer
    from tests.training.helpers import tiny_run_config

    root = tmp_path_factory.mktemp("trained_run")
    config = dataclasses.replace(tiny_run_config(root, epochs=1),
                                 pipeline=PipelineConfig(batch_size=8, image_size=32, seed=0))
    trainer.run(config, progress=False)
    return config.model_dir


def private_cache_dir(tmp_path_factory):
    return str(tmp_path_factory.getbasetemp() / "auxlt-cache")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Archive extraction goes to a per-session cache, never the user's."""
    monkeypatch.setenv("AUXLT_CACHE", private_cache_dir(tmp_path_factory))


@pytest.fixture(scope="session")
def cifar_test_jpegs(shared_cifar10, tmp_path_factory):
    """256 evenly spaced JPEG files (bytes) of the shared CIFAR-10 test split."""
    import tensorflow as tf

    from keras_auxlt.data.sources import ImageFolderSource

    previous = os.environ.get("AUXLT_CACHE")
    os.environ["AUXLT_CACHE"] = private_cache_dir(tmp_path_factory)  # session fixtures run before _private_cache
    try:
        test = ImageFolderSource(shared_cifar10).load("test")
    finally:
        if previous is None:
            os.environ.pop("AUXLT_CACHE")
        else:
            os.environ["AUXLT_CACHE"] = previous
    picks = np.linspace(0, len(test) - 1, 256).round().astype(int)
    return [tf.io.read_file(test.paths[i]).numpy() for i in picks]


def random_images(n, size=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)


def write_image_folder(root, per_class, splits=("train", "test"), size=8, fmt="png"):
    """<root>/<split>/<class_k>/<i>.<fmt> with per_class[k] images per class; returns root."""
    import tensorflow as tf

    encode = tf.io.encode_png if fmt == "png" else tf.io.encode_jpeg
    for split in splits:
        for k, n in enumerate(per_class):
            class_dir = pathlib.Path(root) / split / f"class_{k:02d}"
            class_dir.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(random_images(n, size, seed=k)):
                (class_dir / f"{i:04d}.{fmt}").write_bytes(encode(image).numpy())
    return str(root)
