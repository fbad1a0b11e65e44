"""Run one AuxLT train step on one device and on two replicas; print the max weight difference.

    python -m tests.models.replica_step pipeline|trainer
    python -m tests.models.replica_step STEP_MODE [STEP_MODE...]   # frozen_bn, sync_bn, sync_bn_separate

Logical devices must be set before TensorFlow starts, hence a process of its own; the float64 step
modes share one (a JSON line each). `frozen_bn`
takes batch statistics out of the comparison, so only loss and gradient scaling remain;
`sync_bn` trains BatchNorm with statistics pooled across the replicas. Both compare in float64:
in float32 the two sides sum in different orders and, with BatchNorm over 16 images, that rounding
moved one kernel weight by 1.4e-3 on this CPU (0.48 update) where the same comparison in float64
differs by ~1e-15, so float64 makes the test exact on any CPU. `sync_bn_separate` is `sync_bn` with
`stream_batch_norm="separate"` (the random stream's pass restores the moving statistics, in replica
context). `pipeline` fits on the
dual-stream tf.data pipeline under MirroredStrategy; `trainer` runs train.py's trainer with
--strategy=mirrored on a tiny image folder.
"""

import json
import sys

import tensorflow as tf

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_auxlt.models.auxlt_model import AuxLTModel  # noqa: E402
from tests.models.helpers import COUNTS, NUM_CLASSES, dual_batch  # noqa: E402


def one_step(strategy, initial_weights, data, frozen_bn, stream_batch_norm):
    with strategy.scope():
        model = AuxLTModel(backbone="resnet20", num_classes=NUM_CLASSES, image_size=16, class_counts=COUNTS,
                           aux_tasks=("random", "reweighted"), weight_decay=1e-3, sync_batch_norm=not frozen_bn,
                           stream_batch_norm=stream_batch_norm)
        model.build((None, 16, 16, 3))
        if frozen_bn:
            for layer in model.backbone.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    model.set_weights(initial_weights)
    model.fit(tf.data.Dataset.from_tensors(data), epochs=1, verbose=0, shuffle=False)
    return model.get_weights()


def fit_on_the_dual_stream():
    """fit() under MirroredStrategy fed by the real dual-stream tf.data pipeline."""
    from keras_auxlt.data.pipeline import PipelineConfig, dual_stream
    from keras_auxlt.data.sources import ArraySource

    labels = np.repeat(np.arange(NUM_CLASSES), COUNTS)
    images = np.random.default_rng(0).integers(0, 256, (len(labels), 16, 16, 3), dtype=np.uint8)
    split = ArraySource({"train": (images, labels)}).load("train")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = AuxLTModel(backbone="resnet20", num_classes=NUM_CLASSES, image_size=16, aux_tasks=("random",))
        model.build((None, 16, 16, 3))
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    history = model.fit(dual_stream(split, PipelineConfig(batch_size=8, image_size=16)), steps_per_epoch=3,
                        epochs=1, verbose=0, shuffle=False).history
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "steps": int(model.optimizer.iterations.numpy()),
                      "losses": {k: v[-1] for k, v in history.items() if k.endswith("loss")}}))


def train_under_mirrored_strategy():
    """The whole trainer (checkpoints, resume state, evaluation) with --strategy=mirrored."""
    import pathlib
    import tempfile

    from keras_auxlt.training.trainer import run
    from tests.training.helpers import tiny_run_config

    with tempfile.TemporaryDirectory() as tmp:
        config = tiny_run_config(pathlib.Path(tmp), strategy="mirrored", epochs=2)
        metrics = run(config, progress=False)
        with open(pathlib.Path(tmp) / "run" / "config.json") as f:
            replicas = json.load(f)["derived"]["num_replicas"]
    print(json.dumps({"replicas": replicas, "steps": metrics["steps"], "overall": metrics["overall"]}))


def compare_one_step(mode, mirrored_strategy):
    """One step on one device and on two replicas from the same weights and batch (float64)."""
    frozen_bn = mode == "frozen_bn"
    stream_batch_norm = "separate" if mode == "sync_bn_separate" else "joint"
    data = tuple((images.astype(np.float64), labels) for images, labels in dual_batch(batch=8, seed=1))
    keras.utils.set_random_seed(0)
    reference = AuxLTModel(backbone="resnet20", num_classes=NUM_CLASSES, image_size=16, class_counts=COUNTS,
                           aux_tasks=("random", "reweighted"))
    reference.build((None, 16, 16, 3))
    initial = reference.get_weights()
    single = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"), initial, data, frozen_bn, stream_batch_norm)
    mirrored = one_step(mirrored_strategy, initial, data, frozen_bn, stream_batch_norm)
    print(json.dumps({"mode": mode, "replicas": mirrored_strategy.num_replicas_in_sync,
                      "max_abs_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(single, mirrored)),
                      "max_update": max(float(np.max(np.abs(a - b))) for a, b in zip(single, initial))}), flush=True)


STEP_MODES = ("frozen_bn", "sync_bn", "sync_bn_separate")


def main(modes):
    if modes in (["pipeline"], ["trainer"]):
        return fit_on_the_dual_stream() if modes == ["pipeline"] else train_under_mirrored_strategy()
    unknown = [m for m in modes if m not in STEP_MODES]
    if unknown or not modes:
        raise SystemExit(f"usage: replica_step pipeline|trainer|STEP_MODE... ({', '.join(STEP_MODES)}); got {modes}")
    keras.config.set_floatx("float64")
    mirrored_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # one per process: a second one's
    for mode in modes:                                                          # collective keys clash with the first's
        compare_one_step(mode, mirrored_strategy)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
