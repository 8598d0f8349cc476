"""Walk-forward bookkeeping: model files, spreads and pooled metrics, on literal numbers."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockpipe.backtest import (
    FoldPredictions,
    backtest_metrics,
    model_file,
    seed_values,
    spec_file,
    split_sizes_of,
    spread,
    ticker_dirs,
)
from stockpipe.errors import PipelineError
from stockpipe.splitting import walk_forward_folds


def test_seeds_count_up_from_the_seed_param():
    assert seed_values(42, 3) == [42, 43, 44]


def test_the_last_folds_first_seed_is_the_shipped_model_the_rest_sit_in_backtest():
    assert model_file(Path("models"), 3, 42, shipped=True) == Path("models/model.keras")
    assert model_file(Path("models"), 3, 43, shipped=False) == Path("models/backtest/fold3_seed43.keras")
    assert spec_file(Path("models"), 3, last=True) == Path("models/scaler.json")
    assert spec_file(Path("models"), 1, last=False) == Path("models/backtest/fold1_scaler.json")


def test_each_ticker_has_its_own_models_or_shares_the_global_ones_with_its_own_scaler():
    assert ticker_dirs("ticker", Path("models/batch_0"), Path("models/global"), "^GSPC") == (
        Path("models/batch_0/^GSPC"), Path("models/batch_0/^GSPC"))
    assert ticker_dirs("global", Path("models/batch_0"), Path("models/global"), "^GSPC") == (
        Path("models/global"), Path("models/global/specs/^GSPC"))


def test_split_sizes_count_the_rows_of_each_part():
    table = pd.DataFrame({"part": ["train", "train", "train", "val", "test", "test"], "close": range(6)})

    assert split_sizes_of(table) == (3, 1, 2)
    assert split_sizes_of(table[table["part"] != "val"]) == (3, 0, 2)


def test_spread_by_hand():
    assert spread([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0}
    assert spread([5.0]) == {"mean": 5.0, "std": None, "min": 5.0, "max": 5.0}  # one run measures no spread


# Closes 100, 101, ..., 119: the naive forecast is always off by exactly 1.
CLOSE = np.arange(100.0, 120.0)
DATES = np.arange("2020-01-01", "2020-01-21", dtype="datetime64[D]")


def predictions(folds, test_errors, val_error=0.5):
    """Per fold: predicted = actual + error for each seed's test rows; validation off by val_error."""
    results = []
    for fold, errors in zip(folds, test_errors, strict=True):
        test_rows, val_rows = np.arange(fold.val_stop, fold.test_stop), np.arange(fold.train_stop, fold.val_stop)
        results.append(FoldPredictions(fold, test_rows, val_rows,
                                       {seed: CLOSE[test_rows] + error for seed, error in errors.items()},
                                       CLOSE[val_rows] + val_error))
    return results


def test_pooled_metrics_and_spread_over_folds_and_seeds_by_hand():
    # 10 training, 4 validation and 6 test rows in 2 folds of 3 rows.
    folds = walk_forward_folds(10, 4, 6, folds=2)
    # Fold 1: seed 7 off by 0.5, seed 8 off by 1.5; fold 2: seed 7 off by 1.0, seed 8 off by 0.5.
    results = predictions(folds, [{7: 0.5, 8: 1.5}, {7: 1.0, 8: 0.5}])

    metrics = backtest_metrics(CLOSE, DATES, results, [7, 8], ma_window=2, coverage=0.5)

    # The headline is the first seed pooled over both folds: errors 0.5 x 3 and 1.0 x 3.
    assert metrics["rmse"] == pytest.approx(np.sqrt((3 * 0.25 + 3 * 1.0) / 6))
    assert metrics["naive_rmse"] == pytest.approx(1.0)
    assert metrics["n_test"] == 6
    assert metrics["val_rmse"] == pytest.approx(0.5)
    assert metrics["folds"]["count"] == 2
    assert metrics["folds"]["per_fold"]["1"] == {"first": "2020-01-15", "last": "2020-01-17", "n_test": 3,
                                                 "rmse": 0.5, "naive_rmse": 1.0, "skill": 0.5}
    assert metrics["folds"]["per_fold"]["2"]["skill"] == pytest.approx(0.0)
    assert metrics["folds"]["skill"]["mean"] == pytest.approx(0.25)
    assert metrics["folds"]["skill"]["std"] == pytest.approx(np.std([0.5, 0.0], ddof=1))
    seed_8_rmse = np.sqrt((3 * 1.5**2 + 3 * 0.25) / 6)
    assert metrics["seeds"]["per_seed"]["8"]["rmse"] == pytest.approx(seed_8_rmse)
    assert metrics["seeds"]["rmse"]["mean"] == pytest.approx((metrics["rmse"] + seed_8_rmse) / 2)
    # Every validation residual is log(close / (close + 0.5)); a test error of 0.5 is inside, 1.0 is not.
    assert metrics["interval_coverage"] == pytest.approx(0.5)
    # Closes rise by 1 a day, so the drift baseline (refitted per fold on its training rows) beats naive.
    assert metrics["drift_skill"] > 0


def test_one_fold_one_seed_scores_the_test_rows_like_before():
    folds = walk_forward_folds(10, 4, 6, folds=1)
    metrics = backtest_metrics(CLOSE, DATES, predictions(folds, [{42: 2.0}]), [42], ma_window=2, coverage=0.5)

    assert metrics["rmse"] == pytest.approx(2.0)
    assert metrics["skill"] == pytest.approx(-1.0)
    assert metrics["beats_naive"] is False
    assert metrics["folds"]["skill"]["std"] is None
    assert metrics["seeds"]["per_seed"] == {"42": {"rmse": pytest.approx(2.0), "skill": pytest.approx(-1.0)}}
    assert metrics["interval_coverage"] == 0.0


def test_each_param_problem_is_blamed_on_its_own_param():
    # 10 training and 4 validation rows: 14 closes before the first test day.
    folds = walk_forward_folds(10, 4, 6, folds=1)
    results = predictions(folds, [{42: 2.0}])

    with pytest.raises(PipelineError, match=r"^params\.yaml: evaluate\.ma_window=25 needs 25 closes before the first "
                                            r"test day, but there are 14; use an evaluate\.ma_window of at most 14 "):
        backtest_metrics(CLOSE, DATES, results, [42], ma_window=25, coverage=0.5)
    with pytest.raises(PipelineError, match=r"^params\.yaml: evaluate\.ma_window=15 needs 15 closes"):
        backtest_metrics(CLOSE, DATES, results, [42], ma_window=15, coverage=0.5)
    # 4 validation forecasts: the 5th smallest residual would be needed for 90% intervals.
    with pytest.raises(PipelineError, match=r"^params\.yaml: predict\.coverage: 4 validation forecasts are too few "
                                            r"for 90% intervals$"):
        backtest_metrics(CLOSE, DATES, results, [42], ma_window=14, coverage=0.9)
    # Every close 100 .. 119 rises by 1: the mean of the 14 before day j is j's close minus 7.5.
    assert backtest_metrics(CLOSE, DATES, results, [42], ma_window=14, coverage=0.5)["moving_average_mae"] == 7.5
