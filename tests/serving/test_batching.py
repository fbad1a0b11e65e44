"""The dynamic batcher: concurrent requests merge into one call, each gets its own rows back,
batches respect the size limit, and bad input fails only the request that carried it."""

import threading

import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.serving.batching import Batcher


class RecordingModel:
    """Doubles its input; records the batch size of every call; rows equal to -1 are 'bad input'."""

    def __init__(self, delay=0.0):
        self.calls = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, inputs):
        x = inputs["x"]
        with self.lock:
            self.calls.append(len(x))
        if self.delay:
            threading.Event().wait(self.delay)
        if np.any(x == -1):
            raise tf.errors.InvalidArgumentError(None, None, "bad row")
        return {"y": x * 2}


def submit_concurrently(batcher, requests):
    results = [None] * len(requests)
    barrier = threading.Barrier(len(requests))

    def worker(i):
        barrier.wait()
        try:
            results[i] = batcher.submit({"x": requests[i]}, len(requests[i]))
        except Exception as e:  # noqa: BLE001 — recorded for the assertions
            results[i] = e

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_concurrent_requests_are_merged_and_each_gets_its_own_rows():
    model = RecordingModel(delay=0.05)
    batcher = Batcher(model, max_batch_size=64, timeout_seconds=0.2)
    requests = [np.full((i % 3 + 1, 2), i, np.float32) for i in range(12)]
    results = submit_concurrently(batcher, requests)
    for request, result in zip(requests, results):
        np.testing.assert_array_equal(result["y"], request * 2)
    assert sum(model.calls) == sum(len(r) for r in requests)
    assert len(model.calls) < len(requests)  # at least some requests shared a call
    stats = batcher.stats()
    assert stats["requests"] == 12 and stats["batches"] == len(model.calls) and stats["mean_batch_rows"] > 2
    batcher.close()


def test_a_batch_never_exceeds_max_batch_size():
    model = RecordingModel(delay=0.02)
    batcher = Batcher(model, max_batch_size=5, timeout_seconds=0.2)
    requests = [np.full((2, 1), i, np.float32) for i in range(10)]
    results = submit_concurrently(batcher, requests)
    assert all(not isinstance(r, Exception) for r in results)
    assert max(model.calls) <= 5 and sum(model.calls) == 20
    batcher.close()


def test_bad_input_fails_only_its_own_request():
    model = RecordingModel()
    batcher = Batcher(model, max_batch_size=64, timeout_seconds=0.3)
    requests = [np.full((1, 1), i, np.float32) for i in range(6)]
    requests[3] = np.full((1, 1), -1, np.float32)
    results = submit_concurrently(batcher, requests)
    assert isinstance(results[3], tf.errors.InvalidArgumentError)
    for i in (0, 1, 2, 4, 5):
        np.testing.assert_array_equal(results[i]["y"], requests[i] * 2)
    batcher.close()


def test_a_closed_batcher_still_answers_late_requests():
    model = RecordingModel()
    batcher = Batcher(model, max_batch_size=8, timeout_seconds=0.01)
    batcher.close()
    np.testing.assert_array_equal(batcher.submit({"x": np.ones((1, 1))}, 1)["y"], [[2.0]])


@pytest.mark.parametrize("timeout", [0.0, 0.001])
def test_a_lone_request_is_not_held_back_beyond_the_timeout(timeout):
    import time

    batcher = Batcher(RecordingModel(), max_batch_size=64, timeout_seconds=timeout)
    start = time.monotonic()
    batcher.submit({"x": np.ones((1, 1))}, 1)
    assert time.monotonic() - start < 1.0
    batcher.close()
