"""FusedBatchNormalization: Keras's BatchNormalization, numerically, with TensorFlow's fused kernel in training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.models.layers import BN_EPSILON, BN_MOMENTUM, FusedBatchNormalization


def pair(**kwargs):
    """A fused layer and Keras's layer with the same (non-trivial) weights."""
    fused = FusedBatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, **kwargs)
    plain = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, **kwargs)
    rng = np.random.default_rng(0)
    weights = [rng.uniform(0.5, 1.5, 6), rng.normal(size=6), rng.normal(size=6), rng.uniform(0.5, 2.0, 6)]
    for layer in (fused, plain):
        layer.build((None, 5, 7, 6))
        layer.set_weights([w.astype(np.float32) for w in weights])
    return fused, plain


def images(seed, n=8):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.normal(3.0, 2.0, (n, 5, 7, 6)).astype(np.float32))


def forward_and_gradients(layer, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(y * upstream)
    return y, tape.gradient(loss, [x, layer.gamma.value, layer.beta.value])


def test_training_outputs_gradients_and_moving_statistics_equal_keras():
    fused, plain = pair()
    upstream = images(99)
    for step in range(3):
        x = images(step)
        y_fused, grads_fused = forward_and_gradients(fused, x, upstream)
        y_plain, grads_plain = forward_and_gradients(plain, x, upstream)
        np.testing.assert_allclose(y_fused, y_plain, atol=2e-5)
        for g_fused, g_plain in zip(grads_fused, grads_plain):
            # float32 sums over 280 positions: compare at the scale of the whole gradient
            np.testing.assert_allclose(g_fused, g_plain, rtol=1e-4, atol=1e-4 * np.abs(g_plain).max())
        np.testing.assert_allclose(fused.moving_mean.numpy(), plain.moving_mean.numpy(), rtol=1e-5, atol=1e-6)
        # Keras averages the biased batch variance (the kernel's is Bessel-corrected: 8*5*7/(8*5*7-1) apart).
        np.testing.assert_allclose(fused.moving_variance.numpy(), plain.moving_variance.numpy(), rtol=1e-5)


def test_inference_and_a_frozen_layer_use_the_moving_statistics_like_keras():
    fused, plain = pair()
    x = images(5)
    np.testing.assert_allclose(fused(x, training=False), plain(x, training=False), atol=1e-5)
    fused.trainable = plain.trainable = False
    before = fused.moving_mean.numpy().copy()
    np.testing.assert_allclose(fused(x, training=True), plain(x, training=False), atol=1e-5)
    np.testing.assert_array_equal(fused.moving_mean.numpy(), before)


@pytest.mark.parametrize("synchronized, fused_op", [(False, True), (True, False)])
def test_the_fused_kernel_runs_in_training_only_where_it_applies(synchronized, fused_op):
    fused, _ = pair(synchronized=synchronized)
    graph = tf.function(lambda x: fused(x, training=True)).get_concrete_function(images(0)).graph
    op_types = {op.type for op in graph.get_operations()}
    assert ("FusedBatchNormV3" in op_types) == fused_op
    inference = tf.function(lambda x: fused(x, training=False)).get_concrete_function(images(0)).graph
    assert "FusedBatchNormV3" not in {op.type for op in inference.get_operations()}


def test_serialisation_keeps_the_class_and_the_weights(tmp_path):
    fused, _ = pair()
    model = keras.Sequential([keras.Input((5, 7, 6)), fused])
    model.save(tmp_path / "bn.keras")
    loaded = keras.models.load_model(tmp_path / "bn.keras")
    assert type(loaded.layers[0]) is FusedBatchNormalization
    x = images(3)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)


@pytest.mark.parametrize("name, momentum, epsilon", [("resnet32", BN_MOMENTUM, BN_EPSILON), ("resnet50", 0.99, 1.001e-5)])
def test_every_backbone_batch_norm_is_fused_with_its_own_constants(name, momentum, epsilon):
    from keras_auxlt.models.backbones import build_backbone

    backbone = build_backbone(name, (64, 64, 3))
    norms = [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(type(layer) is FusedBatchNormalization for layer in norms)
    assert {(layer.momentum, layer.epsilon) for layer in norms} == {(momentum, epsilon)}
    assert backbone.name == name and backbone.output_shape == (None, 64 if name == "resnet32" else 2048)
