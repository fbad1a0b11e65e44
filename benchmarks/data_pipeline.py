"""Data-layer benchmark: sampler index throughput, and the image pipeline against training speed.

    ./run python -m benchmarks.data_pipeline [--data_dir ../shared/data/cifar10/cifar10_jpg.tar.gz]

1. Indices per second of the balanced and instance samplers for 10, 1,000 and 8,142 classes
   (iNaturalist 2018's class count) over a fixed 100,000-example long-tailed label set, and the
   10-class / 8,142-class ratio (target <= 1.5, >= 1M indices/s).
2. Images per second of the full dual-stream pipeline (decode + CIFAR augmentation + batching)
   on the shared CIFAR-10-LT, against the images per second a ResNet-32 AuxLT train step
   consumes (batch 128 + 128), measured in the same process. The ratio should be >= 10.
"""

import numpy as np
from absl import app, flags

from benchmarks.common import constant_batches, drain, machine, timed_rate
from keras_auxlt.data.long_tail import long_tail_counts

flags.DEFINE_string("data_dir", "../shared/data/cifar10/cifar10_jpg.tar.gz", "CIFAR-10 image folder or archive.")
flags.DEFINE_integer("batch_size", 128, "Batch size per stream.")
FLAGS = flags.FLAGS


def long_tailed_labels(num_classes, num_examples, ratio=100):
    """About `num_examples` labels over `num_classes` classes with an exponential long tail."""
    counts = np.array(long_tail_counts(10_000, num_classes, ratio), np.float64)
    counts = np.maximum(1, np.round(counts / counts.sum() * num_examples)).astype(np.int64)
    return np.random.default_rng(0).permutation(np.repeat(np.arange(num_classes), counts))


def sampler_throughput(batch_size=1024, steps=400, num_examples=100_000):
    """Indices/s per sampler; the data set size is fixed so only the class count changes."""
    from keras_auxlt.data.samplers import make_sampler

    rates = {}
    for num_classes in (10, 1000, 8142):
        labels = long_tailed_labels(num_classes, num_examples)
        for name in ("balanced", "instance"):
            dataset = make_sampler(name, labels, num_classes, seed=0).dataset(batch_size)
            drain(dataset, 20)  # warm-up
            rates[(name, num_classes)] = timed_rate(lambda: drain(dataset, steps), steps * batch_size, repeats=5)
    return rates


def training_consumption(batch_size, steps=10):
    """Images/s one ResNet-32 AuxLT train step consumes (constant in-memory batch, no pipeline)."""
    import keras

    from keras_auxlt.models.auxlt_model import AuxLTModel

    rng = np.random.default_rng(0)
    stream = lambda: (rng.uniform(0, 255, (batch_size, 32, 32, 3)).astype(np.float32),  # noqa: E731
                      rng.integers(0, 10, batch_size))
    constant = constant_batches((stream(), stream()))
    model = AuxLTModel(num_classes=10, aux_tasks=("random",), weight_decay=2e-4)
    model.build((None, 32, 32, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), jit_compile=False)
    fit = lambda n: model.fit(constant, steps_per_epoch=n, epochs=1, verbose=0, shuffle=False)  # noqa: E731
    fit(3)
    return timed_rate(lambda: fit(steps), steps * 2 * batch_size, repeats=2)


def pipeline_rate(data_dir, batch_size, steps=40):
    """Images/s of the CIFAR-10-LT dual-stream pipeline (decode + augment + batch), both streams."""
    from keras_auxlt.data.loading import DataConfig, load_split, make_source
    from keras_auxlt.data.pipeline import PipelineConfig, dual_stream

    config = DataConfig(data_dir=data_dir, imbalance_ratio=100, validate_images=False)
    train = load_split(make_source(config), "train", config)
    dataset = dual_stream(train, PipelineConfig(batch_size=batch_size))
    drain(dataset, 5)
    return timed_rate(lambda: drain(dataset, steps), steps * 2 * batch_size, repeats=2)


def main(argv):
    del argv
    print(f"machine: {machine()}")
    rates = sampler_throughput()
    print("\nsampler indices/s (batch 1024, 100,000 long-tailed examples, best of 5)")
    print(f"{'classes':>8} {'balanced':>14} {'instance':>14}")
    for num_classes in (10, 1000, 8142):
        print(f"{num_classes:>8} {rates[('balanced', num_classes)]:>14,.0f} {rates[('instance', num_classes)]:>14,.0f}")
    for name in ("balanced", "instance"):
        print(f"{name}: 10-class rate / 8,142-class rate = {rates[(name, 10)] / rates[(name, 8142)]:.2f}")
    train_rate = training_consumption(FLAGS.batch_size)  # first: no pipeline threads alive yet
    images_rate = pipeline_rate(FLAGS.data_dir, FLAGS.batch_size)
    print(f"\nCIFAR-10-LT dual-stream pipeline (decode + augment): {images_rate:,.0f} images/s")
    print(f"ResNet-32 AuxLT train step consumption:               {train_rate:,.0f} images/s")
    print(f"pipeline / consumption ratio: {images_rate / train_rate:.1f}x")


if __name__ == "__main__":
    app.run(main)
