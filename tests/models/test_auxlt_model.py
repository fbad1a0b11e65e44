import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.models import aux_tasks, backbones, class_priors
from keras_auxlt.models.auxlt_model import AuxLTModel
from keras_auxlt.models.backbones import BACKBONES, build_backbone
from tests.models.helpers import COUNTS, dual_batch, tiny_model, without_strided_padding


def test_resnet32_matches_the_reference_architecture():
    backbone = build_backbone("resnet32", (32, 32, 3))
    assert backbone.output_shape == (None, 64)
    assert backbone.count_params() == 465_776  # + 650 for a 10-class head: the 0.46M of the paper
    convs = [layer for layer in backbone.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 31 and not any(c.use_bias for c in convs)  # 1 stem + 3 x 5 x 2, no projections
    bns = [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert all(b.momentum == 0.9 and b.epsilon == 1e-5 for b in bns)


def test_a_stride_2_stem_brings_64_pixels_to_the_32x32_maps_of_the_same_weights():
    """resnet32_s2 is resnet32 with its stem convolution strided: the same weights, and on a 64x64 image the
    stages see 32x32 maps, the stem sampling every second pixel (the centre tap of a 3x3 window on pixel 2i)."""
    plain, strided = build_backbone("resnet32", (32, 32, 3)), build_backbone("resnet32_s2", (64, 64, 3))
    assert strided.count_params() == plain.count_params() and strided.output_shape == (None, 64)
    assert [w.shape for w in strided.weights] == [w.shape for w in plain.weights]
    assert strided.get_layer("stage1_block1_conv1").input.shape[1:3] == (32, 32)
    strided.set_weights(plain.get_weights())
    centre = np.zeros((3, 3, 3, 16), np.float32)
    centre[1, 1] = np.random.default_rng(0).normal(size=(3, 16))
    for model in (plain, strided):
        model.get_layer("stem_conv").kernel.assign(centre)
    image = np.random.default_rng(1).uniform(size=(2, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(strided(image, training=False), plain(image[:, ::2, ::2], training=False),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size, kernel", [(32, 3), (16, 3), (7, 3), (224, 7), (8, 1)])
def test_a_strided_convolution_samples_the_pixels_the_shortcut_keeps(size, kernel):
    """As PyTorch pads (the reference code): the window of output i is centred on input 2i, the pixel that the
    zero-padding shortcut's x[::2] keeps. TensorFlow's "same" centres it on 2i + 1 for even sizes."""
    inputs = keras.Input((size, size, 1))
    model = keras.Model(inputs, backbones._conv(inputs, 1, kernel, 2, "c"))
    centre = np.zeros((kernel, kernel, 1, 1), np.float32)
    centre[kernel // 2, kernel // 2] = 1.0
    model.get_layer("c").kernel.assign(centre)
    x = np.random.default_rng(0).normal(size=(1, size, size, 1)).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), x[:, ::2, ::2])


def test_resnet10s_stem_pool_windows_are_centred_as_pytorchs():
    """3x3 stride-2 max pool with one pixel of padding on every side (torchvision's ResNet stem)."""
    backbone = build_backbone("resnet10", (64, 64, 3))
    pool = keras.Model(backbone.get_layer("stem_pool_pad").input, backbone.get_layer("stem_pool").output)
    x = np.zeros((1, 32, 32, 1), np.float32)
    x[0, 2, 2] = 1.0  # in PyTorch's window of output 1 only (rows 1..3); "same" puts it in outputs 0 and 1
    y = pool(np.repeat(x, 64, axis=-1)).numpy()[0, :, :, 0]
    assert y[1, 1] == 1.0 and y.sum() == 1.0


def test_he_normal_initialisation_scale():
    conv = [layer for layer in build_backbone("resnet56", (32, 32, 3)).layers
            if isinstance(layer, keras.layers.Conv2D)][-1]
    kernel = conv.kernel.numpy()
    fan_in = np.prod(kernel.shape[:3])
    assert abs(kernel.std() - np.sqrt(2.0 / fan_in)) / np.sqrt(2.0 / fan_in) < 0.05


def test_call_returns_primary_logits_and_normalises_inside():
    model = tiny_model(aux_tasks=("random",))
    x = np.full((2, 16, 16, 3), 128.0, np.float32)
    assert model(x).shape == (2, 5)
    normalized = model.normalize(x).numpy()
    np.testing.assert_allclose(normalized[0, 0, 0], (128 / 255 - np.array(model.mean)) / np.array(model.std), rtol=1e-5)


def test_config_round_trip():
    model = tiny_model(aux_tasks=("random", "rotation"), aux_weights=(1.0, 0.5), lambda_schedule="cumulative",
                       total_steps=100, weight_decay=2e-4, stream_batch_norm="separate")
    config = model.get_config()
    clone = AuxLTModel.from_config(config)
    assert clone.get_config() == config
    assert config["aux_tasks"] == ["random", "rotation"] and config["aux_weights"] == [1.0, 0.5]
    assert config["total_steps"] == 100 and config["weight_decay"] == 2e-4
    assert config["stream_batch_norm"] == "separate"


def test_keras_save_load_restores_all_heads_and_optimizer_state(tmp_path):
    model = tiny_model(aux_tasks=("random", "reweighted", "rotation"), weight_decay=1e-4)
    model.fit(tf.data.Dataset.from_tensors(dual_batch()).repeat(2), epochs=1, verbose=0, shuffle=False)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert sorted(loaded.aux_heads) == ["random", "reweighted", "rotation"]
    for a, b in zip(model.weights, loaded.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.optimizer.iterations) == 2
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    x = dual_batch()[0][0]
    np.testing.assert_allclose(model(x).numpy(), loaded(x).numpy(), atol=1e-6)


def test_a_model_saved_before_the_padding_was_recorded_loads_with_the_padding_it_was_trained_with(tmp_path):
    """Its weights were trained with TensorFlow's "same" padding; rebuilding it with today's symmetric padding
    would load them without complaint and predict differently."""
    old = tiny_model(strided_padding="same")
    path = str(tmp_path / "old.keras")
    old.save(path)
    without_strided_padding(path)
    loaded = keras.models.load_model(path)
    assert loaded.strided_padding == "same" and "stage2_block1_conv1_pad" not in [
        layer.name for layer in loaded.backbone.layers]
    x = dual_batch()[0][0]
    np.testing.assert_allclose(loaded(x).numpy(), old(x).numpy(), atol=1e-5)
    today = tiny_model()
    today.set_weights(old.get_weights())  # same weights, the other padding: other predictions
    assert np.abs(today(x).numpy() - old(x).numpy()).max() > 1e-3
    path = str(tmp_path / "today.keras")
    today.save(path)
    assert keras.models.load_model(path).strided_padding == "symmetric"


def test_an_unknown_strided_padding_is_refused():
    with pytest.raises(ValueError, match="Unknown strided_padding. Accepted: symmetric, same. Received: "
                                         "strided_padding='valid'"):
        build_backbone("resnet20", (16, 16, 3), strided_padding="valid")


def test_rotation_targets():
    image = np.arange(4 * 4 * 3, dtype=np.float32).reshape(1, 4, 4, 3)
    images = np.repeat(image, 4, axis=0)
    rotated = aux_tasks.rotate_batch(tf.constant(images), tf.constant([0, 1, 2, 3])).numpy()
    for k in range(4):
        np.testing.assert_array_equal(rotated[k], np.rot90(image[0], k, axes=(0, 1)))


def test_effective_number_class_weights():
    weights = class_priors.effective_number_weights(COUNTS, beta=0.9999)
    raw = np.array([(1 - 0.9999) / (1 - 0.9999 ** n) for n in COUNTS])
    np.testing.assert_allclose(weights, raw / raw.mean())
    assert weights.mean() == pytest.approx(1.0) and np.all(np.diff(weights) > 0)


def test_cumulative_lambda_schedule():
    values = [float(aux_tasks.lambda_weight("cumulative", t, 100)) for t in (0, 50, 100, 150)]
    assert values == pytest.approx([1.0, 0.75, 0.0, 0.0])
    assert float(aux_tasks.lambda_weight("constant", 70, 100)) == 1.0


def test_l2_gradient_is_weight_decay_times_weight():
    model = tiny_model(aux_tasks=(), weight_decay=0.01)
    with tf.GradientTape() as tape:
        l2 = model.l2_loss()
    for g, v in zip(tape.gradient(l2, model.trainable_variables), model.trainable_variables):
        np.testing.assert_allclose(g.numpy(), 0.01 * v.numpy(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("kwargs, message", [
    (dict(aux_tasks=("random", "mixup")), "Accepted: random, random_shared, reweighted, rotation, random_adjusted. "
                                          "Received: aux_tasks=['random', 'mixup']"),
    (dict(aux_tasks=("random",), aux_weights=(-1.0,)), "must be finite and >= 0. Received: aux_weights=[-1.0]"),
    (dict(aux_tasks=("random",), aux_weights=(1.0, 2.0)), "one weight per auxiliary task"),
    (dict(lambda_schedule="linear"), "Accepted: constant, cumulative. Received: lambda_schedule='linear'"),
    (dict(lambda_schedule="cumulative"), "needs total_steps > 0"),
    (dict(aux_tasks=("reweighted",), class_counts=None), "need class_counts with one positive count per class (5)"),
    (dict(aux_tasks=("random_adjusted",), class_counts=None), "The reweighted and random_adjusted tasks and the "
                                                              "class-aware primary losses need class_counts"),
    (dict(primary_loss="focal"), "Accepted: ce, class_balanced, drw, logit_adjust, ldam_drw. Received: primary_loss='focal'"),
    (dict(backbone="vgg16"), "Unknown backbone. Accepted: " + ", ".join(BACKBONES) + ". Received: backbone='vgg16'"),
    (dict(weight_decay=-1.0), "weight_decay must be >= 0"),
    (dict(stream_batch_norm="ghost"), "Accepted: joint, separate. Received: stream_batch_norm='ghost'"),
    (dict(classifier="lws"), "Unknown classifier. Accepted: linear, cosine, scaled. Received: classifier='lws'"),
    (dict(classifier_lr_factor=0.0), "classifier_lr_factor must be in (0, 1]. Received: classifier_lr_factor=0.0"),
    (dict(primary_loss="ldam_drw", classifier="cosine", classifier_lr_factor=0.5),
     "classifier_lr_factor applies to a classifier with a kernel and a bias (linear, scaled)"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError) as e:
        tiny_model(**kwargs)
    assert message in str(e.value)


def test_the_random_adjusted_task_is_logit_adjusted_cross_entropy_on_the_random_batch():
    """Its loss is CE(g(F_r) + log prior, y_r) (Menon et al. 2021), so its raw logits come out prior-free."""
    keras.utils.set_random_seed(0)  # the same weights every time (one run in the suite once missed a tolerance)
    model = tiny_model(aux_tasks=("random", "random_adjusted"))
    (x_b, y_b), (x_r, y_r) = data = dual_batch()
    losses, outputs = model.compute_task_losses(data, training=False)
    features = model.features(tf.concat([x_b, x_r], axis=0), training=False)[len(x_b):]
    logits = model.aux_heads["random_adjusted"](features)
    prior = np.log(np.array(COUNTS) / np.sum(COUNTS))
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y_r, logits + prior)
    assert float(losses["random_adjusted"]) == pytest.approx(float(expected), rel=1e-5)
    np.testing.assert_allclose(outputs["random_adjusted"][1].numpy(), logits.numpy(), rtol=1e-5, atol=1e-6)
    assert float(losses["random"]) != pytest.approx(float(losses["random_adjusted"]), rel=1e-3)  # their own heads


def test_the_scaled_classifier_multiplies_each_class_logit_by_its_learnt_scale_and_saves_it(tmp_path):
    """MiSLAS's learnable weight scaling: scale_c * (x w_c + b_c), the scales a weight of the head (saved, exported
    with it, and what evaluation's `primary_head` applies)."""
    model = tiny_model(aux_tasks=(), classifier="scaled", classifier_lr_factor=0.5)
    head = model.primary_head
    np.testing.assert_array_equal(head.scale.numpy(), np.ones(5, np.float32))  # from 1: the linear head at first
    head.scale.assign([0.5, 1.0, 2.0, 3.0, -1.0])
    head.bias.assign(np.linspace(-1, 1, 5).astype(np.float32))
    x = dual_batch()[0][0]
    features = model.features(x).numpy()
    expected = head.scale.numpy() * (features @ head.kernel.numpy() + head.bias.numpy())
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-5)
    path = str(tmp_path / "scaled.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.classifier == "scaled" and loaded.classifier_lr_factor == 0.5
    np.testing.assert_array_equal(loaded.primary_head.scale.numpy(), head.scale.numpy())
    np.testing.assert_allclose(loaded(x).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_the_classifier_lr_factor_scales_the_heads_kernel_and_bias_steps_weight_decay_included():
    """As a PyTorch parameter group at lr x factor (MiSLAS's stage 2: its classifier at half the rate): with SGD the
    first step moves the kernel and bias by `factor` times what it would otherwise, L2 included; every other
    weight, the scales too, as before."""
    steps = {}
    for factor in (1.0, 0.5):
        model = AuxLTModel(backbone="resnet20", num_classes=5, image_size=16, class_counts=COUNTS, aux_tasks=(),
                           classifier="scaled", classifier_lr_factor=factor, freeze_backbone=True, weight_decay=0.01,
                           single_stream="balanced", seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
        model.build((None, 16, 16, 3))
        if factor == 1.0:
            start = [w.numpy() for w in model.weights]
        else:
            model.set_weights(start)
        model.primary_head.scale.assign([1.0, 0.9, 1.1, 1.2, 0.8])
        model.fit(tf.data.Dataset.from_tensors(dual_batch()[0]), epochs=1, verbose=0, shuffle=False)
        steps[factor] = [w.numpy() - s for w, s in zip(model.weights, start)]
    names = [w.path.split("/", 1)[1] for w in model.weights]  # without the model's own (numbered) name
    head = {names.index("primary_head/kernel"), names.index("primary_head/bias")}
    scale = names.index("primary_head/scale")
    assert all(np.abs(steps[1.0][i]).max() > 0 for i in (*head, scale))
    for i, step in enumerate(steps[1.0]):
        if i != scale:  # assigned after `start` was taken: compared below
            np.testing.assert_allclose(steps[0.5][i], (0.5 if i in head else 1.0) * step, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(steps[0.5][scale], steps[1.0][scale], rtol=1e-5, atol=1e-7)
