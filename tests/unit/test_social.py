"""The post archive, post text for scoring, daily social columns and the score cache on posts."""

import io

import numpy as np
import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.features import build_features, feature_columns, join_sentiment
from stockpipe.sentiment import daily_sentiment, empty_daily, score_headlines
from stockpipe.social import (
    archive_records,
    daily_social,
    empty_daily_social,
    feed_coverage,
    join_posts,
    merge_posts,
    posts_frame,
    posts_from_archive,
    text_for_scoring,
)
from tests.unit.test_features import TINY, prices_of


def posts_of(rows, ticker="AAPL", feed="stocktwits"):
    """Posts from (id, time in UTC, label, text) rows."""
    ids, times, labels, texts = zip(*rows, strict=True) if rows else ([], [], [], [])
    return posts_frame(times, [feed] * len(ids), ticker, ids, labels, [None] * len(ids), [None] * len(ids), texts)


RUN_1 = posts_of([(1, "2026-05-29 14:00", "Bullish", "up"), (2, "2026-05-29 15:00", None, "flat"),
                  (3, "2026-05-29 21:00", "Bearish", "down, after the close")])
# The next day's stream: two posts already archived (one edited since: the archive keeps the first), one new.
RUN_2 = posts_of([(3, "2026-05-29 21:00", "Bearish", "edited text"), (2, "2026-05-29 15:00", None, "flat"),
                  (4, "2026-05-30 12:00", "Bullish", "weekend")])


def test_text_for_scoring_drops_cashtags_mentions_and_links():
    assert text_for_scoring("$AAPL $BRK.B to the moon!! @HappyTrader https://stkt.co/x www.a.com/b $200 soon") == \
        "to the moon!! $200 soon"
    # $LOVE would be scored as a word; it is a symbol.
    assert text_for_scoring("$LOVE\n $FUN") == ""


def test_archive_dedups_across_two_runs_and_keeps_order_by_time():
    archive, added = merge_posts(posts_of([]), RUN_1)
    assert added == 3
    archive, added = merge_posts(archive, RUN_2)

    assert added == 1
    assert archive[col.POST_ID].tolist() == ["1", "2", "3", "4"]
    assert archive[col.TEXT].tolist()[2] == "down, after the close"


def test_the_same_message_in_two_streams_counts_for_both_tickers():
    nvda = posts_of([(3, "2026-05-29 21:00", "Bearish", "down, after the close")], ticker="NVDA")

    archive, added = merge_posts(RUN_1, nvda)

    assert added == 1 and len(archive) == 4


def test_archive_file_round_trip():
    archive, _ = merge_posts(RUN_1, posts_of([(9, "2026-05-30 10:00", None, 'quote " and, comma NA')],
                                             feed="reddit"))
    text = archive_records(archive).to_csv(index=False, lineterminator="\n")

    assert text.splitlines()[1] == "2026-05-29T14:00:00Z,stocktwits,AAPL,1,Bullish,,,up"
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    back = posts_from_archive(table, "archive.csv")
    pd.testing.assert_frame_equal(back, archive)


def test_archive_file_with_other_columns_is_refused():
    with pytest.raises(PipelineError, match=r"^archive\.csv: not a post archive \(columns date, text; expected"):
        posts_from_archive(pd.DataFrame({"date": [], "text": []}), "archive.csv")


def test_daily_social_without_labels_makes_up_no_share():
    posts = posts_of([(1, "2026-05-29 14:00", None, "a"), (2, "2026-05-29 15:00", None, "b")], feed="reddit")

    daily = daily_social(posts, pd.Series([0.2, 0.4]), "XNYS")

    assert daily[col.SOCIAL_COUNT].tolist() == [2] and daily[col.SOCIAL_LABELLED].tolist() == [0]
    assert daily[col.SOCIAL_BULL_SHARE].isna().all()
    assert daily_social(posts.iloc[:0], pd.Series([], dtype="float64"), "XNYS").dtypes.equals(
        empty_daily_social().dtypes)


def test_join_posts_and_features_fill_sessions_without_posts_or_news():
    # Headlines on Thursday 2020-06-04 only; posts on Friday only (2 labelled: 1 Bullish), one unlabelled on Monday.
    news = pd.DataFrame({col.TIMESTAMP: pd.to_datetime(["2020-06-04 14:00"], utc=True)})
    news_daily = daily_sentiment(news, pd.Series([0.6]), "XNYS", 5.0)
    posts = posts_of([(1, "2020-06-05 14:00", "Bullish", "a"), (2, "2020-06-05 15:00", "Bearish", "b"),
                      (3, "2020-06-08 15:00", None, "c")])
    daily = join_posts(news_daily, daily_social(posts, pd.Series([0.5, -0.1, 0.3]), "XNYS"))

    assert daily[col.NEWS_COUNT].tolist() == [1, 0, 0] and daily[col.SOCIAL_COUNT].tolist() == [0, 2, 1]
    assert daily[col.SENTIMENT_DECAYED].isna().tolist() == [False, True, True]

    dates = pd.Series(pd.to_datetime(["2020-06-03", "2020-06-04", "2020-06-05", "2020-06-08"]))
    joined = join_sentiment(dates, daily, social=True)

    assert list(joined.columns) == [*col.SENTIMENT_COLUMNS, *col.SOCIAL_COLUMNS]
    assert joined[col.NEWS_COUNT].tolist() == [0, 1, 0, 0]
    # The decayed news sentiment is carried past the sessions that had posts only.
    assert joined[col.SENTIMENT_DECAYED].tolist() == [0.0, 0.6, 0.6, 0.6]
    assert joined[col.SOCIAL_COUNT].tolist() == [0, 0, 2, 1]
    assert joined[col.SOCIAL_MEAN].tolist() == pytest.approx([0.0, 0.0, 0.2, 0.3])
    # No post, or none labelled: as many bulls as bears, visible through social_labelled 0.
    assert joined[col.SOCIAL_BULL_SHARE].tolist() == [0.5, 0.5, 0.5, 0.5]
    assert joined[col.SOCIAL_LABELLED].tolist() == [0, 0, 2, 0]
    assert str(joined[col.SOCIAL_LABELLED].dtype) == "int64"


def test_social_columns_are_model_inputs_only_with_a_social_source():
    assert feature_columns(TINY, social=True) == [*feature_columns(TINY), *col.SOCIAL_COLUMNS]
    close = np.linspace(100.0, 110.0, 8).tolist()
    plain, report = build_features(prices_of(close), empty_daily(), TINY)
    social, social_report = build_features(prices_of(close), join_posts(empty_daily(), empty_daily_social()), TINY,
                                           social=True)

    assert not set(col.SOCIAL_COLUMNS) & set(plain.columns) and "sessions_with_posts" not in report
    pd.testing.assert_frame_equal(social.drop(columns=col.SOCIAL_COLUMNS), plain)
    assert social_report["sessions_with_posts"] == 0


def test_feed_coverage_counts_the_self_labels():
    assert feed_coverage(RUN_1, "stocktwits") == {"posts": 3, "first": "2026-05-29", "last": "2026-05-29",
                                                  "bullish": 1, "bearish": 1}
    assert feed_coverage(posts_of([], feed="reddit"), "reddit") == {"posts": 0, "first": None, "last": None}


class CountingScorer:
    """A scorer that counts the texts it is asked to score (the text's length as its score)."""

    fingerprint = "counting"

    def __init__(self):
        self.scored = []

    def compound(self, text):
        self.scored.append(text)
        return len(text) / 100


def test_a_rerun_with_ten_percent_new_posts_scores_only_those():
    texts = [f"post number {number} on the stream" for number in range(100)]
    scorer = CountingScorer()
    _, cache, first = score_headlines(pd.Series(texts[:90]), scorer)
    scorer.scored.clear()

    _, _, second = score_headlines(pd.Series(texts), scorer, cache)

    assert first["scored"] == 90
    assert second == {"headlines": 100, "distinct": 100, "reused": 90, "scored": 10}
    assert scorer.scored == texts[90:]


def test_posts_after_the_close_count_for_the_next_session():
    # New York's close is 20:00 UTC in summer. Friday 3 July 2026 is a holiday (the 4th is a Saturday).
    posts = posts_of([
        (1, "2026-06-30 20:00", "Bullish", "at the close: Tuesday's"),
        (2, "2026-06-30 20:01", "Bearish", "a minute after: Wednesday's"),
        (3, "2026-07-02 20:30", "Bullish", "Thursday evening: not Friday (a holiday), Monday's"),
        (4, "2026-07-04 15:00", None, "Saturday: Monday's"),
    ])

    daily = daily_social(posts, pd.Series([0.1, -0.2, 0.3, 0.5]), "XNYS")

    assert daily[col.SESSION].dt.strftime("%Y-%m-%d").tolist() == ["2026-06-30", "2026-07-01", "2026-07-06"]
    assert daily[col.SOCIAL_COUNT].tolist() == [1, 1, 2]
    assert daily[col.SOCIAL_LABELLED].tolist() == [1, 1, 1]
    assert daily[col.SOCIAL_BULL_SHARE].tolist() == [1.0, 0.0, 1.0]
    assert daily[col.SOCIAL_MEAN].tolist() == pytest.approx([0.1, -0.2, 0.4])
