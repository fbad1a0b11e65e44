"""`--strategy` names to tf.distribute strategies, and which worker of a cluster this process is."""

import dataclasses
import json
import os

import tensorflow as tf

from keras_auxlt.choices import STRATEGIES


class ClusterConfigError(ValueError):
    """TF_CONFIG is missing or malformed for --strategy=multi_worker."""


def check_tf_config(environ=os.environ):
    """The parsed TF_CONFIG of a multi-worker job; ClusterConfigError saying what is wrong."""
    text = environ.get("TF_CONFIG")
    example = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    if not text:
        raise ClusterConfigError(f"--strategy=multi_worker needs the TF_CONFIG environment variable, e.g. {example}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ClusterConfigError(f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos}): {text!r}") from e
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster or not isinstance(task, dict):
        raise ClusterConfigError(f"TF_CONFIG needs a 'cluster' object and a 'task' object, e.g. {example}. "
                                 f"Received: {text!r}")
    members = cluster.get(task.get("type"))
    if not isinstance(members, list) or not isinstance(task.get("index"), int) or not \
            0 <= task["index"] < len(members):
        raise ClusterConfigError(f"TF_CONFIG task {task!r} is not a member of the cluster {cluster!r}")
    return config


def make_strategy(name):
    """auto: MirroredStrategy over all GPUs if there are several, else one device (GPU or CPU).

    Call it before anything else touches TensorFlow's runtime: a multi-worker strategy configures
    the collective ops, which only works at program start.
    """
    if name == "multi_worker":
        check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one_device"
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    raise ValueError(f"Unknown strategy. Accepted: {', '.join(STRATEGIES)}. Received: strategy={name!r}")


@dataclasses.dataclass(frozen=True)
class WorkerRole:
    """This process in its cluster: the chief writes the run's files, the other workers write nowhere lasting."""

    task_type: str = ""
    task_id: int = 0
    num_workers: int = 1
    has_chief_task: bool = False

    @property
    def is_chief(self):
        # The "chief" task if the cluster has one, else worker 0 (TensorFlow's convention).
        return self.task_type in ("", "chief") or (self.task_type == "worker" and self.task_id == 0
                                                   and not self.has_chief_task)

    @property
    def name(self):
        return f"{self.task_type}{self.task_id}" if self.task_type else "single"


def worker_role(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return WorkerRole()
    spec = resolver.cluster_spec().as_dict()
    workers = sum(len(spec.get(kind, [])) for kind in ("chief", "worker"))
    return WorkerRole(resolver.task_type, int(resolver.task_id), workers, "chief" in spec)
