"""Intraday bars end to end: `dvc repro` on each shared intraday file, with tiny settings."""

import json

import pandas as pd
import pytest

from stockpipe.bars import session_hours
from tests.pipeline.conftest import copy_project

# Small enough to train in seconds on 16,000 bars; the forecast still crosses a night.
TINY = {"model": {"window": 10, "units": 8}, "train": {"epochs": 2, "batch_size": 256, "patience": 1},
        "predict": {"horizon": 12}}


@pytest.fixture(scope="module")
def intraday_project(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("intraday"))
    project.set_params(TINY)
    project.commit("tiny params")
    return project


@pytest.mark.parametrize(("name", "ticker", "interval", "extended_bars"), [
    ("AAPL_1h_2024_2025_utc.csv", "AAPL", "1h", 0),
    ("SPY_5min_2025_2026_eastern.csv", "SPY", "5m", 1256),
])
def test_forecast_bars_are_regular_hours_after_the_last_bar(intraday_project, shared_data, name, ticker, interval,
                                                            extended_bars):
    intraday_project.set_params({"data": {"source": "csv", "path": str(shared_data / "intraday" / name),
                                          "tickers": [ticker], "interval": interval}})
    intraday_project.dvc("repro")
    path = intraday_project.path
    quality = json.loads((path / "metrics" / "prepare" / "batch_0.json").read_text())["tickers"][ticker]["data_quality"]
    # Both files were written mid-session, and only SPY's has pre- and after-market bars.
    assert quality["partial_last_bar"] == 1
    assert quality["extended_hours_rows_dropped"] == extended_bars
    features = pd.read_parquet(path / "data" / "processed" / "batch_0.parquet")
    last = features["date"].max()
    forecast = pd.read_csv(path / "metrics" / "forecast" / "batch_0.csv")
    times = pd.to_datetime(forecast["date"], format="%Y-%m-%d %H:%M")
    hours = session_hours("XNYS", last, times.max())
    opens, closes = times.dt.normalize().map(hours["open"]), times.dt.normalize().map(hours["close"])
    assert len(times) == 12 and times.is_monotonic_increasing and times.iloc[0] > last
    assert (times >= opens).all() and (times < closes).all(), forecast["date"].tolist()
    # Twelve bars from a bar mid-session reach into the next session (5m) or beyond (1h): nights are skipped.
    assert times.dt.normalize().nunique() >= 2 if interval == "1h" else times.iloc[0] > last
    assert (forecast["lower"] < forecast["predicted_close"]).all()
    assert (forecast["predicted_close"] < forecast["upper"]).all()
    history = pd.read_csv(path / "metrics" / "forecast_history.csv")
    assert set(history.loc[history["ticker"] == ticker, "date"]) == set(forecast["date"])
    intraday_project.run("git", "reset", "-q", "--hard")


def test_a_five_minute_file_read_as_one_minute_fails_in_one_line(intraday_project, shared_data):
    path = shared_data / "intraday" / "SPY_5min_2025_2026_eastern.csv"
    intraday_project.set_params({"data": {"source": "csv", "path": str(path), "tickers": ["SPY"], "interval": "1m"}})
    raw = intraday_project.path / "data" / "raw" / "prices"
    before = {file.name: file.read_bytes() for file in raw.glob("*")}
    result = intraday_project.dvc("repro", "download_prices", check=False)
    assert result.returncode != 0
    assert f"{path}: row 2: bars are 5 min apart, not data.interval 1m" in result.stderr + result.stdout
    # Nothing half-written: the previous download (if any) is left as it was.
    assert {file.name: file.read_bytes() for file in raw.glob("*")} == before
    intraday_project.run("git", "reset", "-q", "--hard")
