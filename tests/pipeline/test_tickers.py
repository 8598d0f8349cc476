"""Many tickers through real `dvc`: hashed batches, per-ticker results, failing tickers and data.tickers: all.

Every project reads real S&P 500 members (shared data, 2013-02-08 .. 2018-02-07) as
data.source csv from data/external/{ticker}_data.csv, with a tiny LSTM. Each fixture is
reproduced once per module and its tests run in file order.
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from stockpipe.universe import batch_of
from tests.pipeline.conftest import TINY_PARAMS, Project, copy_project, stages_run

pytestmark = pytest.mark.pipeline

PATH = "data/external/{ticker}_data.csv"
# TINY_PARAMS without its data.start (the shared files hold five years), two epochs.
TINY = {"model": TINY_PARAMS["model"], "train": {**TINY_PARAMS["train"], "epochs": 2}}

# 12 tickers in 3 batches: 0: AAPL JPM XOM WMT PFE, 1: MSFT AMZN KO PG, 2: JNJ INTC CSCO.
MANY = ["AAPL", "MSFT", "AMZN", "JPM", "XOM", "JNJ", "KO", "PG", "WMT", "INTC", "CSCO", "PFE"]
# Neither is the first of its batch: models trained before them in the same process must not change theirs.
ALONE = ["PG", "CSCO"]
SHORT = "APTV"  # 44 rows, fewer than the indicators' warm-up
BROKEN = "BAD"  # a copy of XOM's file with one close that is not a number
RESULT_FILES = ("metrics/evaluate/batch_{b}.json", "metrics/evaluate/batch_{b}.csv", "metrics/forecast/batch_{b}.csv")
UNIVERSE_STAGES = {"download_prices", "download_news", "train_global", "summary", "monitor"}


def prices(shared_data: Path, ticker: str) -> Path:
    return shared_data / "prices" / "sp500_5yr" / f"{ticker}_data.csv"


def csv_project(folder: Path, shared_data: Path, files: list[str], data: dict, **params) -> Project:
    """A copy of the project with the shared files of ``files`` in data/external/, committed."""
    project = copy_project(folder)
    for ticker in files:
        add_file(project, shared_data, ticker)
    project.set_params({**TINY, **params, "data": {"source": "csv", "path": PATH, **data}})
    project.commit("csv prices, tiny params")
    return project


def add_file(project: Project, shared_data: Path, ticker: str) -> None:
    if ticker == BROKEN:
        lines = prices(shared_data, "XOM").read_text().splitlines()
        fields = lines[600].split(",")
        fields[4] = "n/a?"  # date,open,high,low,close,volume,Name
        lines[600] = ",".join(fields)
        (project.path / PATH.format(ticker=BROKEN)).write_text("\n".join(lines) + "\n")
    else:
        shutil.copy(prices(shared_data, ticker), project.path / PATH.format(ticker=ticker))


def read_json(project: Project, name: str) -> dict:
    return json.loads((project.path / name).read_text())


def snapshot(project: Project, n_batches: int) -> dict[str, str]:
    """Every batch's result files and the summary, as text."""
    names = [name.format(b=b) for b in range(n_batches) for name in RESULT_FILES] + ["metrics/summary.json"]
    return {name: (project.path / name).read_text() for name in names}


def ticker_results(files: dict[str, str], ticker: str, n_batches: int) -> dict:
    """One ticker's metrics and its rows of the predictions and forecast files, from a snapshot."""
    batch = batch_of(ticker, n_batches)
    metrics_file, predictions_file, forecast_file = (name.format(b=batch) for name in RESULT_FILES)

    def rows(name: str) -> list[str]:
        return [line for line in files[name].splitlines() if line.startswith(f"{ticker},")]

    return {"metrics": json.loads(files[metrics_file])["tickers"][ticker], "predictions": rows(predictions_file),
            "forecast": rows(forecast_file)}


def leftovers(folder: Path, name: str) -> list[str]:
    """Files or folders in ``folder`` named after ``name``, temporary ones (.name.*.tmp) included."""
    return sorted(path.name for path in folder.glob(f"*{name}*")) if folder.is_dir() else []


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@dataclass
class Reproduced:
    project: Project
    first: dict[str, str]  # the first run's result files, as text


# --- One ticker alone gives what it gives among twelve ---------------------------------------------------------


@pytest.fixture(scope="module")
def many(tmp_path_factory, shared_data) -> Reproduced:
    """12 tickers in 3 batches, one model per ticker, reproduced and committed."""
    project = csv_project(tmp_path_factory.mktemp("many"), shared_data, MANY, {"tickers": MANY, "batches": [0, 1, 2]})
    project.dvc("repro")
    project.commit("first run")
    return Reproduced(project, snapshot(project, 3))


@pytest.fixture(scope="module")
def alone(tmp_path_factory, shared_data) -> dict[str, dict]:
    """Each ticker of ALONE as the only ticker of a project in one batch: its results."""
    project = csv_project(tmp_path_factory.mktemp("alone"), shared_data, ALONE,
                          {"tickers": ALONE[:1], "batches": [0]})
    results = {}
    for ticker in ALONE:
        project.set_params({"data": {"tickers": [ticker]}})
        project.dvc("repro")
        summary = read_json(project, "metrics/summary.json")
        assert list(summary["tickers"]) == [ticker] and summary["skipped"] == {}
        results[ticker] = ticker_results(snapshot(project, 1), ticker, 1)
    return results


def test_twelve_tickers_each_get_a_model_and_a_summary_row(many):
    summary = json.loads(many.first["metrics/summary.json"])
    assert sorted(summary["tickers"]) == sorted(MANY) and summary["count"] == 12 and summary["skipped"] == {}
    assert summary["beat_naive"] == sum(row["beats_naive"] for row in summary["tickers"].values())
    for batch in range(3):
        members = sorted(ticker for ticker in MANY if batch_of(ticker, 3) == batch)
        assert members, "each batch should hold some of the tickers"
        evaluated = json.loads(many.first[f"metrics/evaluate/batch_{batch}.json"])
        assert evaluated["scope"] == "ticker" and sorted(evaluated["tickers"]) == members
        trained = read_json(many.project, f"models/tickers/batch_{batch}/trained.json")
        assert sorted(trained["tickers"]) == members
        for ticker in members:
            assert (many.project.path / f"models/tickers/batch_{batch}/{ticker}/model.keras").is_file()
    assert read_json(many.project, "models/global/trained.json") == {"scope": "ticker", "tickers": []}


@pytest.mark.parametrize("ticker", ALONE)
def test_a_ticker_alone_gets_exactly_what_it_gets_among_twelve(many, alone, ticker):
    among = ticker_results(many.first, ticker, 3)
    by_itself = alone[ticker]
    assert len(among["predictions"]) > 100 and len(among["forecast"]) == 5
    for key in ("rmse", "naive_rmse", "skill"):
        assert by_itself["metrics"][key] == among["metrics"][key], key
    assert by_itself["metrics"] == among["metrics"]
    assert by_itself["predictions"] == among["predictions"]
    assert by_itself["forecast"] == among["forecast"]


# --- What reruns ----------------------------------------------------------------------------------------------


def test_adding_a_ticker_reruns_only_its_batch_and_the_universe_stages(many, shared_data):
    project, added = many.project, "ABT"
    batch = batch_of(added, 3)
    add_file(project, shared_data, added)
    project.set_params({"data": {"tickers": [*MANY, added]}})
    try:
        result = project.dvc("repro")
    finally:
        project.commit("a 13th ticker")

    # sentiment reruns only when the news changed (none here); train_global rewrites its note.
    assert stages_run(result.stdout) == UNIVERSE_STAGES | {f"{stage}@{batch}" for stage in
                                                           ("prepare", "train", "evaluate", "predict")}
    now = snapshot(project, 3)
    for other in {0, 1, 2} - {batch}:
        for name in RESULT_FILES:
            assert now[name.format(b=other)] == many.first[name.format(b=other)]
    assert ticker_results(now, added, 3)["metrics"]["n_test"] > 100
    summary = json.loads(now["metrics/summary.json"])
    assert sorted(summary["tickers"]) == sorted([*MANY, added]) and summary["count"] == 13
    assert read_json(project, "models/global/trained.json") == {"scope": "ticker", "tickers": []}


@pytest.fixture(scope="module")
def pooled(tmp_path_factory, shared_data) -> Reproduced:
    """model.scope global: KO (batch 0) and JNJ (batch 1) in one pooled model, reproduced and committed."""
    tickers = ["KO", "JNJ"]
    assert [batch_of(ticker, 2) for ticker in tickers] == [0, 1]
    project = csv_project(tmp_path_factory.mktemp("pooled"), shared_data, tickers,
                          {"tickers": tickers, "batches": [0, 1]}, model={**TINY["model"], "scope": "global"})
    project.dvc("repro")
    project.commit("first run")
    return Reproduced(project, snapshot(project, 2))


def test_with_one_pooled_model_adding_a_ticker_retrains_it_and_reevaluates_every_batch(pooled, shared_data):
    project, added = pooled.project, "INTC"
    assert batch_of(added, 2) == 1
    assert read_json(project, "models/global/trained.json")["tickers"] == ["JNJ", "KO"]
    add_file(project, shared_data, added)
    project.set_params({"data": {"tickers": ["KO", "JNJ", added]}})
    try:
        result = project.dvc("repro")
    finally:
        project.commit("a third ticker")

    # The pooled model changes, so every batch is evaluated and forecast again; batch 0's data and its
    # train@0 note do not.
    assert stages_run(result.stdout) == UNIVERSE_STAGES | {"prepare@1", "train@1", "evaluate@0", "evaluate@1",
                                                           "predict@0", "predict@1"}
    trained = read_json(project, "models/global/trained.json")
    assert trained["scope"] == "global" and trained["tickers"] == ["INTC", "JNJ", "KO"]
    for batch in (0, 1):
        assert read_json(project, f"models/tickers/batch_{batch}/trained.json") == {"scope": "global", "tickers": []}
    summary = read_json(project, "metrics/summary.json")
    assert summary["scope"] == "global" and sorted(summary["tickers"]) == ["INTC", "JNJ", "KO"]


def test_a_model_param_reruns_the_training_stages_onward_and_no_data_stage(pooled):
    project = pooled.project
    try:
        result = project.dvc("exp", "run", "-S", "model.units=4")
        assert stages_run(result.stdout) == {"train@0", "train@1", "train_global", "evaluate@0", "evaluate@1",
                                             "predict@0", "predict@1", "summary", "monitor"}
    finally:
        project.reset()


# --- Failing tickers ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def everything(tmp_path_factory, shared_data) -> tuple[Project, object]:
    """data.tickers: all over 5 matching files (3 good, SHORT, BROKEN) and 2 that do not match, in 3 batches.

    SHORT and BROKEN share batch 0, which ends up with no ticker at all. Returns the project and the
    result of its `dvc repro` (not checked here: a test says whether it passed).
    """
    assert [batch_of(ticker, 3) for ticker in (SHORT, BROKEN, "KO", "PG", "JNJ")] == [0, 0, 1, 1, 2]
    project = csv_project(tmp_path_factory.mktemp("everything"), shared_data, ["KO", "PG", "JNJ", SHORT, BROKEN],
                          {"tickers": "all", "batches": [0, 1, 2]})
    external = project.path / "data/external"
    shutil.copy(prices(shared_data, "AAPL"), external / "AAPL.csv")  # not {ticker}_data.csv
    (external / "notes.txt").write_text("where the files came from\n")
    return project, project.dvc("repro", check=False)


def test_all_finds_every_matching_file_and_the_summary_covers_each(everything):
    project, _ = everything
    summary = read_json(project, "metrics/summary.json")
    assert sorted(summary["tickers"]) == ["JNJ", "KO", "PG"] and summary["count"] == 3
    assert sorted([*summary["tickers"], *summary["skipped"]]) == sorted(["JNJ", "KO", "PG", SHORT, BROKEN])
    assert "AAPL" not in (project.path / "metrics/summary.md").read_text()
    for ticker in ("JNJ", "KO", "PG"):
        evaluated = read_json(project, f"metrics/evaluate/batch_{batch_of(ticker, 3)}.json")
        assert evaluated["tickers"][ticker]["n_test"] > 100


def test_with_all_a_broken_file_and_a_short_history_are_skipped_with_their_reasons(everything):
    project, _ = everything
    skipped = read_json(project, "metrics/summary.json")["skipped"]
    assert sorted(skipped) == sorted([BROKEN, SHORT])
    assert skipped[BROKEN].startswith(f"download_prices: data/external/{BROKEN}_data.csv: row 601: column close ")
    assert "'n/a?'" in skipped[BROKEN]
    assert skipped[SHORT].startswith("prepare: all 44 clean price rows are indicator warm-up")
    assert all("\n" not in reason for reason in skipped.values())
    assert read_json(project, "metrics/evaluate/batch_0.json") == {"scope": "ticker", "tickers": {},
                                                                  "skipped": skipped}


def test_with_all_a_batch_left_with_no_ticker_still_completes(everything):
    project, result = everything
    assert result.returncode == 0, [line for line in result.stderr.splitlines() if line.lower().startswith("error:")]
    assert sorted(read_json(project, "metrics/monitor.json")["tickers"]) == ["JNJ", "KO", "PG"]
    assert "up to date" in project.dvc("status").stdout


@pytest.fixture(scope="module")
def listed(tmp_path_factory, shared_data) -> Project:
    """KO, SHORT and BROKEN in data/external/, never reproduced, one batch."""
    return csv_project(tmp_path_factory.mktemp("listed"), shared_data, ["KO", SHORT, BROKEN],
                       {"tickers": ["KO"], "batches": [0]})


def test_with_a_list_a_broken_file_stops_download_prices_in_one_line_and_writes_nothing(listed):
    listed.set_params({"data": {"tickers": ["KO", BROKEN]}})

    result = listed.dvc("repro", check=False)

    assert result.returncode != 0
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and errors[0].startswith(f"error: ticker {BROKEN}: data/external/{BROKEN}_data.csv: "
                                                     f"row 601: column close has non-numeric value 'n/a?'"), errors
    assert "failed to reproduce 'download_prices'" in result.stderr
    # KO was read first, yet there is no batch file, no temporary folder (.prices.*.tmp) and no later output.
    assert not leftovers(listed.path / "data/raw", "prices")
    assert not (listed.path / "data/processed").exists()


def test_with_a_list_a_short_history_stops_prepare_in_one_line_and_writes_nothing(listed):
    listed.set_params({"data": {"tickers": ["KO", SHORT]}})

    result = listed.dvc("repro", check=False)

    assert result.returncode != 0
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and errors[0].startswith(f"error: ticker {SHORT}: all 44 clean price rows are "
                                                     "indicator warm-up"), errors
    assert "failed to reproduce 'prepare@0'" in result.stderr
    assert (listed.path / "data/raw/prices/batch_0.parquet").is_file()  # download_prices passed
    # KO was prepared first, yet neither the batch's features nor its report were written, nor a temporary file.
    assert not leftovers(listed.path / "data/processed", "batch_0")
    assert not leftovers(listed.path / "metrics/prepare", "batch_0")
    assert not (listed.path / "models/tickers").exists()
