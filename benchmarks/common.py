"""Timing helpers shared by the benchmarks (not tests: nothing here asserts on speed)."""

import platform
import time

import numpy as np
import tensorflow as tf


def constant_batches(element):
    """`element` (one batch) repeated endlessly, with tf.data's autotuning off: with it on, `fit` calls on a constant
    batch fall into a slow mode on this 2-core CPU now and then (some calls about twice as slow; issue 55), which is
    the harness's, not the step's."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return tf.data.Dataset.from_tensors(element).repeat().with_options(options)


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


def alternating_step_times(fits, rounds, steps, warmup_steps=3):
    """ms/step of each `fits[name](steps)`, alternated round by round so that every variant sees the
    same machine state (this VM's speed drifts); {name: [ms per round]}. Each is first run untimed
    for `warmup_steps` (tracing and warm-up)."""
    for fit in fits.values():
        fit(warmup_steps)
    ms = {name: [] for name in fits}
    for _ in range(rounds):
        for name, fit in fits.items():
            ms[name].append(1000.0 / timed_rate(lambda: fit(steps), steps, repeats=1))
    return ms


def print_step_times(ms, images_per_step, width=16):
    for name, values in ms.items():
        best = min(values)
        print(f"{name:>{width}}: best {best:7.1f} ms/step ({images_per_step * 1000 / best:,.0f} images/s), median "
              f"{np.median(values):7.1f} ms/step")


def ratio_line(label, numerator, denominator, digits=3):
    """Per-round ratios of two alternated step-time series: median, range and best-to-best."""
    ratios = np.array(numerator) / np.array(denominator)
    return (f"{label}: median {np.median(ratios):.{digits}f} (per round {ratios.min():.{digits}f} - "
            f"{ratios.max():.{digits}f}), best-to-best {min(numerator) / min(denominator):.{digits}f}")
