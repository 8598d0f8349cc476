"""VADER scores from the packaged lexicon, and their aggregation by trading session."""

import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.news import empty_news
from stockpipe.sentiment import daily_sentiment, empty_daily, make_analyzer, score_headlines, vader_lexicon_dir


@pytest.fixture(scope="module")
def analyzer():
    return make_analyzer()


def test_lexicon_comes_from_the_vadersentiment_package():
    assert (vader_lexicon_dir() / "vader_lexicon.txt").is_file()


def test_negative_positive_and_neutral_headlines(analyzer):
    headlines = pd.Series([
        "Stocks plunge as recession fears grow",
        "Apple shares soar to record high on strong earnings",
        "Fed meets on Wednesday",
    ], index=[10, 11, 12])

    scores = score_headlines(headlines, analyzer)

    assert scores.name == col.COMPOUND
    assert scores.index.tolist() == [10, 11, 12]
    assert scores.iloc[0] < -0.05
    assert scores.iloc[1] > 0.05
    assert scores.iloc[2] == 0.0


def test_scores_are_repeatable(analyzer):
    headline = pd.Series(["Markets rally as investors cheer strong jobs report"])

    assert score_headlines(headline, analyzer).iloc[0] == score_headlines(headline, make_analyzer()).iloc[0]


def news_at(*new_york_times):
    stamps = pd.to_datetime(list(new_york_times)).tz_localize("America/New_York").tz_convert("UTC")
    return pd.DataFrame({col.TIMESTAMP: stamps, col.HEADLINE: [f"h{i}" for i in range(len(stamps))]})


def test_daily_sentiment_counts_and_shares_by_session():
    news = news_at(
        "2020-06-05 10:00",  # Friday before the close
        "2020-06-05 17:00",  # Friday after the close: Monday
        "2020-06-06 09:00",  # Saturday: Monday
        "2020-06-08 09:00",  # Monday
        "2020-07-03 09:00",  # holiday: Monday 6 July
    )
    compound = pd.Series([-0.6, 0.5, 0.05, -0.05, 0.0])

    daily = daily_sentiment(news, compound, "XNYS")

    assert list(daily.columns) == [col.SESSION, *col.SENTIMENT_COLUMNS]
    assert daily[col.SESSION].tolist() == [pd.Timestamp(day) for day in ("2020-06-05", "2020-06-08", "2020-07-06")]
    assert daily[col.NEWS_COUNT].tolist() == [1, 3, 1]
    # Monday: (0.5 + 0.05 - 0.05) / 3; the thresholds +-0.05 count as positive and negative.
    assert daily[col.SENTIMENT_MEAN].tolist() == pytest.approx([-0.6, 0.5 / 3, 0.0])
    assert daily[col.SENTIMENT_POS_SHARE].tolist() == pytest.approx([0.0, 2 / 3, 0.0])
    assert daily[col.SENTIMENT_NEG_SHARE].tolist() == pytest.approx([1.0, 1 / 3, 0.0])
    assert str(daily[col.NEWS_COUNT].dtype) == "int64"


def test_daily_sentiment_of_scored_headlines(analyzer):
    news = news_at("2020-06-05 09:00", "2020-06-05 11:00")
    news[col.HEADLINE] = ["Stocks plunge as recession fears grow",
                          "Apple shares soar to record high on strong earnings"]

    daily = daily_sentiment(news, score_headlines(news[col.HEADLINE], analyzer), "XNYS")

    assert daily[col.NEWS_COUNT].tolist() == [2]
    assert daily[col.SENTIMENT_POS_SHARE].tolist() == [0.5]
    assert daily[col.SENTIMENT_NEG_SHARE].tolist() == [0.5]


def test_empty_news_gives_the_empty_table(analyzer):
    news = empty_news()

    daily = daily_sentiment(news, score_headlines(news[col.HEADLINE], analyzer), "XNYS")

    assert daily.empty
    assert daily.dtypes.to_dict() == empty_daily().dtypes.to_dict()
    assert list(daily.columns) == [col.SESSION, *col.SENTIMENT_COLUMNS]
