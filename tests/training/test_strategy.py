"""TF_CONFIG checks for --strategy=multi_worker, and which process is the chief."""

import json

import pytest

from keras_auxlt.training.strategy import ClusterConfigError, WorkerRole, check_tf_config

CLUSTER = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}


@pytest.mark.parametrize("environ, message", [
    ({}, r"--strategy=multi_worker needs the TF_CONFIG environment variable, e.g. TF_CONFIG='\{\"cluster\""),
    ({"TF_CONFIG": "{cluster: 1}"}, r"TF_CONFIG is not valid JSON \(Expecting property name enclosed in double quotes"),
    ({"TF_CONFIG": json.dumps({"cluster": CLUSTER})}, r"TF_CONFIG needs a 'cluster' object and a 'task' object"),
    ({"TF_CONFIG": json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": 2}})},
     r"TF_CONFIG task \{'type': 'worker', 'index': 2\} is not a member of the cluster"),
    ({"TF_CONFIG": json.dumps({"cluster": CLUSTER, "task": {"type": "chief", "index": 0}})},
     r"is not a member of the cluster"),
])
def test_bad_tf_config_is_explained(environ, message):
    with pytest.raises(ClusterConfigError, match=message):
        check_tf_config(environ)


def test_a_good_tf_config_is_accepted():
    config = {"cluster": CLUSTER, "task": {"type": "worker", "index": 1}}
    assert check_tf_config({"TF_CONFIG": json.dumps(config)}) == config


@pytest.mark.parametrize("role, chief", [
    (WorkerRole(), True),
    (WorkerRole("worker", 0, 2), True),
    (WorkerRole("worker", 1, 2), False),
    (WorkerRole("worker", 0, 3, has_chief_task=True), False),
    (WorkerRole("chief", 0, 3, has_chief_task=True), True),
])
def test_the_chief_is_the_chief_task_or_else_worker_0(role, chief):
    assert role.is_chief == chief
