"""Timing helpers shared by the benchmarks (not tests: nothing here asserts on speed)."""

import platform
import time

import tensorflow as tf


def timed_rate(fn, units, repeats=3):
    """Best-of-`repeats` rate of `fn()` in units per second (fn does `units` units of work)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return units / best


def drain(dataset, steps):
    """Pull `steps` elements through a dataset."""
    for _ in dataset.take(steps):
        pass


def machine():
    threads = tf.config.threading.get_intra_op_parallelism_threads() or "default"
    return (f"{platform.processor() or platform.machine()}, {threads} "
            f"intra-op threads, TensorFlow {tf.__version__}, {time.strftime('%Y-%m-%d')}")
