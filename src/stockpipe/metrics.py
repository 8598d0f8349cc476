"""Forecast errors in price units, beside the naive "tomorrow = today" forecast."""

from __future__ import annotations

import numpy as np


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
