"""Forecast errors in price units, beside the naive "tomorrow = today" forecast."""

from __future__ import annotations

import numpy as np

from stockpipe.errors import PipelineError


def forecast_metrics(actual: np.ndarray, predicted: np.ndarray, naive: np.ndarray) -> dict:
    """Errors of ``predicted`` and of ``naive`` against ``actual`` prices.

    ``skill`` is 1 - rmse / naive_rmse: positive when the model beats the naive forecast,
    negative when it loses. ``direction_accuracy`` is the share of days where the model
    called the sign of the move from the previous close (``naive``) correctly.
    """
    actual, predicted, naive = (np.asarray(values, dtype="float64") for values in (actual, predicted, naive))
    if len(actual) == 0:
        raise ValueError("no test rows to evaluate")
    error, naive_error = predicted - actual, naive - actual
    mse = float(np.mean(error**2))
    naive_rmse = float(np.sqrt(np.mean(naive_error**2)))
    rmse = float(np.sqrt(mse))
    skill = 1.0 - rmse / naive_rmse if naive_rmse > 0 else 0.0
    return {
        "mse": mse,
        "rmse": rmse,
        "mae": float(np.mean(np.abs(error))),
        "mape": float(np.mean(np.abs(error / actual)) * 100),
        "naive_rmse": naive_rmse,
        "naive_mae": float(np.mean(np.abs(naive_error))),
        "skill": float(skill),
        "beats_naive": bool(skill > 0),
        "direction_accuracy": float(np.mean(np.sign(predicted - naive) == np.sign(actual - naive))),
        "n_test": int(len(actual)),
    }


def check_ma_window_fits(ma_window: int, closes_before: int) -> None:
    """Refuse an ``evaluate.ma_window`` longer than the closes before the first test day.

    Raises:
        PipelineError: One line naming evaluate.ma_window, the closes there are and what to change.
    """
    if ma_window <= closes_before:
        return
    raise PipelineError(
        f"params.yaml: evaluate.ma_window={ma_window} needs {ma_window} closes before the first test day, but there "
        f"are {closes_before}; use an evaluate.ma_window of at most {closes_before} or more price history "
        "(an earlier data.start)"
    )


def baseline_forecasts(close: np.ndarray, rows: np.ndarray, n_train: int, ma_window: int) -> dict[str, np.ndarray]:
    """Next-day forecasts for ``rows`` from three baselines that need no model.

    - naive: the previous close;
    - drift: the previous close grown by the mean daily log return of the training slice
      (a random walk with drift, fitted on training rows only);
    - moving_average: the mean of the ``ma_window`` closes before the day.

    Raises:
        PipelineError: Fewer than ``ma_window`` closes before the first of ``rows``.
    """
    close = np.asarray(close, dtype="float64")
    check_ma_window_fits(ma_window, int(rows.min()))
    previous = close[rows - 1]
    drift = float(np.mean(np.diff(np.log(close[:n_train]))))
    windows = np.lib.stride_tricks.sliding_window_view(close, ma_window)
    # windows[k] holds closes k .. k+ma_window-1, so the window ending the day before row j is j-ma_window.
    moving_average = windows[rows - ma_window].mean(axis=1)
    return {"naive": previous, "drift": previous * np.exp(drift), "moving_average": moving_average}


def mase(mae: float, train_close: np.ndarray) -> float:
    """Mean absolute scaled error: ``mae`` over the naive forecast's MAE on the training slice."""
    scale = float(np.mean(np.abs(np.diff(np.asarray(train_close, dtype="float64")))))
    return mae / scale if scale > 0 else float("nan")


def conformal_halfwidth(abs_log_residuals: np.ndarray, coverage: float) -> float:
    """Split-conformal half-width, in log-price units, for intervals at ``coverage``.

    The ceil((n + 1) * coverage)-th smallest absolute residual of n held-out (validation)
    forecasts: with exchangeable errors, an interval of that half-width around the next
    forecast holds the actual at least ``coverage`` of the time.

    Raises:
        ValueError: Too few residuals for that coverage.
    """
    residuals = np.sort(np.abs(np.asarray(abs_log_residuals, dtype="float64")))
    rank = int(np.ceil((len(residuals) + 1) * coverage))
    if rank > len(residuals):
        raise ValueError(f"{len(residuals)} validation forecasts are too few for {coverage:.0%} intervals")
    return float(residuals[rank - 1])


def interval_coverage(actual: np.ndarray, predicted: np.ndarray, halfwidth: float) -> float:
    """Share of ``actual`` prices inside predicted * exp(+-halfwidth)."""
    log_error = np.abs(np.log(np.asarray(actual, dtype="float64") / np.asarray(predicted, dtype="float64")))
    return float(np.mean(log_error <= halfwidth))
