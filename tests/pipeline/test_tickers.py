"""Many tickers through real `dvc`: one model per ticker, a summary, and adding a ticker reruns only its stages."""

import json
import shutil

import pandas as pd
import pytest
import yaml

from stockpipe.io import read_parquet
from tests.pipeline.conftest import TINY_PARAMS, copy_project, stages_run

pytestmark = pytest.mark.pipeline

MAIN = {"train", "evaluate", "predict", "monitor"}


def test_second_sample_ticker_gets_its_own_model_and_a_summary_row(tmp_path):
    project = copy_project(tmp_path)
    project.set_params({**TINY_PARAMS, "data": {**TINY_PARAMS["data"], "tickers": ["^IXIC"]}})
    project.commit("tiny params, two tickers")

    result = project.dvc("repro")

    assert {"ticker_data@^IXIC", "ticker_model@^IXIC", "summary"} <= stages_run(result.stdout)
    nasdaq = read_parquet(project.path / "tickers/^IXIC/data/prices.parquet")
    sp500 = read_parquet(project.path / "data/raw/prices.parquet")
    assert nasdaq["date"].tolist() == sp500["date"].tolist()  # the same sessions, other prices
    assert nasdaq["close"].iloc[-1] == pytest.approx(6635.279785)  # NASDAQ Composite on 2018-12-31
    model_dir = project.path / "tickers/^IXIC/model"
    assert (model_dir / "models/model.keras").is_file()
    ran_with = yaml.safe_load((model_dir / "params.yaml").read_text())["data"]
    assert (ran_with["ticker"], ran_with["tickers"]) == ("^IXIC", [])
    forecast = pd.read_csv(model_dir / "forecast.csv")
    assert forecast["predicted_close"].iloc[0] > 5000
    summary = json.loads((project.path / "metrics/summary.json").read_text())
    assert list(summary["tickers"]) == ["^GSPC", "^IXIC"]
    ixic = json.loads((model_dir / "metrics.json").read_text())
    assert summary["tickers"]["^IXIC"]["rmse"] == ixic["rmse"]
    assert summary["beat_naive"] == sum(row["beats_naive"] for row in summary["tickers"].values())
    table = (project.path / "metrics/summary.md").read_text()
    assert "| ^GSPC |" in table and "| ^IXIC |" in table
    assert "up to date" in project.dvc("status").stdout


def test_adding_a_ticker_reruns_only_its_stages_and_a_model_param_only_the_models(tmp_path, shared_data):
    project = copy_project(tmp_path)
    external = project.path / "data/external"
    for ticker, name in (("GSPC", "GSPC_2000_2022.csv"), ("AAPL", "AAPL_1980_2024.csv"),
                         ("DJIA", "DJIA_2008_2016_dmy.csv")):
        shutil.copy(shared_data / "prices" / name, external / f"{ticker}.csv")
    data = {"source": "csv", "path": "data/external/{ticker}.csv", "ticker": "GSPC", "start": "2013-01-01",
            "end": "2016-06-30"}
    project.set_params({**TINY_PARAMS, "data": {**data, "tickers": ["AAPL"]}})
    project.commit("csv prices of three tickers")
    project.dvc("repro")
    project.commit("first run")

    project.set_params({"data": {"tickers": ["AAPL", "DJIA"]}})
    added = project.dvc("repro")

    assert stages_run(added.stdout) == {"ticker_data@DJIA", "ticker_model@DJIA", "summary"}
    summary = json.loads((project.path / "metrics/summary.json").read_text())
    assert list(summary["tickers"]) == ["GSPC", "AAPL", "DJIA"]
    project.commit("a third ticker")

    changed = project.dvc("exp", "run", "-S", "model.units=4")
    assert stages_run(changed.stdout) == MAIN | {"ticker_model@AAPL", "ticker_model@DJIA", "summary"}


def test_a_failing_ticker_names_the_ticker_and_stage_in_one_line_and_writes_nothing(tmp_path):
    project = copy_project(tmp_path)
    project.set_params({**TINY_PARAMS, "data": {**TINY_PARAMS["data"], "tickers": ["AAPL"]}})

    result = project.dvc("repro", "ticker_data@AAPL", check=False)

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: ticker AAPL: stage download_prices: params.yaml: data.ticker: data.source 'sample' "
                      "ships ^GSPC (S&P 500), ^IXIC (NASDAQ Composite), not 'AAPL'; use data.source csv or a live "
                      "source for other tickers"]
    # No data folder, no temporary one, and not the ticker's folder either: it was made for the output.
    assert not (project.path / "tickers" / "AAPL").exists()
    assert not list((project.path / "tickers").glob(".*"))
