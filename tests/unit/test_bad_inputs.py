"""The bad-input matrix: every kind of bad input in a price CSV, a headline CSV and params.yaml
ends in a repair that is counted, or in one error line naming the file or key, the row where
there is one, what is wrong and what is expected. README "Bad input" lists the rules.

Files are tiny literal CSVs written to tmp_path; XNYS sessions in June 2020 are Mon 1 .. Fri 5,
Mon 8 .. Fri 12, Mon 15 .. Fri 19, Mon 22 .. Fri 26, Mon 29, Tue 30.
"""

import datetime

import numpy as np
import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.adapters.io import MAX_CSV_BYTES, read_csv_table
from stockpipe.cleaning import clean_prices
from stockpipe.errors import PipelineError
from stockpipe.metrics import check_ma_window_fits
from stockpipe.news import read_news_csv
from stockpipe.params import CleanParams, Params, load_params, parse_params
from stockpipe.prices import filter_range, read_price_csv
from stockpipe.windows import check_window_fits, target_rows, windows_for

TODAY = datetime.date(2024, 5, 1)
HEADER = "Date,Open,High,Low,Close,Volume\n"
WEEK = ["2020-06-01", "2020-06-02", "2020-06-03", "2020-06-04", "2020-06-05"]


def write(tmp_path, text, name="prices.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def error_of(call, *args, **kwargs) -> str:
    """The message of the PipelineError that ``call`` raises, checked to be one line."""
    with pytest.raises(PipelineError) as error:
        call(*args, **kwargs)
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def bar_lines(dates, closes):
    """CSV lines of well-formed bars: open = close, high and low 1 around it, volume 100."""
    rows = zip(dates, closes, strict=True)
    return "".join(f"{day},{close},{close + 1},{close - 1},{close},100\n" for day, close in rows)


def read_and_clean(path, **clean):
    prices = read_price_csv(path, today=TODAY)
    return clean_prices(prices, "XNYS", CleanParams(**clean), 0.7)


def dates_of(prices):
    return prices[col.DATE].dt.strftime("%Y-%m-%d").tolist()


# --- Price CSV --------------------------------------------------------------------------------


def test_prices_empty_file(tmp_path):
    path = write(tmp_path, "")

    assert error_of(read_price_csv, path) == f"{path}: empty file (expected a header line, then one line per row)"


def test_prices_blank_lines_only_are_an_empty_file(tmp_path):
    path = write(tmp_path, "\n  \n\n")

    assert error_of(read_price_csv, path) == f"{path}: empty file (expected a header line, then one line per row)"


def test_prices_header_only(tmp_path):
    path = write(tmp_path, HEADER)

    assert error_of(read_price_csv, path) == (
        f"{path}: no data rows, only the header (Date, Open, High, Low, Close, Volume)")


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_prices_other_delimiters_are_detected(tmp_path, delimiter):
    path = write(tmp_path, (HEADER + bar_lines(WEEK[:2], [10.0, 11.0])).replace(",", delimiter))

    prices = read_price_csv(path)

    assert prices[col.CLOSE].tolist() == [10.0, 11.0]
    assert prices.attrs == {"encoding": "utf-8", "delimiter": delimiter}


def test_prices_undetectable_delimiter_names_what_was_found(tmp_path):
    # Spaces are not a CSV delimiter: the header is one column, and the error shows it.
    path = write(tmp_path, "Date Open High Low Close\n2020-06-01 1 2 0.5 1.5\n")

    assert error_of(read_price_csv, path) == (
        f"{path}: missing column(s) date, open, high, low, close (found Date Open High Low Close)")


def test_prices_missing_required_column(tmp_path):
    path = write(tmp_path, "Date,Open,High,Close\n2020-06-01,1,2,1.5\n")

    assert error_of(read_price_csv, path) == f"{path}: missing column(s) low (found Date, Open, High, Close)"


def test_prices_missing_date_cell(tmp_path):
    path = write(tmp_path, HEADER + bar_lines(WEEK[:1], [10.0]) + ",1,2,0.5,1.5,100\n")

    assert error_of(read_price_csv, path) == f"{path}: row 3: no date (expected one per row)"


def test_prices_duplicate_dates_with_the_same_values(tmp_path):
    path = write(tmp_path, HEADER + bar_lines(["2020-06-01", "2020-06-02", "2020-06-02"], [10.0, 11.0, 11.0]))

    cleaned, report = read_and_clean(path)

    assert dates_of(cleaned) == WEEK[:2]
    assert (report["duplicate_dates"], report["duplicate_dates_conflicting"]) == (1, 0)


def test_prices_duplicate_dates_with_conflicting_values(tmp_path, caplog):
    # The later row is the correction: it is kept, and the conflict is counted and logged.
    path = write(tmp_path, HEADER + bar_lines(["2020-06-01", "2020-06-02", "2020-06-02"], [10.0, 11.0, 12.0]))

    cleaned, report = read_and_clean(path)

    assert cleaned[col.CLOSE].tolist() == [10.0, 12.0]
    assert (report["duplicate_dates"], report["duplicate_dates_conflicting"]) == (1, 1)
    assert "first: 2020-06-02, close 11.0, then 12.0" in caplog.text


def test_prices_unsorted_rows(tmp_path):
    path = write(tmp_path, HEADER + bar_lines(["2020-06-03", "2020-06-01", "2020-06-02"], [12.0, 10.0, 11.0]))

    cleaned, report = read_and_clean(path)

    assert dates_of(cleaned) == WEEK[:3]
    assert cleaned[col.CLOSE].tolist() == [10.0, 11.0, 12.0]
    assert report["unsorted_rows"] == 1


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (["1/2/2020", "3/2/2020"], "dates are ambiguous (every day and month is <= 12); "
                                   "set data.date_format to 'dayfirst' or 'monthfirst'"),
        (["13/1/2020", "1/13/2020"], "dates mix day-first and month-first orders: row 2 '13/1/2020' can only be "
                                     "day-first, row 3 '1/13/2020' only month-first (expected one order throughout)"),
        (["2020-01-02", "1/3/2020"], "dates mix formats: row 2 '2020-01-02' is YYYY-MM-DD, row 3 '1/3/2020' is "
                                     "slashed (expected one format throughout)"),
        (["2020-01-02", "Jan 3 2020"], "row 3: unrecognised date 'Jan 3 2020' (expected YYYY-MM-DD, D/M/YYYY or "
                                       "M/D/YYYY)"),
    ],
    ids=["ambiguous", "mixed-orders", "mixed-formats", "unrecognised"],
)
def test_prices_mixed_or_ambiguous_dates(tmp_path, dates, message):
    path = write(tmp_path, HEADER + bar_lines(dates, [10.0, 11.0]))

    assert error_of(read_price_csv, path) == f"{path}: {message}"


def test_prices_non_numeric_value(tmp_path):
    # n/a, NA and the like are missing values (repaired by cleaning); a word is not.
    path = write(tmp_path, HEADER + bar_lines(WEEK[:1], [10.0]) + "2020-06-02,1,2,0.5,halted,100\n")

    assert error_of(read_price_csv, path) == (
        f"{path}: row 3: column close has non-numeric value 'halted' (expected a number such as 1234.5 or 1,234.5)")


def test_prices_thousands_separators_are_read_as_written(tmp_path):
    path = write(tmp_path, HEADER + '2020-06-01,"1,234.5","1,240.0","1,230.25","1,235.75","12,345,678"\n')

    prices = read_price_csv(path)

    assert prices.iloc[0][col.OHLCV].tolist() == [1234.5, 1240.0, 1230.25, 1235.75, 12345678.0]


def test_prices_decimal_comma_in_a_semicolon_file_is_refused(tmp_path):
    # With ';' between fields a comma is a decimal mark; it is refused rather than guessed.
    path = write(tmp_path, "Date;Open;High;Low;Close\n2020-06-01;10,5;11;10;10,5\n")

    assert error_of(read_price_csv, path) == (
        f"{path}: row 2: column open has non-numeric value '10,5' (expected a number such as 1234.5)")


def test_prices_unquoted_thousands_comma_shifts_fields(tmp_path):
    path = write(tmp_path, HEADER + bar_lines(WEEK[:1], [10.0]) + "2020-06-02,1,234.5,2,0.5,1.5,100\n")

    assert error_of(read_price_csv, path) == (
        f"{path}: row 3: 7 fields, but the header has 6 (comma-separated; expected one value per column)")


def test_prices_short_row_is_refused_not_shifted(tmp_path):
    path = write(tmp_path, HEADER + "2020-06-01,10,11,9,10\n")

    assert error_of(read_price_csv, path) == (
        f"{path}: row 2: 5 fields, but the header has 6 (comma-separated; expected one value per column)")


def test_prices_delimiter_at_the_end_of_each_line_is_harmless(tmp_path):
    path = write(tmp_path, HEADER + "2020-06-01,10,11,9,10,100,\n2020-06-02,11,12,10,11,100,\n")

    assert read_price_csv(path)[col.CLOSE].tolist() == [10.0, 11.0]


@pytest.mark.parametrize("value", ["0", "-3.5"])
def test_prices_zero_or_negative(tmp_path, value):
    path = write(tmp_path, HEADER + bar_lines(WEEK[:2], [10.0, 11.0]) + f"2020-06-03,{value},12,10,11.5,100\n")

    cleaned, report = read_and_clean(path)

    # The open becomes missing, then takes the day's close.
    assert cleaned[col.OPEN].tolist() == [10.0, 11.0, 11.5]
    assert (report["nonpositive_prices"], report["ohlc_filled_from_close"]) == (1, 1)


def test_prices_high_below_low(tmp_path):
    path = write(tmp_path, HEADER + bar_lines(WEEK[:1], [10.0]) + "2020-06-02,10.5,10,11,10.5,100\n")

    cleaned, report = read_and_clean(path)

    assert cleaned.iloc[1][[col.HIGH, col.LOW]].tolist() == [11.0, 10.0]
    assert (report["high_low_swapped"], report["ohlc_inconsistent_fixed"]) == (1, 0)


def test_prices_long_nan_run(tmp_path):
    # 25 sessions, 2020-06-01 .. 2020-07-06: 5 with a close, 14 without, 6 with. ffill_limit 3 fills
    # three; the other 11 are dropped, which is a gap longer than max_gap_sessions 10, so the history
    # before it (5 rows and the 3 filled) goes too.
    sessions = pd.bdate_range("2020-06-01", "2020-07-06").drop(pd.Timestamp("2020-07-03")).strftime("%Y-%m-%d")
    lines = bar_lines(sessions[:5], [10.0] * 5) + "".join(f"{day},,,,,\n" for day in sessions[5:19])
    path = write(tmp_path, HEADER + lines + bar_lines(sessions[19:], [11.0] * 6))

    cleaned, report = read_and_clean(path, ffill_limit=3, max_gap_sessions=10)

    assert dates_of(cleaned) == list(sessions[19:])
    assert (report["close_forward_filled"], report["rows_missing_close_dropped"]) == (3, 11)
    assert (report["longest_gap_sessions"], report["gap_rows_dropped"]) == (11, 8)


def test_prices_gap_of_months(tmp_path):
    # From 2020-01-03 to 2020-06-01, 101 sessions have no row (hand count: 19 + 19 + 22 + 21 + 20).
    path = write(tmp_path, HEADER + bar_lines(["2020-01-02", "2020-01-03", *WEEK], [9.0, 9.5] + [10.0] * 5))

    cleaned, report = read_and_clean(path)

    assert dates_of(cleaned) == WEEK
    assert (report["missing_sessions"], report["longest_gap_sessions"], report["gap_rows_dropped"]) == (101, 101, 2)


def test_prices_dates_in_the_future(tmp_path):
    path = write(tmp_path, HEADER + bar_lines(["2024-04-30", "2204-05-01", "2024-05-03"], [10.0, 11.0, 12.0]))

    assert error_of(read_price_csv, path, today=TODAY) == (
        f"{path}: row 3: date '2204-05-01' is after today (2024-05-01; 2 such rows); expected past sessions only "
        "(a mistyped year?)")


def test_prices_the_day_after_today_is_allowed(tmp_path):
    # An exchange east of UTC is already a day ahead of UTC's date.
    path = write(tmp_path, HEADER + bar_lines(["2024-05-02"], [10.0]))

    assert len(read_price_csv(path, today=TODAY)) == 1


@pytest.mark.parametrize(
    ("encoding", "text", "reported"),
    [
        # A spreadsheet on Windows: an extra column with "é" and the cp1252 right quote (0x92).
        ("cp1252", "Date,Open,High,Low,Close,Note\n2020-06-01,10,11,9,10,caf\u00e9 \u2019\n", "cp1252"),
        # Excel's "CSV UTF-8": a byte-order mark before "Date" must not rename the column.
        ("utf-8-sig", "Date,Open,High,Low,Close,Note\n2020-06-01,10,11,9,10,caf\u00e9\n", "utf-8-sig"),
        ("utf-16", "Date\tOpen\tHigh\tLow\tClose\n2020-06-01\t10\t11\t9\t10\n", "utf-16"),
    ],
)
def test_prices_encodings(tmp_path, encoding, text, reported):
    path = write(tmp_path, text, encoding=encoding)

    prices = read_price_csv(path)

    assert prices[col.DATE].tolist() == [pd.Timestamp("2020-06-01")]
    assert prices[col.CLOSE].tolist() == [10.0]
    assert prices.attrs["encoding"] == reported


def test_prices_neither_utf8_nor_cp1252(tmp_path):
    # 0x81 has no character in cp1252 and cannot start a UTF-8 sequence.
    path = tmp_path / "prices.csv"
    path.write_bytes(HEADER.encode() + b"2020-06-01,1,2,0.5,1.5,\x81\n")

    assert error_of(read_price_csv, path) == (
        f"{path}: not utf-8 or cp1252 text (cannot decode byte 0x81); save it as UTF-8 CSV")


def test_prices_one_gigabyte_file_is_refused_before_reading(tmp_path):
    # A sparse file: 1 GiB long, no disk used; reading it would take minutes and gigabytes.
    path = tmp_path / "prices.csv"
    with open(path, "wb") as handle:
        handle.truncate(1024**3)

    assert error_of(read_price_csv, path) == (
        f"{path}: 1.0 GiB is over the 512.0 MiB limit for a CSV file; keep only the rows you need "
        "(a date range, a ticker)")


def test_size_limit_is_the_documented_constant(tmp_path):
    path = write(tmp_path, HEADER + bar_lines(WEEK[:1], [10.0]))

    assert MAX_CSV_BYTES == 512 * 1024**2
    assert error_of(read_csv_table, path, max_bytes=10).startswith(f"{path}: 66 bytes is over the 10 bytes limit")


# --- params.yaml ------------------------------------------------------------------------------


def write_params(tmp_path, text, encoding="utf-8"):
    return write(tmp_path, text, name="params.yaml", encoding=encoding)


@pytest.mark.parametrize("text", ["", "# all settings commented out\n# model:\n#   units: 32\n"],
                         ids=["empty", "comments-only"])
def test_params_empty_or_header_only_file(tmp_path, text):
    # No settings at all is a truncated or unsaved file far more often than a wish for the defaults.
    path = write_params(tmp_path, text)

    assert error_of(load_params, path) == (
        f"{path}: no settings (the file is empty or only comments); expected sections such as data:, model: and train:")


def test_params_section_with_no_keys(tmp_path):
    path = write_params(tmp_path, "model:\ntrain:\n  epochs: 3\n")

    assert error_of(load_params, path) == (
        f"{path}: model: Input should be a valid dictionary (got None; the section is empty: give it keys or "
        "remove it)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model:\n  units=64\n", "model: Input should be a valid dictionary (got 'units=64'; write one 'key: value' "
                                 "per line, indented under the section)"),
        ("model:\n\tunits: 64\n", "line 2: not valid YAML (found character '\\t' that cannot start any token; "
                                  "indent with spaces, not tabs)"),
    ],
    ids=["equals-sign", "tab-indent"],
)
def test_params_wrong_delimiter(tmp_path, text, message):
    path = write_params(tmp_path, text)

    assert error_of(load_params, path) == f"{path}: {message}"


def test_params_missing_required_key():
    assert error_of(parse_params, {"data": {"source": "csv"}}) == (
        "params.yaml: data: data.path must be set when data.source is 'csv'")


@pytest.mark.parametrize("second", ["32", "64"], ids=["same", "conflicting"])
def test_params_duplicate_keys(tmp_path, second):
    # PyYAML alone would keep the last value without a word.
    path = write_params(tmp_path, f"model:\n  units: 32\n  window: 20\n  units: {second}\n")

    assert error_of(load_params, path) == f"{path}: line 4: key 'units' is given twice (first on line 2); keep one"


def test_params_keys_in_any_order_are_valid(tmp_path):
    path = write_params(tmp_path, "train:\n  epochs: 3\nmodel:\n  window: 10\n  units: 8\nseed: 1\n")

    params = load_params(path)

    assert (params.seed, params.model.units, params.model.window, params.train.epochs) == (1, 8, 10, 3)


@pytest.mark.parametrize("value", ["1/2/2020", "2020-13-01", "02.01.2020"])
def test_params_ambiguous_or_malformed_dates(value):
    assert error_of(parse_params, {"data": {"start": value}}) == (
        f"params.yaml: data.start: expected a date written YYYY-MM-DD (got '{value}')")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"model": {"units": "many"}}, "model.units: Input should be a valid integer, unable to parse string as an "
                                       "integer (got 'many')"),
        ({"model": {"units": "1,024"}}, "model.units: Input should be a valid integer, unable to parse string as an "
                                        "integer (got '1,024')"),
        ({"train": {"learning_rate": "0,001"}}, "train.learning_rate: Input should be a valid number, unable to parse "
                                                "string as a number (got '0,001')"),
        ({"model": {"units": 4.5}}, "model.units: Input should be a valid integer, got a number with a fractional "
                                    "part (got 4.5)"),
        ({"train": {"epochs": True}}, "train.epochs: expected a number or text, not a YAML true/false (quote text "
                                      "such as 'ON') (got True)"),
    ],
    ids=["text", "thousands", "decimal-comma", "fraction", "yaml-boolean"],
)
def test_params_wrong_type_or_non_numeric(raw, message):
    assert error_of(parse_params, raw) == f"params.yaml: {message}"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"model": {"units": 0}}, "model.units: Input should be greater than or equal to 1 (got 0)"),
        ({"split": {"test_size": 1.5}}, "split.test_size: Input should be less than 1 (got 1.5)"),
        ({"predict": {"horizon": 0}}, "predict.horizon: Input should be greater than or equal to 1 (got 0)"),
        ({"clean": {"ffill_limit": -1}}, "clean.ffill_limit: Input should be greater than or equal to 0 (got -1)"),
        ({"sentiment": {"halflife": -5}}, "sentiment.halflife: Input should be greater than 0 (got -5)"),
        ({"features": {"sma_windows": [10, 100_001]}}, "features.sma_windows.1: Input should be less than or equal "
                                                       "to 100000 (got 100001)"),
        ({"features": {"bbands_std": 1e38}}, "features.bbands_std: Input should be less than or equal to 3e+37, "
                                             "TA-Lib's limit (got 1e+38)"),
        ({"features": {"bbands_std": float("inf")}}, "features.bbands_std: Input should be a finite number (got inf)"),
        ({"model": {"l2": float("inf")}}, "model.l2: Input should be a finite number (got inf)"),
        ({"features": {"sma_windows": [10, 10]}}, "features: features.sma_windows repeats 10; list each window once"),
    ],
    ids=["units-0", "test_size-1.5", "horizon-0", "ffill-negative", "halflife-negative", "sma-above-talib",
         "bbands_std-above-talib", "bbands_std-inf", "l2-inf", "sma-repeated"],
)
def test_params_zero_negative_or_out_of_range(raw, message):
    assert error_of(parse_params, raw) == f"params.yaml: {message}"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"data": {"start": "2021-01-01", "end": "2020-01-01"}}, "data: data.start (2021-01-01) is after data.end "
                                                                 "(2020-01-01)"),
        ({"features": {"macd": {"fast": 26, "slow": 12}}}, "features.macd: features.macd.fast must be smaller than "
                                                           "features.macd.slow"),
    ],
    ids=["start-after-end", "macd-fast-above-slow"],
)
def test_params_lower_bound_above_upper_bound(raw, message):
    # The params' counterpart of a high below the low.
    assert error_of(parse_params, raw) == f"params.yaml: {message}"


@pytest.mark.parametrize("text", ["model:\n  units: null\n", "model:\n  units: ~\n", "model:\n  units:\n"])
def test_params_missing_values(tmp_path, text):
    path = write_params(tmp_path, text)

    assert error_of(load_params, path) == f"{path}: model.units: Input should be a valid integer (got None)"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        # A range inside a gap of months in the file, and one after its last date.
        ("2020-02-01", "2020-05-01", "no rows between data.start=2020-02-01 and data.end=2020-05-01"),
        ("2031-01-01", None, "no rows between data.start=2031-01-01 and data.end=None"),
    ],
    ids=["inside-a-gap", "in-the-future"],
)
def test_params_date_range_without_data(tmp_path, start, end, message):
    # Known only once the file is read: the download stage stops with the range the file covers.
    path = write(tmp_path, HEADER + bar_lines(["2020-01-02", "2020-01-03", *WEEK], [10.0] * 7))

    assert error_of(filter_range, read_price_csv(path), start, end, "data.source=csv") == (
        f"data.source=csv: {message} (file covers 2020-01-02 .. 2020-06-05)")


def test_params_byte_order_mark_is_read(tmp_path):
    path = write_params(tmp_path, "model:\n  units: 8\n", encoding="utf-8-sig")

    assert load_params(path).model.units == 8


def test_params_cp1252_is_refused_with_its_line(tmp_path):
    # DVC reads params.yaml as UTF-8 too, so a cp1252 file is refused rather than decoded.
    path = write_params(tmp_path, "news:\n  source: rss\n  query: Soci\u00e9t\u00e9 G\u00e9n\u00e9rale\n",
                        encoding="cp1252")

    assert error_of(load_params, path) == f"{path}: line 3: not UTF-8 text (byte 0xe9); save the file as UTF-8"


def test_params_one_gigabyte_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "params.yaml"
    with open(path, "wb") as handle:
        handle.truncate(1024**3)

    assert error_of(load_params, path) == f"{path}: 1024.0 MiB is over the 1 MiB limit for a params file"


def test_params_unknown_key_suggests_the_closest():
    assert error_of(parse_params, {"model": {"unit": 4}}) == (
        "params.yaml: unknown key 'model.unit' (did you mean 'model.units'?)")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"data": {"source": "Yahoo"}}, "data.source: Input should be 'sample', 'csv', 'yahoo', 'stooq' or "
                                        "'alphavantage' (got 'Yahoo'; did you mean 'yahoo'?)"),
        ({"data": {"source": "bloomberg"}}, "data.source: Input should be 'sample', 'csv', 'yahoo', 'stooq' or "
                                            "'alphavantage' (got 'bloomberg')"),
        ({"news": {"source": ["csv", "finhub"], "path": "x.csv"}},
         "news.source.1: Input should be 'none', 'csv', 'rss', 'gdelt', 'alphavantage', 'finnhub', "
         "'stocktwits' or 'reddit' (got 'finhub'; "
         "did you mean 'finnhub'?)"),
    ],
    ids=["data-case", "data-unknown", "news-typo"],
)
def test_params_unknown_source_lists_the_allowed_names(raw, message):
    assert error_of(parse_params, raw) == f"params.yaml: {message}"


def test_params_window_longer_than_the_training_slice():
    # Known only at run time: the train stage checks it once the split is read.
    assert error_of(check_window_fits, 20, 15) == (
        "params.yaml: model.window=20 needs at least 22 training rows, but the training slice has 15; use a "
        "model.window of at most 13 or more price history (an earlier data.start)")
    assert error_of(check_window_fits, 20, 3) == (
        "params.yaml: model.window=20 needs at least 22 training rows, but the training slice has 3; use more price "
        "history (an earlier data.start)")


def test_params_ma_window_longer_than_the_closes_before_the_test_rows():
    # Known only at run time: the evaluate stage checks it once the split is read.
    assert error_of(check_ma_window_fits, 15, 14) == (
        "params.yaml: evaluate.ma_window=15 needs 15 closes before the first test day, but there are 14; use an "
        "evaluate.ma_window of at most 14 or more price history (an earlier data.start)")
    check_ma_window_fits(14, 14)


def test_params_window_longer_than_the_validation_slice_is_fine():
    # Validation windows reach back into the training rows: 22 training rows and 5 validation rows
    # give a 20-day window for every validation row.
    check_window_fits(20, 22)
    features = np.arange(27.0).reshape(-1, 1)

    windows = windows_for(features, target_rows(22, 27, 20), 20)

    assert windows.shape == (5, 20, 1)
    assert windows[0, :, 0].tolist() == list(range(2, 22))


def test_params_keys_left_out_take_their_defaults():
    # Keys left out take their defaults; only a file with no settings at all is refused.
    assert parse_params({"model": {"units": 8}}).train == Params().train


# --- Headline CSV -----------------------------------------------------------------------------

NEW_YORK = "America/New_York"
NEWS_HEADER = "Time,Headlines\n"


def read_news(path, ticker=None):
    return read_news_csv(path, ticker=ticker, timezone=NEW_YORK, today=TODAY)


def utc(text):
    return pd.Timestamp(text, tz="UTC")


def test_news_empty_file(tmp_path):
    path = write(tmp_path, "", name="news.csv")

    assert error_of(read_news, path) == f"{path}: empty file (expected a header line, then one line per row)"


def test_news_header_only(tmp_path):
    path = write(tmp_path, NEWS_HEADER, name="news.csv")

    assert error_of(read_news, path) == f"{path}: no data rows, only the header (Time, Headlines)"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_news_other_delimiters_are_detected(tmp_path, delimiter):
    # The headline's own comma stays in the headline.
    path = write(tmp_path, f"Time{delimiter}Headlines\n2020-06-05 10:30{delimiter}Stocks rise, bonds fall\n",
                 name="news.csv")

    news, counts = read_news(path)

    assert news[col.HEADLINE].tolist() == ["Stocks rise, bonds fall"]
    assert counts["delimiter"] == delimiter


def test_news_missing_required_column(tmp_path):
    path = write(tmp_path, "Time,Body\n2020-06-05,text\n", name="news.csv")

    assert error_of(read_news, path) == (
        f"{path}: needs a time column (timestamp/datetime/time/date) and a headline column "
        "(headline/headlines/title); found Time, Body")


def test_news_duplicate_rows_with_the_same_values(tmp_path):
    # The same time, headline and ticker twice is one press release filed twice.
    path = write(tmp_path, "date,title,stock\n2020-06-05 10:30,Apple beats,AAPL\n2020-06-05 10:30,Apple beats,AAPL\n"
                           "2020-06-05 10:30,Apple beats,MSFT\n", name="news.csv")

    news, counts = read_news(path)

    assert news[col.TICKER].tolist() == ["AAPL", "MSFT"]
    assert counts["rows_duplicate"] == 1


def test_news_same_time_with_different_headlines_is_data(tmp_path):
    # Many headlines share a time or a date: that is news, not a conflict.
    path = write(tmp_path, NEWS_HEADER + "18-Jul-20,Stocks rise\n18-Jul-20,Oil falls\n", name="news.csv")

    news, counts = read_news(path)

    assert news[col.HEADLINE].tolist() == ["Stocks rise", "Oil falls"]
    assert counts["rows_duplicate"] == 0


def test_news_unsorted_rows_are_sorted(tmp_path):
    path = write(tmp_path, NEWS_HEADER + "19-Jul-20,Later\n17-Jul-20,Earlier\n18-Jul-20,Middle\n", name="news.csv")

    news, _ = read_news(path)

    assert news[col.HEADLINE].tolist() == ["Earlier", "Middle", "Later"]


@pytest.mark.parametrize(
    ("times", "message"),
    [
        (["05/06/2020", "07/06/2020 10:30"], "row 2: date '05/06/2020' could be day-first or month-first, as could "
                                             "every numeric date in the file; write the dates as YYYY-MM-DD"),
        (["13/06/2020", "06/13/2020"], "dates mix day-first and month-first orders: row 2 '13/06/2020' can only be "
                                       "day-first, row 3 '06/13/2020' only month-first (expected one order "
                                       "throughout)"),
    ],
    ids=["ambiguous", "mixed-orders"],
)
def test_news_ambiguous_or_mixed_numeric_dates(tmp_path, times, message):
    path = write(tmp_path, NEWS_HEADER + "".join(f"{time},Headline {n}\n" for n, time in enumerate(times)),
                 name="news.csv")

    assert error_of(read_news, path) == f"{path}: {message}"


def test_news_numeric_dates_in_the_order_the_file_shows(tmp_path):
    # 13/06/2020 can only be day-first, so 05/06/2020 is 5 June, not 6 May; other shapes mix in freely.
    path = write(tmp_path, NEWS_HEADER + "05/06/20 16:30,a\n13/06/2020,b\n2020-06-14 10:00:00+00:00,c\n18-Jun-20,d\n",
                 name="news.csv")

    news, _ = read_news(path)

    assert news[col.TIMESTAMP].tolist() == [utc("2020-06-05 20:30"), utc("2020-06-13 04:00"),
                                            utc("2020-06-14 10:00"), utc("2020-06-18 04:00")]


def test_news_unreadable_dates_are_dropped_and_counted(tmp_path):
    # The headline file's counterpart of a non-numeric price: it has no numbers, only times.
    path = write(tmp_path, NEWS_HEADER + "18-Jul-20,Kept\nnot a date,Dropped\nJul-18,No day\n", name="news.csv")

    news, counts = read_news(path)

    assert news[col.HEADLINE].tolist() == ["Kept"]
    assert counts["rows_bad_date"] == 2


def test_news_missing_cells_are_dropped_and_counted(tmp_path):
    # The counterpart of a run of missing closes: rows without a headline or a time.
    path = write(tmp_path, NEWS_HEADER + "18-Jul-20,Kept\n18-Jul-20,\n,No time\n19-Jul-20,  \n", name="news.csv")

    news, counts = read_news(path)

    assert news[col.HEADLINE].tolist() == ["Kept"]
    assert (counts["rows_empty_headline"], counts["rows_bad_date"]) == (2, 1)


def test_news_a_gap_of_months_is_kept(tmp_path):
    # News is sparse: sessions without headlines get news_count 0 in the features, nothing is cut.
    path = write(tmp_path, NEWS_HEADER + "2020-01-02,Before\n2020-06-05,After\n", name="news.csv")

    news, counts = read_news(path)

    assert news[col.HEADLINE].tolist() == ["Before", "After"]
    assert counts["headlines"] == 2


def test_news_dates_in_the_future_are_dropped_and_counted(tmp_path):
    # Today is 2024-05-01 (UTC); a headline up to the end of tomorrow is allowed for zones ahead of UTC.
    path = write(tmp_path, NEWS_HEADER + "2024-04-30 10:00,Yesterday\n2024-05-02 10:00,Tomorrow morning\n"
                                         "2024-05-03 10:00,The day after tomorrow\n2204-05-01,Mistyped year\n",
                 name="news.csv")

    news, counts = read_news(path)

    assert news[col.HEADLINE].tolist() == ["Yesterday", "Tomorrow morning"]
    assert counts["rows_future_date"] == 2


def test_news_only_future_dates_is_an_error(tmp_path):
    path = write(tmp_path, NEWS_HEADER + "2204-05-01,Mistyped year\n", name="news.csv")

    assert error_of(read_news, path) == (
        f"{path}: no usable headlines (0 rows had unreadable dates, 1 future dates, 0 empty headlines)")


@pytest.mark.parametrize(("encoding", "reported"), [("cp1252", "cp1252"), ("utf-8-sig", "utf-8-sig")])
def test_news_encodings(tmp_path, encoding, reported):
    # cp1252 writes the typographic apostrophe as byte 0x92; a BOM must not rename "Time".
    path = write(tmp_path, NEWS_HEADER + "18-Jul-20,\u2018I now fear the worst\u2019: caf\u00e9s close\n",
                 name="news.csv", encoding=encoding)

    news, counts = read_news(path)

    assert news[col.HEADLINE].tolist() == ["\u2018I now fear the worst\u2019: caf\u00e9s close"]
    assert counts["encoding"] == reported


def test_news_record_broken_across_lines_is_dropped_and_counted(tmp_path):
    # A scraped file with an unquoted newline in a headline: both halves are malformed.
    path = write(tmp_path, ",title,date,stock\n0,Kept,2020-06-05 10:30,AAPL\n1,Broken\n,2020-06-05 11:00,AAPL\n",
                 name="news.csv")

    news, counts = read_news(path, ticker="AAPL")

    assert news[col.HEADLINE].tolist() == ["Kept"]
    assert (counts["rows_read"], counts["rows_malformed"], counts["headlines"]) == (3, 2, 1)


def test_news_one_gigabyte_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "news.csv"
    with open(path, "wb") as handle:
        handle.truncate(1024**3)

    assert error_of(read_news, path) == (
        f"{path}: 1.0 GiB is over the 512.0 MiB limit for a CSV file; keep only the rows you need "
        "(a date range, a ticker)")
