import numpy as np
import pytest

from keras_auxlt.data.errors import DataError
from keras_auxlt.data.long_tail import long_tail_counts
from keras_auxlt.data.samplers import ClassWeightedSampler, InstanceSampler, alias_table, make_sampler


def long_tailed_labels(num_classes=100, n_max=500, ratio=100, seed=0):
    counts = long_tail_counts(n_max, num_classes, ratio)
    labels = np.repeat(np.arange(num_classes), counts)
    return np.random.default_rng(seed).permutation(labels), np.asarray(counts)


def draw(dataset, steps):
    return np.concatenate([b.numpy() for b in dataset.take(steps)])


def test_alias_table_reproduces_the_weights_exactly():
    weights = np.array([5.0, 1.0, 0.5, 3.5, 0.0001])
    prob, alias = alias_table(weights)
    # Probability of class i: its own slot's prob plus the leftovers of slots aliasing to it.
    implied = prob.copy()
    for slot, target in enumerate(alias):
        implied[target] += 1.0 - prob[slot]
    np.testing.assert_allclose(implied / len(weights), weights / weights.sum(), atol=1e-12)


def test_balanced_sampler_is_class_uniform_on_a_long_tail():
    labels, _ = long_tailed_labels()
    indices = draw(make_sampler("balanced", labels, 100, seed=1).dataset(500), 100)  # 50,000 draws
    freq = np.bincount(labels[indices], minlength=100) / len(indices)
    se = np.sqrt(0.01 * 0.99 / len(indices))
    assert np.all(np.abs(freq - 0.01) < 4.5 * se), np.abs(freq - 0.01).max() / se


def test_balanced_sampler_is_uniform_within_a_class():
    labels, counts = long_tailed_labels(num_classes=4, n_max=40, ratio=4)
    indices = draw(make_sampler("balanced", labels, 4, seed=2).dataset(1000), 40)
    head = indices[labels[indices] == 0]
    per_image = np.bincount(head, minlength=len(labels))[labels == 0]
    expected = len(head) / counts[0]
    assert per_image.min() > 0
    assert np.all(np.abs(per_image - expected) < 5 * np.sqrt(expected))


@pytest.mark.parametrize("name, weight", [("sqrt", np.sqrt), ("reversed", lambda n: 1.0 / n)])
def test_sqrt_and_reversed_class_frequencies(name, weight):
    labels, counts = long_tailed_labels(num_classes=10, n_max=1000, ratio=100)
    indices = draw(make_sampler(name, labels, 10, seed=3).dataset(1000), 60)
    freq = np.bincount(labels[indices], minlength=10) / len(indices)
    p = weight(counts.astype(float)) / weight(counts.astype(float)).sum()
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / len(indices)))


def test_instance_sampler_passes_are_permutations_and_reproduce_class_counts():
    labels, counts = long_tailed_labels(num_classes=10, n_max=100, ratio=10)
    n = len(labels)
    stream = draw(make_sampler("instance", labels, 10, seed=4).dataset(7), (3 * n) // 7)
    for e in range(2):
        one_pass = stream[e * n:(e + 1) * n]
        assert sorted(one_pass.tolist()) == list(range(n)), "a pass repeats or misses an example"
        np.testing.assert_array_equal(np.bincount(labels[one_pass], minlength=10), counts)
    assert not np.array_equal(stream[:n], stream[n:2 * n]), "each pass needs a fresh permutation"


@pytest.mark.parametrize("name", ["instance", "balanced", "reversed"])
def test_resumed_sampler_draws_what_the_uninterrupted_one_draws(name):
    labels, _ = long_tailed_labels(num_classes=10, n_max=100, ratio=10)  # 278 examples
    sampler = make_sampler(name, labels, 10, seed=5)
    full = [b.numpy() for b in sampler.dataset(32).take(30)]
    for k in (1, 8, 9, 17):  # 8 * 32 = 256 and 9 * 32 = 288 straddle the first pass boundary
        resumed = [b.numpy() for b in make_sampler(name, labels, 10, seed=5).dataset(32, start_step=k).take(30 - k)]
        for a, b in zip(full[k:], resumed):
            np.testing.assert_array_equal(a, b)


def test_different_seeds_draw_differently():
    labels, _ = long_tailed_labels(num_classes=10, n_max=100, ratio=10)
    a = draw(make_sampler("balanced", labels, 10, seed=0).dataset(64), 2)
    b = draw(make_sampler("balanced", labels, 10, seed=1).dataset(64), 2)
    assert not np.array_equal(a, b)


def test_sampler_errors():
    with pytest.raises(DataError, match="Accepted: instance, balanced, sqrt, reversed. Received: sampler='uniform'"):
        make_sampler("uniform", np.array([0, 1]), 2, seed=0)
    with pytest.raises(DataError, match=r"needs every class present; empty classes: \[1\]"):
        make_sampler("balanced", np.array([0, 0, 2]), 3, seed=0)
    with pytest.raises(DataError, match="at least one example"):
        InstanceSampler(0, seed=0)
    assert isinstance(make_sampler("sqrt", np.array([0, 1]), 2, seed=0), ClassWeightedSampler)
