"""Admission: requests beyond the in-flight capacity are refused at once (429), a request past its
deadline gets 504 and its unstarted work never runs, slots are held until work ends, work handed on
(a Future) is awaited under the same deadline."""

import concurrent.futures
import threading
import time

import grpc
import pytest

from keras_auxlt.serving.admission import Admission
from keras_auxlt.serving.errors import ServingError


def blocked_work(started, release, result="done"):
    def work():
        started.release()
        release.wait(30)
        return result
    return work


def eventually(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def in_threads(admission, works):
    pool = concurrent.futures.ThreadPoolExecutor(len(works))
    return pool, [pool.submit(admission.run, w) for w in works]


def test_requests_beyond_running_plus_queued_are_refused_at_once_with_429():
    admission = Admission(max_concurrent=1, max_queued=1, timeout_seconds=30)
    started, release = threading.Semaphore(0), threading.Event()
    pool, futures = in_threads(admission, [blocked_work(started, release), blocked_work(started, release)])
    assert started.acquire(timeout=10)  # one runs, the other waits in the queue
    assert eventually(lambda: admission.in_flight() == 2)
    with pytest.raises(ServingError) as refused:
        admission.run(lambda: "never")
    assert refused.value.http_status == 429 and refused.value.grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "2 requests in flight, the limit is 2" in refused.value.message
    release.set()
    assert [f.result(timeout=10) for f in futures] == ["done", "done"]
    assert admission.in_flight() == 0
    assert admission.run(lambda: "served again") == "served again"
    pool.shutdown()


def test_a_request_past_its_deadline_gets_504_and_its_queued_work_never_runs():
    admission = Admission(max_concurrent=1, max_queued=4, timeout_seconds=0.3)
    started, release = threading.Semaphore(0), threading.Event()
    ran = []
    pool, futures = in_threads(admission, [blocked_work(started, release)])
    assert started.acquire(timeout=10)
    with pytest.raises(ServingError) as late:
        admission.run(lambda: ran.append("queued work"))
    assert late.value.http_status == 504 and late.value.grpc_code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "not answered within 0.3 s" in late.value.message
    with pytest.raises(ServingError):
        futures[0].result(timeout=10)  # the running one is past its deadline too
    assert admission.in_flight() == 1  # its work still runs and holds its slot
    release.set()
    assert eventually(lambda: admission.in_flight() == 0)  # the blocked work ended and freed its slot
    assert ran == []  # the queued work was dropped
    pool.shutdown()


def test_work_handed_on_as_a_future_is_awaited_under_the_same_deadline():
    admission = Admission(max_concurrent=2, max_queued=0, timeout_seconds=0.3)
    handed = concurrent.futures.Future()
    with pytest.raises(ServingError, match="not answered within"):
        admission.run(lambda: handed)
    assert handed.cancelled() and admission.in_flight() == 0
    done = concurrent.futures.Future()
    done.set_result({"y": 1})
    assert admission.run(lambda: done) == {"y": 1} and admission.in_flight() == 0


def test_an_error_in_the_work_is_raised_and_frees_the_slot():
    admission = Admission(max_concurrent=1, max_queued=0, timeout_seconds=5)

    def broken():
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        admission.run(broken)
    assert admission.in_flight() == 0


def test_limits_are_checked():
    with pytest.raises(ValueError, match="max_concurrent must be >= 1"):
        Admission(0, 1, 1.0)
