import numpy as np
import pytest

from keras_auxlt.evaluation import accuracy_report


def test_accuracy_report_groups_classes_by_training_count():
    # Classes: 0 many (500), 1 medium (50), 2 medium (20), 3 few (19).
    train_counts = [500, 50, 20, 19]
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    predictions = np.array([0, 0, 1, 0, 2, 2, 0, 0])
    report, confusion = accuracy_report(labels, predictions, train_counts, ["a", "b", "c", "d"])
    assert report["overall"] == pytest.approx(5 / 8)
    assert report["per_class"] == [1.0, 0.5, 1.0, 0.0]
    assert report["many"] == 1.0 and report["medium"] == pytest.approx(0.75) and report["few"] == 0.0
    assert confusion.tolist() == [[2, 0, 0, 0], [1, 1, 0, 0], [0, 0, 2, 0], [2, 0, 0, 0]]


def test_empty_groups_and_classes_without_test_images():
    report, _ = accuracy_report(np.array([0, 0]), np.array([0, 1]), [5000, 2997], ["a", "b"])
    assert report["few"] is None and report["medium"] is None
    assert report["per_class"] == [0.5, None] and report["many"] == 0.5
