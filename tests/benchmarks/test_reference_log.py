"""benchmarks/reference_log.py: the reference code's log_test.csv read back, its best-on-test and last epochs."""

import pytest

from benchmarks.reference_log import ReferenceLogError, read_epochs, summarize


def epoch_lines(top1, per_class, best):
    """What kaidic/LDAM-DRW cifar_train.py writes to log_test.csv for one epoch."""
    values = ",".join(f"{a:.3f}" for a in per_class)
    return (f"val Results: Prec@1 {top1:.3f} Prec@5 97.000 Loss 1.23456\nval Class Accuracy: [{values}]\n"
            f"Best Prec@1: {best:.3f}\n\n")


def write_log(path, epochs):
    best = 0.0
    with open(path, "w") as f:
        for top1, per_class in epochs:
            best = max(best, top1)
            f.write(epoch_lines(top1, per_class, best))
    return path


def test_best_on_test_and_last_epoch_with_shot_groups_of_the_reference_counts(tmp_path):
    first = [0.9] * 8 + [0.1, 0.3]
    best = [0.95] * 8 + [0.4, 0.6]  # medium classes (83 and 50 images at rho 100) average 0.5
    last = [0.96] * 8 + [0.2, 0.2]
    log = write_log(tmp_path / "log_test.csv", [(50.0, first), (70.5, best), (70.5, first), (65.0, last)])
    summary = summarize(str(log), 5000, 100.0)
    assert summary["epochs"] == 4 and summary["top1_by_epoch"] == [50.0, 70.5, 70.5, 65.0]
    assert summary["train_counts"] == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert summary["best_on_test"]["epoch"] == 2  # the first of equals, as "Best Prec@1" keeps it
    assert summary["best_on_test"]["overall"] == pytest.approx(0.705)
    assert summary["best_on_test"]["many"] == pytest.approx(0.95)
    assert summary["best_on_test"]["medium"] == pytest.approx(0.5) and summary["best_on_test"]["few"] is None
    assert summary["last"]["epoch"] == 4 and summary["last"]["per_class"] == last


@pytest.mark.parametrize("text, message", [
    ("Epoch: [0][0/97], lr: 0.02000\n", r"no tested epoch .* not a log_test.csv of kaidic/LDAM-DRW"),
    ("val Class Accuracy: [0.5,0.5]\n", r"log_test.csv:1: 'val Class Accuracy' without a 'val Results' line"),
    ("val Results: Prec@1 50.000 Prec@5\nval Results: Prec@1 51.000 Prec@5\n", r":2: a second 'val Results' line"),
    ("val Results: Prec@1 50.000 Prec@5\nval Class Accuracy: [0.5,nan?]\n", r":2: class accuracies are not numbers"),
])
def test_a_log_of_another_shape_is_refused_naming_file_and_line(tmp_path, text, message):
    (tmp_path / "log_test.csv").write_text(text)
    with pytest.raises(ReferenceLogError, match=message):
        read_epochs(str(tmp_path / "log_test.csv"))
