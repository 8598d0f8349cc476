"""Live forecasts: keep every forecast, score it once the actual close is known, watch for drift.

The history holds one row per forecast step: the ticker forecast, the day the
forecast was made (the last data date), the date forecast, the step (1 for the next session),
the predicted close, the actual close once the prices reach that date, and the naive forecast,
which is the close of the day the forecast was made for every step. Values are frozen as first
recorded: a forecast is never rescored, so a later rescaling of adjusted history, or a model
trained after the fact, cannot rewrite the live record.

One file holds the forecasts of every ticker the pipeline has been pointed at. A run scores and
sums up each ticker's rows against that ticker's closes, and leaves the rows of tickers it did
not forecast as they are until the pipeline forecasts their ticker again. The ticker alone names the series, not
the source or data.adjusted: a row is scored when the prices first reach its date, and every
provider, adjusted or not, gives that session's traded close then (adjusting rescales only the
sessions before a later dividend or split), so ^GSPC forecasts made from the sample are rightly
scored by a live source's ^GSPC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.columns import parse_time_text, time_text
from stockpipe.metrics import forecast_metrics
from stockpipe.params import TICKER_PATTERN

# The ticker is part of every key: a forecast is only ever scored, replaced or summed up with
# the rows of its own ticker.
_KEY = [col.TICKER, col.FORECAST_MADE_ON, col.DATE]
# Each forecast's rows together, forecasts in the order they were made.
_ORDER = [col.FORECAST_MADE_ON, col.TICKER, col.DATE]
# The columns of a history written before each forecast recorded its ticker.
_COLUMNS_WITHOUT_TICKER = col.HISTORY_COLUMNS[1:]
# pd.read_csv options for the history file: by default pandas reads a ticker such as NA or NAN
# as missing and 0700 as the number 700. Only an empty cell is missing.
_CSV_OPTIONS = {"dtype": {col.TICKER: str}, "keep_default_na": False, "na_values": [""]}
# The errors of one group of scored rows, from metrics.forecast_metrics, as the evaluate stage defines them.
_ERROR_KEYS = ("rmse", "mae", "naive_rmse", "naive_mae", "skill")


def empty_history() -> pd.DataFrame:
    """A history with no rows and the history's columns and types."""
    return pd.DataFrame({
        col.TICKER: pd.Series(dtype="object"),
        col.FORECAST_MADE_ON: pd.Series(dtype="datetime64[ns]"),
        col.DATE: pd.Series(dtype="datetime64[ns]"),
        col.STEP: pd.Series(dtype="int64"),
        col.PREDICTED_CLOSE: pd.Series(dtype="float64"),
        col.ACTUAL: pd.Series(dtype="float64"),
        col.NAIVE: pd.Series(dtype="float64"),
    })


def history_from_csv(source) -> pd.DataFrame:
    """The history read from its CSV file (a path or a text buffer; dates as YYYY-MM-DD text, intraday
    times as YYYY-MM-DD HH:MM), with the history's types.

    Raises:
        ValueError: if the columns are not the history's (a file from before the ticker column
            included), or a value does not fit its column.
    """
    frame = pd.read_csv(source, **_CSV_OPTIONS)
    if list(frame.columns) == _COLUMNS_WITHOUT_TICKER:
        # Which ticker such rows were made for is known only to whoever ran the pipeline; taking
        # a ticker of data.tickers could score one ticker's forecasts against another's closes.
        raise ValueError(f"no {col.TICKER} column (a history written before each forecast recorded its ticker): "
                         f"add {col.TICKER} as the first column, each row holding the ticker its forecast "
                         "was made for")
    if list(frame.columns) != col.HISTORY_COLUMNS:
        raise ValueError(f"expected the columns {', '.join(col.HISTORY_COLUMNS)}, "
                         f"got {', '.join(map(str, frame.columns))}")
    history = frame.copy()
    tickers = history[col.TICKER]
    unread = tickers.isna() | ~tickers.astype(str).str.fullmatch(TICKER_PATTERN)
    if unread.any():
        value = tickers[unread].iloc[0]
        raise ValueError(f"column {col.TICKER} has {'no value' if pd.isna(value) else repr(value)} "
                         "(expected a ticker as data.tickers spells it)")
    for name in (col.FORECAST_MADE_ON, col.DATE):
        parsed = parse_time_text(history[name])
        unread = parsed.isna() & history[name].notna()
        if unread.any():
            # pandas' own message runs over several lines of advice; the error must be one line.
            raise ValueError(f"column {name} has {history[name][unread].iloc[0]!r} (expected a date as YYYY-MM-DD "
                             "or a time as YYYY-MM-DD HH:MM)")
        history[name] = parsed
    return history.astype(empty_history().dtypes.to_dict())


def history_to_csv(history: pd.DataFrame) -> pd.DataFrame:
    """The history with its dates as YYYY-MM-DD text (intraday times as YYYY-MM-DD HH:MM), as its CSV file holds
    them."""
    written = history.copy()
    for name in (col.FORECAST_MADE_ON, col.DATE):
        written[name] = time_text(written[name]) if len(written) else written[name].dt.strftime("%Y-%m-%d")
    return written


def forecast_from_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """The forecast as read from predict's CSV file (``io.read_csv_table``'s text cells, rows
    indexed by line number): date as YYYY-MM-DD (or YYYY-MM-DD HH:MM) and predicted_close as numbers, other
    columns dropped.

    Raises:
        ValueError: if date or predicted_close is missing, or a value does not fit its column (naming the row).
    """
    if col.DATE not in frame.columns or col.PREDICTED_CLOSE not in frame.columns:
        raise ValueError(f"expected the columns {col.DATE}, {col.PREDICTED_CLOSE} (as predict writes them), "
                         f"got {', '.join(map(str, frame.columns))}")
    dates = parse_time_text(frame[col.DATE])
    closes = pd.to_numeric(frame[col.PREDICTED_CLOSE], errors="coerce").astype("float64")
    for name, bad, expected in ((col.DATE, dates.isna(), "a date as YYYY-MM-DD"),
                                (col.PREDICTED_CLOSE, ~np.isfinite(closes), "a number")):
        if bad.any():
            row = bad.idxmax()
            value = frame.at[row, name]
            raise ValueError(f"row {row}: column {name} has {'no value' if pd.isna(value) else repr(value)} "
                             f"(expected {expected})")
    return pd.DataFrame({col.DATE: dates, col.PREDICTED_CLOSE: closes}).reset_index(drop=True)


def forecast_rows(forecast: pd.DataFrame, prices: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """History rows for the forecast that predict wrote from ``prices``, none of them scored.

    Args:
        forecast: Columns date and predicted_close, one row per session forecast, in order.
        prices: The prices the forecast was made from (date and close); their last date is
            the day the forecast was made, and its close is the naive forecast of every step.
        ticker: The ticker of ``prices``.

    Raises:
        ValueError: if the forecast is empty or does not start after the last price date
            (a forecast made from other data than these prices).
    """
    if forecast.empty:
        raise ValueError("the forecast has no rows")
    if prices.empty:
        raise ValueError("the prices have no rows")
    made_on = prices[col.DATE].max()
    dates = pd.to_datetime(forecast[col.DATE]).reset_index(drop=True)
    if dates.iloc[0] <= made_on or not dates.is_monotonic_increasing or not dates.is_unique:
        raise ValueError(f"the forecast ({_day(dates.iloc[0])} .. {_day(dates.iloc[-1])}) must follow the last "
                         f"price date {_day(made_on)} in increasing order: rerun predict on these prices")
    naive = float(prices.loc[prices[col.DATE] == made_on, col.CLOSE].iloc[-1])
    rows = pd.DataFrame({
        col.TICKER: ticker,
        col.FORECAST_MADE_ON: made_on,
        col.DATE: dates,
        col.STEP: np.arange(1, len(dates) + 1, dtype="int64"),
        col.PREDICTED_CLOSE: forecast[col.PREDICTED_CLOSE].to_numpy(dtype="float64"),
        col.ACTUAL: np.nan,
        col.NAIVE: naive,
    })
    return rows[col.HISTORY_COLUMNS].astype(empty_history().dtypes.to_dict())


def record(history: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Add a forecast's rows, or another copy of the history, to the history; adding them twice changes nothing.

    A row whose (ticker, forecast_made_on, date) is already in the history replaces it while
    that row is unscored (the actual is not known yet, so the newest forecast is the one that
    was live) and is dropped once it is scored (a scored forecast never changes). Rows of other
    tickers are kept as they are.

    Returns:
        The history sorted by forecast_made_on, ticker and date.
    """
    existing = history.set_index(_KEY)
    incoming = rows.set_index(_KEY)
    scored = existing.index[existing[col.ACTUAL].notna()]
    incoming = incoming[~incoming.index.isin(scored)]
    kept = existing[~existing.index.isin(incoming.index)]
    parts = [part for part in (kept, incoming) if not part.empty]
    if not parts:
        return empty_history()
    combined = pd.concat(parts).reset_index()
    return combined.sort_values(_ORDER, ignore_index=True)[col.HISTORY_COLUMNS]


def score(history: pd.DataFrame, prices: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Fill in the actual close of every unscored row of ``ticker`` whose date is in ``prices``, its prices.

    Rows already scored keep their actual; rows whose date the prices do not reach, and the
    rows of other tickers, stay as they are.
    """
    closes = prices.set_index(col.DATE)[col.CLOSE]
    scored = history.copy()
    missing = scored[col.ACTUAL].isna() & (scored[col.TICKER] == ticker)
    scored.loc[missing, col.ACTUAL] = scored.loc[missing, col.DATE].map(closes).to_numpy(dtype="float64")
    return scored


def summarize(history: pd.DataFrame, ticker: str, test_metrics: Mapping, window: int, min_scored: int,
              drift_ratio: float) -> dict:
    """The live errors of ``ticker``'s last ``window`` scored forecasts beside the test-set errors, and the drift flag.

    Only ``ticker``'s rows count, as the test-set errors are those of its model. A forecast
    counts as scored once any of its steps is. ``first_step`` holds the errors of the step-1
    rows of the last ``window`` scored forecasts (what the evaluate stage measures on the test
    set), ``all_steps`` those of all their scored rows, each beside the naive forecast's errors
    on the same rows. ``ratio`` is the live first-step rmse relative to the naive one, divided
    by the same on the test set: the live error against the test error, with the naive error on
    the same days as the yardstick, so a calmer or dearer market in the test years does not read
    as drift. ``drift`` is ``ratio > drift_ratio``, judged once at least ``min_scored`` first
    steps are in the window (null before, and every error is null while nothing is scored).

    Args:
        history: The scored history (see ``score``).
        ticker: The ticker whose forecasts are summed up.
        test_metrics: The evaluate stage's metrics: ``rmse`` and ``naive_rmse`` of the test set.
        window: How many of the latest scored forecasts the live errors cover.
        min_scored: First steps needed in the window before drift is judged.
        drift_ratio: The ratio above which ``drift`` is true.

    Raises:
        ValueError: if ``rmse`` or ``naive_rmse`` in ``test_metrics`` is missing or not a positive number.
    """
    test_rmse, test_naive_rmse = (_positive(test_metrics, key) for key in ("rmse", "naive_rmse"))
    history = history[history[col.TICKER] == ticker]
    scored = history[history[col.ACTUAL].notna()]
    made_on = np.sort(scored[col.FORECAST_MADE_ON].unique())
    latest = scored[scored[col.FORECAST_MADE_ON].isin(made_on[-window:])]
    first_step = _errors(latest[latest[col.STEP] == 1])
    ratio = None
    if first_step["rmse"] is not None and first_step["naive_rmse"] > 0:
        ratio = (first_step["rmse"] / first_step["naive_rmse"]) / (test_rmse / test_naive_rmse)
    judged = ratio is not None and first_step["n"] >= min_scored
    return {
        "ticker": ticker,
        "forecasts": int(history[col.FORECAST_MADE_ON].nunique()),
        "forecasts_scored": int(len(made_on)),
        "n_scored": int(len(scored)),
        "last_forecast_made_on": _day(history[col.FORECAST_MADE_ON].max()),
        "last_scored_date": _day(scored[col.DATE].max()),
        "window": window,
        "first_step": first_step,
        "all_steps": _errors(latest),
        "test_rmse": test_rmse,
        "test_naive_rmse": test_naive_rmse,
        "ratio": ratio,
        "drift_ratio": drift_ratio,
        "drift": bool(ratio > drift_ratio) if judged else None,
    }


def _errors(rows: pd.DataFrame) -> dict:
    if rows.empty:
        return {"n": 0, **dict.fromkeys(_ERROR_KEYS)}
    metrics = forecast_metrics(rows[col.ACTUAL], rows[col.PREDICTED_CLOSE], rows[col.NAIVE])
    return {"n": int(len(rows)), **{key: metrics[key] for key in _ERROR_KEYS}}


def _positive(metrics: Mapping, key: str) -> float:
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{key!r} must be a positive number, got {value!r}")
    return float(value)


def _day(value) -> str | None:
    return None if pd.isna(value) else time_text([value])[0]
