"""Intraday bars: times, the session grid, refusals, and how cleaning and features treat them."""

import io

import numpy as np
import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.bars import bar_of, bar_times, bars_after, check_bars, local_times, regular_bars, to_bar_start
from stockpipe.cleaning import clean_prices
from stockpipe.columns import parse_time_text, time_text
from stockpipe.errors import PipelineError
from stockpipe.features import build_features, session_features
from stockpipe.params import CleanParams, FeaturesParams
from stockpipe.prices import read_price_csv
from stockpipe.sentiment import daily_sentiment

KEEP_ALL = CleanParams(ffill_limit=3, max_gap_sessions=10, outlier_zscore=12.0, outlier_action="keep")


def times(*values: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)), index=range(2, 2 + len(values)))


def bars(*values: str, close=None) -> pd.DataFrame:
    close = close or [100.0 + number for number in range(len(values))]
    return pd.DataFrame({col.DATE: pd.to_datetime(list(values)), col.OPEN: close, col.HIGH: close, col.LOW: close,
                         col.CLOSE: close, col.VOLUME: 10.0})


# --- Times and the grid --------------------------------------------------------------------------


def test_utc_times_become_new_york_wall_clock_in_winter_and_summer():
    text = pd.Series(["2024-01-02 14:30:00+00:00", "2024-07-01 13:30:00+00:00"])
    assert local_times(text, "America/New_York", "XNYS", "f").tolist() == [
        pd.Timestamp("2024-01-02 09:30"), pd.Timestamp("2024-07-01 09:30")]


def test_times_without_offset_are_read_in_the_given_zone():
    text = pd.Series(["2024-01-02 15:30:00"])
    assert local_times(text, "Europe/London", "XNYS", "f").tolist() == [pd.Timestamp("2024-01-02 10:30")]


def test_a_file_mixing_times_with_and_without_offsets_is_refused():
    text = pd.Series(["2024-01-02 14:30:00+00:00", "2024-01-02 10:30:00"], index=[2, 3])
    with pytest.raises(PipelineError, match=r"^f: row 3: .* mixes times with and without a UTC offset"):
        local_times(text, "America/New_York", "XNYS", "f")


def test_bars_labelled_at_their_end_move_back_one_bar():
    assert to_bar_start(times("2024-01-02 09:35"), "5m", "end").tolist() == [pd.Timestamp("2024-01-02 09:30")]
    assert to_bar_start(times("2024-01-02 09:35"), "5m", "start").tolist() == [pd.Timestamp("2024-01-02 09:35")]


def test_hourly_grid_ends_with_a_half_hour_bar_and_respects_an_early_close():
    # 2024-11-29, the day after Thanksgiving, closes at 13:00.
    grid = regular_bars("XNYS", pd.Timestamp("2024-11-27"), pd.Timestamp("2024-11-29"), "1h")
    assert [stamp.strftime("%d %H:%M") for stamp in grid] == [
        "27 09:30", "27 10:30", "27 11:30", "27 12:30", "27 13:30", "27 14:30", "27 15:30",
        "29 09:30", "29 10:30", "29 11:30", "29 12:30"]


def test_bars_after_skip_the_night_weekend_and_holiday():
    # Wednesday 2024-11-27 15:30 is the last bar; Thursday is Thanksgiving; Friday closes at 13:00.
    after = bars_after("XNYS", pd.Timestamp("2024-11-27 15:00"), 6, "30m")
    assert [stamp.strftime("%a %H:%M") for stamp in after] == [
        "Wed 15:30", "Fri 09:30", "Fri 10:00", "Fri 10:30", "Fri 11:00", "Fri 11:30"]


def test_time_text_keeps_daily_dates_as_dates():
    assert time_text(pd.to_datetime(["2024-01-02", "2024-01-03"])).tolist() == ["2024-01-02", "2024-01-03"]
    assert time_text(pd.to_datetime(["2024-01-02 09:30"])).tolist() == ["2024-01-02 09:30"]
    assert parse_time_text(pd.Series(["2024-01-02", "2024-01-02 09:30"])).tolist() == [
        pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-02 09:30")]


# --- Refusals ----------------------------------------------------------------------------------


def test_bars_on_their_interval_pass():
    check_bars(times("2024-01-02 09:30", "2024-01-02 09:35", "2024-01-02 09:40", "2024-01-03 09:30",
                     "2024-01-03 09:35"), "5m", "XNYS", "f")


def test_a_five_minute_file_read_as_one_minute_is_refused_with_the_spacing():
    five = times("2024-01-02 09:30", "2024-01-02 09:35", "2024-01-02 09:40", "2024-01-03 09:30", "2024-01-03 09:35")
    with pytest.raises(PipelineError, match=r"^f: row 2: bars are 5 min apart, not data.interval 1m"):
        check_bars(five, "1m", "XNYS", "f")


def test_mixed_intervals_name_the_session_that_differs():
    mixed = times("2024-01-02 09:30", "2024-01-02 09:35", "2024-01-02 09:40",
                  "2024-01-03 09:30", "2024-01-03 09:45", "2024-01-03 10:00")
    with pytest.raises(PipelineError, match=r"^f: row 5: mixed intervals: session 2024-01-03's bars are 15 min apart"):
        check_bars(mixed, "5m", "XNYS", "f")


def test_a_bar_off_the_grid_is_refused_with_its_row():
    with pytest.raises(PipelineError, match=r"^f: row 3: 2024-01-02 09:31 is not on the 5m grid"):
        check_bars(times("2024-01-02 09:30", "2024-01-02 09:31"), "5m", "XNYS", "f")


def test_a_bar_on_a_weekend_is_outside_every_session():
    with pytest.raises(PipelineError, match=r"^f: row 3: 2024-01-06 10:00:00 is outside every XNYS session"):
        check_bars(times("2024-01-05 10:00", "2024-01-06 10:00"), "1h", "XNYS", "f")


def test_yfinance_three_line_header_is_read():
    text = ("Price,Close,High,Low,Open,Volume\nTicker,AAPL,AAPL,AAPL,AAPL,AAPL\nDatetime,,,,,\n"
            "2024-01-02 14:30:00+00:00,186.19,188.44,186.01,187.80,21173291\n"
            "2024-01-02 15:30:00+00:00,186.80,186.90,185.18,186.18,9010595\n")

    def read(text, source):
        return bar_times(text, source, interval="1h", timezone=None, bar_label="start", exchange="XNYS")

    prices = read_price_csv(io.StringIO(text), source="f", times=read)
    assert prices[col.DATE].tolist() == [pd.Timestamp("2024-01-02 09:30"), pd.Timestamp("2024-01-02 10:30")]
    assert prices[col.OPEN].tolist() == [187.80, 186.18]


# --- Cleaning ----------------------------------------------------------------------------------


def test_pre_and_after_market_bars_are_dropped_and_counted():
    prices = bars("2024-01-02 09:00", "2024-01-02 15:30", "2024-01-02 16:00", "2024-01-03 09:30",
                  "2024-01-03 10:00", "2024-01-03 15:30")
    clean, report = clean_prices(prices, "XNYS", KEEP_ALL, 0.7, "30m")
    assert report["extended_hours_rows"] == 2 and report["extended_hours_rows_dropped"] == 2
    assert clean[col.DATE].dt.strftime("%d %H:%M").tolist() == ["02 15:30", "03 09:30", "03 10:00", "03 15:30"]
    # Between 03 10:00 and 03 15:30 ten 30-minute bars are missing; the night between the days is no gap.
    assert report["missing_bars"] == 10 and report["longest_gap_bars"] == 10
    assert clean[col.SESSION].dt.strftime("%d").tolist() == ["02", "03", "03", "03"]


def test_extended_hours_can_be_kept():
    prices = bars("2024-01-02 09:00", "2024-01-02 09:30", "2024-01-02 10:00")
    clean, report = clean_prices(prices, "XNYS", KEEP_ALL, 0.7, "30m", extended_hours=True)
    assert report["extended_hours_rows"] == 1 and report["extended_hours_rows_dropped"] == 0
    # The 10:00 bar ends long before the close: the file was written mid-session.
    assert report["partial_last_bar"] == 1
    assert clean[col.DATE].dt.strftime("%H:%M").tolist() == ["09:00", "09:30"]


def test_a_partial_last_bar_is_dropped_and_counted():
    prices = bars("2024-01-02 14:30", "2024-01-02 15:30", "2024-01-03 09:30", "2024-01-03 10:30")
    clean, report = clean_prices(prices, "XNYS", KEEP_ALL, 0.7, "1h")
    assert report["partial_last_bar"] == 1
    assert clean[col.DATE].iloc[-1] == pd.Timestamp("2024-01-03 09:30")


def test_a_last_bar_at_an_early_close_is_complete():
    # 2024-11-29 closes at 13:00: the 12:30 bar is the session's last, not a partial one.
    prices = bars("2024-11-27 14:30", "2024-11-27 15:30", "2024-11-29 09:30", "2024-11-29 10:30", "2024-11-29 11:30",
                  "2024-11-29 12:30")
    clean, report = clean_prices(prices, "XNYS", KEEP_ALL, 0.7, "1h")
    assert report["partial_last_bar"] == 0 and report["missing_bars"] == 0 and len(clean) == 6


# --- Features ----------------------------------------------------------------------------------


def test_session_features_start_over_each_session():
    prices = pd.DataFrame({col.SESSION: pd.to_datetime(["2024-01-02"] * 2 + ["2024-01-03"] * 2),
                           col.OPEN: [100.0, 101.0, 104.0, 105.0], col.CLOSE: [101.0, 102.0, 105.0, 103.0]})
    features = session_features(prices)
    np.testing.assert_allclose(features["session_return"], np.log([1.01, 1.02, 105 / 104, 103 / 104]))
    # The first session has no previous close; the second opened at 104 after closing at 102.
    assert features["overnight_gap"].iloc[:2].isna().all()
    np.testing.assert_allclose(features["overnight_gap"].iloc[2:], np.log([104 / 102] * 2))


@pytest.mark.parametrize(("utc", "bar_5m", "bar_1h", "session"), [
    # 10:07 New York: known at the 10:10 close.
    ("2025-06-02 14:07", "2025-06-02 10:05", "2025-06-02 09:30", "2025-06-02"),
    # 10:10, which may mean 10:10:59: after the 10:05 bar closed, so the 10:10 bar's.
    ("2025-06-02 14:10", "2025-06-02 10:10", "2025-06-02 09:30", "2025-06-02"),
    ("2025-06-02 13:30", "2025-06-02 09:30", "2025-06-02 09:30", "2025-06-02"),  # at the open
    ("2025-06-02 11:00", "2025-06-02 09:30", "2025-06-02 09:30", "2025-06-02"),  # before the open: the first bar
    ("2025-06-02 19:59", "2025-06-02 15:55", "2025-06-02 15:30", "2025-06-02"),  # the last minute
    ("2025-06-02 20:00", "2025-06-03 09:30", "2025-06-03 09:30", "2025-06-02"),  # at the close: the next session's
    ("2025-06-07 15:00", "2025-06-09 09:30", "2025-06-09 09:30", "2025-06-09"),  # Saturday: Monday's
    ("2025-11-28 17:59", "2025-11-28 12:55", "2025-11-28 12:30", "2025-11-28"),  # the early close at 13:00
    ("2025-11-28 18:00", "2025-12-01 09:30", "2025-12-01 09:30", "2025-11-28"),  # at the early close
])
def test_a_headline_counts_for_the_first_bar_to_close_after_it(utc, bar_5m, bar_1h, session):
    stamp = pd.Series(pd.to_datetime([utc], utc=True))

    assert bar_of(stamp, "XNYS", "5m").tolist() == [pd.Timestamp(bar_5m)]
    assert bar_of(stamp, "XNYS", "1h").tolist() == [pd.Timestamp(bar_1h)]
    # Daily sessions keep calendar.session_of's rule: at or before the close.
    assert bar_of(stamp, "XNYS", "1d").tolist() == [pd.Timestamp(session)]


def test_a_date_without_a_time_counts_after_that_days_close():
    # How news.parse_timestamps reads "2025-06-02": midnight in New York.
    stamp = pd.Series([pd.Timestamp("2025-06-02", tz="America/New_York").tz_convert("UTC")])

    assert bar_of(stamp, "XNYS", "5m").tolist() == [pd.Timestamp("2025-06-03 09:30")]


def test_an_exchange_with_a_lunch_break_is_refused_for_intraday_bars():
    with pytest.raises(PipelineError, match=r"^params\.yaml: data\.exchange XHKG breaks for lunch, which intraday "
                                            r"bars do not handle yet .*; use data\.interval 1d$"):
        regular_bars("XHKG", pd.Timestamp("2025-06-02"), pd.Timestamp("2025-06-03"), "5m")


def test_intraday_headlines_reach_only_the_bars_after_them():
    """No look-ahead: a bar's sentiment is built from headlines known at its close."""
    news = pd.DataFrame({col.TIMESTAMP: pd.to_datetime(["2025-06-03 13:39", "2025-06-03 13:52", "2025-06-03 13:53"],
                                                       utc=True),
                         col.HEADLINE: ["a", "b", "c"], col.TICKER: "SPY"})
    daily = daily_sentiment(news, pd.Series([0.5, -0.5, 0.1]), "XNYS", halflife=5.0, interval="5m")

    assert daily[col.SESSION].dt.strftime("%H:%M").tolist() == ["09:35", "09:50"]
    assert daily[col.NEWS_COUNT].tolist() == [1, 2]
    # Bars of one session age together: the decayed mean of the second bar is of all three headlines.
    assert daily[col.SENTIMENT_DECAYED].tolist() == pytest.approx([0.5, 0.1 / 3])

    # Two sessions of 5-minute bars: the overnight gap needs a session before.
    day = [f"{date} {hour:02d}:{minute:02d}" for date in ("2025-06-02", "2025-06-03") for hour in range(9, 16)
           for minute in range(0, 60, 5) if "09:30" <= f"{hour:02d}:{minute:02d}" < "16:00"]
    prices = bars(*day, close=list(100.0 + np.sin(np.arange(len(day)))))
    prices[col.SESSION] = prices[col.DATE].dt.normalize()
    features = FeaturesParams(sma_windows=[3], ema_windows=[3], rsi_window=3, macd={"fast": 2, "slow": 3, "signal": 2},
                              bbands_window=3, atr_window=3, obv_window=3)
    table, _ = build_features(prices, daily, features)
    counts = table.set_index(col.DATE)[col.NEWS_COUNT]
    assert counts[pd.Timestamp("2025-06-03 09:35")] == 1 and counts[pd.Timestamp("2025-06-03 09:45")] == 0
    assert counts[pd.Timestamp("2025-06-03 09:50")] == 2 and counts.sum() == 3
