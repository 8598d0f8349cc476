"""Real `dvc repro` with news.source [csv, stocktwits], StockTwits served on 127.0.0.1 with the real messages."""

import json

import pytest

from stockpipe import columns as col
from stockpipe.adapters.io import read_parquet
from stockpipe.social import text_for_scoring
from tests.http_server import NO_PROXY, LocalServer, Reply
from tests.pipeline.conftest import TINY_PARAMS, copy_project, stages_run
from tests.social_formats import STOCKTWITS_NOT_FOUND, shared_messages, stocktwits_pages

pytestmark = pytest.mark.pipeline

STREAM = "/api/2/streams/symbol/AAPL.json"
ARCHIVE = "data/archive/social_posts.csv"
CSV = (
    "date,headline\n"
    "2024-07-29 10:00:00-04:00,Apple shares rise after iPhone sales beat estimates\n"
    "2024-07-26,Apple falls on supply worries\n"
)
# The stream is newest first: the first run sees all but the newest 9 of the 90 messages (90%).
NEW = 9


def distinct_texts(messages) -> set[str]:
    return {text_for_scoring(" ".join(message["body"].split())) for message in messages}


def coverage_of(project) -> dict:
    return json.loads((project.path / "metrics/news_coverage.json").read_text())


@pytest.fixture(scope="module")
def server():
    with LocalServer() as server:
        yield server


@pytest.fixture(scope="module")
def messages(shared_data):
    return shared_messages(shared_data, "AAPL")


@pytest.fixture(scope="module")
def social_project(tmp_path_factory, server, shared_data, messages):
    project = copy_project(tmp_path_factory.mktemp("social_project"))
    project.env.update(NO_PROXY)
    (project.path / "data/external/headlines.csv").write_text(CSV, encoding="utf-8")
    project.set_params(TINY_PARAMS)
    project.set_params({
        "data": {"source": "csv", "path": str(shared_data / "prices" / "AAPL_1980_2024.csv"), "tickers": ["AAPL"],
                 "start": "2021-01-01"},
        "news": {"source": ["csv", "stocktwits"], "path": "data/external/headlines.csv",
                 "base_url": {"stocktwits": server.url}},
    })
    project.commit("news and stocktwits")
    server.serve(STREAM, *stocktwits_pages(messages[NEW:]))
    project.first_run = project.dvc("repro", "prepare@0")
    return project


def test_one_run_builds_features_with_news_and_social_columns(social_project, messages):
    assert {"download_news", "sentiment", "prepare@0"} <= stages_run(social_project.first_run.stdout)
    features = read_parquet(social_project.path / "data/processed/batch_0.parquet")
    assert {*col.SENTIMENT_COLUMNS, *col.SOCIAL_COLUMNS} <= set(features.columns)
    # The prices end in 2024 and the posts are of 2026: no price row has posts, and every
    # session shows that through its count (with neutral values), as a session without news does.
    assert (features[col.SOCIAL_COUNT] == 0).all() and (features[col.SOCIAL_BULL_SHARE] == 0.5).all()
    assert features[col.NEWS_COUNT].sum() == 2
    daily = read_parquet(social_project.path / "data/interim/sentiment/batch_0.parquet")
    assert daily[col.SOCIAL_COUNT].sum() == 90 - NEW and daily[col.NEWS_COUNT].sum() == 2

    archive = (social_project.path / ARCHIVE).read_text(encoding="utf-8").splitlines()
    assert len(archive) == 1 + 90 - NEW
    ticker = coverage_of(social_project)["by_ticker"]["AAPL"]
    stocktwits = ticker["social"]["stocktwits"]
    labels = [(message["entities"].get("sentiment") or {}).get("basic") for message in messages[NEW:]]
    assert stocktwits == {"posts": 90 - NEW, "first": "2026-05-29", "last": "2026-05-31",
                          "bullish": labels.count("Bullish"), "bearish": labels.count("Bearish"), "requests": 3,
                          "items": 90 - NEW, "items_dropped": 0, "more": False, "new": 90 - NEW}
    assert ticker["by_source"]["csv"]["headlines"] == 2 and "errors" not in ticker
    distinct = len(distinct_texts(messages[NEW:]))
    assert f"{90 - NEW} posts ({distinct} distinct texts: {distinct} scored, 0 from the cache)" in \
        social_project.first_run.stderr


def test_a_rerun_with_ten_percent_new_posts_scores_only_those(social_project, server, messages):
    server.serve(STREAM, *stocktwits_pages(messages))

    download = social_project.dvc("repro", "-f", "download_news")
    result = social_project.dvc("repro", "sentiment")

    assert "sentiment" in stages_run(result.stdout), download.stdout
    old, everything = distinct_texts(messages[NEW:]), distinct_texts(messages)
    new = len(everything - old)
    assert 0 < new <= NEW
    assert f"90 posts ({len(everything)} distinct texts: {new} scored, {len(everything) - new} from the cache)" in \
        result.stderr
    # The headlines were all scored before.
    assert "2 headlines (2 distinct: 0 scored, 2 from the cache)" in result.stderr
    assert len((social_project.path / ARCHIVE).read_text(encoding="utf-8").splitlines()) == 1 + 90
    assert coverage_of(social_project)["by_ticker"]["AAPL"]["social"]["stocktwits"]["new"] == NEW


def test_a_failed_social_feed_beside_the_news_file_is_a_warning(social_project, server):
    server.serve(STREAM, Reply(404, STOCKTWITS_NOT_FOUND, "application/json"))
    before = (social_project.path / ARCHIVE).read_bytes()

    result = social_project.dvc("repro", "-f", "download_news")

    assert "gave no posts" in result.stderr
    ticker = coverage_of(social_project)["by_ticker"]["AAPL"]
    assert ticker["errors"] == {"stocktwits": "stocktwits AAPL: StockTwits does not know the symbol AAPL (HTTP 404: "
                                              "Symbol not found)"}
    # The archive keeps every post; the features still get them.
    assert (social_project.path / ARCHIVE).read_bytes() == before
    assert ticker["social"]["stocktwits"]["posts"] == 90


def test_every_requested_source_failing_stops_with_one_line_and_keeps_the_archive(social_project, server):
    server.serve(STREAM, Reply(200, "<!DOCTYPE html><html><body>Just a moment...</body></html>", "text/html"))
    social_project.set_params({"news": {"source": ["stocktwits"]}})
    before = (social_project.path / ARCHIVE).read_bytes()

    result = social_project.dvc("repro", "download_news", check=False)

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: ticker AAPL: every requested source failed: stocktwits AAPL: got an HTML page "
                      "(HTTP 200) where JSON was expected"]
    assert "Traceback" not in result.stderr
    assert (social_project.path / ARCHIVE).read_bytes() == before
