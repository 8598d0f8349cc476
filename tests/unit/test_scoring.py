"""A walk-forward backtest's scores on a literal price path: pooled errors, spreads, significance, intervals."""

import math

import numpy as np
import pandas as pd
import pytest

from stockpipe.errors import PipelineError
from stockpipe.metrics import diebold_mariano
from stockpipe.params import PredictParams
from stockpipe.scoring import FoldPredictions, backtest_metrics, ensemble, spread
from stockpipe.splitting import walk_forward_folds

# A made-up but realistic daily close: calm for 35 days (about 0.8% a day), then twice as volatile.
# The volatility model needs at least 30 training returns, so every fold below trains on 40 rows or more.
CLOSE = np.array([
    100.00, 99.41, 100.54, 100.03, 100.22, 100.46, 102.67, 101.93, 101.86, 101.86,  # rows 0-9
    99.79, 98.85, 99.49, 98.76, 99.70, 98.86, 98.80, 98.59, 98.28, 97.54,  # rows 10-19
    98.66, 99.24, 99.39, 98.80, 98.20, 97.61, 98.84, 95.54, 95.49, 94.87,  # rows 20-29
    94.64, 93.63, 93.25, 92.47, 92.89, 92.82, 93.27, 94.75, 94.88, 94.87,  # rows 30-39
    95.13, 93.42, 93.46, 93.61, 96.49, 98.36, 99.99, 95.14, 93.89, 93.80,  # rows 40-49
    92.28, 93.04, 94.83, 95.43, 95.98, 95.73, 98.69, 98.23, 97.69, 98.16,  # rows 50-59
])
# Sessions Monday 2021-03-01 .. Friday 2021-05-21 (weekdays, no holidays): row 50 is Monday 2021-05-10.
DATES = pd.bdate_range("2021-03-01", periods=60).to_numpy()

# 40 training, 10 validation and 10 test rows; in 2 folds the test blocks are rows 50-54 and 55-59.
# The naive forecast's errors there, previous close minus close, by hand from the closes above:
FOLD_1_NAIVE_ERRORS = [1.52, -0.76, -1.79, -0.60, -0.55]  # 93.80 - 92.28, 92.28 - 93.04, ...
FOLD_2_NAIVE_ERRORS = [0.25, -2.96, 0.46, 0.54, -0.47]  # 95.98 - 95.73, 95.73 - 98.69, ...
FOLD_1_NAIVE_MSE = (1.52**2 + 0.76**2 + 1.79**2 + 0.60**2 + 0.55**2) / 5  # 6.7546 / 5
FOLD_2_NAIVE_MSE = (0.25**2 + 2.96**2 + 0.46**2 + 0.54**2 + 0.47**2) / 5  # 9.5482 / 5

SPLIT = PredictParams(coverage=0.8, interval_method="split")
ADAPTIVE = PredictParams(coverage=0.8)  # the default method: adaptive, gamma 0.02, GARCH(1,1)
DIAGNOSTICS = {"coverage", "coverage_by_volatility", "worst_rolling_coverage", "rolling_days", "mean_width",
               "mean_width_share", "winkler", "misses", "kupiec_p", "christoffersen_p"}


def test_the_naive_errors_written_out_are_the_closes():
    np.testing.assert_allclose(CLOSE[49:59] - CLOSE[50:60], FOLD_1_NAIVE_ERRORS + FOLD_2_NAIVE_ERRORS, atol=1e-9)


def test_spread_by_hand():
    assert spread([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0}
    assert spread([5.0]) == {"mean": 5.0, "std": None, "min": 5.0, "max": 5.0}  # one run measures no spread


def test_the_ensemble_is_the_mean_of_the_seeds_day_by_day():
    np.testing.assert_allclose(ensemble({7: [100.0, 102.0], 8: [101.0, 99.0]}), [100.5, 100.5])
    np.testing.assert_allclose(ensemble({42: np.array([100.0, 102.0])}), [100.0, 102.0])  # one seed: its own


def predictions(folds, test_errors, val_error=0.5):
    """Per fold: predicted = actual + error for each seed's test rows; every seed's validation off by val_error."""
    results = []
    for fold, errors in zip(folds, test_errors, strict=True):
        test_rows, val_rows = np.arange(fold.val_stop, fold.test_stop), np.arange(fold.train_stop, fold.val_stop)
        results.append(FoldPredictions(fold, test_rows, val_rows,
                                       {seed: CLOSE[test_rows] + error for seed, error in errors.items()},
                                       {seed: CLOSE[val_rows] + val_error for seed in errors}))
    return results


def test_pooled_metrics_and_spread_over_folds_and_seeds_by_hand():
    folds = walk_forward_folds(40, 10, 10, folds=2)
    # Fold 1: seed 7 off by +0.5, seed 8 by +1.5 (ensemble +1.0); fold 2: seed 7 +1.0, seed 8 -0.5 (ensemble +0.25).
    results = predictions(folds, [{7: 0.5, 8: 1.5}, {7: 1.0, 8: -0.5}])

    metrics = backtest_metrics(CLOSE, DATES, results, [7, 8], ma_window=2, predict=SPLIT)

    # The headline is the ensemble pooled over both folds: errors 1.0 x 5 and 0.25 x 5.
    rmse = math.sqrt((5 * 1.0 + 5 * 0.0625) / 10)
    naive_rmse = math.sqrt((FOLD_1_NAIVE_MSE + FOLD_2_NAIVE_MSE) / 2)
    assert metrics["rmse"] == pytest.approx(rmse)
    assert metrics["mae"] == pytest.approx(0.625)
    assert metrics["naive_rmse"] == pytest.approx(naive_rmse)
    assert naive_rmse == pytest.approx(1.27682, abs=1e-5)
    assert metrics["skill"] == pytest.approx(1 - rmse / naive_rmse)
    assert metrics["n_test"] == 10
    assert metrics["val_rmse"] == pytest.approx(0.5)
    # Per fold (ensemble): fold 1 from Monday 2021-05-10 to Friday 2021-05-14, rmse 1.0.
    fold_1_naive, fold_2_naive = math.sqrt(FOLD_1_NAIVE_MSE), math.sqrt(FOLD_2_NAIVE_MSE)
    assert metrics["folds"]["count"] == 2
    assert metrics["folds"]["per_fold"]["1"] == {
        "first": "2021-05-10", "last": "2021-05-14", "n_test": 5, "rmse": pytest.approx(1.0),
        "naive_rmse": pytest.approx(fold_1_naive), "skill": pytest.approx(1 - 1.0 / fold_1_naive)}
    assert metrics["folds"]["per_fold"]["2"] == {
        "first": "2021-05-17", "last": "2021-05-21", "n_test": 5, "rmse": pytest.approx(0.25),
        "naive_rmse": pytest.approx(fold_2_naive), "skill": pytest.approx(1 - 0.25 / fold_2_naive)}
    fold_skills = [1 - 1.0 / fold_1_naive, 1 - 0.25 / fold_2_naive]
    assert metrics["folds"]["skill"] == {"mean": pytest.approx(np.mean(fold_skills)),
                                         "std": pytest.approx(np.std(fold_skills, ddof=1)),
                                         "min": pytest.approx(min(fold_skills)), "max": pytest.approx(max(fold_skills))}
    assert metrics["folds"]["rmse"]["mean"] == pytest.approx((1.0 + 0.25) / 2)
    # Per seed, pooled over the folds: seed 7 errors 0.5 x 5 and 1.0 x 5, seed 8 errors 1.5 x 5 and 0.5 x 5.
    seed_7_rmse, seed_8_rmse = math.sqrt((5 * 0.25 + 5 * 1.0) / 10), math.sqrt((5 * 2.25 + 5 * 0.25) / 10)
    assert metrics["seeds"]["count"] == 2
    assert metrics["seeds"]["per_seed"] == {
        "7": {"rmse": pytest.approx(seed_7_rmse), "skill": pytest.approx(1 - seed_7_rmse / naive_rmse)},
        "8": {"rmse": pytest.approx(seed_8_rmse), "skill": pytest.approx(1 - seed_8_rmse / naive_rmse)}}
    assert metrics["seeds"]["rmse"]["mean"] == pytest.approx((seed_7_rmse + seed_8_rmse) / 2)
    assert metrics["seeds"]["rmse"]["std"] == pytest.approx(abs(seed_7_rmse - seed_8_rmse) / math.sqrt(2))


def test_with_two_seeds_the_headline_is_the_ensemble_and_each_seed_keeps_its_own():
    folds = walk_forward_folds(40, 10, 10, folds=1)
    # Seed 7 off by +1.0, seed 8 by -0.5 every day: their mean is off by +0.25.
    metrics = backtest_metrics(CLOSE, DATES, predictions(folds, [{7: 1.0, 8: -0.5}]), [7, 8], ma_window=2,
                               predict=SPLIT)

    assert metrics["rmse"] == pytest.approx(0.25)  # not seed 7's 1.0: the first seed no longer speaks for all
    assert metrics["mae"] == pytest.approx(0.25)
    assert metrics["folds"]["per_fold"]["1"]["rmse"] == pytest.approx(0.25)
    assert metrics["seeds"]["per_seed"]["7"]["rmse"] == pytest.approx(1.0)
    assert metrics["seeds"]["per_seed"]["8"]["rmse"] == pytest.approx(0.5)
    assert metrics["seeds"]["rmse"] == {"mean": pytest.approx(0.75), "std": pytest.approx(0.5 / math.sqrt(2)),
                                        "min": pytest.approx(0.5), "max": pytest.approx(1.0)}


def test_one_fold_one_seed_scores_the_test_rows_like_before():
    folds = walk_forward_folds(40, 10, 10, folds=1)
    metrics = backtest_metrics(CLOSE, DATES, predictions(folds, [{42: 2.0}]), [42], ma_window=2, predict=SPLIT)

    naive_rmse = math.sqrt((FOLD_1_NAIVE_MSE + FOLD_2_NAIVE_MSE) / 2)
    assert metrics["rmse"] == pytest.approx(2.0)
    assert metrics["skill"] == pytest.approx(1 - 2.0 / naive_rmse)
    assert metrics["beats_naive"] is False
    assert metrics["folds"]["skill"]["std"] is None
    assert metrics["seeds"]["rmse"]["std"] is None
    assert metrics["seeds"]["per_seed"] == {"42": {"rmse": pytest.approx(2.0),
                                                   "skill": pytest.approx(1 - 2.0 / naive_rmse)}}
    # Every validation residual is log(close / (close + 0.5)); a test error of +2.0 is outside every band.
    assert metrics["interval_coverage"] == 0.0


def test_the_diebold_mariano_test_is_the_ensembles_against_naive():
    folds = walk_forward_folds(40, 10, 10, folds=2)
    results = predictions(folds, [{7: 2.5, 8: 1.5}, {7: -2.5, 8: -1.5}])  # the ensemble: +2.0, then -2.0

    metrics = backtest_metrics(CLOSE, DATES, results, [7, 8], ma_window=2, predict=SPLIT)

    rows = np.arange(50, 60)
    expected = diebold_mariano(CLOSE[rows], CLOSE[rows] + np.repeat([2.0, -2.0], 5), CLOSE[rows - 1])
    assert metrics["dm_statistic"] == pytest.approx(expected["statistic"])
    assert metrics["dm_p_value"] == pytest.approx(expected["p_value"])
    # An error of 2 every day against naive's 1.28 rms: the model's squared errors are larger.
    assert metrics["dm_statistic"] > 0
    assert metrics["significance"] == 0.05
    assert metrics["significant"] is (expected["p_value"] < 0.05)
    # The level is the caller's: just above p the loss is significant, just below it is not.
    p_value = expected["p_value"]
    above = backtest_metrics(CLOSE, DATES, results, [7, 8], 2, SPLIT, significance=min(2 * p_value, 0.99))
    below = backtest_metrics(CLOSE, DATES, results, [7, 8], 2, SPLIT, significance=p_value / 2)
    assert (above["significance"], above["significant"]) == (min(2 * p_value, 0.99), True)
    assert (below["significance"], below["significant"]) == (p_value / 2, False)


def test_a_model_that_is_the_naive_forecast_has_no_dm_statistic_and_is_not_significant():
    folds = walk_forward_folds(40, 10, 10, folds=1)
    rows, val_rows = np.arange(50, 60), np.arange(40, 50)
    results = [FoldPredictions(folds[0], rows, val_rows, {42: CLOSE[rows - 1]}, {42: CLOSE[val_rows - 1]})]

    metrics = backtest_metrics(CLOSE, DATES, results, [42], ma_window=2, predict=SPLIT)

    assert metrics["skill"] == 0.0
    assert (metrics["dm_statistic"], metrics["dm_p_value"], metrics["significant"]) == (None, None, False)


# The split method by hand: validation log residuals log(close / predicted), and test log errors.
VAL_RESIDUALS = np.array([0.004, -0.009, 0.001, 0.007, -0.003, 0.010, -0.002, 0.008, -0.006, 0.005])
TEST_ERRORS = np.array([0.005, -0.0085, 0.012, -0.02, 0.0089, 0.0, -0.0095, 0.003, 0.0301, -0.001])


def split_fold():
    fold = walk_forward_folds(40, 10, 10, folds=1)[0]
    rows, val_rows = np.arange(50, 60), np.arange(40, 50)
    return [FoldPredictions(fold, rows, val_rows, {42: CLOSE[rows] * np.exp(-TEST_ERRORS)},
                            {42: CLOSE[val_rows] * np.exp(-VAL_RESIDUALS)})]


def test_the_split_method_is_a_constant_band_from_the_validation_residuals():
    metrics = backtest_metrics(CLOSE, DATES, split_fold(), [42], ma_window=2, predict=SPLIT)

    # |residuals| sorted: 0.001 .. 0.010; n = 10, coverage 0.8: rank ceil(11 * 0.8) = 9, the 9th smallest is 0.009.
    # Inside |log error| <= 0.009: 0.005, 0.0085, 0.0089, 0.0, 0.003, 0.001; outside 0.012, 0.02, 0.0095, 0.0301.
    halfwidth = 0.009
    predicted = CLOSE[50:60] * np.exp(-TEST_ERRORS)
    width = predicted * (math.exp(halfwidth) - math.exp(-halfwidth))
    intervals = metrics["intervals"]
    assert metrics["interval_method"] == "split"
    assert metrics["interval_coverage_target"] == 0.8
    assert metrics["interval_coverage"] == intervals["coverage"] == pytest.approx(0.6)
    assert intervals["misses"] == 4
    assert intervals["mean_width"] == pytest.approx(width.mean())
    # The same band in log units every day: the width as a share of the close is the same up to exp(-error).
    assert intervals["mean_width_share"] == pytest.approx(np.mean(np.exp(-TEST_ERRORS)) * 2 * math.sinh(halfwidth))
    assert metrics["interval_width_vs_garch_t"] == pytest.approx(
        intervals["mean_width"] / metrics["intervals_garch_t"]["mean_width"])


def test_the_split_band_does_not_depend_on_the_volatility_model():
    garch = backtest_metrics(CLOSE, DATES, split_fold(), [42], 2, SPLIT)
    ewma = backtest_metrics(CLOSE, DATES, split_fold(), [42], 2, PredictParams(coverage=0.8, interval_method="split",
                                                                               volatility="ewma", gamma=0.5))

    assert ewma["intervals"]["mean_width"] == pytest.approx(garch["intervals"]["mean_width"])
    assert ewma["intervals"]["coverage"] == garch["intervals"]["coverage"]
    # The GARCH-t reference band is the volatility model's own, so it does move.
    assert ewma["intervals_garch_t"]["mean_width"] != pytest.approx(garch["intervals_garch_t"]["mean_width"])


@pytest.mark.parametrize("predict", [ADAPTIVE, SPLIT, PredictParams(coverage=0.8, volatility="ewma")],
                         ids=["adaptive-garch", "split", "adaptive-ewma"])
def test_both_bands_carry_the_diagnostics(predict):
    folds = walk_forward_folds(40, 10, 10, folds=2)
    metrics = backtest_metrics(CLOSE, DATES, predictions(folds, [{7: 0.5, 8: -0.3}, {7: -0.8, 8: 0.2}]), [7, 8],
                               ma_window=2, predict=predict)

    assert metrics["interval_method"] == predict.interval_method
    for key in ("intervals", "intervals_garch_t"):
        assert set(metrics[key]) == DIAGNOSTICS
        assert set(metrics[key]["coverage_by_volatility"]) == {"low", "mid", "high"}
        assert metrics[key]["rolling_days"] == 10  # fewer test days than the 250-day window: all of them
        assert 0.0 <= metrics[key]["coverage"] <= 1.0
        assert metrics[key]["misses"] == round(10 * (1 - metrics[key]["coverage"]))
        assert metrics[key]["mean_width"] > 0
    assert metrics["interval_coverage"] == metrics["intervals"]["coverage"]
    assert metrics["interval_width_vs_garch_t"] == pytest.approx(
        metrics["intervals"]["mean_width"] / metrics["intervals_garch_t"]["mean_width"])
    assert "interval_halfwidth_log" not in metrics


def test_each_param_problem_is_blamed_on_its_own_param():
    # 40 training and 10 validation rows: 50 closes before the first test day.
    folds = walk_forward_folds(40, 10, 10, folds=1)
    results = predictions(folds, [{42: 2.0}])

    with pytest.raises(PipelineError, match=r"^params\.yaml: evaluate\.ma_window=51 needs 51 closes before the first "
                                            r"test day, but there are 50; use an evaluate\.ma_window of at most 50 "):
        backtest_metrics(CLOSE, DATES, results, [42], ma_window=51, predict=SPLIT)
    # 10 validation forecasts: the 11th smallest residual (ceil(11 * 0.95)) would be needed for 95% intervals.
    for method in ("split", "adaptive"):
        with pytest.raises(PipelineError, match=r"^params\.yaml: predict\.coverage: 10 validation forecasts are too "
                                                r"few for 95% intervals$"):
            backtest_metrics(CLOSE, DATES, results, [42], ma_window=50,
                             predict=PredictParams(coverage=0.95, interval_method=method))
    # 20 training rows give 19 returns, too few for the volatility model.
    short = predictions(walk_forward_folds(20, 10, 30, folds=1), [{42: 2.0}])
    # Even the split method needs it, for the GARCH-t interval it is compared with.
    with pytest.raises(PipelineError, match=r"^params\.yaml: predict\.volatility \(garch\): 19 training returns are "
                                            r"too few to fit a volatility model \(30 at least\); the volatility model "
                                            r"needs a longer training slice"):
        backtest_metrics(CLOSE, DATES, short, [42], ma_window=2, predict=SPLIT)
    # ma_window 50 is every close before the first test day: the baseline is the mean of the 50 before each day.
    metrics = backtest_metrics(CLOSE, DATES, results, [42], ma_window=50, predict=SPLIT)
    moving_average = [CLOSE[row - 50:row].mean() for row in range(50, 60)]
    assert metrics["moving_average_mae"] == pytest.approx(np.mean(np.abs(CLOSE[50:60] - moving_average)))
