"""Tickers as the unit of work on literal values: the batch of each ticker, failing tickers stopping or skipped,
and per-ticker tables in long format and back."""

import logging
from collections import Counter

import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.adapters.io import read_parquet, write_parquet
from stockpipe.errors import PipelineError
from stockpipe.universe import batch_members, batch_of, by_ticker, long_table, run_each, skips_failing


def test_a_batch_is_crc32_of_the_ticker_modulo_the_batch_count():
    # 123456789 is CRC-32's published check string: its CRC-32 is 0xCBF43926 = 3,421,780,262, which ends in
    # 0x26 = 38, so it is 38 mod 8 = 6 of eight batches, 2 of four and 2 of ten (3,421,780,262 ends in 2).
    assert batch_of("123456789", 8) == 6
    assert batch_of("123456789", 4) == 2
    assert batch_of("123456789", 10) == 2
    assert batch_of("123456789", 1) == 0


def test_batches_of_real_tickers_do_not_change_between_runs_or_versions():
    # A ticker that moved batch would rerun two batches' stages; Python's hash() would move them on every run.
    assert {ticker: batch_of(ticker, 8) for ticker in ("^GSPC", "^IXIC", "AAPL", "MSFT")} == {
        "^GSPC": 4, "^IXIC": 6, "AAPL": 4, "MSFT": 3}


@pytest.mark.parametrize("n_batches", [2, 4, 8])
def test_batches_spread_many_tickers_evenly(n_batches):
    counts = Counter(batch_of(f"T{number:03d}", n_batches) for number in range(400))

    even = 400 / n_batches
    assert sorted(counts) == list(range(n_batches))
    assert 0.75 * even <= min(counts.values()) <= max(counts.values()) <= 1.25 * even


def test_batch_members_keep_the_order_given():
    tickers = ["MSFT", "^GSPC", "123456789", "AAPL", "^IXIC"]

    # In eight batches: MSFT 3, ^GSPC 4, 123456789 6, AAPL 4, ^IXIC 6.
    assert batch_members(tickers, 4, 8) == ["^GSPC", "AAPL"]
    assert batch_members(tickers, 6, 8) == ["123456789", "^IXIC"]
    assert batch_members(tickers, 0, 8) == []
    assert batch_members(tickers, 0, 1) == tickers
    # Every ticker is in exactly one batch.
    assert sorted(sum((batch_members(tickers, batch, 8) for batch in range(8)), [])) == sorted(tickers)


@pytest.mark.parametrize("batch", [4, -1])
def test_a_batch_outside_data_batches_is_refused(batch):
    with pytest.raises(PipelineError, match=rf"^batch {batch} is not one of data.batches \(0 \.\. 3\)$"):
        batch_members(["AAPL"], batch, 4)


def work_failing_on(*failing: str):
    """A stage's work on one ticker that fails on ``failing`` as a bad file would, and the tickers it was given."""
    calls = []

    def work(ticker: str) -> str:
        calls.append(ticker)
        if ticker in failing:
            raise PipelineError(f"data/{ticker}.csv: no rows")
        return ticker.lower()

    return work, calls


def test_run_each_returns_each_tickers_result_in_order():
    work, _ = work_failing_on()
    skipped = {}

    assert run_each(["MSFT", "AAPL"], work, skip=False, stage="train", skipped=skipped) == {"MSFT": "msft",
                                                                                            "AAPL": "aapl"}
    assert skipped == {}


def test_run_each_without_skip_stops_at_the_first_failing_ticker_naming_it():
    work, calls = work_failing_on("AAPL")
    skipped = {}

    with pytest.raises(PipelineError) as error:
        run_each(["MSFT", "AAPL", "^GSPC"], work, skip=False, stage="train", skipped=skipped)

    assert str(error.value) == "ticker AAPL: data/AAPL.csv: no rows"
    assert calls == ["MSFT", "AAPL"]
    assert skipped == {}


def test_run_each_with_skip_leaves_failing_tickers_out_with_the_stage_and_reason(caplog):
    work, calls = work_failing_on("AAPL", "^IXIC")
    # Left out by an earlier stage: kept as it is.
    skipped = {"ZZZ": "prepare: data/ZZZ.csv: 3 rows, too few"}

    with caplog.at_level(logging.WARNING, logger="stockpipe.universe"):
        results = run_each(["^IXIC", "MSFT", "AAPL", "^GSPC"], work, skip=True, stage="evaluate", skipped=skipped)

    assert results == {"MSFT": "msft", "^GSPC": "^gspc"}
    assert calls == ["^IXIC", "MSFT", "AAPL", "^GSPC"]
    assert skipped == {"ZZZ": "prepare: data/ZZZ.csv: 3 rows, too few",
                       "^IXIC": "evaluate: data/^IXIC.csv: no rows", "AAPL": "evaluate: data/AAPL.csv: no rows"}
    assert [record.getMessage() for record in caplog.records] == [
        "skipping ^IXIC: data/^IXIC.csv: no rows", "skipping AAPL: data/AAPL.csv: no rows"]


def test_run_each_skips_only_pipeline_errors():
    # Anything else is a bug in the stage, not a bad ticker: it must not be hidden in the summary.
    def work(ticker: str) -> str:
        raise KeyError(ticker)

    with pytest.raises(KeyError):
        run_each(["AAPL"], work, skip=True, stage="train", skipped={})


# Two tickers' tables as a stage makes them: their own dates, a close each.
FRAMES = {
    "MSFT": pd.DataFrame({col.DATE: pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]),
                          col.CLOSE: [370.6, 370.1, 367.9]}),
    "AAPL": pd.DataFrame({col.DATE: pd.to_datetime(["2024-01-03", "2024-01-04"]), col.CLOSE: [184.25, 181.91]}),
}


def test_long_table_puts_the_ticker_first_and_each_tickers_rows_together_in_order():
    table = long_table(FRAMES)

    expected = pd.DataFrame({
        col.TICKER: ["MSFT", "MSFT", "MSFT", "AAPL", "AAPL"],
        col.DATE: pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-03", "2024-01-04"]),
        col.CLOSE: [370.6, 370.1, 367.9, 184.25, 181.91],
    })
    pd.testing.assert_frame_equal(table, expected)
    assert list(FRAMES["MSFT"].columns) == [col.DATE, col.CLOSE]  # the tables given are left alone


def test_by_ticker_gives_back_each_tickers_table_in_first_seen_order():
    tables = by_ticker(long_table(FRAMES))

    assert list(tables) == ["MSFT", "AAPL"]
    for ticker, frame in FRAMES.items():
        pd.testing.assert_frame_equal(tables[ticker], frame)


def test_by_ticker_gathers_a_tickers_rows_wherever_they_are():
    table = pd.DataFrame({col.TICKER: ["AAPL", "MSFT", "AAPL"], col.CLOSE: [1.0, 2.0, 3.0]})

    tables = by_ticker(table)

    assert list(tables) == ["AAPL", "MSFT"]
    pd.testing.assert_frame_equal(tables["AAPL"], pd.DataFrame({col.CLOSE: [1.0, 3.0]}))


def test_long_table_round_trips_through_parquet(tmp_path):
    # As stages hand tables to each other; NA is a ticker, not a missing value.
    frames = {**FRAMES, "NA": FRAMES["AAPL"].assign(**{col.CLOSE: [41.0, 42.5]})}
    write_parquet(long_table(frames), tmp_path / "batch_0.parquet")

    tables = by_ticker(read_parquet(tmp_path / "batch_0.parquet"))

    assert list(tables) == ["MSFT", "AAPL", "NA"]
    for ticker, frame in frames.items():
        pd.testing.assert_frame_equal(tables[ticker], frame)


def test_no_tables_give_an_empty_long_table_with_the_columns_and_types_of_empty():
    empty = pd.DataFrame({col.DATE: pd.Series(dtype="datetime64[ns]"), col.CLOSE: pd.Series(dtype="float64")})

    table = long_table({}, empty=empty)

    assert table.empty
    assert list(table.columns) == [col.TICKER, col.DATE, col.CLOSE]
    assert table.dtypes.to_dict() == {col.TICKER: "object", col.DATE: "datetime64[ns]", col.CLOSE: "float64"}
    assert by_ticker(table) == {}


def test_no_tables_and_no_empty_give_the_ticker_column_alone():
    table = long_table({})

    assert table.empty and list(table.columns) == [col.TICKER]
    assert by_ticker(table) == {}


def test_the_stop_or_skip_rule_travels_in_the_batch_files_attrs():
    table = long_table({"AAPL": pd.DataFrame({"close": [1.0]})})
    assert skips_failing(table) is False  # a file without the rule stops, as a typed list does
    table.attrs = {"skip_failing": True}
    assert skips_failing(table) is True
