"""Data-layer benchmark: sampler index throughput, and the image pipeline against training speed.

    ./run python -m benchmarks.data_pipeline [--data_dir ../shared/data/cifar10/cifar10_jpg.tar.gz]

1. Indices per second of the balanced and instance samplers for 10, 1,000 and 8,142 classes
   (iNaturalist 2018 size, ~54 images per class, long-tailed), and the 8,142 / 10 ratio.
2. Images per second of the full dual-stream pipeline (decode + CIFAR augmentation + batching)
   on the shared CIFAR-10-LT, against the images per second a ResNet-32 AuxLT train step
   consumes, measured in the same process. The ratio should be >= 10.
"""

import numpy as np
from absl import app, flags

from benchmarks.common import drain, machine, timed_rate

flags.DEFINE_string("data_dir", "../shared/data/cifar10/cifar10_jpg.tar.gz", "CIFAR-10 image folder or archive.")
flags.DEFINE_integer("batch_size", 128, "Batch size per stream.")
FLAGS = flags.FLAGS


def sampler_throughput(batch_size=1024, steps=200):
    from keras_auxlt.data.long_tail import long_tail_counts
    from keras_auxlt.data.samplers import make_sampler

    rates = {}
    for num_classes in (10, 1000, 8142):
        counts = long_tail_counts(1000, num_classes, 100)  # 1000 .. 10 images per class
        labels = np.repeat(np.arange(num_classes), counts)
        for name in ("balanced", "instance"):
            dataset = make_sampler(name, labels, num_classes, seed=0).dataset(batch_size)
            drain(dataset, 20)  # warm-up
            rates[(name, num_classes)] = timed_rate(lambda: drain(dataset, steps), steps * batch_size)
    return rates


def pipeline_vs_training(data_dir, batch_size, steps=40):
    import keras
    import tensorflow as tf

    from keras_auxlt.data.loading import DataConfig, load_split, make_source
    from keras_auxlt.data.pipeline import PipelineConfig, dual_stream
    from keras_auxlt.models.auxlt_model import AuxLTModel

    config = DataConfig(data_dir=data_dir, imbalance_ratio=100, validate_images=False)
    train = load_split(make_source(config), "train", config)
    dataset = dual_stream(train, PipelineConfig(batch_size=batch_size))
    drain(dataset, 5)
    pipeline_rate = timed_rate(lambda: drain(dataset, steps), steps * 2 * batch_size, repeats=2)

    model = AuxLTModel(num_classes=10, aux_tasks=("random",), weight_decay=2e-4)
    model.build((None, 32, 32, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), jit_compile=False)
    batch = next(iter(dataset))
    constant = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(constant, steps_per_epoch=3, epochs=1, verbose=0)
    train_steps = 10
    train_rate = timed_rate(lambda: model.fit(constant, steps_per_epoch=train_steps, epochs=1, verbose=0),
                            train_steps * 2 * batch_size, repeats=2)
    return pipeline_rate, train_rate


def main(argv):
    del argv
    print(f"machine: {machine()}")
    rates = sampler_throughput()
    print("\nsampler indices/s (batch 1024)")
    print(f"{'classes':>8} {'balanced':>14} {'instance':>14}")
    for num_classes in (10, 1000, 8142):
        print(f"{num_classes:>8} {rates[('balanced', num_classes)]:>14,.0f} {rates[('instance', num_classes)]:>14,.0f}")
    for name in ("balanced", "instance"):
        print(f"{name}: 10-class rate / 8,142-class rate = {rates[(name, 10)] / rates[(name, 8142)]:.2f}")
    pipeline_rate, train_rate = pipeline_vs_training(FLAGS.data_dir, FLAGS.batch_size)
    print(f"\nCIFAR-10-LT dual-stream pipeline (decode + augment): {pipeline_rate:,.0f} images/s")
    print(f"ResNet-32 AuxLT train step consumption:               {train_rate:,.0f} images/s")
    print(f"pipeline / consumption ratio: {pipeline_rate / train_rate:.1f}x")


if __name__ == "__main__":
    app.run(main)
