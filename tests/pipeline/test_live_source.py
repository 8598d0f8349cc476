"""Real `dvc repro` with live sources, against a provider served on 127.0.0.1 by the test itself."""

import json
import uuid

import pandas as pd
import pytest

from stockpipe.adapters.io import read_parquet
from stockpipe.prices import load_sample
from tests import provider_formats as fmt
from tests.http_server import NO_PROXY, LocalServer, Reply
from tests.pipeline.conftest import TINY_PARAMS, copy_project, stages_run

pytestmark = pytest.mark.pipeline

GSPC_PATH = "/v8/finance/chart/%5EGSPC"
ALL_STAGES = {"download_prices", "download_news", "sentiment", "prepare@0", "train@0", "train_global",
              "evaluate@0", "predict@0", "monitor", "summary"}
FROM_DOWNLOAD = ALL_STAGES - {"download_news", "sentiment"}


def sample_from(start: str) -> pd.DataFrame:
    sample = load_sample()
    return sample[sample["date"] >= start].reset_index(drop=True)


def quality_of(project, ticker: str) -> dict:
    report = json.loads((project.path / "metrics/prepare/batch_0.json").read_text())
    assert list(report["tickers"]) == [ticker] and report["skipped"] == {}
    return report["tickers"][ticker]["data_quality"]


@pytest.fixture(scope="module")
def server():
    with LocalServer() as server:
        server.serve(GSPC_PATH, Reply(200, fmt.yahoo_chart(sample_from("2013-01-01"), symbol="^GSPC")))
        yield server


@pytest.fixture(scope="module")
def live_project(tmp_path_factory, server):
    """Tiny params, data from the local 'Yahoo' with data.end pinned, reproduced and committed."""
    project = copy_project(tmp_path_factory.mktemp("live_project"))
    project.env.update(NO_PROXY)
    project.set_params(TINY_PARAMS)
    project.set_params({"data": {"source": "yahoo", "base_url": server.url, "end": "2018-12-31"}})
    project.commit("yahoo, end pinned")
    result = project.dvc("repro")
    project.commit("first run")
    project.first_run = result
    return project


def test_pinned_end_downloads_once_and_is_cached(live_project, server):
    assert stages_run(live_project.first_run.stdout) == ALL_STAGES
    quality = quality_of(live_project, "^GSPC")
    assert (quality["source"], quality["adjusted"]) == ("yahoo", True)
    raw = read_parquet(live_project.path / "data/raw/prices/batch_0.parquet")
    assert set(raw["ticker"]) == {"^GSPC"}
    expected = sample_from("2013-01-01")
    assert raw["date"].tolist() == expected["date"].tolist()
    pd.testing.assert_series_equal(raw["close"], expected["close"])
    requests_before = len(server.requests)

    result = live_project.dvc("repro")

    assert stages_run(result.stdout) == set()
    assert len(server.requests) == requests_before


def test_failed_download_is_one_line_and_keeps_the_last_good_data(live_project, server):
    server.serve("/v8/finance/chart/NOPE", Reply(404, fmt.YAHOO_NOT_FOUND))
    raw = live_project.path / "data/raw/prices/batch_0.parquet"
    processed = live_project.path / "data/processed/batch_0.parquet"
    before, processed_before = raw.read_bytes(), processed.read_bytes()
    try:
        live_project.set_params({"data": {"tickers": ["NOPE"]}})
        result = live_project.dvc("repro", check=False)
        assert result.returncode != 0
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert errors == [
            "error: ticker NOPE: yahoo NOPE: unknown ticker (Yahoo: No data found, symbol may be delisted); the "
            "previous data/raw/prices (1 ticker) is kept"
        ]
        assert "Traceback" not in result.stderr
        # persist: true keeps DVC from deleting the output first; the stage writes atomically.
        assert raw.read_bytes() == before
        assert sorted(path.name for path in raw.parent.parent.iterdir()) == ["news.parquet", "prices", "social.parquet"]
        assert sorted(path.name for path in raw.parent.iterdir()) == ["batch_0.parquet"]
        assert processed.read_bytes() == processed_before
    finally:
        live_project.reset()


def test_failed_download_with_skip_leaves_the_ticker_out_and_lists_it(live_project, server):
    server.serve("/v8/finance/chart/NOPE", Reply(404, fmt.YAHOO_NOT_FOUND))
    try:
        live_project.set_params({"data": {"tickers": ["^GSPC", "NOPE"], "on_error": "skip"}})
        result = live_project.dvc("repro")
        assert "error:" not in result.stderr
        reason = "download_prices: yahoo NOPE: unknown ticker (Yahoo: No data found, symbol may be delisted)"
        summary = json.loads((live_project.path / "metrics/summary.json").read_text())
        assert (list(summary["tickers"]), summary["skipped"], summary["skipped_count"]) == (
            ["^GSPC"], {"NOPE": reason}, 1)
        assert f"- NOPE: {reason}" in (live_project.path / "metrics/summary.md").read_text()
        forecast = pd.read_csv(live_project.path / "metrics/forecast/batch_0.csv")
        assert set(forecast["ticker"]) == {"^GSPC"}
    finally:
        live_project.reset()


def test_refresh_reruns_downstream_only_when_the_downloaded_bytes_change(live_project, server):
    try:
        live_project.set_params({"data": {"end": None, "refresh": ["prices"]}})
        # The provider has nothing after 2018-12-31: the same bytes as the pinned download.
        result = live_project.dvc("repro")
        assert stages_run(result.stdout) == {"refresh@prices", "download_prices"}

        requests_before = len(server.requests)
        result = live_project.dvc("repro")
        assert stages_run(result.stdout) == {"refresh@prices"}
        assert len(server.requests) == requests_before + 1

        # A new session appears at the provider.
        newer = pd.concat([sample_from("2013-01-01"), fmt.frame([("2019-01-02", 2476.96, 2519.49, 2467.47,
                                                                  2510.03, 3733160000.0)])], ignore_index=True)
        server.serve(GSPC_PATH, Reply(200, fmt.yahoo_chart(newer, symbol="^GSPC")))
        result = live_project.dvc("repro")
        assert stages_run(result.stdout) == {"refresh@prices"} | FROM_DOWNLOAD
        forecast = pd.read_csv(live_project.path / "metrics/forecast/batch_0.csv")
        assert forecast["date"].iloc[0] == "2019-01-03"
    finally:
        server.serve(GSPC_PATH, Reply(200, fmt.yahoo_chart(sample_from("2013-01-01"), symbol="^GSPC")))
        live_project.reset()


def test_api_key_is_never_written_anywhere(live_project, server):
    # Made at run time, so the only place it can be found is where the pipeline wrote it.
    sentinel = f"SENTINEL{uuid.uuid4().hex}"
    live_project.env["ALPHAVANTAGE_API_KEY"] = sentinel
    try:
        live_project.set_params({"data": {"source": "alphavantage", "tickers": ["IBM"], "adjusted": False}})
        server.serve("/query", Reply(200, fmt.AV_NOTE))
        failed = live_project.dvc("repro", "download_prices", check=False)
        assert failed.returncode != 0
        assert [line for line in failed.stderr.splitlines() if line.startswith("error:")] == [
            "error: ticker IBM: alphavantage IBM: rate limit hit (Alpha Vantage: Thank you for using Alpha Vantage! "
            "Our standard API call frequency is 5 calls per minute and 500 calls per day. Please visit "
            "https://www.alphavantage.co/premium/ if you would like to target a higher API call frequency.); "
            "wait and run again; the previous data/raw/prices (1 ticker) is kept"]

        # A dropped connection is retried; the run then succeeds. The stage keeps urllib3's retry lines (the
        # retried URL, key redacted: tests/unit/test_sources.py) out of its log.
        asked = len(server.requests)
        server.serve("/query", Reply(drop=True), Reply(200, fmt.alphavantage_daily(sample_from("2013-01-01"))))
        passed = live_project.dvc("repro", "prepare@0")
        assert len(server.requests) == asked + 2 and "Retrying" not in passed.stderr
        assert server.requests[-1].query["apikey"] == sentinel
        quality = quality_of(live_project, "IBM")
        assert (quality["source"], quality["adjusted"]) == ("alphavantage", False)

        for output in (failed.stdout, failed.stderr, passed.stdout, passed.stderr):
            assert sentinel not in output
        written = [path for path in live_project.path.rglob("*") if path.is_file()]
        assert len(written) > 100
        assert [path for path in written if sentinel.encode() in path.read_bytes()] == []
    finally:
        del live_project.env["ALPHAVANTAGE_API_KEY"]
        live_project.reset()
