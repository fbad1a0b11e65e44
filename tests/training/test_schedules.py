import numpy as np
import pytest

from keras_auxlt.training.schedules import WarmupSchedule


def lr(schedule, step):
    return float(schedule(step))


def test_short_schedule_warmup_and_milestones():
    """The CIFAR short schedule with 97 steps per epoch: warm-up over epoch 1, x0.01 at 24, x0.0001 at 27."""
    s = WarmupSchedule(0.1, warmup_steps=97, total_steps=30 * 97, boundaries=[24 * 97, 27 * 97], factors=[0.01, 1e-4])
    assert lr(s, 0) == pytest.approx(0.1 / 97)
    assert lr(s, 48) == pytest.approx(0.1 * 49 / 97)
    assert lr(s, 96) == pytest.approx(0.1)
    assert lr(s, 97) == pytest.approx(0.1) and lr(s, 24 * 97 - 1) == pytest.approx(0.1)
    assert lr(s, 24 * 97) == pytest.approx(1e-3) and lr(s, 27 * 97 - 1) == pytest.approx(1e-3)
    assert lr(s, 27 * 97) == pytest.approx(1e-5) and lr(s, 30 * 97 - 1) == pytest.approx(1e-5)


def test_cosine_after_warmup():
    s = WarmupSchedule(0.2, warmup_steps=10, total_steps=110, kind="cosine")
    assert lr(s, 9) == pytest.approx(0.2)
    assert lr(s, 10) == pytest.approx(0.2)
    assert lr(s, 60) == pytest.approx(0.1, rel=1e-5)
    assert lr(s, 110) == pytest.approx(0.0, abs=1e-7)
    values = [lr(s, t) for t in range(10, 111)]
    assert np.all(np.diff(values) <= 1e-9)


def test_no_warmup_and_config_round_trip():
    s = WarmupSchedule(0.1, warmup_steps=0, total_steps=100, boundaries=[50], factors=[0.1])
    assert lr(s, 0) == pytest.approx(0.1) and lr(s, 50) == pytest.approx(0.01)
    assert WarmupSchedule(**s.get_config()).get_config() == s.get_config()
    with pytest.raises(ValueError, match="One factor per boundary"):
        WarmupSchedule(0.1, 0, 10, boundaries=[5], factors=[])
