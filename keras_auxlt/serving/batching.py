"""Server-side dynamic batching: concurrent requests to one signature of one version run as one call.

A worker thread takes the first waiting request, then gathers more until the batch would pass
`max_batch_size` rows or `timeout_seconds` have passed since the first one, concatenates the
inputs along the batch dimension, runs the signature once and hands each request its rows.
If the merged call fails on bad input (e.g. one undecodable image), each request is rerun
alone so that only the bad one gets the error.
"""

import concurrent.futures
import logging
import queue
import threading
import time

import numpy as np
import tensorflow as tf

log = logging.getLogger("serving")


class _Request:
    def __init__(self, inputs, size):
        self.inputs = inputs
        self.size = size
        self.inner_shapes = {name: value.shape[1:] for name, value in inputs.items()}
        self.future = concurrent.futures.Future()


class Batcher:
    def __init__(self, run, max_batch_size, timeout_seconds, name=""):
        self.run = run  # {name: ndarray} -> {name: ndarray}
        self.max_batch_size = max_batch_size
        self.timeout_seconds = timeout_seconds
        self.name = name
        self.batches = 0
        self.rows = 0
        self.requests = 0
        self._queue = queue.Queue()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"batcher-{name}", daemon=True)
        self._thread.start()

    def submit(self, inputs, size):
        """Run `inputs` (batch `size`) as part of a batch; blocks until its outputs are ready."""
        return self.enqueue(inputs, size).result()

    def enqueue(self, inputs, size):
        """A Future of the outputs of `inputs` (batch `size`), run as part of a batch. Cancelling it before
        its batch starts drops the request."""
        request = _Request(inputs, size)
        with self._lock:
            if not self._closed.is_set():
                self._queue.put(request)
                return request.future
        # The version was retired while this request was on its way: run it alone, now.
        if request.future.set_running_or_notify_cancel():
            self._run_alone(request)
        return request.future

    def close(self):
        """No new requests; those already queued still run, then the worker ends."""
        with self._lock:
            self._closed.set()

    def stats(self):
        mean = self.rows / self.batches if self.batches else 0.0
        return {"requests": self.requests, "batches": self.batches, "rows": self.rows, "mean_batch_rows": mean}

    def _loop(self):
        pending = None
        while True:
            if pending is None:
                try:
                    pending = self._queue.get(timeout=0.5)
                except queue.Empty:
                    if self._closed.is_set():
                        return
                    continue
                if not pending.future.set_running_or_notify_cancel():  # cancelled while it waited
                    pending = None
                    continue
            batch, total, pending = [pending], pending.size, None
            deadline = time.monotonic() + self.timeout_seconds
            while total < self.max_batch_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if not item.future.set_running_or_notify_cancel():
                    continue
                if total + item.size > self.max_batch_size or item.inner_shapes != batch[0].inner_shapes:
                    pending = item  # starts the next batch
                    break
                batch.append(item)
                total += item.size
            self._run_batch(batch, total)

    def _run_batch(self, batch, total):
        self.batches += 1
        self.rows += total
        self.requests += len(batch)
        if len(batch) == 1:
            self._run_alone(batch[0])
            return
        merged = {name: np.concatenate([r.inputs[name] for r in batch]) for name in batch[0].inputs}
        try:
            outputs = self.run(merged)
        except tf.errors.InvalidArgumentError:
            for request in batch:  # find the request at fault; the others still get their answers
                self._run_alone(request)
            return
        except Exception as e:  # noqa: BLE001 — every waiting request must be released
            for request in batch:
                request.future.set_exception(e)
            return
        start = 0
        for request in batch:
            request.future.set_result({name: value[start:start + request.size] for name, value in outputs.items()})
            start += request.size

    def _run_alone(self, request):
        try:
            request.future.set_result(self.run(request.inputs))
        except Exception as e:  # noqa: BLE001 — handed to the waiting request thread
            request.future.set_exception(e)
