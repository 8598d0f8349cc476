"""The forecast history on a few literal prices: recording, scoring and the rolling errors, checked by hand;
forecasts of two tickers in one history; reading predict's forecast file, and the stage run for real on a
good and on bad ones."""

import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockpipe.adapters.io import read_csv_table, write_parquet
from stockpipe.monitor import (
    empty_history,
    forecast_from_csv,
    forecast_rows,
    history_from_csv,
    history_to_csv,
    record,
    score,
    summarize,
)
from stockpipe.universe import long_table

STAGE = Path(__file__).resolve().parents[2] / "src" / "monitor.py"

TICKER = "^GSPC"
# Tue 2 .. Mon 8 January 2024 (the 6th and 7th are a weekend).
PRICES = pd.DataFrame({
    "date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]),
    "close": [100.0, 102.0, 101.0, 104.0, 103.0],
})
# Made on Wednesday the 3rd (close 102) for the next three sessions.
FORECAST = pd.DataFrame({"date": ["2024-01-04", "2024-01-05", "2024-01-08"], "predicted_close": [103.0, 104.0, 105.0]})
TEST = {"rmse": 4.0, "naive_rmse": 5.0}  # the test set's rmse / naive rmse: 0.8


# Another ticker on the same days, at another price level: a forecast of one scored with the other's
# closes would be off by thousands.
OTHER = "AAPL"
OTHER_PRICES = PRICES.assign(close=[40.0, 39.0, 41.0, 42.0, 40.5])


def up_to(day: str, prices: pd.DataFrame = PRICES) -> pd.DataFrame:
    return prices[prices["date"] <= day].reset_index(drop=True)


def history_rows(rows: list[tuple], ticker: str = TICKER) -> pd.DataFrame:
    """A history of ``ticker`` from (forecast_made_on, date, step, predicted_close, actual, naive) tuples."""
    frame = pd.DataFrame(rows, columns=["forecast_made_on", "date", "step", "predicted_close", "actual", "naive"])
    for name in ("forecast_made_on", "date"):
        frame[name] = pd.to_datetime(frame[name])
    frame.insert(0, "ticker", ticker)
    return frame.astype(empty_history().dtypes.to_dict())


def scored_up_to(day: str) -> pd.DataFrame:
    """The history of FORECAST (made on the 3rd) scored with the prices up to ``day``."""
    return score(record(empty_history(), forecast_rows(FORECAST, up_to("2024-01-03"), TICKER)), up_to(day), TICKER)


def summary(history, window=20, min_scored=1, drift_ratio=1.5, ticker=TICKER):
    return summarize(history, ticker, TEST, window=window, min_scored=min_scored, drift_ratio=drift_ratio)


def test_forecast_rows_are_dated_from_the_last_price_and_unscored():
    rows = forecast_rows(FORECAST, up_to("2024-01-03"), TICKER)

    expected = history_rows([("2024-01-03", "2024-01-04", 1, 103.0, np.nan, 102.0),
                             ("2024-01-03", "2024-01-05", 2, 104.0, np.nan, 102.0),
                             ("2024-01-03", "2024-01-08", 3, 105.0, np.nan, 102.0)])
    pd.testing.assert_frame_equal(rows, expected)


@pytest.mark.parametrize("last_price", ["2024-01-04", "2024-01-08"])
def test_a_forecast_that_does_not_follow_the_prices_is_refused(last_price):
    with pytest.raises(ValueError, match=rf"must follow the last price date {last_price}.*rerun predict"):
        forecast_rows(FORECAST, up_to(last_price), TICKER)


def test_an_empty_forecast_is_refused():
    with pytest.raises(ValueError, match="the forecast has no rows"):
        forecast_rows(FORECAST.iloc[:0], up_to("2024-01-03"), TICKER)


def test_recording_the_same_forecast_twice_adds_nothing():
    rows = forecast_rows(FORECAST, up_to("2024-01-03"), TICKER)
    once = record(empty_history(), rows)

    twice = record(once, rows)

    pd.testing.assert_frame_equal(once, rows)
    pd.testing.assert_frame_equal(twice, once)


def test_forecasts_from_different_days_are_kept_side_by_side_in_date_order():
    later = forecast_rows(pd.DataFrame({"date": ["2024-01-05", "2024-01-08"], "predicted_close": [99.0, 98.0]}),
                          up_to("2024-01-04"), TICKER)
    earlier = forecast_rows(FORECAST, up_to("2024-01-03"), TICKER)

    history = record(record(empty_history(), later), earlier)

    assert [(made.day, day.day, step) for made, day, step in
            history[["forecast_made_on", "date", "step"]].itertuples(index=False)] == [
        (3, 4, 1), (3, 5, 2), (3, 8, 3), (4, 5, 1), (4, 8, 2)]
    assert history["naive"].tolist() == [102.0, 102.0, 102.0, 101.0, 101.0]


def test_a_newer_forecast_replaces_unscored_rows_and_never_scored_ones():
    # The first step of the forecast made on the 3rd is scored (the 4th closed at 101); a model
    # retrained afterwards forecasts again from the same day: only the unscored steps take its values.
    history = scored_up_to("2024-01-04")
    retrained = forecast_rows(FORECAST.assign(predicted_close=[110.0, 111.0, 112.0]), up_to("2024-01-03"), TICKER)

    updated = record(history, retrained)

    assert updated["predicted_close"].tolist() == [103.0, 111.0, 112.0]
    assert updated["actual"].tolist()[0] == 101.0 and updated["actual"].isna().tolist() == [False, True, True]


def test_only_rows_whose_actual_close_exists_are_scored():
    history = record(empty_history(), forecast_rows(FORECAST, up_to("2024-01-03"), TICKER))

    assert score(history, up_to("2024-01-03"), TICKER)["actual"].isna().all()
    partly = score(history, up_to("2024-01-05"), TICKER)
    assert partly["actual"].tolist()[:2] == [101.0, 104.0] and math.isnan(partly["actual"].iloc[2])
    assert score(history, PRICES, TICKER)["actual"].tolist() == [101.0, 104.0, 103.0]


def test_a_scored_row_keeps_its_actual_when_the_prices_are_revised():
    history = scored_up_to("2024-01-04")
    # A dividend rescales adjusted history: the 4th now reads 100.5, the 5th is new.
    revised = up_to("2024-01-05").assign(close=[99.5, 101.5, 100.5, 104.0])

    rescored = score(history, revised, TICKER)

    assert rescored["actual"].tolist()[:2] == [101.0, 104.0]
    assert rescored["naive"].tolist() == [102.0, 102.0, 102.0]


def test_summary_of_an_empty_history_invents_no_numbers():
    report = summary(empty_history())

    nothing = {"n": 0, "rmse": None, "mae": None, "naive_rmse": None, "naive_mae": None, "skill": None}
    assert report == {"ticker": TICKER, "forecasts": 0, "forecasts_scored": 0, "n_scored": 0,
                      "last_forecast_made_on": None, "last_scored_date": None, "window": 20,
                      "first_step": nothing, "all_steps": nothing, "test_rmse": 4.0, "test_naive_rmse": 5.0,
                      "ratio": None, "drift_ratio": 1.5, "drift": None}


def test_summary_with_nothing_scored_yet_counts_the_forecast_only():
    report = summary(record(empty_history(), forecast_rows(FORECAST, up_to("2024-01-03"), TICKER)))

    assert (report["forecasts"], report["n_scored"], report["last_forecast_made_on"]) == (1, 0, "2024-01-03")
    assert report["first_step"]["rmse"] is None and report["drift"] is None


def test_summary_errors_by_hand():
    # Made on the 3rd (naive 102), scored up to the 5th: step 1 predicted 103, actual 101 (error 2,
    # naive error 1); step 2 predicted 104, actual 104 (error 0, naive error 2).
    history = scored_up_to("2024-01-05")

    report = summary(history)

    assert (report["forecasts"], report["forecasts_scored"], report["n_scored"]) == (1, 1, 2)
    assert report["last_scored_date"] == "2024-01-05"
    assert report["first_step"] == {"n": 1, "rmse": 2.0, "mae": 2.0, "naive_rmse": 1.0, "naive_mae": 1.0,
                                    "skill": -1.0}
    assert report["all_steps"] == pytest.approx({"n": 2, "rmse": math.sqrt(2), "mae": 1.0,
                                                 "naive_rmse": math.sqrt(2.5), "naive_mae": 1.5,
                                                 "skill": 1 - math.sqrt(2) / math.sqrt(2.5)})
    # Live 2 / 1 against the test set's 4 / 5.
    assert report["ratio"] == pytest.approx(2.5)
    assert report["drift"] is True


def test_drift_needs_the_ratio_above_the_threshold():
    history = scored_up_to("2024-01-05")

    assert summary(history, drift_ratio=2.5)["drift"] is False
    assert summary(history, drift_ratio=2.4)["drift"] is True


def test_drift_is_not_judged_before_min_scored_first_steps():
    history = scored_up_to("2024-01-05")

    report = summary(history, min_scored=2)

    assert report["ratio"] == pytest.approx(2.5)
    assert report["drift"] is None


def test_the_window_keeps_the_latest_scored_forecasts():
    # Three forecasts of two steps each; the last one is not scored yet.
    history = history_rows([
        ("2024-01-02", "2024-01-03", 1, 110.0, 102.0, 100.0),  # error 8: outside a window of 2
        ("2024-01-02", "2024-01-04", 2, 110.0, 101.0, 100.0),
        ("2024-01-03", "2024-01-04", 1, 103.0, 101.0, 102.0),  # error 2, naive error 1
        ("2024-01-03", "2024-01-05", 2, 104.0, 104.0, 102.0),  # error 0, naive error 2
        ("2024-01-04", "2024-01-05", 1, 102.0, 104.0, 101.0),  # error 2, naive error 3
        ("2024-01-04", "2024-01-08", 2, 100.0, 103.0, 101.0),  # error 3, naive error 2
        ("2024-01-05", "2024-01-09", 1, 104.0, np.nan, 104.0),
    ])

    report = summary(history, window=2)

    assert (report["forecasts"], report["forecasts_scored"], report["n_scored"]) == (4, 3, 6)
    assert report["first_step"] == pytest.approx({"n": 2, "rmse": 2.0, "mae": 2.0, "naive_rmse": math.sqrt(5),
                                                  "naive_mae": 2.0, "skill": 1 - 2 / math.sqrt(5)})
    assert report["all_steps"]["n"] == 4
    assert report["all_steps"]["rmse"] == pytest.approx(math.sqrt((4 + 0 + 4 + 9) / 4))
    assert report["all_steps"]["naive_rmse"] == pytest.approx(math.sqrt((1 + 4 + 9 + 4) / 4))
    assert summary(history, window=3)["first_step"]["rmse"] == pytest.approx(math.sqrt((64 + 4 + 4) / 3))


def two_tickers() -> pd.DataFrame:
    """TICKER's forecast made on the 3rd, its first step scored (101), beside OTHER's made the same day for the
    same dates, unscored: the rows differ only by their ticker."""
    return pd.concat([
        history_rows([("2024-01-03", "2024-01-04", 1, 103.0, 101.0, 102.0),
                      ("2024-01-03", "2024-01-05", 2, 104.0, np.nan, 102.0),
                      ("2024-01-03", "2024-01-08", 3, 105.0, np.nan, 102.0)]),
        history_rows([("2024-01-03", "2024-01-04", 1, 40.0, np.nan, 39.0),
                      ("2024-01-03", "2024-01-05", 2, 41.0, np.nan, 39.0),
                      ("2024-01-03", "2024-01-08", 3, 43.0, np.nan, 39.0)], ticker=OTHER),
    ], ignore_index=True)


def test_a_forecast_of_another_ticker_for_the_same_days_is_recorded_beside_and_replaces_nothing():
    history = two_tickers()
    own, other = history.iloc[:3], history.iloc[3:]
    # OTHER's forecast made on the 3rd (close 39) for the days TICKER's waits for, TICKER's first step scored.
    rows = forecast_rows(FORECAST.assign(predicted_close=[40.0, 41.0, 43.0]), up_to("2024-01-03", OTHER_PRICES), OTHER)

    recorded = record(own, rows)

    # A forecast's rows together: AAPL sorts before ^GSPC among the forecasts made on the 3rd.
    pd.testing.assert_frame_equal(recorded, pd.concat([other, own], ignore_index=True))
    pd.testing.assert_frame_equal(record(recorded, own), recorded)


def test_scoring_one_ticker_uses_its_closes_and_leaves_the_other_tickers_rows_alone():
    history = two_tickers()

    scored = score(history, up_to("2024-01-05", OTHER_PRICES), OTHER)

    pd.testing.assert_frame_equal(scored[scored["ticker"] == TICKER], history[history["ticker"] == TICKER])
    assert scored.loc[scored["ticker"] == OTHER, "actual"].tolist()[:2] == [41.0, 42.0]
    assert scored.loc[scored["ticker"] == OTHER, "actual"].isna().tolist() == [False, False, True]


def test_the_summary_covers_its_own_tickers_rows_only():
    # OTHER's first step: predicted 40, actual 41, naive 39 (error 1, naive error 2); its second: 41 / 42 / 39.
    history = score(two_tickers(), up_to("2024-01-05", OTHER_PRICES), OTHER)

    report = summary(history, ticker=OTHER)

    assert (report["ticker"], report["forecasts"], report["forecasts_scored"], report["n_scored"]) == (OTHER, 1, 1, 2)
    assert report["first_step"] == {"n": 1, "rmse": 1.0, "mae": 1.0, "naive_rmse": 2.0, "naive_mae": 2.0,
                                    "skill": 0.5}
    assert report["all_steps"]["n"] == 2
    # Live 1 / 2 against the test set's 4 / 5.
    assert report["ratio"] == pytest.approx(0.625)
    # TICKER's own summary still sees its one scored first step (103 against 101) and nothing of OTHER's.
    assert summary(history)["first_step"]["rmse"] == 2.0 and summary(history)["n_scored"] == 1
    assert summary(history, ticker="^IXIC")["forecasts"] == 0


@pytest.mark.parametrize("test_metrics", [{"rmse": 4.0}, {"rmse": 4.0, "naive_rmse": 0.0},
                                          {"rmse": None, "naive_rmse": 5.0}, {"rmse": True, "naive_rmse": 5.0}])
def test_summary_needs_positive_test_errors(test_metrics):
    with pytest.raises(ValueError, match=r"'(rmse|naive_rmse)' must be a positive number"):
        summarize(empty_history(), TICKER, test_metrics, window=20, min_scored=1, drift_ratio=1.5)


HEADER = "ticker,forecast_made_on,date,step,predicted_close,actual,naive\n"
# The history as it was before each row named its ticker.
OLD_HEADER = "forecast_made_on,date,step,predicted_close,actual,naive\n"


def read_history_text(text: str) -> pd.DataFrame:
    return history_from_csv(io.StringIO(text))


def test_history_csv_round_trip():
    text = HEADER + ("^GSPC,2024-01-03,2024-01-04,1,103.000000,101.000000,102.000000\n"
                     "^GSPC,2024-01-03,2024-01-05,2,104.000000,,102.000000\n")

    history = read_history_text(text)

    pd.testing.assert_frame_equal(history, history_rows([("2024-01-03", "2024-01-04", 1, 103.0, 101.0, 102.0),
                                                         ("2024-01-03", "2024-01-05", 2, 104.0, np.nan, 102.0)]))
    assert history_to_csv(history).to_csv(index=False, float_format="%.6f") == text


@pytest.mark.parametrize("ticker", ["NA", "NAN", "0700", "1.0"])
def test_a_ticker_is_read_as_written(ticker):
    # pandas' defaults would read NA and NAN as missing and 0700 and 1.0 as numbers.
    history = read_history_text(HEADER + f"{ticker},2024-01-03,2024-01-04,1,103.0,,102.0\n")

    assert history["ticker"].tolist() == [ticker]


@pytest.mark.parametrize(("text", "message"), [
    ("date,predicted_close\n2024-01-04,103.0\n",
     "expected the columns ticker, forecast_made_on, date, step, predicted_close, actual, naive, "
     "got date, predicted_close"),
    (OLD_HEADER + "2024-01-03,2024-01-04,1,103.0,,102.0\n",
     "no ticker column (a history written before each forecast recorded its ticker): add ticker as the first "
     "column, each row holding the ticker its forecast was made for"),
    (HEADER + ",2024-01-03,2024-01-04,1,103.0,,102.0\n",
     "column ticker has no value (expected a ticker as data.tickers spells it)"),
    (HEADER + "S&P 500,2024-01-03,2024-01-04,1,103.0,,102.0\n",
     "column ticker has 'S&P 500' (expected a ticker as data.tickers spells it)"),
    (HEADER + "^GSPC,2024-01-03,2024-01-04,,103.0,,102.0\n", "integer"),
    (HEADER + "^GSPC,2024-01-03,04/01/2024,1,103.0,,102.0\n", "04/01/2024"),
], ids=["not a history", "no ticker column", "no ticker", "not a ticker", "no step", "day first"])
def test_a_history_csv_of_another_shape_is_refused(text, message):
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        read_history_text(text)

    assert "\n" not in str(error.value)


def test_forecast_csv_is_read_with_its_types_and_other_columns_dropped():
    frame, _ = read_csv_table(io.StringIO("date,predicted_close,lower,upper\n"
                                          "2024-01-04,103.0,100.0,106.0\n2024-01-05,104.5,100.0,109.0\n"))

    forecast = forecast_from_csv(frame)

    pd.testing.assert_frame_equal(forecast, pd.DataFrame({"date": pd.to_datetime(["2024-01-04", "2024-01-05"]),
                                                          "predicted_close": [103.0, 104.5]}))


@pytest.mark.parametrize(("text", "message"), [
    ("day,predicted_close\n2024-01-04,103.0\n",
     "expected the columns date, predicted_close (as predict writes them), got day, predicted_close"),
    ("date,predicted_close\n2024-01-04,103.0\n04/01/2024,104.0\n",
     "row 3: column date has '04/01/2024' (expected a date as YYYY-MM-DD)"),
    ("date,predicted_close\n2024-01-04,n/a\n", "row 2: column predicted_close has 'n/a' (expected a number)"),
    ("date,predicted_close\n2024-01-04,\n", "row 2: column predicted_close has no value (expected a number)"),
])
def test_a_forecast_csv_of_another_shape_is_refused(text, message):
    frame, _ = read_csv_table(io.StringIO(text))

    with pytest.raises(ValueError) as error:
        forecast_from_csv(frame)

    assert str(error.value) == message


def write_batch(folder, batch: int, forecast_text: str, prices: dict[str, pd.DataFrame],
                test: dict[str, dict]) -> None:
    """One batch's files as predict, prepare and evaluate write them: the forecast CSV (a ticker column first),
    the features parquet (each ticker's prices, in long format) and the test metrics JSON."""
    for name in ("forecast", "features", "evaluate"):
        (folder / name).mkdir(exist_ok=True)
    (folder / "forecast" / f"batch_{batch}.csv").write_text(forecast_text, encoding="utf-8")
    write_parquet(long_table(prices), folder / "features" / f"batch_{batch}.parquet")
    (folder / "evaluate" / f"batch_{batch}.json").write_text(
        json.dumps({"scope": "ticker", "tickers": test, "skipped": {}}), encoding="utf-8")


def run_monitor(folder, plots: str = "") -> subprocess.CompletedProcess:
    """src/monitor.py run for real in ``folder`` on its batches; history.csv in ``folder`` is read and extended.
    ``plots``: a plots section of params.yaml."""
    batches = list(range(len(list((folder / "forecast").glob("batch_*.csv")))))
    (folder / "params.yaml").write_text(f"data:\n  batches: {batches}\nmonitor:\n  window: 20\n  min_scored: 1\n"
                                        f"{plots}", encoding="utf-8")
    return subprocess.run([sys.executable, STAGE, "forecast", "features", "evaluate", "--history", "history.csv",
                           "--report", "monitor.json", "--plots", "plots"], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "STOCKPIPE_PARAMS": "params.yaml"}, timeout=120)


def run_stage(folder, forecast_text: str, prices: dict[str, pd.DataFrame] | None = None,
              test: dict[str, dict] | None = None) -> subprocess.CompletedProcess:
    """The stage on one batch: ``forecast_text``, each ticker's ``prices`` (by default TICKER's up to the 3rd) and
    ``test`` (by default TEST for each of them)."""
    prices = {TICKER: up_to("2024-01-03")} if prices is None else prices
    write_batch(folder, 0, forecast_text, prices, dict.fromkeys(prices, TEST) if test is None else test)
    return run_monitor(folder)


def test_the_stage_records_predicts_forecast(tmp_path):
    result = run_stage(tmp_path, "ticker,date,predicted_close,lower,upper\n"
                                 "^GSPC,2024-01-04,103.0,100.0,106.0\n^GSPC,2024-01-05,104.0,100.0,108.0\n")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "history.csv").read_text(encoding="utf-8") == HEADER + (
        "^GSPC,2024-01-03,2024-01-04,1,103.000000,,102.000000\n^GSPC,2024-01-03,2024-01-05,2,104.000000,,102.000000\n")
    report = json.loads((tmp_path / "monitor.json").read_text(encoding="utf-8"))
    assert (report["tickers_monitored"], report["drifting"], list(report["tickers"])) == (1, [], [TICKER])
    assert report["tickers"][TICKER]["forecasts"] == 1
    # The fan chart: the closes, then the forecast; a file without the 50% band draws the 90% one only.
    fan = pd.read_csv(tmp_path / "plots" / "fan.csv")
    assert fan["date"].tolist() == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    assert fan["upper"].tolist()[2:] == [106.0, 108.0] and fan["upper_50"].isna().tolist() == [True, False, True, True]
    assert (tmp_path / "plots" / "fan.png").read_bytes()[:4] == b"\x89PNG"


def test_a_plots_ticker_without_a_forecast_stops_the_stage_before_it_writes_anything(tmp_path):
    write_batch(tmp_path, 0, "ticker,date,predicted_close\n^GSPC,2024-01-04,103.0\n", {TICKER: up_to("2024-01-03")},
                {TICKER: TEST})

    result = run_monitor(tmp_path, plots="plots:\n  ticker: MSFT\n")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: params.yaml: plots.ticker: MSFT has no results (not in data.tickers, or skipped); use one of ^GSPC")
    assert not (tmp_path / "history.csv").exists() and not (tmp_path / "monitor.json").exists()


def test_a_band_that_is_not_a_number_is_one_line_naming_the_file_row_and_column(tmp_path):
    result = run_stage(tmp_path, "ticker,date,predicted_close,lower,upper\n^GSPC,2024-01-04,103.0,low,106.0\n")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].endswith(
        "batch_0.csv: row 2: column lower has 'low' (expected a number)")


def test_the_stage_monitors_every_ticker_of_every_batch_each_with_its_own_closes(tmp_path):
    write_batch(tmp_path, 0, "ticker,date,predicted_close\n^GSPC,2024-01-04,103.0\nAAPL,2024-01-04,40.0\n",
                {TICKER: up_to("2024-01-03"), OTHER: up_to("2024-01-03", OTHER_PRICES)}, {TICKER: TEST, OTHER: TEST})
    write_batch(tmp_path, 1, "ticker,date,predicted_close\nMSFT,2024-01-09,50.0\n",
                {"MSFT": PRICES.assign(close=[45.0, 46.0, 47.0, 48.0, 49.0])}, {"MSFT": TEST})

    result = run_monitor(tmp_path)

    assert result.returncode == 0, result.stderr
    # Each ticker's naive forecast is its own last close: 102 for ^GSPC, 39 for AAPL, 49 for MSFT.
    assert (tmp_path / "history.csv").read_text(encoding="utf-8") == HEADER + (
        "AAPL,2024-01-03,2024-01-04,1,40.000000,,39.000000\n"
        "^GSPC,2024-01-03,2024-01-04,1,103.000000,,102.000000\n"
        "MSFT,2024-01-08,2024-01-09,1,50.000000,,49.000000\n")
    report = json.loads((tmp_path / "monitor.json").read_text(encoding="utf-8"))
    assert (report["tickers_monitored"], list(report["tickers"])) == (3, ["AAPL", "MSFT", "^GSPC"])


def test_the_stage_leaves_out_a_ticker_without_test_metrics(tmp_path):
    # A ticker that evaluate skipped has a forecast from no model it can be judged against.
    result = run_stage(tmp_path, "ticker,date,predicted_close\n^GSPC,2024-01-04,103.0\nAAPL,2024-01-04,40.0\n",
                       {TICKER: up_to("2024-01-03"), OTHER: up_to("2024-01-03", OTHER_PRICES)}, {TICKER: TEST})

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "history.csv").read_text(encoding="utf-8") == HEADER + (
        "^GSPC,2024-01-03,2024-01-04,1,103.000000,,102.000000\n")
    assert list(json.loads((tmp_path / "monitor.json").read_text(encoding="utf-8"))["tickers"]) == [TICKER]


# The committed history after the pipeline is switched to another stock: ^GSPC forecasts made on the 3rd,
# the first one scored, the next two waiting for the 4th .. 8th, the days AAPL's prices are about to reach.
GSPC_LINES = ("^GSPC,2024-01-02,2024-01-03,1,4760.000000,4704.810059,4742.830078\n"
              "^GSPC,2024-01-03,2024-01-04,1,4710.000000,,4704.810059\n"
              "^GSPC,2024-01-03,2024-01-05,2,4715.000000,,4704.810059\n"
              "^GSPC,2024-01-03,2024-01-08,3,4720.000000,,4704.810059\n")


def gspc_lines(history_text: str) -> str:
    return "".join(line + "\n" for line in history_text.splitlines() if line.startswith("^GSPC,"))


def test_the_stage_scores_and_reports_its_own_ticker_only(tmp_path):
    (tmp_path / "history.csv").write_text(HEADER + GSPC_LINES, encoding="utf-8")
    # AAPL's forecast made on the 3rd, for the same days as ^GSPC's.
    first = run_stage(tmp_path, "ticker,date,predicted_close\nAAPL,2024-01-04,40.0\nAAPL,2024-01-05,41.0\n"
                                "AAPL,2024-01-08,43.0\n", {OTHER: up_to("2024-01-03", OTHER_PRICES)})
    assert first.returncode == 0, first.stderr
    assert "4 rows of other tickers (^GSPC) kept as they were" in first.stderr

    # Two sessions later: AAPL closed at 41 on the 4th and 42 on the 5th.
    second = run_stage(tmp_path, "ticker,date,predicted_close\nAAPL,2024-01-08,44.0\nAAPL,2024-01-09,45.0\n",
                       {OTHER: up_to("2024-01-05", OTHER_PRICES)})

    assert second.returncode == 0, second.stderr
    text = (tmp_path / "history.csv").read_text(encoding="utf-8")
    assert gspc_lines(text) == GSPC_LINES
    # Each forecast's rows together, in the order the forecasts were made.
    assert text == HEADER + (
        "^GSPC,2024-01-02,2024-01-03,1,4760.000000,4704.810059,4742.830078\n"
        "AAPL,2024-01-03,2024-01-04,1,40.000000,41.000000,39.000000\n"
        "AAPL,2024-01-03,2024-01-05,2,41.000000,42.000000,39.000000\n"
        "AAPL,2024-01-03,2024-01-08,3,43.000000,,39.000000\n"
        "^GSPC,2024-01-03,2024-01-04,1,4710.000000,,4704.810059\n"
        "^GSPC,2024-01-03,2024-01-05,2,4715.000000,,4704.810059\n"
        "^GSPC,2024-01-03,2024-01-08,3,4720.000000,,4704.810059\n"
        "AAPL,2024-01-05,2024-01-08,1,44.000000,,42.000000\n"
        "AAPL,2024-01-05,2024-01-09,2,45.000000,,42.000000\n")
    monitor = json.loads((tmp_path / "monitor.json").read_text(encoding="utf-8"))
    assert (monitor["tickers_monitored"], list(monitor["tickers"])) == (1, [OTHER])
    report = monitor["tickers"][OTHER]
    # AAPL's first step: 40 against 41, naive 39; its second 41 against 42. ^GSPC's scored row is not counted.
    assert (report["ticker"], report["forecasts"], report["forecasts_scored"], report["n_scored"]) == (OTHER, 2, 1, 2)
    assert (report["last_forecast_made_on"], report["last_scored_date"]) == ("2024-01-05", "2024-01-05")
    assert report["first_step"] == {"n": 1, "rmse": 1.0, "mae": 1.0, "naive_rmse": 2.0, "naive_mae": 2.0,
                                    "skill": 0.5}
    assert report["all_steps"]["rmse"] == pytest.approx(1.0)
    assert report["all_steps"]["naive_rmse"] == pytest.approx(math.sqrt((4 + 9) / 2))


def test_the_stage_refuses_a_history_without_its_ticker_column_and_writes_nothing(tmp_path):
    old = OLD_HEADER + "2024-01-03,2024-01-04,1,4710.000000,,4704.810059\n"
    (tmp_path / "history.csv").write_text(old, encoding="utf-8")

    result = run_stage(tmp_path, "ticker,date,predicted_close\nAAPL,2024-01-04,40.0\n",
                       {OTHER: up_to("2024-01-03", OTHER_PRICES)})

    assert result.returncode == 1
    assert result.stderr == (
        "error: history.csv: no ticker column (a history written before each forecast recorded its ticker): add "
        "ticker as the first column, each row holding the ticker its forecast was made for\n")
    assert (tmp_path / "history.csv").read_text(encoding="utf-8") == old
    assert not (tmp_path / "monitor.json").exists()


@pytest.mark.parametrize(("text", "problem"), [
    ("", "empty file (expected a header line, then one line per row)"),
    ("ticker,day,predicted_close\n^GSPC,2024-01-04,103.0\n",
     "expected the columns date, predicted_close (as predict writes them), got day, predicted_close"),
    ("date,predicted_close\n2024-01-04,103.0\n",
     "no ticker column (expected ticker, date, predicted_close, ... as predict writes them; rerun predict)"),
], ids=["empty", "no date column", "no ticker column"])
def test_the_stage_refuses_a_bad_forecast_file_in_one_line_and_writes_nothing(tmp_path, text, problem):
    result = run_stage(tmp_path, text)

    assert result.returncode == 1
    assert result.stderr == f"error: forecast/batch_0.csv: {problem}\n"
    assert not (tmp_path / "history.csv").exists() and not (tmp_path / "monitor.json").exists()
