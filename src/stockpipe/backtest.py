"""Bookkeeping of a walk-forward backtest: which model files belong to which fold and seed,
and how their errors are summarised."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.metrics import baseline_forecasts, conformal_halfwidth, forecast_metrics, mase
from stockpipe.splitting import Fold


def seed_values(seed: int, count: int) -> list[int]:
    """The ``count`` training seeds: ``seed``, ``seed + 1``, ..."""
    return [seed + index for index in range(count)]


def model_file(model_dir: Path, fold: int, seed: int, shipped: bool) -> Path:
    """The saved model of one fold and seed.

    The shipped model, the last fold's with the first seed, is ``model.keras`` at the top of
    ``model_dir``: it learnt from the most history and is the one predict uses. The others
    sit under ``backtest/``.
    """
    if shipped:
        return Path(model_dir) / "model.keras"
    return Path(model_dir) / "backtest" / f"fold{fold}_seed{seed}.keras"


def spec_file(model_dir: Path, fold: int, last: bool) -> Path:
    """The spec (scalers, window, rows) of one fold, which its seeds share; the last fold's is ``scaler.json``."""
    return Path(model_dir) / ("scaler.json" if last else f"backtest/fold{fold}_scaler.json")


def split_sizes_of(table: pd.DataFrame) -> tuple[int, int, int]:
    """Rows of one ticker's features table in train, validation and test (its ``part`` column)."""
    return tuple(int((table[col.PART] == name).sum()) for name in ("train", "val", "test"))


def ticker_dirs(scope: str, tickers_dir: Path, global_dir: Path, ticker: str) -> tuple[Path, Path]:
    """Where one ticker's models and its specs (scalers) are: (model folder, spec folder).

    With ``model.scope: ticker`` both are the ticker's own folder under ``tickers_dir``; with
    ``global`` every ticker shares the models in ``global_dir`` and has its own specs, since
    each ticker's inputs are scaled with its own training-slice statistics.
    """
    if scope == "global":
        return Path(global_dir), Path(global_dir) / "specs" / ticker
    return Path(tickers_dir) / ticker, Path(tickers_dir) / ticker


def spread(values: list[float]) -> dict:
    """Mean and sample standard deviation (null for a single value: one run measures no spread)."""
    values = np.asarray(values, dtype="float64")
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else None,
            "min": float(values.min()), "max": float(values.max())}


@dataclass(frozen=True)
class FoldPredictions:
    """One fold's one-step predictions, as rows of the stacked table and prices."""

    fold: Fold
    test_rows: np.ndarray
    val_rows: np.ndarray
    test: dict[int, np.ndarray]  # seed -> predicted closes of test_rows
    val: np.ndarray  # the first seed's predicted closes of val_rows


def backtest_metrics(close: np.ndarray, dates: np.ndarray, folds: list[FoldPredictions], seeds: list[int],
                     ma_window: int, coverage: float) -> dict:
    """Every test row's errors beside the naive forecast, baselines, intervals, and the spread over folds and seeds.

    The headline numbers pool the first seed's predictions over all folds, so they cover
    the same test days for any number of folds. Baselines and intervals are refitted per
    fold on that fold's training and validation rows only. ``folds`` and ``seeds`` give
    the mean and spread per fold (first seed) and per seed (all folds pooled).

    Raises:
        PipelineError: Too few closes before the test rows for ``ma_window``, or too few
            validation rows for ``coverage`` intervals; each names its param.
    """
    close = np.asarray(close, dtype="float64")
    rows = np.concatenate([result.test_rows for result in folds])
    first = np.concatenate([result.test[seeds[0]] for result in folds])
    metrics = forecast_metrics(close[rows], first, close[rows - 1])
    val_rows = np.concatenate([result.val_rows for result in folds])
    val = forecast_metrics(close[val_rows], np.concatenate([result.val for result in folds]), close[val_rows - 1])
    metrics.update({"val_rmse": val["rmse"], "val_naive_rmse": val["naive_rmse"], "val_skill": val["skill"],
                    "mase": mase(metrics["mae"], close[:folds[0].fold.train_stop])})
    # Baselines that need no model, on the same test days, in the same units.
    per_fold = [baseline_forecasts(close, result.test_rows, result.fold.train_stop, ma_window) for result in folds]
    for name in per_fold[0]:
        if name != "naive":
            errors = forecast_metrics(close[rows], np.concatenate([baselines[name] for baselines in per_fold]),
                                      close[rows - 1])
            metrics.update({f"{name}_rmse": errors["rmse"], f"{name}_mae": errors["mae"],
                            f"{name}_skill": errors["skill"]})
    # Split-conformal intervals from each fold's validation residuals; coverage is measured on its test block.
    try:
        halfwidths = [conformal_halfwidth(np.log(close[result.val_rows] / result.val), coverage) for result in folds]
    except ValueError as error:
        raise PipelineError(f"params.yaml: predict.coverage: {error}") from None
    inside = np.concatenate([np.abs(np.log(close[result.test_rows] / result.test[seeds[0]])) <= halfwidth
                             for result, halfwidth in zip(folds, halfwidths, strict=True)])
    metrics.update({"interval_coverage_target": coverage, "interval_coverage": float(np.mean(inside)),
                    "interval_halfwidth_log": halfwidths[-1]})

    fold_errors = {}
    for result in folds:
        errors = forecast_metrics(close[result.test_rows], result.test[seeds[0]], close[result.test_rows - 1])
        fold_errors[str(result.fold.number)] = {
            "first": _day(dates[result.test_rows[0]]), "last": _day(dates[result.test_rows[-1]]),
            "n_test": errors["n_test"], "rmse": errors["rmse"], "naive_rmse": errors["naive_rmse"],
            "skill": errors["skill"]}
    seed_errors = {}
    for seed in seeds:
        errors = forecast_metrics(close[rows], np.concatenate([result.test[seed] for result in folds]), close[rows - 1])
        seed_errors[str(seed)] = {"rmse": errors["rmse"], "skill": errors["skill"]}
    for name, table in (("folds", fold_errors), ("seeds", seed_errors)):
        metrics[name] = {"count": len(table),
                         "rmse": spread([entry["rmse"] for entry in table.values()]),
                         "skill": spread([entry["skill"] for entry in table.values()]),
                         f"per_{name[:-1]}": table}
    return metrics


def _day(value) -> str:
    return str(np.datetime_as_string(np.datetime64(value, "D")))
