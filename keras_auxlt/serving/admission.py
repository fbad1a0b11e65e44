"""How much predict work the server takes on at once, and how long a request may wait.

    in flight   requests admitted and not yet answered. Beyond `max_concurrent + max_queued` a request is
                refused at once with 429 / RESOURCE_EXHAUSTED, as TF Serving refuses work when its
                batching queue is full, rather than queued without end.
    running     at most `max_concurrent` requests are checked and run at once (one worker thread each);
                the others wait their turn in order. With batching on, a worker hands its request to the
                batcher and is free again: the batcher runs one merged call at a time.
    deadline    a request not answered `timeout_seconds` after it was admitted gets 504 /
                DEADLINE_EXCEEDED; if its work had not started it never runs. Work already running
                finishes (its cost is bounded by the pixel limit and --max_batch_size), holding its slot.
"""

import concurrent.futures
import threading
import time

from keras_auxlt.serving.errors import deadline_exceeded, overloaded


class Admission:
    def __init__(self, max_concurrent, max_queued, timeout_seconds):
        if max_concurrent < 1 or max_queued < 0 or timeout_seconds <= 0:
            raise ValueError("max_concurrent must be >= 1, max_queued >= 0 and timeout_seconds > 0. Received: "
                             f"{max_concurrent}, {max_queued}, {timeout_seconds}")
        self.capacity = max_concurrent + max_queued
        self.timeout_seconds = timeout_seconds
        self._pool = concurrent.futures.ThreadPoolExecutor(max_concurrent, thread_name_prefix="predict")
        self._in_flight = 0
        self._lock = threading.Lock()

    def in_flight(self):
        with self._lock:
            return self._in_flight

    def run(self, work):
        """work() on a worker thread, within the limits; work may return a Future (work handed on, e.g. to the
        batcher), which is then awaited under the same deadline. Raises ServingError 429 or 504."""
        with self._lock:
            if self._in_flight >= self.capacity:
                raise overloaded(f"The server is busy: {self._in_flight} requests in flight, the limit is "
                                 f"{self.capacity} (--max_concurrent_requests + --max_queued_requests); retry later")
            self._in_flight += 1
        deadline = time.monotonic() + self.timeout_seconds
        try:
            future = self._pool.submit(work)
        except BaseException:
            self._release()
            raise
        result = self._await(future, deadline, last=False)
        if not isinstance(result, concurrent.futures.Future):
            self._release()
            return result
        return self._await(result, deadline, last=True)

    def _await(self, future, deadline, last):
        """The future's result under the deadline (504 past it). The slot stays held until the work is done:
        released here on failure or, if this is the `last` step, on success."""
        try:
            result = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except concurrent.futures.TimeoutError:
            future.cancel()  # work that has not started never runs
            future.add_done_callback(lambda _: self._release())  # at once if cancelled, else when the work ends
            raise deadline_exceeded(f"Request not answered within {self.timeout_seconds:g} s "
                                    "(--request_timeout_seconds)") from None
        except BaseException:
            self._release()
            raise
        if last:
            self._release()
        return result

    def _release(self):
        with self._lock:
            self._in_flight -= 1

    def close(self):
        self._pool.shutdown(wait=False, cancel_futures=True)
