import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.data import augment
from keras_auxlt.data.errors import DataError
from keras_auxlt.data.loading import DataConfig, load_split, make_source
from keras_auxlt.data.pipeline import PipelineConfig, dual_stream, eval_dataset, single_stream, steps_per_epoch
from keras_auxlt.data.sources import ArraySource, ImageFolderSource
from tests.conftest import random_images, write_image_folder


def lt_split(per_class=(40, 12, 4), size=8):
    labels = np.repeat(np.arange(len(per_class)), per_class)
    images = random_images(len(labels), size=size, seed=1)
    return ArraySource({"train": (images, labels)}).load("train")


def test_dual_stream_yields_two_batches_per_step():
    split = lt_split()
    config = PipelineConfig(batch_size=16, image_size=8, seed=0)
    ds = dual_stream(split, config)
    (xb, yb), (xr, yr) = ds.element_spec
    assert xb.shape.as_list() == [16, 8, 8, 3] and xb.dtype == tf.float32 and yb.dtype == tf.int64
    assert xr.shape.as_list() == [16, 8, 8, 3]
    balanced, random = [], []
    for (_, yb), (_, yr) in ds.take(40):
        balanced.append(yb.numpy())
        random.append(yr.numpy())
    balanced, random = np.concatenate(balanced), np.concatenate(random)
    np.testing.assert_allclose(np.bincount(balanced) / len(balanced), [1 / 3] * 3, atol=0.06)
    np.testing.assert_allclose(np.bincount(random) / len(random), np.array([40, 12, 4]) / 56, atol=0.03)


def test_resumed_dual_stream_yields_identical_images_and_labels():
    split = lt_split()
    config = PipelineConfig(batch_size=16, image_size=8, seed=3)
    full = list(dual_stream(split, config).take(9).as_numpy_iterator())
    resumed = list(dual_stream(split, config, start_step=5).take(4).as_numpy_iterator())
    for a, b in zip(full[5:], resumed):
        for x, y in zip(tf.nest.flatten(a), tf.nest.flatten(b)):
            np.testing.assert_array_equal(x, y)


def test_shards_partition_every_global_batch_of_both_streams():
    split = lt_split()
    config = PipelineConfig(batch_size=16, image_size=8, seed=3)
    full = list(dual_stream(split, config, start_step=2).take(3).as_numpy_iterator())
    shards = [list(dual_stream(split, config, start_step=2, shard=(i, 4)).take(3).as_numpy_iterator())
              for i in range(4)]
    for step in range(3):
        for stream in range(2):
            for part in range(2):  # images, labels
                pieces = [shards[i][step][stream][part] for i in range(4)]
                assert all(len(p) == 4 for p in pieces)
                np.testing.assert_array_equal(np.concatenate(pieces), full[step][stream][part])


@pytest.mark.parametrize("shard", [(2, 2), (0, 3), (-1, 2)])
def test_bad_shards_are_refused(shard):
    with pytest.raises(ValueError, match=f"shard {shard[0]} of {shard[1]}"):
        single_stream(lt_split(), PipelineConfig(batch_size=16, image_size=8), shard=shard)


def test_augmentation_differs_per_position_and_seed():
    split = lt_split()
    a = next(single_stream(split, PipelineConfig(batch_size=56, image_size=8, seed=0), "balanced").as_numpy_iterator())
    b = next(single_stream(split, PipelineConfig(batch_size=56, image_size=8, seed=1), "balanced").as_numpy_iterator())
    assert not np.array_equal(a[0], b[0])


@pytest.mark.parametrize("size, pad", [(32, 4), (16, 4), (64, 8)])
def test_cifar_augmentation_is_a_padded_crop_maybe_flipped(size, pad):
    """4-pixel padding as the reference code pads 32x32 images; an eighth of the side above that (Tiny-ImageNet-LT)."""
    image = tf.constant(random_images(1, size=size, seed=7)[0])
    padded = np.pad(image.numpy().astype(np.float32), [[pad, pad], [pad, pad], [0, 0]])
    crops = {(dy, dx, flip) for dy in range(2 * pad + 1) for dx in range(2 * pad + 1) for flip in (0, 1)}
    seen_flips, seen_offsets = set(), set()
    for s in range(40):
        out = augment.cifar_train(image, tf.constant([s, 1], tf.int64), image_size=size).numpy()
        assert out.shape == (size, size, 3)
        matches = [(dy, dx, f) for dy, dx, f in crops
                   if np.array_equal(out, (padded[dy:dy + size, dx:dx + size, :][:, ::-1] if f
                                           else padded[dy:dy + size, dx:dx + size]))]
        assert matches, "output is not a crop of the zero-padded image"
        seen_flips.add(matches[0][2])
        seen_offsets.update(abs(dy - pad) for dy, _, _ in matches)
    assert seen_flips == {0, 1}
    assert max(seen_offsets) > 4 if pad > 4 else max(seen_offsets) <= 4


def test_transforms_give_the_same_result_eagerly_and_inside_dataset_map():
    image = tf.constant(random_images(1, size=40, seed=2)[0])
    seed = tf.constant([11, 22], tf.int64)
    for transform in (augment.train_transform("cifar", 32), augment.train_transform("imagenet", 24)):
        eager = transform(image, seed).numpy()
        mapped = next(iter(tf.data.Dataset.from_tensors((image, seed)).map(transform))).numpy()
        np.testing.assert_array_equal(eager, mapped)


def test_imagenet_style_and_eval_transform_shapes():
    image = tf.constant(random_images(1, size=48, seed=2)[0])[:, :40]
    out = augment.imagenet_train(image, tf.constant([1, 2], tf.int64), image_size=24)
    assert out.shape == (24, 24, 3)
    assert augment.eval_transform(image, 24, "imagenet").shape == (24, 24, 3)
    np.testing.assert_array_equal(augment.eval_transform(image[:24, :24], 24, "cifar"), tf.cast(image[:24, :24], tf.float32))


@pytest.mark.large
@pytest.mark.parametrize("policy", ["randaugment", "autoaugment"])
def test_auto_augment_policies_run_in_tf_data(policy):
    split = lt_split(size=32)
    config = PipelineConfig(batch_size=4, image_size=32, augment="imagenet", auto_augment=policy)
    x, _ = next(iter(single_stream(split, config)))
    assert x.shape == (4, 32, 32, 3) and float(tf.reduce_max(x)) <= 255.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(augment="mixup"), "Accepted: cifar, imagenet, none. Received: augment='mixup'"),
    (dict(augment="cifar", auto_augment="randaugment"), "needs augment='imagenet'"),
    (dict(augment="imagenet", auto_augment="trivial"), "Received: auto_augment='trivial'"),
    (dict(batch_size=0), "batch_size must be positive"),
])
def test_bad_pipeline_config(kwargs, message):
    with pytest.raises(DataError, match=message):
        PipelineConfig(**kwargs)


def test_eval_dataset_covers_the_split_once_in_order(tmp_path):
    split = ImageFolderSource(write_image_folder(tmp_path / "f", per_class=[3, 2], size=8)).load("test")
    xs, ys = zip(*eval_dataset(split, PipelineConfig(batch_size=2, image_size=8)).as_numpy_iterator())
    assert np.concatenate(ys).tolist() == split.labels.tolist()
    expected = np.stack([tf.io.decode_png(tf.io.read_file(p)).numpy() for p in split.paths]).astype(np.float32)
    np.testing.assert_array_equal(np.concatenate(xs), expected)


def test_steps_per_epoch_rounds_up():
    assert steps_per_epoch(12406, 128) == 97
    assert steps_per_epoch(256, 128) == 2


@pytest.mark.large
def test_shared_cifar10_lt_through_the_dual_stream(shared_cifar10):
    config = DataConfig(data_dir=shared_cifar10, imbalance_ratio=100, validate_images=False)
    train = load_split(make_source(config), "train", config)
    ds = dual_stream(train, PipelineConfig(batch_size=128, seed=0))
    pixels, balanced = [], []
    for (_, yb), (xr, _) in ds.take(20):
        pixels.append(xr.numpy())
        balanced.append(yb.numpy())
    # Training pixels keep the data's statistics (crops add some zero padding, so a bit lower).
    mean = np.concatenate(pixels).mean(axis=(0, 1, 2)) / 255.0
    assert np.all(mean > 0.38) and np.all(mean < 0.52), mean
    assert len(np.unique(np.concatenate(balanced))) == 10
