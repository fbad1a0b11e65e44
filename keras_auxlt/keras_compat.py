"""Every use of Keras internals in keras-auxlt, gathered here and checked against the Keras it was written for.

Written for Keras 3.15 on the TensorFlow backend. On another version this module warns once, at import:
these are private APIs and may have moved or changed. The tests that pin what each is used for say
whether they still hold: tests/models/test_distributed_step.py (loss scaling under tf.distribute) and
tests/training/test_multi_worker.py (the two multi-worker workarounds).

    unscale_loss_for_distribution   keras.src.losses.loss: a loss as logged, undoing the 1/replicas
                                    scaling Keras applies to losses under tf.distribute
    build_optimizer_only            the body of AuxLTModel._maybe_symbolic_build, the hook Keras's fit
                                    calls to build state from a sample batch (it averages that batch with
                                    strategy.reduce, which MultiWorkerMirroredStrategy cannot do on nested
                                    dual-stream batches); uses Model._symbolic_build and _flatten_layers
    in_multi_worker_mode            the strategy's extended._in_multi_worker_mode()
"""

import warnings

import keras

WRITTEN_FOR = (3, 15)


def version_tuple(version):
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


def check_version(version=keras.__version__):
    """Warn (and return False) when `version` is not the Keras this module was written for."""
    if version_tuple(version) == WRITTEN_FOR:
        return True
    warnings.warn(f"keras_auxlt.keras_compat was written for Keras {'.'.join(map(str, WRITTEN_FOR))}.x and this is "
                  f"Keras {version}: it relies on private Keras APIs (see its docstring); run the test suite before "
                  "trusting a training run", RuntimeWarning, stacklevel=2)
    return False


check_version()

from keras.src.losses.loss import unscale_loss_for_distribution  # noqa: E402, F401  (after the check; re-exported)


def build_optimizer_only(model):
    """Build the optimizer of a model whose layers are all built and that compiled no loss or metric
    objects, without the sample batch Keras would reduce; False if that is not the case (let Keras do it)."""
    nothing_compiled = getattr(model, "_compile_loss", None) is None and getattr(model, "_compile_metrics", None) is None
    if not (model.built and nothing_compiled and all(layer.built for layer in model._flatten_layers())):
        return False
    with model.distribute_strategy.scope():
        model._symbolic_build()  # with everything else built, this builds the optimizer only
    return True


def in_multi_worker_mode(strategy):
    """Whether a MultiWorkerMirroredStrategy really spans several workers."""
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()
