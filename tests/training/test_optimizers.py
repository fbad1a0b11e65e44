import keras
import numpy as np
import pytest

from keras_auxlt.training.optimizers import TorchSGD
from keras_auxlt.training.schedules import WarmupSchedule

GRADIENTS = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")


def trajectory(optimizer, gradients=GRADIENTS):
    """Weights after each step of feeding the given gradients to `optimizer` from w = 1."""
    w = keras.Variable(np.ones(gradients.shape[1], "float32"))
    out = []
    for g in gradients:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), w)])
        out.append(np.array(w.numpy()))
    return np.array(out)


def torch_sgd(lrs, momentum, nesterov=False, gradients=GRADIENTS):
    """torch.optim.SGD's update written out (dampening 0): v = mu v + g; w -= lr (g + mu v if nesterov else v)."""
    w, v, out = np.ones(gradients.shape[1]), np.zeros(gradients.shape[1]), []
    for lr, g in zip(lrs, gradients):
        v = momentum * v + g
        w = w - lr * (g + momentum * v if nesterov else v)
        out.append(w.copy())
    return np.array(out)


@pytest.mark.parametrize("nesterov", [False, True])
def test_matches_pytorch_update_across_a_learning_rate_drop(nesterov):
    schedule = WarmupSchedule(0.1, warmup_steps=0, total_steps=8, boundaries=[4], factors=[0.01])
    lrs = [0.1] * 4 + [0.001] * 4
    got = trajectory(TorchSGD(learning_rate=schedule, momentum=0.9, nesterov=nesterov))
    np.testing.assert_allclose(got, torch_sgd(lrs, 0.9, nesterov), rtol=1e-5, atol=1e-6)


def test_without_momentum_is_plain_gradient_descent():
    np.testing.assert_allclose(trajectory(TorchSGD(learning_rate=0.05)), torch_sgd([0.05] * 8, 0.0), rtol=1e-6)


def test_same_as_keras_sgd_at_constant_learning_rate():
    """The two momentum forms differ only when the learning rate changes."""
    np.testing.assert_allclose(trajectory(TorchSGD(0.1, momentum=0.9)),
                               trajectory(keras.optimizers.SGD(0.1, momentum=0.9)), rtol=1e-5, atol=1e-6)


def test_first_step_after_a_drop_is_at_the_new_rate():
    """What the class is for: after lr x0.01, Keras's SGD keeps moving at the old rate (its velocity
    holds lr-scaled steps); this one moves about 100 times less at once."""
    gradients = np.ones((6, 3), "float32")
    schedule = WarmupSchedule(0.1, warmup_steps=0, total_steps=6, boundaries=[5], factors=[0.01])
    torch_like = trajectory(TorchSGD(schedule, momentum=0.9), gradients)
    keras_like = trajectory(keras.optimizers.SGD(schedule, momentum=0.9), gradients)
    np.testing.assert_allclose(torch_like[:5], keras_like[:5], rtol=1e-5)
    step_before = np.abs(torch_like[4] - torch_like[3])
    assert np.all(np.abs(torch_like[5] - torch_like[4]) < 0.02 * step_before)
    assert np.all(np.abs(keras_like[5] - keras_like[4]) > 0.8 * step_before)


def test_serialises_as_itself():
    optimizer = TorchSGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(optimizer))
    assert type(restored) is TorchSGD
    assert restored.get_config() == optimizer.get_config()
