"""Forecast errors on a few literal prices, computed by hand."""

import math

import numpy as np
import pytest
from scipy import stats

from stockpipe.errors import PipelineError
from stockpipe.metrics import (
    baseline_forecasts,
    diebold_mariano,
    forecast_metrics,
    mase,
    significance_words,
    verdict_words,
)

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


# Six days: the model's errors 1, -1, 0, -2, 2, 1; naive's (the previous close's) -1, -2, 1, -2, -1, 2.
DM_ACTUAL = [100.0, 102.0, 101.0, 103.0, 104.0, 102.0]
DM_PREDICTED = [101.0, 101.0, 101.0, 101.0, 106.0, 103.0]
DM_NAIVE = [99.0, 100.0, 102.0, 101.0, 103.0, 104.0]


def test_diebold_mariano_by_hand():
    # d_t = model error^2 - naive error^2 = (1 - 1, 1 - 4, 0 - 1, 4 - 4, 4 - 1, 1 - 4) = (0, -3, -1, 0, 3, -3).
    # mean(d) = -4 / 6 = -2/3.
    # d - mean = (2/3, -7/3, -1/3, 2/3, 11/3, -7/3); squares (4 + 49 + 1 + 4 + 121 + 49) / 9 = 228 / 9.
    # Lag-0 variance (population, over n = 6): 228 / 54 = 38/9; standard error of the mean sqrt(38/9 / 6) = sqrt(19/27).
    # DM = (-2/3) / sqrt(19/27) = -2 sqrt(3/19); HLN factor sqrt((n - 1) / n) = sqrt(5/6):
    # statistic = -2 sqrt(3/19) sqrt(5/6) = -2 sqrt(5/38) = -0.7255, read against t with 5 dof, two-sided.
    statistic = -2 * math.sqrt(5 / 38)

    result = diebold_mariano(DM_ACTUAL, DM_PREDICTED, DM_NAIVE)

    assert result == {"statistic": pytest.approx(statistic), "p_value": pytest.approx(2 * stats.t.sf(-statistic, 5)),
                      "n": 6}
    assert statistic == pytest.approx(-0.72548, abs=1e-5)
    assert result["p_value"] == pytest.approx(0.50068, abs=1e-5)
    assert {type(result["statistic"]), type(result["p_value"])} == {float}


def test_diebold_mariano_is_positive_when_the_models_errors_are_larger():
    # The same six days with the roles swapped: d changes sign, so does the statistic; p stays (two-sided).
    swapped = diebold_mariano(np.array(DM_ACTUAL), np.array(DM_NAIVE), np.array(DM_PREDICTED))
    result = diebold_mariano(DM_ACTUAL, DM_PREDICTED, DM_NAIVE)

    assert result["statistic"] < 0 < swapped["statistic"]
    assert swapped["statistic"] == pytest.approx(-result["statistic"])
    assert swapped["p_value"] == pytest.approx(result["p_value"])


def test_diebold_mariano_of_a_model_identical_to_naive_has_no_statistic():
    # d_t = 0 every day: no variance, nothing to test (not a division by zero, not a NaN).
    assert diebold_mariano(DM_ACTUAL, DM_NAIVE, DM_NAIVE) == {"statistic": None, "p_value": None, "n": 6}


@pytest.mark.parametrize(
    ("metrics", "words"),
    [
        ({"skill": -0.05, "dm_p_value": 0.4149, "significance": 0.05},
         "loses to naive, not significantly (DM p = 0.415)"),
        ({"skill": 0.02, "dm_p_value": 0.4149, "significance": 0.05}, "beats naive, not significantly (DM p = 0.415)"),
        ({"skill": -0.05, "dm_p_value": 0.0031, "significance": 0.05}, "loses to naive, significantly (DM p = 0.0031)"),
        ({"skill": 0.02, "dm_p_value": 0.049, "significance": 0.05}, "beats naive, significantly (DM p = 0.049)"),
        # The level is the metrics' own: p = 0.03 is significant at 0.05, not at 0.01.
        ({"skill": 0.02, "dm_p_value": 0.03, "significance": 0.01}, "beats naive, not significantly (DM p = 0.03)"),
        # "Below the level": p equal to it is not significant.
        ({"skill": 0.02, "dm_p_value": 0.05, "significance": 0.05}, "beats naive, not significantly (DM p = 0.05)"),
        # Without a significance key the conventional 0.05.
        ({"skill": -0.05, "dm_p_value": 0.03}, "loses to naive, significantly (DM p = 0.03)"),
    ],
)
def test_verdict_words_give_the_sign_and_the_significance(metrics, words):
    assert verdict_words(metrics) == words


@pytest.mark.parametrize(
    ("metrics", "words"),
    [
        # Metrics written before the DM test existed: the bare sign.
        ({"skill": 0.02}, "beats naive"),
        ({"skill": -0.05}, "loses to naive"),
        ({"skill": 0.0}, "ties with naive"),
        # A tie has nothing to be significant about, whatever the test says.
        ({"skill": 0.0, "dm_p_value": None, "significance": 0.05}, "ties with naive"),
        ({"skill": 0.0, "dm_p_value": 0.9, "significance": 0.05}, "ties with naive"),
    ],
)
def test_verdict_words_without_a_dm_p_value_or_for_a_tie_are_bare(metrics, words):
    assert verdict_words(metrics) == words



@pytest.mark.parametrize(
    ("metrics", "words"),
    [
        ({"skill": -0.05, "dm_p_value": 0.4149, "significance": 0.05}, "not significantly (DM p = 0.415)"),
        ({"skill": 0.02, "dm_p_value": 0.0031, "significance": 0.05}, "significantly (DM p = 0.0031)"),
        ({"skill": 0.02, "dm_p_value": 0.03}, "significantly (DM p = 0.03)"),  # the conventional 0.05
        ({"skill": 0.02, "dm_p_value": None, "significance": 0.05},
         "not significantly (DM test: the errors never differ)"),
        ({"skill": 0.02}, None),  # metrics written before the test existed
    ],
)
def test_significance_words_alone(metrics, words):
    assert significance_words(metrics) == words


def test_a_model_that_loses_by_the_same_amount_every_day_loses_for_certain():
    # d = (102 - 100)^2 - (99 - 100)^2 = 3 on each day: no spread to test against, and no doubt either.
    result = diebold_mariano([100.0, 101.0, 102.0], [102.0, 103.0, 104.0], [99.0, 100.0, 101.0])

    assert result == {"statistic": None, "p_value": 0.0, "n": 3}
    assert verdict_words({"skill": -1.0, "dm_p_value": 0.0, "significance": 0.05}) == (
        "loses to naive, significantly (DM p = 0)")


def test_one_test_day_is_too_few_to_call_a_difference_significant():
    assert diebold_mariano([10.0], [11.0], [10.5]) == {"statistic": None, "p_value": None, "n": 1}
