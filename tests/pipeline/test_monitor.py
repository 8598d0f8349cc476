"""Replaying history with real dvc: forecast from data up to a day, add the next sessions, rerun, check the scores.

The packaged S&P 500 sample stands in for a live source: data.end is the day the forecast is
made, and moving it forward is what a refresh does when new sessions are published. A last run
switches the universe (data.tickers) to the NASDAQ Composite (also in the sample), whose own
earlier forecast is in the history: it is scored with NASDAQ closes, and the S&P 500 rows stay
as they were.
"""

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from stockpipe.adapters.io import read_parquet
from tests.pipeline.conftest import TINY_PARAMS, copy_project, stages_run

pytestmark = pytest.mark.pipeline

FIRST_END = "2018-12-14"  # a Friday: the forecast covers Mon 17 .. Fri 21 December
SECOND_END = "2018-12-19"  # three sessions later: the 17th, 18th and 19th have closed
FIRST_DATES = ["2018-12-17", "2018-12-18", "2018-12-19", "2018-12-20", "2018-12-21"]
# Christmas Day is not a session.
SECOND_DATES = ["2018-12-20", "2018-12-21", "2018-12-24", "2018-12-26", "2018-12-27"]
# The S&P 500 closes of those days, as the packaged sample (and the clean prices) have them.
CLOSES = {"2018-12-14": 2599.949951, "2018-12-17": 2545.939941, "2018-12-18": 2546.159912,
          "2018-12-19": 2506.959961}
HISTORY = "metrics/forecast_history.csv"
FROM_DOWNLOAD = {"download_prices", "prepare@0", "train@0", "train_global", "evaluate@0", "predict@0", "monitor",
                 "summary"}


def read_json(project, name: str) -> dict:
    return json.loads((project.path / name).read_text())


def snapshot(project, ticker: str = "^GSPC") -> SimpleNamespace:
    """What one run left for the one ticker of the universe (batch 0): its forecast, the history, its part of
    monitor.json and of the evaluate metrics, and its clean closes."""
    prices = read_parquet(project.path / "data/processed/batch_0.parquet")
    assert set(prices["ticker"]) == {ticker}
    forecast = pd.read_csv(project.path / "metrics/forecast/batch_0.csv")
    assert set(forecast["ticker"]) == {ticker}
    report = read_json(project, "metrics/monitor.json")
    assert (report["tickers_monitored"], list(report["tickers"])) == (1, [ticker])
    return SimpleNamespace(
        forecast=forecast.drop(columns="ticker"),
        history=pd.read_csv(project.path / HISTORY),
        history_bytes=(project.path / HISTORY).read_bytes(),
        report=report,
        monitor=report["tickers"][ticker],
        metrics=read_json(project, "metrics/evaluate/batch_0.json")["tickers"][ticker],
        close=dict(zip(prices["date"].dt.strftime("%Y-%m-%d"), prices["close"], strict=True)),
    )


@pytest.fixture(scope="module")
def replay(tmp_path_factory) -> SimpleNamespace:
    """Tiny params; a run on data up to FIRST_END, then one on data up to SECOND_END."""
    project = copy_project(tmp_path_factory.mktemp("monitor_project"))
    # A history committed in the working tree would be carried along; this replay starts from none.
    (project.path / HISTORY).unlink(missing_ok=True)
    project.set_params(TINY_PARAMS)
    project.set_params({"data": {"end": FIRST_END}, "monitor": {"min_scored": 1}})
    project.commit(f"data up to {FIRST_END}")
    first_run = project.dvc("repro")
    first = snapshot(project)
    project.commit("first run")
    project.set_params({"data": {"end": SECOND_END}})
    second_run = project.dvc("repro")
    second = snapshot(project)
    project.commit("second run")
    return SimpleNamespace(project=project, first_run=first_run, first=first, second_run=second_run, second=second)


def rows_made_on(history: pd.DataFrame, day: str) -> pd.DataFrame:
    return history[history["forecast_made_on"] == day].reset_index(drop=True)


def test_first_run_records_the_forecast_unscored(replay):
    first = replay.first
    assert "monitor" in stages_run(replay.first_run.stdout)
    assert first.forecast["date"].tolist() == FIRST_DATES
    assert max(first.close) == FIRST_END
    history = first.history
    assert history.columns.tolist() == ["ticker", "forecast_made_on", "date", "step", "predicted_close", "actual",
                                        "naive"]
    assert history["ticker"].tolist() == ["^GSPC"] * 5
    assert history["forecast_made_on"].tolist() == [FIRST_END] * 5
    assert history["date"].tolist() == FIRST_DATES
    assert history["step"].tolist() == [1, 2, 3, 4, 5]
    assert history["predicted_close"].tolist() == first.forecast["predicted_close"].tolist()
    # The naive forecast of every step: Friday the 14th's close.
    assert first.close[FIRST_END] == pytest.approx(CLOSES[FIRST_END], abs=5e-7)
    assert history["naive"].tolist() == [CLOSES[FIRST_END]] * 5
    assert history["actual"].isna().all()


def test_first_run_reports_nothing_scored(replay):
    monitor, metrics = replay.first.monitor, replay.first.metrics
    assert monitor["ticker"] == "^GSPC"
    assert (monitor["forecasts"], monitor["forecasts_scored"], monitor["n_scored"]) == (1, 0, 0)
    assert (monitor["last_forecast_made_on"], monitor["last_scored_date"]) == (FIRST_END, None)
    assert monitor["first_step"] == {"n": 0, "rmse": None, "mae": None, "naive_rmse": None, "naive_mae": None,
                                     "skill": None}
    assert monitor["all_steps"]["n"] == 0 and monitor["all_steps"]["rmse"] is None
    assert (monitor["test_rmse"], monitor["test_naive_rmse"]) == (metrics["rmse"], metrics["naive_rmse"])
    assert monitor["ratio"] is None and monitor["drift"] is None


def test_new_sessions_score_the_earlier_forecast_and_keep_its_values(replay):
    first, second = replay.first, replay.second
    assert stages_run(replay.second_run.stdout) == FROM_DOWNLOAD
    assert max(second.close) == SECOND_END
    earlier = rows_made_on(second.history, FIRST_END)
    # Nothing recorded on the 14th changed: the retrained model's forecast is a new one.
    assert earlier["predicted_close"].tolist() == first.history["predicted_close"].tolist()
    assert earlier["naive"].tolist() == first.history["naive"].tolist()
    # The 17th, 18th and 19th have closed; the 20th and 21st have not.
    assert [second.close[day] for day in FIRST_DATES[:3]] == pytest.approx([CLOSES[day] for day in FIRST_DATES[:3]],
                                                                           abs=5e-7)
    assert earlier["actual"].tolist()[:3] == [2545.939941, 2546.159912, 2506.959961]
    assert earlier["actual"].isna().tolist() == [False, False, False, True, True]
    # The forecast made on the 19th, from the retrained model, is recorded unscored.
    later = rows_made_on(second.history, SECOND_END)
    assert later["date"].tolist() == SECOND_DATES == second.forecast["date"].tolist()
    assert later["predicted_close"].tolist() == second.forecast["predicted_close"].tolist()
    assert later["naive"].tolist() == [CLOSES[SECOND_END]] * 5
    assert later["actual"].isna().all()
    assert len(second.history) == 10


def test_monitor_json_is_recomputed_from_the_scored_rows(replay):
    second = replay.second
    monitor, metrics = second.monitor, second.metrics
    scored = rows_made_on(second.history, FIRST_END).iloc[:3]
    actual, predicted, naive = (scored[name].to_numpy() for name in ("actual", "predicted_close", "naive"))
    assert (monitor["forecasts"], monitor["forecasts_scored"], monitor["n_scored"]) == (2, 1, 3)
    assert (monitor["last_forecast_made_on"], monitor["last_scored_date"]) == (SECOND_END, FIRST_DATES[2])

    # The first step is Monday the 17th alone.
    first_step = monitor["first_step"]
    assert first_step["n"] == 1
    assert first_step["rmse"] == pytest.approx(abs(predicted[0] - actual[0]), abs=1e-5)
    assert first_step["mae"] == pytest.approx(abs(predicted[0] - actual[0]), abs=1e-5)
    assert first_step["naive_rmse"] == pytest.approx(abs(naive[0] - actual[0]), abs=1e-5)
    all_steps = monitor["all_steps"]
    assert all_steps["n"] == 3
    assert all_steps["rmse"] == pytest.approx(math.sqrt(np.mean((predicted - actual) ** 2)), abs=1e-5)
    assert all_steps["mae"] == pytest.approx(np.mean(np.abs(predicted - actual)), abs=1e-5)
    assert all_steps["naive_rmse"] == pytest.approx(math.sqrt(np.mean((naive - actual) ** 2)), abs=1e-5)
    assert all_steps["naive_mae"] == pytest.approx(np.mean(np.abs(naive - actual)), abs=1e-5)

    # Beside the retrained model's test set; the ratio compares rmse / naive rmse live and on the test set.
    assert (monitor["test_rmse"], monitor["test_naive_rmse"]) == (metrics["rmse"], metrics["naive_rmse"])
    ratio = (first_step["rmse"] / first_step["naive_rmse"]) / (metrics["rmse"] / metrics["naive_rmse"])
    assert monitor["ratio"] == pytest.approx(ratio)
    assert monitor["drift"] is (ratio > 1.5)


def test_rerunning_the_monitor_adds_nothing(replay):
    project = replay.project
    assert stages_run(project.dvc("repro").stdout) == set()

    forced = project.dvc("repro", "--force", "--single-item", "monitor")

    assert stages_run(forced.stdout) == {"monitor"}
    assert (project.path / HISTORY).read_bytes() == replay.second.history_bytes
    assert read_json(project, "metrics/monitor.json") == replay.second.report
    assert "up to date" in project.dvc("status").stdout


# The NASDAQ Composite, forecast on FIRST_END for FIRST_DATES when the pipeline followed it before (carried
# in from another branch, say): the same (forecast_made_on, date) pairs as the S&P 500's first forecast.
IXIC_LINES = "".join(f"^IXIC,{FIRST_END},{day},{step},{6900 - 10 * step:.6f},,6910.660156\n"
                     for step, day in enumerate(FIRST_DATES, start=1))
THIRD_END = "2018-12-21"  # the 20th and 21st close: days both S&P 500 forecasts still wait for
THIRD_DATES = ["2018-12-24", "2018-12-26", "2018-12-27", "2018-12-28", "2018-12-31"]
IXIC_CLOSES = {"2018-12-17": 6753.729980, "2018-12-18": 6783.910156, "2018-12-19": 6636.830078,
               "2018-12-20": 6528.410156, "2018-12-21": 6332.990234}


def lines_of(history_bytes: bytes, ticker: str) -> list[str]:
    return [line for line in history_bytes.decode().splitlines() if line.startswith(f"{ticker},")]


@pytest.fixture(scope="module")
def switched(replay) -> SimpleNamespace:
    """After the replay: the NASDAQ forecast added to the history, then a run on ^IXIC with data up to THIRD_END."""
    project = replay.project
    with (project.path / HISTORY).open("a", encoding="utf-8") as history:
        history.write(IXIC_LINES)
    project.set_params({"data": {"tickers": ["^IXIC"], "end": THIRD_END}})
    project.commit("the NASDAQ Composite, up to the 21st")
    run = project.dvc("repro")
    return SimpleNamespace(project=project, run=run, snapshot=snapshot(project, "^IXIC"))


def test_another_ticker_leaves_the_first_tickers_rows_as_they_were(switched, replay):
    assert "monitor" in stages_run(switched.run.stdout)
    after = switched.snapshot.history_bytes
    assert lines_of(after, "^GSPC") == lines_of(replay.second.history_bytes, "^GSPC")
    # In particular the S&P 500 steps forecast for the 20th and 21st, days the NASDAQ prices now reach.
    gspc = switched.snapshot.history[switched.snapshot.history["ticker"] == "^GSPC"]
    assert gspc.loc[gspc["date"].isin(["2018-12-20", "2018-12-21"]), "actual"].isna().all()
    # Each forecast's rows together, in the order the forecasts were made.
    history = switched.snapshot.history
    assert list(zip(history["forecast_made_on"], history["ticker"], strict=True)) == (
        [(FIRST_END, "^GSPC")] * 5 + [(FIRST_END, "^IXIC")] * 5 + [(SECOND_END, "^GSPC")] * 5
        + [(THIRD_END, "^IXIC")] * 5)


def test_another_ticker_is_scored_with_its_own_closes(switched):
    snap = switched.snapshot
    assert max(snap.close) == THIRD_END
    assert [snap.close[day] for day in IXIC_CLOSES] == pytest.approx(list(IXIC_CLOSES.values()), abs=5e-7)
    earlier = rows_made_on(snap.history[snap.history["ticker"] == "^IXIC"], FIRST_END)
    assert earlier["date"].tolist() == FIRST_DATES
    assert earlier["actual"].tolist() == [IXIC_CLOSES[day] for day in FIRST_DATES]
    assert earlier["predicted_close"].tolist() == [6890.0, 6880.0, 6870.0, 6860.0, 6850.0]
    later = rows_made_on(snap.history, THIRD_END)
    assert later["ticker"].tolist() == ["^IXIC"] * 5
    assert later["date"].tolist() == THIRD_DATES == snap.forecast["date"].tolist()
    assert later["naive"].tolist() == [IXIC_CLOSES[THIRD_END]] * 5
    assert later["actual"].isna().all()


def test_monitor_json_covers_the_current_ticker_only(switched):
    monitor, metrics = switched.snapshot.monitor, switched.snapshot.metrics
    assert switched.snapshot.report["drifting"] == ([] if not monitor["drift"] else ["^IXIC"])
    assert monitor["ticker"] == "^IXIC"
    # Two NASDAQ forecasts, the earlier one scored on all five steps; none of the S&P 500's rows.
    assert (monitor["forecasts"], monitor["forecasts_scored"], monitor["n_scored"]) == (2, 1, 5)
    assert (monitor["last_forecast_made_on"], monitor["last_scored_date"]) == (THIRD_END, THIRD_END)
    assert monitor["first_step"]["n"] == 1
    assert monitor["first_step"]["rmse"] == pytest.approx(6890.0 - IXIC_CLOSES["2018-12-17"], abs=1e-5)
    assert monitor["first_step"]["naive_rmse"] == pytest.approx(6910.660156 - IXIC_CLOSES["2018-12-17"], abs=1e-5)
    assert monitor["all_steps"]["n"] == 5
    assert (monitor["test_rmse"], monitor["test_naive_rmse"]) == (metrics["rmse"], metrics["naive_rmse"])
