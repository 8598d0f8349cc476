"""Score headlines with NLTK's VADER and aggregate them by trading session."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nltk
import pandas as pd
from nltk.sentiment.vader import SentimentIntensityAnalyzer

from stockpipe import columns as col
from stockpipe.calendar import session_of
from stockpipe.errors import PipelineError

# VADER's authors' thresholds for calling a text positive or negative.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05


def vader_lexicon_dir() -> Path:
    """Folder holding ``vader_lexicon.txt`` from the pinned vaderSentiment package.

    ``nltk.download`` needs the internet, which CI and many corporate networks do not
    have, so the lexicon comes from a package installed with requirements.txt.
    """
    spec = importlib.util.find_spec("vaderSentiment")
    if spec is None or spec.origin is None:
        raise PipelineError("sentiment needs the 'vaderSentiment' package for its lexicon (pip install -r requirements.txt)")
    return Path(spec.origin).parent


def make_analyzer() -> SentimentIntensityAnalyzer:
    """NLTK's VADER analyzer reading the packaged lexicon, with no download."""
    folder = str(vader_lexicon_dir())
    if folder not in nltk.data.path:
        nltk.data.path.insert(0, folder)
    return SentimentIntensityAnalyzer(lexicon_file="vader_lexicon.txt")


def score_headlines(headlines: pd.Series, analyzer: SentimentIntensityAnalyzer) -> pd.Series:
    """VADER compound score in [-1, 1] for each headline."""
    return pd.Series(
        [analyzer.polarity_scores(text)["compound"] for text in headlines],
        index=headlines.index, name=col.COMPOUND, dtype="float64",
    )


def empty_daily() -> pd.DataFrame:
    """The daily sentiment table with no sessions."""
    return pd.DataFrame({
        col.SESSION: pd.Series([], dtype="datetime64[ns]"),
        col.NEWS_COUNT: pd.Series([], dtype="int64"),
        col.SENTIMENT_MEAN: pd.Series([], dtype="float64"),
        col.SENTIMENT_POS_SHARE: pd.Series([], dtype="float64"),
        col.SENTIMENT_NEG_SHARE: pd.Series([], dtype="float64"),
    })


def daily_sentiment(news: pd.DataFrame, compound: pd.Series, exchange: str) -> pd.DataFrame:
    """Aggregate scored headlines by the session they count for.

    A headline published after a session's close, on a weekend or on a holiday counts
    for the next session (see ``calendar.session_of``). Sessions without headlines are
    absent here; the features stage decides how the model sees them.

    Returns:
        One row per session: news_count, mean compound score, and the shares of
        positive and negative headlines.
    """
    if news.empty:
        return empty_daily()
    frame = pd.DataFrame({
        col.SESSION: session_of(news[col.TIMESTAMP], exchange).values,
        col.COMPOUND: compound.values,
    })
    grouped = frame.groupby(col.SESSION)[col.COMPOUND]
    daily = pd.DataFrame({
        col.NEWS_COUNT: grouped.size().astype("int64"),
        col.SENTIMENT_MEAN: grouped.mean(),
        col.SENTIMENT_POS_SHARE: grouped.apply(lambda scores: (scores >= POSITIVE_THRESHOLD).mean()),
        col.SENTIMENT_NEG_SHARE: grouped.apply(lambda scores: (scores <= NEGATIVE_THRESHOLD).mean()),
    })
    return daily.rename_axis(col.SESSION).reset_index()
