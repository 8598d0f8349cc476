"""Scoring headlines once each (cache, workers, the learned scorer's batches), reading scores as
classes and measuring them against labels by hand, sessions by hand across time zones, and the
decayed sentiment by hand."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe import sentiment
from stockpipe.adapters.io import read_parquet
from stockpipe.learned import LearnedScorer
from stockpipe.news import empty_news, parse_timestamps
from stockpipe.sentiment import (
    agreement,
    daily_sentiment,
    decayed_sentiment,
    empty_cache,
    empty_daily,
    polarity,
    score_headlines,
)

NEW_YORK = "America/New_York"
SRC = Path(__file__).resolve().parents[2] / "src"


def test_negative_positive_and_neutral_headlines(finance):
    headlines = pd.Series([
        "Stocks plunge as recession fears grow",
        "Apple shares soar to record high on strong earnings",
        "Fed meets on Wednesday",
    ], index=[10, 11, 12])

    scores, _, _ = score_headlines(headlines, finance)

    assert scores.name == col.COMPOUND
    assert scores.index.tolist() == [10, 11, 12]
    assert scores.iloc[0] < -0.05
    assert scores.iloc[1] > 0.05
    assert scores.iloc[2] == 0.0


def test_each_distinct_headline_is_scored_once_and_cached(vader):
    headlines = pd.Series(["Markets rally", "Stocks fall", "Markets rally"])

    scores, cache, counts = score_headlines(headlines, vader)

    assert counts == {"headlines": 3, "distinct": 2, "reused": 0, "scored": 2}
    assert scores.iloc[0] == scores.iloc[2] == vader.compound("Markets rally")
    assert len(cache) == 2
    assert set(cache[col.LEXICON]) == {vader.fingerprint}
    assert cache.dtypes.to_dict() == empty_cache().dtypes.to_dict()


def test_a_rerun_scores_only_new_headlines(vader, monkeypatch):
    _, cache, _ = score_headlines(pd.Series(["Markets rally", "Stocks fall"]), vader)
    calls = []
    monkeypatch.setattr(vader, "compound", lambda text: calls.append(text) or 0.5)

    scores, cache, counts = score_headlines(pd.Series(["Stocks fall", "Oil jumps", "Markets rally"]), vader, cache)

    assert calls == ["Oil jumps"]
    assert counts == {"headlines": 3, "distinct": 3, "reused": 2, "scored": 1}
    assert scores.iloc[1] == 0.5
    assert len(cache) == 3


def test_scores_of_another_lexicon_are_not_reused(vader, finance):
    _, cache, _ = score_headlines(pd.Series(["Stocks plunge"]), vader)

    scores, cache, counts = score_headlines(pd.Series(["Stocks plunge"]), finance, cache)

    assert counts["scored"] == 1
    assert scores.iloc[0] < -0.05  # vader_finance knows "plunge"; plain VADER scores it 0
    assert sorted(cache[col.LEXICON]) == sorted([vader.fingerprint, finance.fingerprint])


def test_worker_processes_give_the_same_scores(finance, monkeypatch, shared_data):
    headlines = pd.read_csv(shared_data / "news" / "guardian_headlines_2017_2020.csv")["Headlines"].iloc[:3000]
    monkeypatch.setattr(sentiment, "PARALLEL_MIN_HEADLINES", 100)

    serial, _, _ = score_headlines(headlines, finance, workers=1)
    parallel, _, counts = score_headlines(headlines, finance, workers=2)

    pd.testing.assert_series_equal(serial, parallel)
    assert counts["scored"] == counts["distinct"] > 2900


def test_polarity_reads_scores_by_vaders_thresholds_inclusive():
    scores = [0.05, 0.0499, 0.0, -0.0499, -0.05, 1.0, -1.0]

    assert polarity(scores).tolist() == ["bullish", "neutral", "neutral", "neutral", "bearish", "bullish", "bearish"]
    assert polarity(np.array([])).tolist() == []


def test_agreement_by_hand_with_all_three_classes():
    labels = np.array(["bearish", "bearish", "neutral", "neutral", "neutral", "bullish"])
    scores = np.array([-0.5, -0.05, 0.0, 0.0499, 0.05, 0.9])  # read as 2 bearish, 2 neutral, 2 bullish

    result = agreement(labels, scores)

    # 5 of 6 right. F1 per class: bearish 1; neutral precision 2/2, recall 2/3, so 0.8; bullish precision
    # 1/2, recall 1/1, so 2/3. Macro-F1 is their plain mean, (1 + 4/5 + 2/3) / 3 = 37/45, not the accuracy.
    assert result == {"accuracy": pytest.approx(5 / 6), "macro_f1": pytest.approx(37 / 45)}


def test_a_class_never_predicted_counts_as_f1_zero_in_the_macro_mean():
    labels = np.array(["bearish", "neutral", "bullish", "bullish"])
    scores = np.array([0.0, 0.01, 0.7, -0.02])  # read as neutral, neutral, bullish, neutral: no bearish

    result = agreement(labels, scores)

    # bearish 0 (never predicted); neutral precision 1/3, recall 1, so 1/2; bullish precision 1, recall 1/2,
    # so 2/3. Macro-F1 (0 + 1/2 + 2/3) / 3 = 7/18.
    assert result == {"accuracy": pytest.approx(2 / 4), "macro_f1": pytest.approx(7 / 18)}


def spy_on_batches(scorer, monkeypatch) -> list[list[str]]:
    """Record each batch of texts the scorer is asked to score, and score it as before."""
    batches = []
    score = scorer.compound_many
    monkeypatch.setattr(scorer, "compound_many", lambda texts: batches.append(list(texts)) or score(texts))
    return batches


def test_the_learned_scorer_scores_each_distinct_text_once_in_one_batch(learned_scorer, monkeypatch):
    headlines = pd.Series(["Stocks plunge as recession fears grow", "Apple shares soar to record high",
                           "Stocks plunge as recession fears grow"], index=[5, 6, 7])
    batches = spy_on_batches(learned_scorer, monkeypatch)

    scores, cache, counts = score_headlines(headlines, learned_scorer, workers=4)

    assert batches == [["Stocks plunge as recession fears grow", "Apple shares soar to record high"]]
    assert counts == {"headlines": 3, "distinct": 2, "reused": 0, "scored": 2}
    assert scores.index.tolist() == [5, 6, 7]
    assert scores.tolist() == learned_scorer.compound_many(headlines.tolist())
    assert cache[col.LEXICON].tolist() == [learned_scorer.fingerprint] * 2
    assert cache.dtypes.to_dict() == empty_cache().dtypes.to_dict()


def test_the_learned_scorer_reuses_the_cache_of_its_own_model_file_only(learned_scorer, monkeypatch, tmp_path):
    headlines = pd.Series(["Stocks plunge as recession fears grow", "Apple shares soar to record high"])
    first, cache, _ = score_headlines(headlines, learned_scorer)
    # The same model written with other bytes is another file, so another fingerprint.
    model = tmp_path / "model.json"
    model.write_text(json.dumps(learned_scorer.model.to_dict(), indent=1), encoding="utf-8")
    other = LearnedScorer.read(model)
    batches = spy_on_batches(learned_scorer, monkeypatch)

    again, cache, counts = score_headlines(headlines, learned_scorer, cache)
    _, cache, other_counts = score_headlines(headlines, other, cache)

    assert counts == {"headlines": 2, "distinct": 2, "reused": 2, "scored": 0}
    assert sum(len(batch) for batch in batches) == 0
    pd.testing.assert_series_equal(again, first)
    assert other.fingerprint != learned_scorer.fingerprint
    assert other_counts == {"headlines": 2, "distinct": 2, "reused": 0, "scored": 2}
    assert sorted(cache[col.LEXICON]) == sorted([learned_scorer.fingerprint] * 2 + [other.fingerprint] * 2)


def news_from(*stamps, timezone=NEW_YORK):
    """A news table from timestamp strings as a CSV would hold them."""
    parsed, unreadable = parse_timestamps(pd.Series(stamps), timezone)
    assert not unreadable.any()
    return pd.DataFrame({col.TIMESTAMP: parsed, col.HEADLINE: [f"h{i}" for i in range(len(stamps))]})


@pytest.mark.parametrize(("stamp", "session"), [
    ("2020-06-05 15:59", "2020-06-05"),  # Friday, a minute before the 16:00 close
    ("2020-06-05 16:00", "2020-06-05"),  # at the close: still that session
    ("2020-06-05 16:01", "2020-06-08"),  # a minute after: Monday
    ("2020-06-05 17:00", "2020-06-08"),  # Friday evening: Monday
    ("2020-06-06 11:00", "2020-06-08"),  # Saturday: Monday
    ("2020-06-05 10:30:00-04:00", "2020-06-05"),  # an offset is kept (10:30 in New York)
    ("2020-06-05 19:59:00Z", "2020-06-05"),  # 15:59 in New York (UTC-4 in June)
    ("2020-06-05 21:01:00+01:00", "2020-06-08"),  # 16:01 in New York
    ("2020-01-06 20:59:00+00:00", "2020-01-06"),  # January: New York is UTC-5, the close 21:00 UTC
    ("2020-06-05", "2020-06-05"),  # a date alone counts for that date's session
    ("2020-06-06", "2020-06-08"),  # a Saturday date: Monday
    ("2020-07-03 09:00", "2020-07-06"),  # Independence Day observed: the next session
    ("2020-07-03", "2020-07-06"),
    ("2019-11-29 12:59", "2019-11-29"),  # the day after Thanksgiving closes at 13:00
    ("2019-11-29 13:30", "2019-12-02"),
])
def test_the_session_a_headline_counts_for(stamp, session):
    daily = daily_sentiment(news_from(stamp), pd.Series([0.4]), "XNYS", halflife=5)

    assert daily[col.SESSION].tolist() == [pd.Timestamp(session)]


def test_times_without_offset_are_read_in_news_timezone():
    # 21:30 in London on Friday 5 June is 16:30 in New York: after the close.
    daily = daily_sentiment(news_from("2020-06-05 21:30", timezone="Europe/London"), pd.Series([0.4]), "XNYS", 5)

    assert daily[col.SESSION].tolist() == [pd.Timestamp("2020-06-08")]


def news_at(*new_york_times):
    stamps = pd.to_datetime(list(new_york_times)).tz_localize(NEW_YORK).tz_convert("UTC")
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

    daily = daily_sentiment(news, compound, "XNYS", halflife=5)

    assert list(daily.columns) == [col.SESSION, *col.SENTIMENT_COLUMNS]
    assert daily[col.SESSION].tolist() == [pd.Timestamp(day) for day in ("2020-06-05", "2020-06-08", "2020-07-06")]
    assert daily[col.NEWS_COUNT].tolist() == [1, 3, 1]
    # Monday: (0.5 + 0.05 - 0.05) / 3; the thresholds +-0.05 count as positive and negative.
    assert daily[col.SENTIMENT_MEAN].tolist() == pytest.approx([-0.6, 0.5 / 3, 0.0])
    assert daily[col.SENTIMENT_POS_SHARE].tolist() == pytest.approx([0.0, 2 / 3, 0.0])
    assert daily[col.SENTIMENT_NEG_SHARE].tolist() == pytest.approx([1.0, 1 / 3, 0.0])
    assert str(daily[col.NEWS_COUNT].dtype) == "int64"
    assert daily.dtypes.to_dict() == empty_daily().dtypes.to_dict()


def test_decayed_sentiment_by_hand():
    # Halflife 1 session: a headline loses half its weight per session. Sessions 1, 3 and 8
    # June 2020 are positions 0, 2 and 5 of the calendar (the weekend of 6-7 June ages nothing).
    sessions = pd.Series(pd.to_datetime(["2020-06-01", "2020-06-03", "2020-06-08"]))
    sums, counts = pd.Series([1.0, -0.5, 0.3]), pd.Series([2, 1, 1])

    decayed = decayed_sentiment(sessions, sums, counts, "XNYS", halflife=1)

    # 1 June: 1.0 / 2. 3 June, two sessions later: (0.25 * 1.0 - 0.5) / (0.25 * 2 + 1).
    # 8 June, three sessions later: (0.125 * -0.25 + 0.3) / (0.125 * 1.5 + 1).
    assert decayed.tolist() == pytest.approx([0.5, -0.25 / 1.5, 0.26875 / 1.1875])
    assert decayed.name == col.SENTIMENT_DECAYED


def test_decayed_sentiment_is_causal():
    sessions = pd.Series(pd.to_datetime(["2020-06-01", "2020-06-03", "2020-06-08"]))

    full = decayed_sentiment(sessions, pd.Series([1.0, -0.5, 0.3]), pd.Series([2, 1, 1]), "XNYS", 3)
    first_two = decayed_sentiment(sessions[:2], pd.Series([1.0, -0.5]), pd.Series([2, 1]), "XNYS", 3)

    assert full.iloc[:2].tolist() == first_two.tolist()


def test_longer_halflife_remembers_more():
    sessions = pd.Series(pd.to_datetime(["2020-06-01", "2020-06-08"]))
    sums, counts = pd.Series([1.0, -1.0]), pd.Series([1, 1])

    short = decayed_sentiment(sessions, sums, counts, "XNYS", halflife=0.5).iloc[-1]
    long = decayed_sentiment(sessions, sums, counts, "XNYS", halflife=50).iloc[-1]

    assert -1 < short < long < 0


def test_empty_news_gives_the_empty_table(finance):
    news = empty_news()
    scores, _, counts = score_headlines(news[col.HEADLINE], finance)

    daily = daily_sentiment(news, scores, "XNYS", halflife=5)

    assert counts == {"headlines": 0, "distinct": 0, "reused": 0, "scored": 0}
    assert daily.empty
    assert daily.dtypes.to_dict() == empty_daily().dtypes.to_dict()
    assert list(daily.columns) == [col.SESSION, *col.SENTIMENT_COLUMNS]


def test_the_stage_without_headlines_writes_empty_tables_and_never_imports_nltk(tmp_path):
    # news.source: none is the default, and importing NLTK alone takes over a second.
    empty_news().to_parquet(tmp_path / "news.parquet", index=False)
    (tmp_path / "params.yaml").write_text("data:\n  batches: [0, 1]\nsentiment:\n  lexicon: vader_finance\n",
                                          encoding="utf-8")
    run_stage_and_list_nltk = ("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], "
                               "run_name='__main__'); print([name for name in sys.modules if name.startswith('nltk')])")

    result = subprocess.run(
        [sys.executable, "-c", run_stage_and_list_nltk, str(SRC / "sentiment.py"), "news.parquet", "daily",
         "--cache", "cache.parquet", "--model", "model.json", "--posts", "posts.parquet"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(SRC), "STOCKPIPE_PARAMS": "params.yaml"},
        capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
    # One file per batch, each a long table with no rows: the ticker column, then the daily sentiment's.
    assert sorted(path.name for path in (tmp_path / "daily").iterdir()) == ["batch_0.parquet", "batch_1.parquet"]
    for batch in (0, 1):
        daily = read_parquet(tmp_path / "daily" / f"batch_{batch}.parquet")
        assert daily.empty and list(daily.columns) == [col.TICKER, col.SESSION, *col.SENTIMENT_COLUMNS]
        assert daily.drop(columns=col.TICKER).dtypes.to_dict() == empty_daily().dtypes.to_dict()
    cache = read_parquet(tmp_path / "cache.parquet")
    assert cache.empty and cache.dtypes.to_dict() == empty_cache().dtypes.to_dict()
