"""Forecast errors on three prices, computed by hand."""

import math

import numpy as np
import pytest

from stockpipe.metrics import forecast_metrics

ACTUAL = [100.0, 102.0, 101.0]
NAIVE = [99.0, 100.0, 102.0]  # the previous close


def test_model_that_beats_the_naive_forecast():
    # Errors 1, -1, 0: mse 2/3, mae 2/3; mape (1/100 + 1/102 + 0) / 3 * 100.
    # Naive errors -1, -2, 1: mse 2, rmse sqrt 2, mae 4/3. Skill 1 - sqrt(2/3) / sqrt 2 = 1 - 1/sqrt 3.
    # Moves from the naive price: predicted +2, +1, -1; actual +1, +2, -1: all three directions right.
    metrics = forecast_metrics(ACTUAL, [101.0, 101.0, 101.0], NAIVE)

    assert metrics == {
        "mse": pytest.approx(2 / 3),
        "rmse": pytest.approx(math.sqrt(2 / 3)),
        "mae": pytest.approx(2 / 3),
        "mape": pytest.approx((1 / 100 + 1 / 102) / 3 * 100),
        "naive_rmse": pytest.approx(math.sqrt(2)),
        "naive_mae": pytest.approx(4 / 3),
        "skill": pytest.approx(1 - 1 / math.sqrt(3)),
        "beats_naive": True,
        "direction_accuracy": 1.0,
        "n_test": 3,
    }


def test_model_that_loses_to_the_naive_forecast():
    # Errors 1, -3, 0: mse 10/3. Skill 1 - sqrt(10/3) / sqrt 2 = 1 - sqrt(5/3) = -0.291.
    # Predicted moves +2, -1, -1 against actual +1, +2, -1: the second is wrong.
    metrics = forecast_metrics(np.array(ACTUAL), np.array([101.0, 99.0, 101.0]), np.array(NAIVE))

    assert metrics["rmse"] == pytest.approx(math.sqrt(10 / 3))
    assert metrics["skill"] == pytest.approx(1 - math.sqrt(5 / 3))
    assert metrics["skill"] == pytest.approx(-0.29099, abs=1e-5)
    assert metrics["beats_naive"] is False
    assert metrics["direction_accuracy"] == pytest.approx(2 / 3)


def test_the_naive_forecast_itself_has_no_skill():
    metrics = forecast_metrics(ACTUAL, NAIVE, NAIVE)

    assert metrics["skill"] == 0.0
    assert metrics["rmse"] == metrics["naive_rmse"]
    assert metrics["beats_naive"] is False


def test_perfect_naive_forecast_gives_zero_skill_not_a_division_error():
    metrics = forecast_metrics([100.0, 100.0], [101.0, 99.0], [100.0, 100.0])

    assert metrics["naive_rmse"] == 0.0
    assert metrics["skill"] == 0.0


def test_metrics_are_plain_json_types():
    metrics = forecast_metrics(ACTUAL, [101.0, 101.0, 101.0], NAIVE)

    assert {type(value) for value in metrics.values()} == {float, bool, int}


def test_no_rows():
    with pytest.raises(ValueError, match=r"^no test rows to evaluate$"):
        forecast_metrics([], [], [])
