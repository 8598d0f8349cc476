"""Technical indicators (TA-Lib) and session sentiment, one row per trading day.

Every feature of day t is computed from prices and headlines known at the close of day
t: TA-Lib's indicators look backwards only, and sentiment is joined by the session a
headline counts for. Indicators that move with the price level are expressed relative
to the close, so a model fitted on 2005 prices can read 2018's.

How the model sees a session without headlines (the sentiment stage leaves such sessions
out and invents no score for them): ``news_count`` 0, a neutral 0 for the day's mean score
and for the shares, so "no news" is visible through the count; and the decayed sentiment of
the last session with news, carried forward unchanged (it is a weighted mean of earlier
headlines, which a day without headlines leaves as it was), or 0 before the first headline.
``sentiment_without_news`` is that rule for one session; the forecast uses it for future days.

Social posts (news.source stocktwits or reddit) add their own columns (``columns.SOCIAL_COLUMNS``),
only then, so the inputs of a run without them stay as they were. A session without posts is
``social_without_posts``: ``social_count`` 0, a neutral 0 for the mean score, 0 labelled posts
and a bull share of 0.5 (as many bulls as bears); nothing is carried forward.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import talib

from stockpipe import columns as col
from stockpipe.errors import PipelineError

# The bull share of a session without self-labelled posts: as many bulls as bears. Such a
# session is visible through social_labelled 0.
NEUTRAL_BULL_SHARE = 0.5

def feature_columns(params, social: bool = False, sessions: bool = False) -> list[str]:
    """Names of the model's input features for a ``features`` params section, in order.

    Args:
        social: Whether news.source has a social source (``NewsParams.social``): its posts'
            columns follow the news columns.
        sessions: Intraday bars, which also get ``session_features``.
    """
    names = [col.LOG_RETURN, "range"]
    names += [f"sma_{window}_gap" for window in params.sma_windows]
    names += [f"ema_{window}_gap" for window in params.ema_windows]
    names += [f"rsi_{params.rsi_window}", "macd", "macd_signal", "macd_hist", "bb_percent_b", "bb_width"]
    names += [f"atr_{params.atr_window}", f"obv_slope_{params.obv_window}"]
    names += SESSION_FEATURES if sessions else []
    names += col.SENTIMENT_COLUMNS
    if social:
        names += col.SOCIAL_COLUMNS
    return names


def technical_indicators(prices: pd.DataFrame, params) -> pd.DataFrame:
    """Indicators for each row of ``prices`` (NaN during each indicator's warm-up); intraday bars (with a
    ``session`` column) also get ``session_features``."""
    close = prices[col.CLOSE].to_numpy(dtype="float64")
    high = prices[col.HIGH].to_numpy(dtype="float64")
    low = prices[col.LOW].to_numpy(dtype="float64")
    volume = prices[col.VOLUME].to_numpy(dtype="float64")
    out = {col.LOG_RETURN: np.log(close / np.roll(close, 1)), "range": (high - low) / close}
    out[col.LOG_RETURN][0] = np.nan
    for window in params.sma_windows:
        out[f"sma_{window}_gap"] = close / talib.SMA(close, timeperiod=window) - 1
    for window in params.ema_windows:
        out[f"ema_{window}_gap"] = close / talib.EMA(close, timeperiod=window) - 1
    out[f"rsi_{params.rsi_window}"] = talib.RSI(close, timeperiod=params.rsi_window) / 100
    macd, signal, hist = talib.MACD(
        close, fastperiod=params.macd.fast, slowperiod=params.macd.slow, signalperiod=params.macd.signal
    )
    out["macd"], out["macd_signal"], out["macd_hist"] = macd / close, signal / close, hist / close
    upper, middle, lower = talib.BBANDS(
        close, timeperiod=params.bbands_window, nbdevup=params.bbands_std, nbdevdn=params.bbands_std
    )
    band = upper - lower
    with np.errstate(divide="ignore", invalid="ignore"):
        # A flat price makes the band zero wide: the close then sits in its middle.
        out["bb_percent_b"] = np.where(band > 0, (close - lower) / band, 0.5)
        out["bb_percent_b"][np.isnan(band)] = np.nan
    out["bb_width"] = band / middle
    out[f"atr_{params.atr_window}"] = talib.ATR(high, low, close, timeperiod=params.atr_window) / close
    out[f"obv_slope_{params.obv_window}"] = _obv_slope(close, volume, params.obv_window)
    table = pd.DataFrame(out, index=prices.index)
    if col.SESSION in prices:
        table = table.join(session_features(prices))
    return table


def session_features(prices: pd.DataFrame) -> pd.DataFrame:
    """Features of intraday bars that need the day boundary, computed within each session.

    ``session_return``: log of the bar's close over its session's first open, the day's move
    so far. ``overnight_gap``: log of the session's first open over the previous session's last
    close, the same for every bar of a session; NaN in the first session, which has no previous.
    """
    session = prices[col.SESSION]
    grouped = prices.groupby(session, sort=False)
    first_open = grouped[col.OPEN].transform("first")
    last_close = grouped[col.CLOSE].last()
    previous_close = session.map(last_close.shift(1).set_axis(last_close.index))
    return pd.DataFrame({"session_return": np.log(prices[col.CLOSE] / first_open),
                         "overnight_gap": np.log(first_open / previous_close)}, index=prices.index)


def _obv_slope(close: np.ndarray, volume: np.ndarray, window: int) -> np.ndarray:
    """Change of on-balance volume over ``window`` days as a share of the volume traded.

    OBV itself is a running total whose level depends on where the data starts, so the
    model sees its recent change instead, in [-1, 1]; 0 when nothing traded.
    """
    obv = talib.OBV(close, volume)
    change = obv - np.roll(obv, window)
    traded = talib.SUM(volume, timeperiod=window)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(traded > 0, change / traded, 0.0)
    slope[:window] = np.nan
    return slope


# Intraday bars' features that need the day boundary (``session_features``).
SESSION_FEATURES = ["session_return", "overnight_gap"]


def sentiment_without_news(previous_decayed: float) -> dict[str, float]:
    """The sentiment features of a session without headlines, after one whose decayed
    sentiment was ``previous_decayed`` (0 when there has been no news yet)."""
    return {col.NEWS_COUNT: 0, col.SENTIMENT_MEAN: 0.0, col.SENTIMENT_POS_SHARE: 0.0, col.SENTIMENT_NEG_SHARE: 0.0,
            col.SENTIMENT_DECAYED: previous_decayed}


def social_without_posts() -> dict[str, float]:
    """The social features of a session without posts (or without self-labelled ones, for the bull share)."""
    return {col.SOCIAL_COUNT: 0, col.SOCIAL_MEAN: 0.0, col.SOCIAL_BULL_SHARE: NEUTRAL_BULL_SHARE,
            col.SOCIAL_LABELLED: 0}


def join_sentiment(dates: pd.Series, daily: pd.DataFrame, social: bool = False) -> pd.DataFrame:
    """Session sentiment for each date, sessions without headlines as ``sentiment_without_news``.

    With ``social``, the social columns too, sessions without posts as ``social_without_posts``.
    A session with posts but no headlines counts as one without headlines.
    """
    joined = pd.DataFrame({col.SESSION: dates.values}).merge(daily, on=col.SESSION, how="left")
    joined[col.NEWS_COUNT] = joined[col.NEWS_COUNT].fillna(0).astype("int64")
    for name in (col.SENTIMENT_MEAN, col.SENTIMENT_POS_SHARE, col.SENTIMENT_NEG_SHARE):
        joined[name] = joined[name].fillna(0.0).astype("float64")
    # Backward only: a date takes the value of the last session with news at or before it,
    # whether or not that session is a row of the price table.
    left = pd.DataFrame({col.SESSION: pd.to_datetime(dates.values).astype("datetime64[ns]")}).reset_index()
    right = daily[[col.SESSION, col.SENTIMENT_DECAYED]].dropna().astype({col.SESSION: "datetime64[ns]"})
    carried = pd.merge_asof(left.sort_values(col.SESSION), right.sort_values(col.SESSION), on=col.SESSION,
                            direction="backward").sort_values("index")
    joined[col.SENTIMENT_DECAYED] = carried[col.SENTIMENT_DECAYED].fillna(0.0).to_numpy(dtype="float64")
    if not social:
        return joined[col.SENTIMENT_COLUMNS].set_index(dates.index)
    for name, value in social_without_posts().items():
        filled = joined[name].fillna(value) if name in joined else pd.Series(value, index=joined.index)
        joined[name] = filled.astype("int64" if isinstance(value, int) else "float64")
    return joined[[*col.SENTIMENT_COLUMNS, *col.SOCIAL_COLUMNS]].set_index(dates.index)


def build_features(prices: pd.DataFrame, daily: pd.DataFrame, params, social: bool = False) -> tuple[pd.DataFrame,
                                                                                                      dict]:
    """Indicators and sentiment for each cleaned price row, warm-up rows removed.

    ``social``: news.source has a social source; its columns are added (``feature_columns``).

    Rows where an indicator is still warming up are dropped (counted as
    ``warmup_rows_dropped``) rather than filled, since any fill would borrow the future.

    Returns:
        A table with date, OHLCV and the columns of ``feature_columns(params)``, and a
        report of rows in, rows dropped and rows out.
    """
    indicators = technical_indicators(prices, params)
    sentiment = join_sentiment(prices[col.DATE], daily, social)
    sessions = col.SESSION in prices
    table = pd.concat([prices[[col.DATE, *([col.SESSION] if sessions else []), *col.OHLCV]], indicators, sentiment],
                      axis=1)
    names = feature_columns(params, social, sessions)
    table = table[[col.DATE, *([col.SESSION] if sessions else []), *col.OHLCV, *names]]
    complete = table[names].notna().all(axis=1).to_numpy()
    # Warm-up is a prefix; anything incomplete after the first complete row would be a bug.
    if not complete.any():
        longest = max(*params.sma_windows, *params.ema_windows, params.rsi_window, params.bbands_window,
                      params.macd.slow + params.macd.signal, params.atr_window, params.obv_window)
        raise PipelineError(
            f"all {len(table)} clean price rows are indicator warm-up (the longest features.* window needs about "
            f"{longest} rows first); use more price history (an earlier data.start) or shorter features.* windows"
        )
    first = int(np.argmax(complete))
    report = {"rows_in": int(len(table)), "warmup_rows_dropped": first}
    table = table.iloc[first:].reset_index(drop=True)
    report["rows_out"] = int(len(table))
    report["sessions_with_news"] = int((table[col.NEWS_COUNT] > 0).sum())
    if social:
        report["sessions_with_posts"] = int((table[col.SOCIAL_COUNT] > 0).sum())
    return table, report
