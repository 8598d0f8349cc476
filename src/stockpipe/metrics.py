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


def diebold_mariano(actual: np.ndarray, predicted: np.ndarray, naive: np.ndarray) -> dict:
    """Diebold-Mariano test of equal squared errors, model against naive, on one-step forecasts.

    d_t = (predicted_t - actual_t)^2 - (naive_t - actual_t)^2; the statistic is mean(d) over
    its standard error (lag 0 only, as fits one-step forecasts), times the Harvey, Leybourne
    and Newbold (1997) small-sample factor sqrt((n - 1) / n), and is read against Student's t
    with n - 1 degrees of freedom. Positive: the model's errors are larger. ``p_value`` is
    two-sided. When the difference is the same every day there is no spread to test against:
    a nonzero one is certain (p = 0, no statistic), none at all gives None for both, as does a
    single day.
    """
    # Imported here: scipy.stats costs half a second, and monitor, summary and the PR report only word verdicts.
    from scipy import stats

    actual, predicted, naive = (np.asarray(values, dtype="float64") for values in (actual, predicted, naive))
    loss = (predicted - actual) ** 2 - (naive - actual) ** 2
    n = len(loss)
    variance = float(np.mean((loss - loss.mean()) ** 2))
    if n < 2:
        return {"statistic": None, "p_value": None, "n": n}
    if not variance > 0:
        return {"statistic": None, "p_value": 0.0 if loss.mean() != 0 else None, "n": n}
    statistic = float(loss.mean() / np.sqrt(variance / n) * np.sqrt((n - 1) / n))
    return {"statistic": statistic, "p_value": float(2 * stats.t.sf(abs(statistic), n - 1)), "n": n}


def verdict_words(metrics: dict) -> str:
    """The verdict against naive with its significance, e.g. "loses to naive, not significantly (DM p = 0.41)".

    Reads ``skill``, ``dm_p_value`` and ``significance`` of one ticker's metrics.
    """
    skill = metrics["skill"]
    words = "beats naive" if skill > 0 else "loses to naive" if skill < 0 else "ties with naive"
    how = significance_words(metrics)
    return f"{words}, {how}" if how and skill != 0 else words


def significance_words(metrics: dict) -> str | None:
    """"significantly (DM p = 0.003)" or "not significantly (DM p = 0.41)"; None for metrics without the test."""
    if "dm_p_value" not in metrics:
        return None
    p_value = metrics["dm_p_value"]
    if p_value is None:
        return "not significantly (DM test: the errors never differ)"
    how = "significantly" if p_value < metrics.get("significance", 0.05) else "not significantly"
    return f"{how} (DM p = {p_value:.3g})"
