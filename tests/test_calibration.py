"""ECE as MiSLAS computes it, NLL, and the per-image record a test report keeps."""

import numpy as np
import pytest

from keras_auxlt import calibration


def mislas_ece(true_labels, pred_labels, confidences, num_bins=15):
    """A NumPy copy of dvlab-research/MiSLAS utils/metric.py `calibration(...)["expected_calibration_error"]`."""
    bins = np.linspace(0.0, 1.0, num_bins + 1)
    indices = np.digitize(confidences, bins, right=True)
    accuracies, mean_confidences, counts = np.zeros(num_bins), np.zeros(num_bins), np.zeros(num_bins, int)
    for b in range(num_bins):
        selected = np.where(indices == b + 1)[0]
        if len(selected) > 0:
            accuracies[b] = np.mean(true_labels[selected] == pred_labels[selected])
            mean_confidences[b] = np.mean(confidences[selected])
            counts[b] = len(selected)
    return np.sum(np.abs(accuracies - mean_confidences) * counts) / np.sum(counts)


def random_record(n=2000, classes=7, temperature=1.0, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes)) * 3
    logits[np.arange(n), labels] += 2.0
    return calibration.per_image(labels, calibration.softmax(logits / temperature)), labels, logits


@pytest.mark.parametrize("temperature", [0.3, 1.0, 4.0])
def test_ece_equals_mislas_on_random_predictions(temperature):
    record, labels, _ = random_record(temperature=temperature)
    expected = mislas_ece(labels, record["prediction"], record["p_prediction"].astype(np.float64))
    assert calibration.calibration_metrics(record)["ece"] == pytest.approx(expected, abs=1e-6)


def test_ece_bins_are_closed_on_the_right_and_a_calibrated_bin_costs_nothing():
    # 0.4 sits in the bin (0.333, 0.4], with accuracy 1 / 2 there against confidence 0.4; 1.0 in the last bin.
    confidence = np.array([0.4, 0.4, 1.0, 1.0])
    correct = np.array([True, False, True, True])
    assert calibration.expected_calibration_error(confidence, correct) == pytest.approx(0.5 * abs(0.5 - 0.4))
    counts, mean_confidence, accuracy = calibration.reliability_bins(confidence, correct)
    assert counts[5] == 2 and counts[14] == 2 and counts.sum() == 4
    assert mean_confidence[5] == pytest.approx(0.4) and accuracy[14] == 1.0


def test_nll_and_the_record_of_each_image():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [1.0, 0.0, 0.0]])
    record = calibration.per_image(np.array([0, 1, 1]), probabilities)
    assert record["prediction"].tolist() == [0, 2, 0]
    np.testing.assert_allclose(record["p_prediction"], [0.7, 0.8, 1.0])
    np.testing.assert_allclose(record["p_true"], [0.7, 0.1, 0.0])
    assert {key: value.dtype for key, value in record.items()} == {
        "label": np.int32, "prediction": np.int32, "p_prediction": np.float32, "p_true": np.float32}
    floor = -np.log(np.finfo(np.float32).tiny)  # a certain mistake counts as about 87, not infinity
    assert calibration.negative_log_likelihood(record["p_true"]) == pytest.approx(
        (-np.log(0.7) - np.log(0.1) + floor) / 3, rel=1e-6)


def test_softmax_is_stable_for_large_logits():
    probabilities = calibration.softmax(np.array([[1000.0, 999.0, -1000.0]]))
    np.testing.assert_allclose(probabilities, [[1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 0.0]])


def test_reliability_diagram_is_written(tmp_path):
    record, _, _ = random_record()
    calibration.plot_reliability(record, tmp_path / "reliability.png", title="random")
    assert (tmp_path / "reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 3.0])
def test_the_fitted_temperature_minimises_the_nll_and_keeps_every_prediction(true_temperature):
    """Labels drawn from softmax(logits / T): the fit finds about T, no neighbouring temperature has a lower NLL,
    and dividing by it changes no argmax (top-1 is unchanged by construction)."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4000, 10)) * 4
    probabilities = calibration.softmax(logits / true_temperature)
    labels = np.array([rng.choice(10, p=p) for p in probabilities])
    fitted = calibration.fit_temperature(logits, labels)
    assert fitted == pytest.approx(true_temperature, rel=0.1)

    def nll(t):
        return calibration.negative_log_likelihood(calibration.softmax(logits / t)[np.arange(len(labels)), labels])

    assert nll(fitted) <= min(nll(fitted * 0.97), nll(fitted * 1.03))
    np.testing.assert_array_equal(np.argmax(logits / fitted, axis=1), np.argmax(logits, axis=1))


def test_temperature_scaling_lowers_the_ece_of_an_overconfident_model():
    record, labels, logits = random_record(n=5000, temperature=0.25)  # logits sharpened 4x: overconfident
    fitted = calibration.fit_temperature(logits / 0.25, labels)
    tempered = calibration.per_image(labels, calibration.softmax(logits / 0.25 / fitted))
    assert fitted > 1.5
    assert calibration.calibration_metrics(tempered)["ece"] < 0.5 * calibration.calibration_metrics(record)["ece"]
    assert calibration.calibration_metrics(tempered)["nll"] < calibration.calibration_metrics(record)["nll"]
