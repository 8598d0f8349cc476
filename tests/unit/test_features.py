"""TA-Lib indicators and sentiment on eight literal rows, checked by hand, and causality."""

import numpy as np
import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.features import (
    build_features,
    feature_columns,
    join_sentiment,
    sentiment_without_news,
    technical_indicators,
)
from stockpipe.params import FeaturesParams
from stockpipe.sentiment import empty_daily

# Short windows so that eight rows get past every warm-up.
TINY = FeaturesParams(sma_windows=[2, 3], ema_windows=[2], rsi_window=2, macd={"fast": 2, "slow": 3, "signal": 2},
                      bbands_window=2, bbands_std=2.0, atr_window=2, obv_window=2)
CLOSE = [10.0, 11.0, 10.5, 11.5, 12.0, 12.0, 11.0, 11.5]
VOLUME = [100.0, 200.0, 150.0, 300.0, 100.0, 100.0, 200.0, 100.0]
# XNYS sessions 2020-06-01 .. 2020-06-10.
DATES = pd.to_datetime(["2020-06-01", "2020-06-02", "2020-06-03", "2020-06-04", "2020-06-05", "2020-06-08",
                        "2020-06-09", "2020-06-10"])


def prices_of(close, volume=None, dates=None):
    close = np.asarray(close, dtype="float64")
    n_rows = len(close)
    return pd.DataFrame({
        col.DATE: DATES[:n_rows] if dates is None else dates,
        col.OPEN: close, col.HIGH: close + 0.5, col.LOW: close - 0.5, col.CLOSE: close,
        col.VOLUME: VOLUME[:n_rows] if volume is None else volume,
    })


def daily_of(sessions, counts, means, decayed=None):
    return pd.DataFrame({
        col.SESSION: pd.to_datetime(sessions), col.NEWS_COUNT: counts, col.SENTIMENT_MEAN: means,
        col.SENTIMENT_POS_SHARE: [1.0] * len(counts), col.SENTIMENT_NEG_SHARE: [0.0] * len(counts),
        col.SENTIMENT_DECAYED: means if decayed is None else decayed,
    })


def test_feature_columns_follow_the_params():
    assert feature_columns(TINY) == [
        "log_return", "range", "sma_2_gap", "sma_3_gap", "ema_2_gap", "rsi_2", "macd", "macd_signal", "macd_hist",
        "bb_percent_b", "bb_width", "atr_2", "obv_slope_2",
        "news_count", "sentiment_mean", "sentiment_pos_share", "sentiment_neg_share", "sentiment_decayed",
    ]


def test_indicators_by_hand():
    indicators = technical_indicators(prices_of(CLOSE), TINY)

    # log(11 / 10); none on the first row.
    assert np.isnan(indicators[col.LOG_RETURN].iloc[0])
    assert indicators[col.LOG_RETURN].iloc[1] == pytest.approx(0.0953102)
    # (high - low) / close = 1 / 10.
    assert indicators["range"].iloc[0] == pytest.approx(0.1)
    # SMA(3) of 10, 11, 10.5 is 10.5; of 11, 10.5, 11.5 is 11; of 10.5, 11.5, 12 is 34/3.
    assert indicators["sma_3_gap"].iloc[2:5].tolist() == pytest.approx([0.0, 11.5 / 11 - 1, 12 / (34 / 3) - 1])
    assert indicators["sma_3_gap"].iloc[:2].isna().all()
    # EMA(2) starts from the SMA 10.5, then moves 2/3 of the way to each close: 10.5, 10.5, 11.1667.
    assert indicators["ema_2_gap"].iloc[1:4].tolist() == pytest.approx([11 / 10.5 - 1, 0.0, 11.5 / (67 / 6) - 1])
    # Wilder RSI(2): changes +1, -0.5, +1, +0.5. Averages gain/loss: 0.5/0.25, then 0.75/0.125, then 0.625/0.0625.
    assert indicators["rsi_2"].iloc[2:5].tolist() == pytest.approx([2 / 3, 6 / 7, 10 / 11])
    # Bands over 10 and 11: middle 10.5, population std 0.5, bands 9.5 .. 11.5; close 11 sits at 0.75.
    assert indicators["bb_percent_b"].iloc[1] == pytest.approx(0.75)
    assert indicators["bb_width"].iloc[1] == pytest.approx(2 / 10.5)
    # 12, 12 is flat: the band has no width and the close sits in its middle.
    assert indicators["bb_percent_b"].iloc[5] == 0.5
    assert indicators["bb_width"].iloc[5] == 0.0
    # True ranges of rows 1 and 2: max(1, |11.5 - 10|, |10.5 - 10|) = 1.5 and 1; ATR 1.25 over close 10.5.
    assert indicators["atr_2"].iloc[2] == pytest.approx(1.25 / 10.5)
    # OBV: +200 on row 1 (up), -150 on row 2 (down); over the 350 traded in those two days.
    assert indicators["obv_slope_2"].iloc[2] == pytest.approx(50 / 350)
    assert indicators["obv_slope_2"].iloc[:2].isna().all()


def test_obv_slope_is_zero_when_nothing_traded():
    indicators = technical_indicators(prices_of(CLOSE, volume=[0.0] * 8), TINY)

    assert indicators["obv_slope_2"].iloc[2:].tolist() == [0.0] * 6


def test_join_sentiment_fills_days_without_news_with_zeros():
    dates = pd.Series(pd.to_datetime(["2020-06-04", "2020-06-05", "2020-06-08"]), index=[5, 6, 7])
    daily = daily_of(["2020-06-05", "2020-06-09"], [2, 4], [0.5, -0.2])

    joined = join_sentiment(dates, daily)

    assert joined.index.tolist() == [5, 6, 7]
    assert list(joined.columns) == col.SENTIMENT_COLUMNS
    assert joined[col.NEWS_COUNT].tolist() == [0, 2, 0]
    assert joined[col.SENTIMENT_MEAN].tolist() == [0.0, 0.5, 0.0]
    assert joined[col.SENTIMENT_POS_SHARE].tolist() == [0.0, 1.0, 0.0]
    assert str(joined[col.NEWS_COUNT].dtype) == "int64"


def test_join_sentiment_carries_the_decayed_sentiment_forward_only():
    # News on 2 June (not a row of the prices, say a day cleaning dropped) and on 5 June.
    dates = pd.Series(pd.to_datetime(["2020-06-01", "2020-06-03", "2020-06-04", "2020-06-05", "2020-06-08"]))
    daily = daily_of(["2020-06-02", "2020-06-05"], [1, 3], [0.6, -0.3], decayed=[0.6, 0.1])

    joined = join_sentiment(dates, daily)

    # Before the first headline: 0; then the last value at or before each date, never a later one.
    assert joined[col.SENTIMENT_DECAYED].tolist() == [0.0, 0.6, 0.6, 0.1, 0.1]
    assert joined[col.NEWS_COUNT].tolist() == [0, 0, 0, 3, 0]
    assert joined[col.SENTIMENT_MEAN].tolist() == [0.0, 0.0, 0.0, -0.3, 0.0]


def test_sentiment_without_news():
    assert sentiment_without_news(0.25) == {col.NEWS_COUNT: 0, col.SENTIMENT_MEAN: 0.0, col.SENTIMENT_POS_SHARE: 0.0,
                                            col.SENTIMENT_NEG_SHARE: 0.0, col.SENTIMENT_DECAYED: 0.25}


def test_build_features_drops_the_warm_up_and_joins_sentiment():
    daily = daily_of(["2020-06-05"], [2], [0.5])

    table, report = build_features(prices_of(CLOSE), daily, TINY)

    # MACD(2, 3) with a 2-day signal is the last indicator to start: (3 - 1) + (2 - 1) = 3 warm-up rows.
    assert report == {"rows_in": 8, "warmup_rows_dropped": 3, "rows_out": 5, "sessions_with_news": 1}
    assert list(table.columns) == [col.DATE, *col.OHLCV, *feature_columns(TINY)]
    assert table[col.DATE].tolist() == DATES[3:].tolist()
    assert table[col.CLOSE].tolist() == CLOSE[3:]
    assert table[col.NEWS_COUNT].tolist() == [0, 2, 0, 0, 0]
    assert table[col.SENTIMENT_MEAN].tolist() == [0.0, 0.5, 0.0, 0.0, 0.0]
    assert table["rsi_2"].iloc[:2].tolist() == pytest.approx([6 / 7, 10 / 11])
    assert not table[feature_columns(TINY)].isna().any().any()


def test_build_features_without_news():
    table, report = build_features(prices_of(CLOSE), empty_daily(), TINY)

    assert report["sessions_with_news"] == 0
    assert (table[col.SENTIMENT_COLUMNS] == 0).all().all()


def test_too_few_rows_for_the_warm_up_are_refused():
    # MACD's slow window (3) plus its signal window (2) is TINY's longest warm-up.
    with pytest.raises(PipelineError, match=(
        r"^all 3 clean price rows are indicator warm-up \(the longest features\.\* window needs about 5 rows first\); "
        r"use more price history \(an earlier data\.start\) or shorter features\.\* windows$"
    )):
        build_features(prices_of(CLOSE[:3]), empty_daily(), TINY)


def test_features_of_early_rows_ignore_later_rows():
    # TA-Lib's indicators are causal: the features of rows 0 .. k-1 are the same whatever comes after.
    params = FeaturesParams(sma_windows=[3, 5], ema_windows=[4], rsi_window=3, macd={"fast": 3, "slow": 6, "signal": 3},
                            bbands_window=4, atr_window=3, obv_window=4)
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 40)))
    dates = pd.bdate_range("2020-01-01", periods=40)
    volume = rng.uniform(1e6, 2e6, 40)
    changed_close, changed_volume = close.copy(), volume.copy()
    changed_close[25:] *= 1.5
    changed_volume[25:] = 0.0
    daily = daily_of([dates[10], dates[30]], [1, 3], [0.4, -0.6])

    original, _ = build_features(prices_of(close, volume, dates), daily, params)
    changed, _ = build_features(prices_of(changed_close, changed_volume, dates), daily.iloc[:1], params)

    first_changed = int(np.flatnonzero(original[col.DATE] == dates[25])[0])
    pd.testing.assert_frame_equal(original.iloc[:first_changed], changed.iloc[:first_changed])
    assert not original.iloc[first_changed:].equals(changed.iloc[first_changed:])
