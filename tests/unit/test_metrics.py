"""Forecast errors on three prices, computed by hand."""

import math

import numpy as np
import pytest

from stockpipe.errors import PipelineError
from stockpipe.metrics import baseline_forecasts, conformal_halfwidth, forecast_metrics, interval_coverage, mase

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


def test_baselines_by_hand():
    close = np.array([100.0, 110.0, 99.0, 102.0, 104.0])
    rows = np.array([3, 4])
    # Training slice = the first 3 closes: log returns log(1.1) and log(0.9), mean log(0.99) / 2.
    forecasts = baseline_forecasts(close, rows, n_train=3, ma_window=2)
    np.testing.assert_allclose(forecasts["naive"], [99.0, 102.0])
    np.testing.assert_allclose(forecasts["drift"], np.array([99.0, 102.0]) * np.sqrt(0.99))
    # Mean of the two closes before each day: (110 + 99) / 2 and (99 + 102) / 2.
    np.testing.assert_allclose(forecasts["moving_average"], [104.5, 100.5])


@pytest.mark.parametrize("ma_window", [4, 6], ids=["past-the-first-row", "past-every-close"])
def test_baseline_moving_average_longer_than_the_closes_before_the_rows(ma_window):
    # Row 3 has 3 closes before it; a longer window is a params problem, not numpy's
    # "window shape cannot be larger than input array shape", nor a silent naive forecast.
    close = np.array([100.0, 110.0, 99.0, 102.0, 104.0])

    with pytest.raises(PipelineError, match=rf"^params\.yaml: evaluate\.ma_window={ma_window} needs {ma_window} closes "
                                            r"before the first test day, but there are 3; "):
        baseline_forecasts(close, np.array([3, 4]), n_train=3, ma_window=ma_window)
    np.testing.assert_allclose(baseline_forecasts(close, np.array([3, 4]), n_train=3, ma_window=3)["moving_average"],
                               [103.0, 311.0 / 3])


def test_mase_scales_by_the_training_naive_error():
    # Training naive errors |110-100|, |99-110| = 10, 11: scale 10.5.
    assert mase(21.0, np.array([100.0, 110.0, 99.0])) == pytest.approx(2.0)


def test_conformal_halfwidth_takes_the_finite_sample_rank():
    residuals = np.array([0.05, 0.01, 0.03, 0.02, 0.04, 0.06, 0.08, 0.07, 0.09, 0.10])
    # n = 10, coverage 0.8: rank ceil(11 * 0.8) = 9, the 9th smallest is 0.09.
    assert conformal_halfwidth(residuals, 0.8) == pytest.approx(0.09)
    with pytest.raises(ValueError, match="10 validation forecasts are too few for 95% intervals"):
        conformal_halfwidth(residuals, 0.95)


def test_interval_coverage_counts_actuals_inside_the_band():
    predicted = np.array([100.0, 100.0, 100.0, 100.0])
    actual = np.array([100.0, 104.0, 96.5, 120.0])
    # log(1.04) = 0.039 and |log(0.965)| = 0.036 are inside 0.04; log(1.2) is not.
    assert interval_coverage(actual, predicted, 0.04) == pytest.approx(0.75)
