"""`--strategy` names to tf.distribute strategies."""

import tensorflow as tf

STRATEGIES = ("auto", "mirrored", "multi_worker", "one_device")


def make_strategy(name):
    """auto: MirroredStrategy over all GPUs if there are several, else one device (GPU or CPU)."""
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one_device"
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    raise ValueError(f"Unknown strategy. Accepted: {', '.join(STRATEGIES)}. Received: strategy={name!r}")
