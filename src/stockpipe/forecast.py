"""Multi-step forecasts by feeding each predicted close back in as a new day."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.features import sentiment_without_news, social_without_posts, technical_indicators
from stockpipe.windows import ModelSpec, to_price


def recursive_forecast(table: pd.DataFrame, future_dates: pd.DatetimeIndex, spec: ModelSpec, features_params,
                       predict_fn: Callable[[np.ndarray], np.ndarray]) -> pd.DataFrame:
    """Forecast the close of each date in ``future_dates``, one session at a time.

    Step k predicts day T+k from the window ending at T+k-1. The predicted close then
    becomes a flat bar (open = high = low = close, volume repeated from the last real
    day, no headlines and no posts as ``features.sentiment_without_news`` and
    ``features.social_without_posts`` describe), indicators are
    recomputed on the extended series, and the next step reads it. Errors therefore
    compound with the horizon; the first step is the one the evaluate stage measures.

    Args:
        table: The features table (date, OHLCV and feature columns), oldest first.
        future_dates: Sessions to forecast, in order.
        spec: Inputs, scalers, window and target saved by the train stage. Inputs that were
            constant on the training rows reach the model as 0, future days included.
        features_params: The ``features`` params section the table was built with.
        predict_fn: Maps float32 windows (n, window, features) to the model's raw outputs.

    Returns:
        Columns date and predicted_close.
    """
    # Intraday bars keep their session, which their session features need; a future bar's is its date.
    sessions = [col.SESSION] if col.SESSION in table else []
    history = table[[col.DATE, *sessions, *col.OHLCV]].copy()
    rows = table[spec.inputs].to_numpy(dtype="float64")
    last_volume = float(history[col.VOLUME].iloc[-1])
    decayed = float(table[col.SENTIMENT_DECAYED].iloc[-1]) if col.SENTIMENT_DECAYED in table else 0.0
    predictions = []
    for date in future_dates:
        window_rows = spec.scaler.transform(rows[-spec.window:])
        output = predict_fn(window_rows[np.newaxis].astype("float32"))[0]
        value = spec.target_scaler.inverse_transform(np.array([[output]]))[0, 0]
        close = float(to_price(value, history[col.CLOSE].iloc[-1], spec.target))
        predictions.append(close)
        bar = {col.DATE: date, **{name: date.normalize() for name in sessions}, col.OPEN: close, col.HIGH: close,
               col.LOW: close, col.CLOSE: close,
               col.VOLUME: last_volume}
        history = pd.concat([history, pd.DataFrame([bar])], ignore_index=True)
        new_row = technical_indicators(history, features_params).iloc[-1]
        for name, value in {**sentiment_without_news(decayed), **social_without_posts()}.items():
            new_row[name] = value
        new_row[col.CLOSE] = close
        rows = np.vstack([rows, new_row.reindex(spec.inputs).to_numpy(dtype="float64")])
    return pd.DataFrame({col.DATE: future_dates, col.PREDICTED_CLOSE: predictions})
