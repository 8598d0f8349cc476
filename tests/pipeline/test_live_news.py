"""Real `dvc repro` of the news stages with several sources, the live ones served on 127.0.0.1."""

import json

import pytest

from stockpipe.adapters.io import read_parquet
from tests.http_server import NO_PROXY, LocalServer, Reply
from tests.news_formats import GOOGLE_RSS, YAHOO_RSS, article, finnhub_item
from tests.pipeline.conftest import TINY_PARAMS, copy_project, stages_run

pytestmark = pytest.mark.pipeline

KEY = "PIPELINEKEY42"
CSV = (
    "date,headline\n"
    "2020-06-05 10:00:00-04:00,Apple shares rise after iPhone sales beat estimates\n"
    "2020-06-04,Markets steady ahead of the jobs report\n"
)


def json_reply(body):
    return Reply(200, json.dumps(body), "application/json")


@pytest.fixture(scope="module")
def server():
    with LocalServer() as server:
        server.serve("/rss/search", Reply(200, GOOGLE_RSS, "application/rss+xml"))
        server.serve("/rss/2.0/headline", Reply(200, YAHOO_RSS, "application/rss+xml"))
        server.serve("/api/v2/doc/doc", json_reply({"articles": [
            article("Apple &amp; Google plan a tracing app", "20200605T150000Z"),
            # The csv's story, seen by GDELT in the same session: counted once.
            article("Apple Shares Rise After iPhone Sales Beat Estimates", "20200605T160000Z"),
        ]}))
        server.serve("/api/v1/company-news", json_reply([finnhub_item(7, "Apple falls on supply worries", 1591371000)]))
        yield server


@pytest.fixture(scope="module")
def news_project(tmp_path_factory, server):
    project = copy_project(tmp_path_factory.mktemp("news_project"))
    project.env.update({**NO_PROXY, "FINNHUB_API_KEY": KEY})
    (project.path / "data/external/headlines.csv").write_text(CSV, encoding="utf-8")
    project.set_params(TINY_PARAMS)
    project.set_params({"news": {
        "source": ["csv", "rss", "gdelt", "finnhub"], "path": "data/external/headlines.csv", "query": "Apple Inc",
        "start": "2020-06-01", "end": "2020-06-05",
        "base_url": {feed: server.url for feed in ("google_news", "yahoo_finance", "gdelt", "finnhub")},
    }})
    project.commit("four news sources")
    project.first_run = project.dvc("repro", "sentiment")
    return project


def test_sources_are_combined_with_duplicates_counted_once(news_project, server):
    assert stages_run(news_project.first_run.stdout) == {"download_news", "sentiment"}
    coverage = json.loads((news_project.path / "metrics/news_coverage.json").read_text())
    # One ticker (the default universe, ^GSPC): its counts are the totals.
    assert list(coverage["by_ticker"]) == ["^GSPC"]
    ticker = coverage["by_ticker"]["^GSPC"]
    assert {key: ticker[key] for key in ("headlines", "duplicates_dropped", "first", "last")} == {
        key: coverage[key] for key in ("headlines", "duplicates_dropped", "first", "last")}
    by_source = {feed: report["headlines"] for feed, report in ticker["by_source"].items()}
    assert by_source == {"csv": 2, "google_news": 3, "yahoo_finance": 1, "gdelt": 2, "finnhub": 1}
    # Google's and GDELT's copies of the csv's Apple story fall in the csv's session.
    assert coverage["duplicates_dropped"] == 2 and coverage["headlines"] == 7
    assert (coverage["first"], coverage["last"]) == ("2020-06-04", "2020-06-06")
    assert ticker["by_source"]["finnhub"]["requests"] == 1
    news = read_parquet(news_project.path / "data/raw/news.parquet")
    assert news["source"].value_counts().to_dict() == {"google_news": 2, "csv": 2, "yahoo_finance": 1, "gdelt": 1,
                                                       "finnhub": 1}
    daily = read_parquet(news_project.path / "data/interim/sentiment/batch_0.parquet")
    assert set(daily["ticker"]) == {"^GSPC"}
    assert daily["session"].dt.strftime("%Y-%m-%d").tolist() == ["2020-06-04", "2020-06-05", "2020-06-08"]
    # Friday: the csv story, GDELT's 11:00 and Finnhub's 11:30 (New York); after Friday's close and on
    # Saturday: Google's two and Yahoo's one, for Monday.
    assert daily["news_count"].tolist() == [1, 3, 3]
    finnhub_request = next(request for request in server.requests if request.path == "/api/v1/company-news")
    assert finnhub_request.query["token"] == KEY
    # The key lives in the environment only: not in params, the lock file or any output.
    for name in ("params.yaml", "dvc.lock", "metrics/news_coverage.json"):
        assert KEY not in (news_project.path / name).read_text()


def test_missing_key_is_one_line(news_project):
    del news_project.env["FINNHUB_API_KEY"]
    try:
        result = news_project.dvc("repro", "-f", "download_news", check=False)
    finally:
        news_project.env["FINNHUB_API_KEY"] = KEY
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: finnhub: no API key; set the environment variable FINNHUB_API_KEY (keys are read "
                      "from the environment only, never from params.yaml)"]
    assert "Traceback" not in result.stderr
