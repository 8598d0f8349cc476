"""Price CSV reading: column spellings, date orders, one-line errors, and the real files."""

import numpy as np
import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.cleaning import clean_prices
from stockpipe.errors import PipelineError
from stockpipe.params import CleanParams, parse_params
from stockpipe.prices import (
    MISSING_MARKERS,
    detect_date_format,
    filter_range,
    load_sample,
    matching_tickers,
    read_price_csv,
    universe,
)


def write(tmp_path, text, name="prices.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yahoo_export_reads_in_file_order(tmp_path):
    path = write(tmp_path, (
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2020-01-03,10.0,11.0,9.5,10.5,10.4,1000\n"
        "2020-01-02,9.0,10.0,8.5,9.5,9.4,2000.0\n"
    ))

    prices = read_price_csv(path)

    assert list(prices.columns) == [col.DATE, *col.OHLCV]
    assert prices[col.DATE].tolist() == [pd.Timestamp("2020-01-03"), pd.Timestamp("2020-01-02")]
    assert prices[col.CLOSE].tolist() == [10.5, 9.5]
    assert prices[col.VOLUME].tolist() == [1000.0, 2000.0]
    assert (prices.dtypes[col.OHLCV] == "float64").all()


def test_header_case_spacing_and_aliases(tmp_path):
    # "Adj Close" must not be taken for the close; "Vol" is the volume.
    path = write(tmp_path, " date , OPEN,High,low,Adj Close,close,Vol,Dividends\n2020-01-03,1,2,0.5,1.4,1.5,10,0\n")

    prices = read_price_csv(path)

    assert prices.iloc[0].to_dict() == {col.DATE: pd.Timestamp("2020-01-03"), col.OPEN: 1.0, col.HIGH: 2.0,
                                        col.LOW: 0.5, col.CLOSE: 1.5, col.VOLUME: 10.0}


def test_missing_volume_column_becomes_nan(tmp_path):
    path = write(tmp_path, "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5\n")

    assert np.isnan(read_price_csv(path)[col.VOLUME].iloc[0])


def test_empty_cells_and_null_markers_become_nan(tmp_path):
    path = write(tmp_path, "Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,\n2020-01-03,null,2,0.5,-,10\n")

    prices = read_price_csv(path)

    assert np.isnan(prices[col.VOLUME].iloc[0])
    assert np.isnan(prices[col.OPEN].iloc[1]) and np.isnan(prices[col.CLOSE].iloc[1])


@pytest.mark.parametrize("marker", MISSING_MARKERS)
def test_every_standard_missing_marker_is_a_missing_close_that_cleaning_repairs_and_counts(tmp_path, marker):
    days = ["2020-01-02", "2020-01-03", "2020-01-06"]
    path = write(tmp_path, "Date,Open,High,Low,Close,Volume\n" + "".join(
        f"{day},1,2,0.5,{marker if number == 1 else 1.5},10\n" for number, day in enumerate(days)))

    prices = read_price_csv(path)
    cleaned, report = clean_prices(prices, "XNYS", CleanParams(), 0.7)

    assert prices[col.CLOSE].isna().tolist() == [False, True, False]
    assert cleaned[col.CLOSE].tolist() == [1.5, 1.5, 1.5] and report["close_forward_filled"] == 1


def test_missing_column_is_named_with_what_was_found(tmp_path):
    path = write(tmp_path, "Date,Open,High,Low\n2020-01-02,1,2,0.5\n")

    with pytest.raises(PipelineError, match=r"prices\.csv: missing column\(s\) close \(found Date, Open, High, Low\)$"):
        read_price_csv(path)


def test_missing_file(tmp_path):
    with pytest.raises(PipelineError, match=r"absent\.csv: file not found$"):
        read_price_csv(tmp_path / "absent.csv")


def test_impossible_iso_date_gives_its_row(tmp_path):
    path = write(tmp_path, "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5\n2020-02-30,1,2,0.5,1.5\n")

    with pytest.raises(PipelineError, match=r"prices\.csv: row 3: cannot read date '2020-02-30' as iso$"):
        read_price_csv(path)


def test_iso_timestamps_keep_their_calendar_date(tmp_path):
    path = write(tmp_path, "Date,Open,High,Low,Close\n2020-01-02 00:00:00-05:00,1,2,0.5,1.5\n")

    assert read_price_csv(path)[col.DATE].iloc[0] == pd.Timestamp("2020-01-02")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2020-01-02", "2020-01-03"], "iso"),
        (["1/7/2016", "30/6/2016"], "dayfirst"),  # 30 can only be a day
        (["7/1/2016", "6/30/2016"], "monthfirst"),  # 30 can only be a day, in second place
        (["31.12.99", "1.1.00"], "dayfirst"),
    ],
)
def test_detect_date_format(values, expected):
    assert detect_date_format(pd.Series(values), "f.csv") == expected


def test_ambiguous_slashed_dates_are_refused_in_auto(tmp_path):
    path = write(tmp_path, "Date,Open,High,Low,Close\n1/2/2020,1,2,0.5,1.5\n3/2/2020,1,2,0.5,1.5\n")

    with pytest.raises(PipelineError, match=r"prices\.csv: dates are ambiguous .*set data\.date_format to 'dayfirst'"):
        read_price_csv(path)


@pytest.mark.parametrize(
    ("date_format", "expected"),
    [("dayfirst", ["2020-02-01", "2020-02-03"]), ("monthfirst", ["2020-01-02", "2020-03-02"])],
)
def test_ambiguous_slashed_dates_read_in_the_stated_order(tmp_path, date_format, expected):
    path = write(tmp_path, "Date,Open,High,Low,Close\n1/2/2020,1,2,0.5,1.5\n3/2/2020,1,2,0.5,1.5\n")

    dates = read_price_csv(path, date_format=date_format)[col.DATE]

    assert dates.tolist() == [pd.Timestamp(day) for day in expected]


def test_two_digit_years(tmp_path):
    path = write(tmp_path, "Date,Open,High,Low,Close\n1/7/16,1,2,0.5,1.5\n31/12/99,1,2,0.5,1.5\n")

    dates = read_price_csv(path, date_format="dayfirst")[col.DATE]

    assert dates.tolist() == [pd.Timestamp("2016-07-01"), pd.Timestamp("1999-12-31")]


def test_stated_order_is_enforced_not_a_hint(tmp_path):
    # 1/13/2020 has no 13th month when read day-first: refuse rather than read it month-first.
    path = write(tmp_path, "Date,Open,High,Low,Close\n13/1/2020,1,2,0.5,1.5\n1/13/2020,1,2,0.5,1.5\n")

    with pytest.raises(PipelineError, match=r"prices\.csv: row 3: cannot read date '1/13/2020' as dayfirst$"):
        read_price_csv(path, date_format="dayfirst")


def test_unrecognised_date_shape(tmp_path):
    path = write(tmp_path, "Date,Open,High,Low,Close\n2 Jan 2020,1,2,0.5,1.5\n")

    with pytest.raises(PipelineError, match=r"prices\.csv: row 2: unrecognised date '2 Jan 2020' \(expected YYYY-MM"):
        read_price_csv(path)


def frame_of_dates(*dates):
    return pd.DataFrame({col.DATE: pd.to_datetime(list(dates)), col.CLOSE: [1.0] * len(dates)})


def test_filter_range_keeps_both_bounds():
    frame = frame_of_dates("2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07")

    kept = filter_range(frame, "2020-01-03", "2020-01-06", "data.source=csv")

    assert kept[col.DATE].tolist() == [pd.Timestamp("2020-01-03"), pd.Timestamp("2020-01-06")]
    assert kept.index.tolist() == [0, 1]
    assert len(filter_range(frame, None, None, "s")) == 4


def test_filter_range_with_no_rows_says_what_the_file_covers():
    frame = frame_of_dates("2020-01-02", "2020-01-03")

    with pytest.raises(PipelineError, match=(
        r"^data\.source=csv: no rows between data\.start=2021-01-01 and data\.end=None "
        r"\(file covers 2020-01-02 \.\. 2020-01-03\)$"
    )):
        filter_range(frame, "2021-01-01", None, "data.source=csv")


def test_load_sample_is_the_real_sp500():
    prices = load_sample()

    assert len(prices) == 5031
    assert prices[col.DATE].iloc[0] == pd.Timestamp("1999-01-04")
    assert prices[col.DATE].iloc[-1] == pd.Timestamp("2018-12-31")
    assert prices[col.DATE].is_monotonic_increasing
    # First row of the file: 1/4/1999, close 1228.099976.
    assert prices[col.CLOSE].iloc[0] == pytest.approx(1228.099976)
    assert not prices.isna().any().any()


def test_load_sample_of_the_nasdaq_composite_and_nothing_else():
    prices = load_sample("^IXIC")

    assert len(prices) == 5031
    # First and last rows of the file: 1/4/1999 close 2208.050049, 12/31/2018 close 6635.279785.
    assert prices[col.CLOSE].iloc[0] == pytest.approx(2208.050049)
    assert prices[col.CLOSE].iloc[-1] == pytest.approx(6635.279785)
    with pytest.raises(PipelineError, match=r"data.source 'sample' ships \^GSPC \(S&P 500\), \^IXIC"):
        load_sample("AAPL")


@pytest.mark.parametrize(
    ("name", "rows", "first", "last"),
    [
        ("GSPC_2000_2022.csv", 5759, "2000-01-03", "2022-11-18"),
        ("AAPL_1980_2024.csv", 10998, "1980-12-12", "2024-07-30"),
    ],
)
def test_real_iso_files_read_as_is(shared_data, name, rows, first, last):
    prices = read_price_csv(shared_data / "prices" / name)

    assert len(prices) == rows
    assert prices[col.DATE].iloc[0] == pd.Timestamp(first)
    assert prices[col.DATE].iloc[-1] == pd.Timestamp(last)
    assert not prices[[col.DATE, *col.OHLC]].isna().any().any()


def test_real_day_first_file_is_detected_and_read(shared_data):
    path = shared_data / "prices" / "DJIA_2008_2016_dmy.csv"
    raw = pd.read_csv(path, dtype=str)

    prices = read_price_csv(path)

    assert detect_date_format(raw["Date"], str(path)) == "dayfirst"
    assert len(prices) == 1989
    # Newest row first: 1/7/2016 is 1 July, and the oldest row is 8/8/2008.
    assert prices[col.DATE].iloc[0] == pd.Timestamp("2016-07-01")
    assert prices[col.DATE].iloc[-1] == pd.Timestamp("2008-08-08")
    assert prices[col.DATE].min() == pd.Timestamp("2008-08-08")
    assert prices[col.DATE].max() == pd.Timestamp("2016-07-01")
    assert prices[col.CLOSE].iloc[0] == pytest.approx(17949.36914)


def price_files(folder, *names):
    """Empty files named ``names`` in ``folder``: matching_tickers looks at file names only."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("", encoding="utf-8")
    return folder


def test_matching_tickers_are_every_file_data_path_matches_sorted(tmp_path):
    folder = price_files(tmp_path / "external", "MSFT.csv", "^GSPC.csv", "AAPL.csv", "BRK.B.csv",
                         "notes.txt", "AAPL.csv.bak", "README.md")
    (folder / "OLD.csv").mkdir()  # a folder, not a file

    assert matching_tickers(str(folder / "{ticker}.csv")) == ["AAPL", "BRK.B", "MSFT", "^GSPC"]


def test_matching_tickers_with_text_around_the_ticker(tmp_path):
    price_files(tmp_path, "prices_AAPL_daily.csv", "prices_MSFT_daily.csv", "prices_AAPL_weekly.csv",
                "AAPL_daily.csv", "prices__daily.csv")

    # "prices__daily.csv" gives no ticker: {ticker} stands for at least one character.
    assert matching_tickers(str(tmp_path / "prices_{ticker}_daily.csv")) == ["AAPL", "MSFT"]


def test_matching_tickers_finding_no_file_is_an_error(tmp_path):
    price_files(tmp_path, "AAPL.txt")
    pattern = str(tmp_path / "{ticker}.csv")

    with pytest.raises(PipelineError) as error:
        matching_tickers(pattern)

    assert str(error.value) == f"params.yaml: data.tickers: all found no file matching data.path {pattern!r}"
    with pytest.raises(PipelineError, match="found no file matching"):
        matching_tickers(str(tmp_path / "missing" / "{ticker}.csv"))


@pytest.mark.parametrize("pattern", ["{ticker}/prices.csv", "data/{ticker}/{ticker}.csv", "data/prices.csv",
                                     "data/{ticker}{ticker}.csv"])
def test_matching_tickers_needs_ticker_once_in_the_file_name(tmp_path, pattern):
    with pytest.raises(PipelineError) as error:
        matching_tickers(str(tmp_path / pattern))

    assert str(error.value) == (f"params.yaml: data.tickers: all needs {{ticker}} once, in the file name of "
                                f"data.path (got {str(tmp_path / pattern)!r})")


def test_matching_tickers_refuses_file_names_that_are_not_tickers(tmp_path):
    price_files(tmp_path, "AAPL.csv", "S&P 500.csv")

    with pytest.raises(PipelineError, match=r"file names give tickers that are not tickers \(S&P 500\)"):
        matching_tickers(str(tmp_path / "{ticker}.csv"))


def test_universe_of_a_list_is_the_list_in_its_order():
    data = parse_params({"data": {"tickers": ["MSFT", "AAPL"]}}).data

    assert universe(data) == ["MSFT", "AAPL"]
    assert universe(parse_params({}).data) == ["^GSPC"]


def test_universe_of_all_with_the_sample_is_both_sample_series():
    assert universe(parse_params({"data": {"tickers": "all"}}).data) == ["^GSPC", "^IXIC"]


def test_universe_of_all_with_csv_is_every_matching_file(tmp_path):
    price_files(tmp_path, "MSFT.csv", "AAPL.csv", "AAPL.json")
    data = parse_params({"data": {"source": "csv", "path": str(tmp_path / "{ticker}.csv"), "tickers": "all"}}).data

    assert universe(data) == ["AAPL", "MSFT"]
