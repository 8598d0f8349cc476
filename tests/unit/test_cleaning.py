"""Cleaning rules on a handful of June 2020 rows, each count checked by hand.

XNYS sessions in June 2020: Mon 1 .. Fri 5, Mon 8 .. Fri 12, Mon 15 .. Fri 19, Mon 22 .. Fri 26, Mon 29, Tue 30.
"""

import math

import numpy as np
import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.cleaning import clean_prices, return_outliers
from stockpipe.errors import PipelineError
from stockpipe.params import CleanParams

nan = np.nan
KEEP_ALL = CleanParams(ffill_limit=3, max_gap_sessions=10, outlier_zscore=12.0, outlier_action="keep")


def frame(rows):
    """Rows of (date, open, high, low, close, volume)."""
    prices = pd.DataFrame(rows, columns=[col.DATE, *col.OHLCV])
    prices[col.DATE] = pd.to_datetime(prices[col.DATE])
    return prices.astype({name: "float64" for name in col.OHLCV})


def bars(dates, closes):
    """Well-formed bars: open = close, high and low 1 around it, volume 100."""
    return frame([(day, close, close + 1, close - 1, close, 100) for day, close in zip(dates, closes, strict=True)])


def dates_of(prices):
    return prices[col.DATE].dt.strftime("%Y-%m-%d").tolist()


def test_clean_rows_pass_through_unchanged():
    prices = bars(["2020-06-01", "2020-06-02", "2020-06-03"], [10.0, 10.5, 10.2])

    cleaned, report = clean_prices(prices, "XNYS", KEEP_ALL, 0.7)

    pd.testing.assert_frame_equal(cleaned, prices)
    assert report == {
        "rows_in": 3, "unsorted_rows": 0, "duplicate_dates": 0, "duplicate_dates_conflicting": 0,
        "off_calendar_rows": 0, "missing_sessions": 0, "longest_gap_sessions": 0, "gap_rows_dropped": 0,
        "nonpositive_prices": 0, "negative_volume": 0, "close_forward_filled": 0, "rows_missing_close_dropped": 0,
        "high_low_swapped": 0, "ohlc_filled_from_close": 0, "volume_filled_zero": 0, "ohlc_inconsistent_fixed": 0,
        "return_outliers": 0, "outlier_rows_dropped": 0, "rows_out": 3,
    }


def test_sorts_and_keeps_the_last_of_duplicate_dates():
    # Newest first, with 2020-06-02 twice: the later row in the file is the correction.
    prices = bars(["2020-06-03", "2020-06-02", "2020-06-01", "2020-06-02"], [10.2, 10.5, 10.0, 10.4])

    cleaned, report = clean_prices(prices, "XNYS", KEEP_ALL, 0.7)

    assert dates_of(cleaned) == ["2020-06-01", "2020-06-02", "2020-06-03"]
    assert cleaned[col.CLOSE].tolist() == [10.0, 10.4, 10.2]
    # Date decreases from row 1 to 2 and from row 2 to 3.
    assert report["unsorted_rows"] == 2
    assert report["duplicate_dates"] == 1
    assert report["duplicate_dates_conflicting"] == 1


def test_drops_weekend_and_holiday_rows_and_counts_missing_sessions():
    # Saturday 2020-07-04 and the holiday 2020-07-03 are not sessions; 2020-07-07 has no row.
    prices = bars(["2020-07-02", "2020-07-03", "2020-07-04", "2020-07-06", "2020-07-08"], [10, 11, 12, 13, 14])

    cleaned, report = clean_prices(prices, "XNYS", KEEP_ALL, 0.7)

    assert dates_of(cleaned) == ["2020-07-02", "2020-07-06", "2020-07-08"]
    assert report["off_calendar_rows"] == 2
    assert report["missing_sessions"] == 1
    assert report["longest_gap_sessions"] == 1


@pytest.mark.parametrize(("max_gap", "kept", "dropped"), [(10, 3, 0), (9, 1, 2)])
def test_history_before_a_long_gap_is_dropped(max_gap, kept, dropped):
    # From 2020-06-02 to 2020-06-17 ten sessions have no row: 3, 4, 5, 8, 9, 10, 11, 12, 15, 16.
    prices = bars(["2020-06-01", "2020-06-02", "2020-06-17"], [10, 11, 12])
    params = CleanParams(max_gap_sessions=max_gap)

    cleaned, report = clean_prices(prices, "XNYS", params, 0.7)

    assert len(cleaned) == kept
    assert dates_of(cleaned)[-1] == "2020-06-17"
    assert report["longest_gap_sessions"] == 10
    assert report["missing_sessions"] == 10
    assert report["gap_rows_dropped"] == dropped


def test_repairs_values_by_the_rules():
    prices = frame([
        ("2020-06-01", 10, 11, 9, 10.0, 100),
        ("2020-06-02", -1, 11, 9, nan, -5),  # open <= 0 and close missing; negative volume
        ("2020-06-03", nan, nan, nan, nan, nan),  # second missing close in a row: beyond ffill_limit=1
        ("2020-06-04", 10, 9.5, 10.5, 10.0, nan),  # high below low: swapped
        ("2020-06-05", 0, 12, 10, 11.0, 100),  # zero open
        ("2020-06-08", 10, 10.5, 10.2, 10.4, 100),  # low above the body
    ])

    cleaned, report = clean_prices(prices, "XNYS", CleanParams(ffill_limit=1), 0.7)

    expected = frame([
        ("2020-06-01", 10, 11, 9, 10.0, 100),
        ("2020-06-02", 10, 11, 9, 10.0, 0),  # close from 06-01, open from that close, volume 0
        ("2020-06-04", 10, 10.5, 9.5, 10.0, 0),  # high and low swapped back
        ("2020-06-05", 11, 12, 10, 11.0, 100),  # open from the close
        ("2020-06-08", 10, 10.5, 10.0, 10.4, 100),  # low lowered to the body
    ])
    pd.testing.assert_frame_equal(cleaned, expected)
    assert report["nonpositive_prices"] == 2
    assert report["negative_volume"] == 1
    assert report["close_forward_filled"] == 1
    assert report["rows_missing_close_dropped"] == 1
    assert report["ohlc_filled_from_close"] == 2
    assert report["volume_filled_zero"] == 2
    assert report["high_low_swapped"] == 1
    assert report["ohlc_inconsistent_fixed"] == 1
    assert report["rows_out"] == 5


def test_ffill_limit_zero_fills_nothing():
    prices = bars(["2020-06-01", "2020-06-02", "2020-06-03"], [10.0, nan, 10.2])

    cleaned, report = clean_prices(prices, "XNYS", CleanParams(ffill_limit=0), 0.7)

    assert dates_of(cleaned) == ["2020-06-01", "2020-06-03"]
    assert report["close_forward_filled"] == 0
    assert report["rows_missing_close_dropped"] == 1


def test_ffill_limit_counts_sessions_without_a_row():
    # 06-02 .. 06-04 have no row at all, so 06-05's missing close is four sessions after the
    # last known one (06-01): beyond ffill_limit=3, it is dropped rather than filled.
    # 06-09 is one session after 06-08's close and is filled.
    prices = bars(["2020-06-01", "2020-06-05", "2020-06-08", "2020-06-09"], [10.0, nan, 10.4, nan])

    cleaned, report = clean_prices(prices, "XNYS", CleanParams(ffill_limit=3), 0.7)

    assert dates_of(cleaned) == ["2020-06-01", "2020-06-08", "2020-06-09"]
    assert cleaned[col.CLOSE].tolist() == [10.0, 10.4, 10.4]
    assert report["close_forward_filled"] == 1
    assert report["rows_missing_close_dropped"] == 1


def test_a_leading_missing_close_has_nothing_to_fill_from():
    prices = bars(["2020-06-01", "2020-06-02"], [nan, 10.0])

    cleaned, report = clean_prices(prices, "XNYS", KEEP_ALL, 0.7)

    assert dates_of(cleaned) == ["2020-06-02"]
    assert report["rows_missing_close_dropped"] == 1


def test_return_outliers_by_hand():
    # Returns: nan, +a, -a, +a, -a, ln 2 with a = ln(1.01); reference = the 4 returns of rows 1..4.
    # Median 0, MAD a, spread 1.4826 a: the +-a rows score 0.67, the doubling scores ln 2 / (1.4826 a) = 47.
    close = pd.Series([100.0, 101.0, 100.0, 101.0, 100.0, 200.0])
    a = math.log(1.01)

    assert math.log(2) / (1.4826 * a) == pytest.approx(46.98, abs=0.01)
    assert return_outliers(close, train_rows=5, zscore=12.0).tolist() == [False] * 5 + [True]
    assert return_outliers(close, train_rows=5, zscore=50.0).tolist() == [False] * 6


def test_return_outliers_ignore_rows_after_the_training_slice():
    train = [100.0, 101.0, 100.0, 101.0, 100.0]
    calm = return_outliers(pd.Series(train + [101.0, 100.0]), train_rows=5, zscore=3.0)
    # Wild later rows would widen the median/MAD if they were used: the flags of the
    # training rows and the threshold stay the same.
    wild = return_outliers(pd.Series(train + [300.0, 20.0]), train_rows=5, zscore=3.0)

    assert calm.tolist() == [False] * 7
    assert wild.tolist() == [False] * 5 + [True, True]


def test_return_outliers_with_no_spread_flag_nothing():
    close = pd.Series([100.0, 100.0, 100.0, 100.0, 150.0])

    assert not return_outliers(close, train_rows=4, zscore=3.0).any()


@pytest.mark.parametrize(("action", "rows_out"), [("keep", 6), ("drop", 5)])
def test_outlier_action(action, rows_out):
    prices = bars(["2020-06-01", "2020-06-02", "2020-06-03", "2020-06-04", "2020-06-05", "2020-06-08"],
                  [100.0, 101.0, 100.0, 101.0, 100.0, 200.0])

    cleaned, report = clean_prices(prices, "XNYS", CleanParams(outlier_action=action), 5 / 6)

    assert report["return_outliers"] == 1
    assert report["outlier_rows_dropped"] == 6 - rows_out
    assert len(cleaned) == rows_out


def test_a_jump_after_the_training_rows_is_judged_by_their_spread():
    # Six rows, train_fraction 0.5: the reference is the returns of rows 1 and 2 (+a, -a), so a
    # 50% jump on the last row scores ln 1.5 / (1.4826 a) = 27.4 > 12.
    prices = bars(["2020-06-01", "2020-06-02", "2020-06-03", "2020-06-04", "2020-06-05", "2020-06-08"],
                  [100.0, 101.0, 100.0, 101.0, 100.0, 101.0])
    changed = prices.copy()
    changed.loc[5, [col.OPEN, col.HIGH, col.LOW, col.CLOSE]] = [150.0, 151.0, 149.0, 150.0]

    _, report = clean_prices(prices, "XNYS", KEEP_ALL, 0.5)
    _, report_changed = clean_prices(changed, "XNYS", KEEP_ALL, 0.5)

    assert report["return_outliers"] == 0
    assert report_changed["return_outliers"] == 1


def test_no_rows():
    with pytest.raises(PipelineError, match=r"^no price rows to clean$"):
        clean_prices(bars([], []), "XNYS", KEEP_ALL, 0.7)


def test_no_rows_on_sessions():
    prices = bars(["2020-06-06", "2020-06-07"], [10.0, 11.0])

    with pytest.raises(PipelineError, match=r"^no price rows fall on XNYS sessions \(check data\.exchange\)$"):
        clean_prices(prices, "XNYS", KEEP_ALL, 0.7)
