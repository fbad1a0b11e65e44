"""Run one AuxLT train step on one device and on two replicas; print the max weight difference.

    python -m tests.models.replica_step frozen_bn|sync_bn

A fresh process per mode: logical devices must be set before TensorFlow starts. `frozen_bn`
takes batch statistics out of the comparison, so only loss and gradient scaling remain;
`sync_bn` trains BatchNorm with statistics pooled across the replicas.
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


def one_step(strategy, initial_weights, data, frozen_bn):
    with strategy.scope():
        model = AuxLTModel(backbone="resnet20", num_classes=NUM_CLASSES, image_size=16, class_counts=COUNTS,
                           aux_tasks=("random", "reweighted"), weight_decay=1e-3, sync_batch_norm=not frozen_bn)
        model.build((None, 16, 16, 3))
        if frozen_bn:
            for layer in model.backbone.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    model.set_weights(initial_weights)
    model.fit(tf.data.Dataset.from_tensors(data), epochs=1, verbose=0)
    return model.get_weights()


def main(mode):
    frozen_bn = mode == "frozen_bn"
    data = dual_batch(batch=8, seed=1)
    keras.utils.set_random_seed(0)
    reference = AuxLTModel(backbone="resnet20", num_classes=NUM_CLASSES, image_size=16, class_counts=COUNTS,
                           aux_tasks=("random", "reweighted"))
    reference.build((None, 16, 16, 3))
    initial = reference.get_weights()
    single = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"), initial, data, frozen_bn)
    mirrored_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    mirrored = one_step(mirrored_strategy, initial, data, frozen_bn)
    print(json.dumps({"replicas": mirrored_strategy.num_replicas_in_sync,
                      "max_abs_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(single, mirrored)),
                      "max_update": max(float(np.max(np.abs(a - b))) for a, b in zip(single, initial))}))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
