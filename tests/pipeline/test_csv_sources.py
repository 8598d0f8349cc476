"""The csv sources read every real file in ../shared/data as is, through real `dvc repro`.

One ticker in one batch (data.batches: [0]): a data.path without {ticker} is that ticker's file.
"""

import json

import pytest

from stockpipe.adapters.io import read_parquet
from tests.pipeline.conftest import TINY_PARAMS, copy_project

# Each stage's file of batch 0, and each ticker's rows in it.
RAW = "data/raw/prices/batch_0.parquet"
SENTIMENT = "data/interim/sentiment/batch_0.parquet"
PROCESSED = "data/processed/batch_0.parquet"

pytestmark = pytest.mark.pipeline

PRICE_FILES = {
    # file: (rows, first date, last date) as documented in shared/data/README.md
    "GSPC_2000_2022.csv": (5759, "2000-01-03", "2022-11-18"),
    "AAPL_1980_2024.csv": (10998, "1980-12-12", "2024-07-30"),
    "DJIA_2008_2016_dmy.csv": (1989, "2008-08-08", "2016-07-01"),
}


def rows_of(project, name: str, ticker: str):
    table = read_parquet(project.path / name)
    assert set(table["ticker"]) == {ticker}, name
    return table.drop(columns="ticker")


def read_json(project, name: str) -> dict:
    return json.loads((project.path / name).read_text())


@pytest.fixture(scope="module")
def csv_project(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("csv_project"))
    project.set_params(TINY_PARAMS)
    project.commit("tiny params")
    return project


@pytest.mark.parametrize("name", sorted(PRICE_FILES))
def test_price_file_is_read_and_cleaned_as_is(csv_project, shared_data, name):
    rows, first, last = PRICE_FILES[name]
    csv_project.set_params({"data": {"source": "csv", "path": str(shared_data / "prices" / name), "tickers": ["^GSPC"],
                                     "start": None}})
    csv_project.dvc("repro", "prepare@0")
    raw = rows_of(csv_project, RAW, "^GSPC")
    assert len(raw) == rows
    assert str(raw["date"].min().date()) == first and str(raw["date"].max().date()) == last
    report = read_json(csv_project, "metrics/prepare/batch_0.json")
    assert report["skipped"] == {}
    quality, features = report["tickers"]["^GSPC"]["data_quality"], report["tickers"]["^GSPC"]["features"]
    assert quality["source"] == "csv" and quality["rows_in"] == rows
    # The clean rows go on to the features (less their warm-up) in date order, one row a session.
    assert features["rows_in"] == quality["rows_out"]
    processed = rows_of(csv_project, PROCESSED, "^GSPC")
    assert processed["date"].is_monotonic_increasing and processed["date"].is_unique
    assert len(processed) == features["rows_out"] == quality["rows_out"] - features["warmup_rows_dropped"]


def test_benzinga_headlines_for_one_ticker(csv_project, shared_data):
    csv_project.set_params({
        "data": {"tickers": ["AAPL"]},
        "news": {"source": "csv", "path": str(shared_data / "news" / "benzinga_headlines_A-ACAT_2009_2020.csv")},
    })
    csv_project.dvc("repro", "sentiment")
    coverage = read_json(csv_project, "metrics/news_coverage.json")
    assert coverage["first"].startswith("2020-03") and coverage["last"].startswith("2020-06")
    assert list(coverage["by_ticker"]) == ["AAPL"]
    assert coverage["by_ticker"]["AAPL"]["headlines"] == coverage["headlines"]
    daily = rows_of(csv_project, SENTIMENT, "AAPL")
    # The README of shared/data: AAPL has headlines on about 65 trading days.
    assert 55 <= len(daily) <= 75
    assert daily["news_count"].sum() == coverage["headlines"]


def test_sp500_with_guardian_headlines_end_to_end(csv_project, shared_data):
    csv_project.set_params({
        "data": {"source": "csv", "path": str(shared_data / "prices" / "GSPC_2000_2022.csv"), "tickers": ["^GSPC"],
                 "start": "2016-01-01", "end": "2020-07-31"},
        "news": {"source": "csv", "path": str(shared_data / "news" / "guardian_headlines_2017_2020.csv")},
    })
    csv_project.dvc("repro")
    features = rows_of(csv_project, PROCESSED, "^GSPC")
    covered = features[(features["date"] >= "2017-12-18") & (features["date"] <= "2020-07-17")]
    share_with_news = (covered["news_count"] > 0).mean()
    assert share_with_news >= 0.9, share_with_news
    with_news = covered[covered["news_count"] > 0]
    for name in ("sentiment_mean", "sentiment_pos_share", "sentiment_neg_share", "sentiment_decayed"):
        assert with_news[name].notna().all() and (with_news[name] != 0).mean() > 0.8, name
    # Business news of 2018-2020 leans negative under vader_finance, and the decayed mean is smoother.
    assert with_news["sentiment_mean"].mean() < 0
    assert covered["sentiment_decayed"].std() < with_news["sentiment_mean"].std()
    # Before the first headline (2017-12-18) there is no score to carry: 0.
    assert (features.loc[features["date"] < "2017-12-18", "sentiment_decayed"] == 0).all()
    coverage = read_json(csv_project, "metrics/news_coverage.json")
    assert coverage["sources"] == ["csv"] and coverage["headlines"] == 17760 and coverage["duplicates_dropped"] == 0
    assert coverage["by_ticker"]["^GSPC"]["by_source"]["csv"]["rows_bad_date"] == 40
    assert (coverage["first"], coverage["last"]) == ("2017-12-17", "2020-07-18")
    metrics = read_json(csv_project, "metrics/evaluate/batch_0.json")["tickers"]["^GSPC"]
    assert metrics["n_test"] > 100


def test_sentiment_rerun_reuses_the_scores_it_has(csv_project, shared_data):
    news = {"source": "csv", "path": str(shared_data / "news" / "guardian_headlines_2017_2020.csv")}
    csv_project.set_params({"news": news, "sentiment": {"halflife": 5.0}})
    csv_project.dvc("repro", "sentiment")
    cache = read_parquet(csv_project.path / "data/interim/sentiment_scores.parquet")

    csv_project.set_params({"sentiment": {"halflife": 10.0}})
    result = csv_project.dvc("repro", "sentiment")

    # persist: true left the cache in place, so no headline was scored again.
    assert "17760 headlines (17756 distinct: 0 scored, 17756 from the cache)" in result.stderr
    assert len(read_parquet(csv_project.path / "data/interim/sentiment_scores.parquet")) == len(cache)
