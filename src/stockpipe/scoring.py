"""A walk-forward backtest's scores: errors beside naive and the baselines, intervals, significance, spreads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stockpipe.intervals import Intervals, band, diagnostics, one_step_intervals
from stockpipe.metrics import baseline_forecasts, diebold_mariano, forecast_metrics, mase
from stockpipe.splitting import Fold


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
    val: dict[int, np.ndarray]  # seed -> predicted closes of val_rows

    @property
    def test_ensemble(self) -> np.ndarray:
        """The mean of the seeds' predicted closes of test_rows (one seed: its own)."""
        return ensemble(self.test)

    @property
    def val_ensemble(self) -> np.ndarray:
        return ensemble(self.val)


def ensemble(by_seed: dict[int, np.ndarray]) -> np.ndarray:
    """The mean over seeds of their predicted closes, day by day."""
    return np.mean(np.stack([np.asarray(values, dtype="float64") for values in by_seed.values()]), axis=0)


def fold_intervals(close: np.ndarray, folds: list[FoldPredictions], predict) -> list[Intervals]:
    """Each fold's one-step intervals, calibrated on its validation rows and scored on its test block in date order."""
    return [one_step_intervals(close, result.fold.train_stop, result.val_rows, result.val_ensemble, result.test_rows,
                               result.test_ensemble, predict) for result in folds]


def one_step_band(folds: list[FoldPredictions], intervals: list[Intervals]) -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper closes of the chosen method's interval on every test row, folds in order."""
    return band(np.concatenate([result.test_ensemble for result in folds]),
                np.concatenate([fold_band.halfwidth for fold_band in intervals]))


def backtest_metrics(close: np.ndarray, dates: np.ndarray, folds: list[FoldPredictions], seeds: list[int],
                     ma_window: int, predict, significance: float = 0.05,
                     intervals: list[Intervals] | None = None) -> dict:
    """Every test row's errors beside the naive forecast, baselines, intervals, and the spread over folds and seeds.

    The headline numbers are the seed ensemble's (the mean of the seeds' predicted closes;
    with one seed, its own), pooled over all folds, so they cover the same test days for any
    number of folds and seeds. Baselines, volatility models and interval calibration are
    refitted per fold on that fold's training and validation rows only; ``predict`` holds the
    interval params (method, coverage, gamma, volatility). ``folds`` and ``seeds`` give the
    mean and spread per fold (ensemble) and per seed (all folds pooled). The Diebold-Mariano
    test says whether the model's squared errors differ from naive's at ``significance``.
    ``intervals`` are ``fold_intervals``' when the caller has them already.

    Raises:
        PipelineError: Too few closes before the test rows for ``ma_window``, too few
            validation rows for ``predict.coverage`` intervals, or too few training rows for a
            volatility model; each names its param.
    """
    close = np.asarray(close, dtype="float64")
    rows = np.concatenate([result.test_rows for result in folds])
    headline = np.concatenate([result.test_ensemble for result in folds])
    metrics = forecast_metrics(close[rows], headline, close[rows - 1])
    dm = diebold_mariano(close[rows], headline, close[rows - 1])
    metrics.update({"dm_statistic": dm["statistic"], "dm_p_value": dm["p_value"], "significance": significance,
                    "significant": dm["p_value"] is not None and dm["p_value"] < significance})
    val_rows = np.concatenate([result.val_rows for result in folds])
    val = forecast_metrics(close[val_rows], np.concatenate([result.val_ensemble for result in folds]),
                           close[val_rows - 1])
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
    bands = fold_intervals(close, folds, predict) if intervals is None else intervals
    sigma = np.concatenate([fold_band.sigma for fold_band in bands])
    diagnosed = {}
    for key, halfwidths in (("intervals", [fold_band.halfwidth for fold_band in bands]),
                            ("intervals_garch_t", [fold_band.garch_halfwidth for fold_band in bands])):
        lower, upper = band(headline, np.concatenate(halfwidths))
        diagnosed[key] = diagnostics(close[rows], lower, upper, sigma, predict.coverage)
    metrics.update({"interval_method": predict.interval_method, "interval_coverage_target": predict.coverage,
                    "interval_coverage": diagnosed["intervals"]["coverage"],
                    "interval_width_vs_garch_t": diagnosed["intervals"]["mean_width"]
                    / diagnosed["intervals_garch_t"]["mean_width"], **diagnosed})

    fold_errors = {}
    for result in folds:
        errors = forecast_metrics(close[result.test_rows], result.test_ensemble, close[result.test_rows - 1])
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
