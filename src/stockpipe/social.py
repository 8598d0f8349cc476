"""Social-media posts (StockTwits, Reddit): the archive of posts, their text for scoring, daily columns.

Live feeds serve recent posts only, so the download stage keeps every post it has seen in an
archive (``merge_posts``) and a daily run builds a history over months. Posts are scored
like headlines, with cashtags, mentions and links taken out first (``text_for_scoring``),
and aggregated by the session they count for (``calendar.session_of``: after the close
means the next session). StockTwits authors tag their own posts Bullish or Bearish, which
gives a second signal that needs no text model.
"""

from __future__ import annotations

import re

import pandas as pd

from stockpipe import columns as col
from stockpipe.bars import DAILY, bar_of
from stockpipe.errors import PipelineError

BULLISH, BEARISH = "Bullish", "Bearish"
# A post's identity in the archive: the same StockTwits message can sit in two symbols'
# streams ($AAPL $NVDA), and it then counts for both tickers.
POST_KEY = [col.FEED, col.TICKER, col.POST_ID]

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# $AAPL, $BRK.B, $BTC.X: a cashtag names a symbol and would be scored as a word ($LOVE, $FUN);
# "$200" is a price and stays.
_CASHTAG = re.compile(r"\$[A-Za-z][A-Za-z0-9]*(?:[.\-][A-Za-z0-9]+)?")
_MENTION = re.compile(r"(?<!\w)@\w+")


def empty_posts() -> pd.DataFrame:
    """The posts table with no rows."""
    return posts_frame([], [], None, [], [], [], [], [])


def posts_frame(timestamps, feeds, ticker: str | None, ids, labels, likes, channels, texts) -> pd.DataFrame:
    """The posts table (``columns.POST_COLUMNS``, timestamps in UTC) from columns."""
    feeds = list(feeds)
    return pd.DataFrame({
        col.TIMESTAMP: pd.Series(pd.DatetimeIndex(pd.to_datetime(list(timestamps), utc=True)),
                                 dtype="datetime64[ns, UTC]"),
        col.FEED: pd.Series(feeds, dtype="string"),
        col.TICKER: pd.Series([ticker] * len(feeds), dtype="string"),
        col.POST_ID: pd.Series([str(value) for value in ids], dtype="string"),
        col.LABEL: pd.Series(list(labels), dtype="string"),
        col.LIKES: pd.Series(list(likes), dtype="Int64"),
        col.CHANNEL: pd.Series(list(channels), dtype="string"),
        col.TEXT: pd.Series(list(texts), dtype="string"),
    })


def merge_posts(archive: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The archive with ``new`` posts added, each (feed, ticker, id) once, oldest first.

    A post already archived keeps its archived row (its text and label as first seen); the
    order (time, then feed, ticker, id) puts new posts at the end of the file, so that a
    git-tracked archive grows by small diffs.

    Returns:
        The merged posts and the number of posts that were not archived before.
    """
    frames = [frame for frame in (archive, new) if len(frame)]
    if not frames:
        return empty_posts(), 0
    combined = pd.concat(frames, ignore_index=True)[col.POST_COLUMNS]
    merged = combined[~combined.duplicated(POST_KEY, keep="first")]
    merged = merged.sort_values([col.TIMESTAMP, *POST_KEY], kind="stable").reset_index(drop=True)
    return merged, int(len(merged) - len(archive))


def archive_records(posts: pd.DataFrame) -> pd.DataFrame:
    """The posts as the archive file writes them: times as ISO 8601 in UTC, every other field as text."""
    records = posts[col.POST_COLUMNS].copy()
    records[col.TIMESTAMP] = records[col.TIMESTAMP].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return records


def posts_from_archive(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """The posts table from an archive file read as text (``archive_records``' format).

    Raises:
        PipelineError: One line naming the file, when its columns or times are not the archive's.
    """
    if list(table.columns) != col.POST_COLUMNS:
        raise PipelineError(f"{source}: not a post archive (columns {', '.join(map(str, table.columns))}; expected "
                            f"{', '.join(col.POST_COLUMNS)}); move it away to start a new archive")
    times = pd.to_datetime(table[col.TIMESTAMP], utc=True, errors="coerce", format="%Y-%m-%dT%H:%M:%SZ")
    if times.isna().any():
        row = int(times.index[times.isna()][0])
        raise PipelineError(f"{source}: row {row + 2}: unreadable time {table[col.TIMESTAMP][row]!r}")
    likes = pd.to_numeric(table[col.LIKES], errors="coerce")
    return posts_frame(times, table[col.FEED], None, table[col.POST_ID], table[col.LABEL],
                       likes.astype("Int64"), table[col.CHANNEL], table[col.TEXT]).assign(
        **{col.TICKER: pd.Series(table[col.TICKER].to_numpy(), dtype="string")})


def text_for_scoring(text: str) -> str:
    """A post's words as the scorer reads them: links, cashtags and @mentions removed, spaces collapsed.

    A symbol or a user name is not an opinion, but a lexicon would score some as words
    ($LOVE, @HappyTrader); a link's letters are noise.
    """
    return " ".join(_MENTION.sub(" ", _CASHTAG.sub(" ", _URL.sub(" ", str(text)))).split())


def empty_daily_social() -> pd.DataFrame:
    """The daily social table with no sessions."""
    return pd.DataFrame({
        col.SESSION: pd.Series([], dtype="datetime64[ns]"),
        col.SOCIAL_COUNT: pd.Series([], dtype="int64"),
        col.SOCIAL_MEAN: pd.Series([], dtype="float64"),
        col.SOCIAL_BULL_SHARE: pd.Series([], dtype="float64"),
        col.SOCIAL_LABELLED: pd.Series([], dtype="int64"),
    })


def daily_social(posts: pd.DataFrame, compound: pd.Series, exchange: str, interval: str = DAILY) -> pd.DataFrame:
    """Aggregate scored posts by the session they count for (after the close: the next session), or
    with an intraday ``interval`` by the bar whose close they precede (``bars.bar_of``).

    Returns:
        One row per session with posts: social_count, the mean text score (social_mean),
        the number of self-labelled posts (social_labelled) and the share of them labelled
        Bullish (social_bull_share; missing when none is labelled: no share is made up).
    """
    if posts.empty:
        return empty_daily_social()
    labels = posts[col.LABEL].astype("string")
    frame = pd.DataFrame({
        col.SESSION: bar_of(posts[col.TIMESTAMP], exchange, interval).values,
        col.COMPOUND: compound.to_numpy(dtype="float64"),
        "bullish": (labels == BULLISH).fillna(False).to_numpy(dtype=bool),
        "labelled": labels.isin([BULLISH, BEARISH]).fillna(False).to_numpy(dtype=bool),
    })
    grouped = frame.groupby(col.SESSION)
    labelled = grouped["labelled"].sum().astype("int64")
    bullish = grouped["bullish"].sum().astype("int64")
    daily = pd.DataFrame({
        col.SOCIAL_COUNT: grouped.size().astype("int64"),
        col.SOCIAL_MEAN: grouped[col.COMPOUND].mean(),
        col.SOCIAL_BULL_SHARE: (bullish / labelled.where(labelled > 0)).astype("float64"),
        col.SOCIAL_LABELLED: labelled,
    }).rename_axis(col.SESSION).reset_index()
    return daily


def join_posts(news_daily: pd.DataFrame, posts_daily: pd.DataFrame) -> pd.DataFrame:
    """One row per session with headlines or posts: the news columns beside the social ones.

    A session with posts but no headlines gets news_count 0 and one with headlines but no
    posts social_count and social_labelled 0; their scores stay missing (no score is made up,
    as for news): the features stage shows the model such sessions (``features.join_sentiment``).
    """
    daily = news_daily.merge(posts_daily, on=col.SESSION, how="outer").sort_values(col.SESSION)
    for name in (col.NEWS_COUNT, col.SOCIAL_COUNT, col.SOCIAL_LABELLED):
        daily[name] = daily[name].fillna(0).astype("int64")
    return daily[[col.SESSION, *col.SENTIMENT_COLUMNS, *col.SOCIAL_COLUMNS]].reset_index(drop=True)


def feed_coverage(posts: pd.DataFrame, feed: str) -> dict:
    """Posts of one feed and ticker for news_coverage.json: count, first and last day, and the self-labels."""
    report = {"posts": int(len(posts)), "first": None, "last": None}
    if len(posts):
        report["first"] = str(posts[col.TIMESTAMP].min().date())
        report["last"] = str(posts[col.TIMESTAMP].max().date())
    labels = posts[col.LABEL].astype("string")
    if feed == "stocktwits":
        report["bullish"] = int((labels == BULLISH).sum())
        report["bearish"] = int((labels == BEARISH).sum())
    return report
