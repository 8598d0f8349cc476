"""Score headlines with a VADER lexicon and aggregate them by trading session."""

from __future__ import annotations

import hashlib
import multiprocessing

import numpy as np
import pandas as pd
from tqdm import tqdm

from stockpipe import columns as col
from stockpipe.bars import DAILY, bar_of
from stockpipe.calendar import get_calendar
from stockpipe.lexicons import Scorer

# VADER's authors' thresholds for calling a text positive or negative.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
# Below this many headlines to score, starting worker processes costs more than it saves.
PARALLEL_MIN_HEADLINES = 4000
# Chunks per worker: enough to even out a slow chunk, few enough to keep the overhead small.
CHUNKS_PER_WORKER = 4

_worker_scorer: Scorer | None = None


def text_keys(texts) -> np.ndarray:
    """A 64-bit hash of each text (BLAKE2b), the key of the scored-headline cache."""
    return np.array([int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little",
                                    signed=True) for text in texts], dtype="int64")


def empty_cache() -> pd.DataFrame:
    """The cache of scored headlines with no rows."""
    return pd.DataFrame({
        col.LEXICON: pd.Series([], dtype="string"),
        col.TEXT_KEY: pd.Series([], dtype="int64"),
        col.COMPOUND: pd.Series([], dtype="float64"),
    })


def _init_worker(scorer: Scorer) -> None:
    global _worker_scorer
    _worker_scorer = scorer


def _score_chunk(texts: list[str]) -> list[float]:
    return [_worker_scorer.compound(text) for text in texts]


def score_texts(texts: list[str], scorer, workers: int) -> list[float]:
    """Scores of ``texts``: the learned scorer's in batches, VADER's in worker processes when there are enough.

    Workers are forked, so each starts with the scorer already built (its lexicon and
    patterns are not rebuilt or pickled); where fork is unavailable, one process scores all.
    """
    if getattr(scorer, "vectorised", False):
        return scorer.compound_many(texts)
    parallel = workers > 1 and len(texts) >= PARALLEL_MIN_HEADLINES
    if not parallel or "fork" not in multiprocessing.get_all_start_methods():
        return [scorer.compound(text) for text in tqdm(texts, desc="scoring", unit=" headlines", disable=None,
                                                       mininterval=1.0)]
    n_chunks = workers * CHUNKS_PER_WORKER
    size = -(-len(texts) // n_chunks)
    chunks = [texts[start:start + size] for start in range(0, len(texts), size)]
    context = multiprocessing.get_context("fork")
    scores: list[float] = []
    with context.Pool(workers, initializer=_init_worker, initargs=(scorer,)) as pool, \
            tqdm(total=len(texts), desc="scoring", unit=" headlines", disable=None, mininterval=1.0) as progress:
        for chunk_scores in pool.imap(_score_chunk, chunks):
            scores.extend(chunk_scores)
            progress.update(len(chunk_scores))
    return scores


def polarity(scores: np.ndarray) -> np.ndarray:
    """bearish, neutral or bullish for each score, by VADER's thresholds."""
    scores = np.asarray(scores, dtype="float64")
    return np.where(scores >= POSITIVE_THRESHOLD, "bullish", np.where(scores <= NEGATIVE_THRESHOLD, "bearish",
                                                                       "neutral"))


def agreement(labels: np.ndarray, scores: np.ndarray) -> dict:
    """How scores read by VADER's thresholds agree with labels (bearish / neutral / bullish): accuracy, macro-F1."""
    from sklearn.metrics import accuracy_score, f1_score

    predicted = polarity(scores)
    classes = ["bearish", "neutral", "bullish"]
    return {"accuracy": float(accuracy_score(labels, predicted)),
            "macro_f1": float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0))}


def scorer_agreement(texts: list[str], labels: np.ndarray, scorers: dict) -> dict:
    """``agreement`` of each named scorer with labelled texts, after always-neutral's (the majority class)."""
    results = {"always_neutral": agreement(labels, np.zeros(len(labels)))}
    for name, scorer in scorers.items():
        results[name] = agreement(labels, np.asarray(score_texts(texts, scorer, workers=1)))
    return results


def score_headlines(headlines: pd.Series, scorer: Scorer, cache: pd.DataFrame | None = None,
                    workers: int = 1) -> tuple[pd.Series, pd.DataFrame, dict]:
    """Compound score in [-1, 1] of each headline, scoring each distinct text once.

    Args:
        headlines: The texts; the result has the same index.
        scorer: The lexicon's scorer (``lexicons.make_scorer``).
        cache: Scores from earlier runs (``lexicon``, ``text_key``, ``compound``); rows of
            this scorer's lexicon fingerprint are reused, so a rerun scores only new headlines.
        workers: Processes to score in (1: this one).

    Returns:
        The scores (named ``compound``), the cache with the new scores added, and counts:
        headlines, distinct texts, reused from the cache and newly scored.
    """
    cache = empty_cache() if cache is None else cache
    texts = pd.unique(headlines.astype(str).to_numpy())
    keys = text_keys(texts)
    mine = cache[cache[col.LEXICON] == scorer.fingerprint]
    known = dict(zip(mine[col.TEXT_KEY].to_numpy(), mine[col.COMPOUND].to_numpy(), strict=True))
    missing = [index for index, key in enumerate(keys) if key not in known]
    scored = score_texts([texts[index] for index in missing], scorer, workers)
    for index, score in zip(missing, scored, strict=True):
        known[keys[index]] = score
    by_text = dict(zip(texts, (known[key] for key in keys), strict=True))
    scores = pd.Series([by_text[text] for text in headlines.astype(str)], index=headlines.index, name=col.COMPOUND,
                       dtype="float64")
    added = pd.DataFrame({
        col.LEXICON: pd.array([scorer.fingerprint] * len(missing), dtype="string"),
        col.TEXT_KEY: keys[missing].astype("int64") if missing else np.array([], dtype="int64"),
        col.COMPOUND: np.array(scored, dtype="float64"),
    })
    updated = pd.concat([cache, added], ignore_index=True) if len(added) else cache.reset_index(drop=True)
    counts = {"headlines": int(len(headlines)), "distinct": int(len(texts)),
              "reused": int(len(texts) - len(missing)), "scored": int(len(missing))}
    return scores, updated, counts


def empty_daily() -> pd.DataFrame:
    """The daily sentiment table with no sessions."""
    return pd.DataFrame({
        col.SESSION: pd.Series([], dtype="datetime64[ns]"),
        col.NEWS_COUNT: pd.Series([], dtype="int64"),
        col.SENTIMENT_MEAN: pd.Series([], dtype="float64"),
        col.SENTIMENT_POS_SHARE: pd.Series([], dtype="float64"),
        col.SENTIMENT_NEG_SHARE: pd.Series([], dtype="float64"),
        col.SENTIMENT_DECAYED: pd.Series([], dtype="float64"),
    })


def decayed_sentiment(sessions: pd.Series, sums: pd.Series, counts: pd.Series, exchange: str,
                      halflife: float) -> pd.Series:
    """Exponentially weighted mean of every headline score up to each session.

    A headline ``k`` sessions old weighs ``0.5 ** (k / halflife)``; sessions are counted on
    the exchange calendar, so weekends and holidays do not age news but sessions without
    news do. Only sessions up to and including each one enter its value.

    Args:
        sessions: Sessions with headlines, in increasing order.
        sums, counts: Per session, the sum of compound scores and the number of headlines.

    Returns:
        The decayed mean at each of ``sessions``. Between two of them it does not change
        (both its weighted sum and its weight decay by the same factor), which is why a
        session without news can carry the last value forward without inventing one.
    """
    # Intraday, the keys are bars: each ages with its session (its local date), not bar by bar.
    positions = get_calendar(exchange).sessions.get_indexer(pd.DatetimeIndex(sessions).normalize())
    decay = 0.5 ** (1.0 / halflife)
    weighted_sum = weight = 0.0
    previous = None
    values = []
    for position, total, count in zip(positions, sums.to_numpy(dtype="float64"), counts.to_numpy(dtype="float64"),
                                      strict=True):
        factor = 1.0 if previous is None else decay ** (position - previous)
        weighted_sum = weighted_sum * factor + total
        weight = weight * factor + count
        values.append(weighted_sum / weight)
        previous = position
    return pd.Series(values, index=sessions.index, name=col.SENTIMENT_DECAYED, dtype="float64")


def daily_sentiment(news: pd.DataFrame, compound: pd.Series, exchange: str, halflife: float,
                    interval: str = DAILY) -> pd.DataFrame:
    """Aggregate scored headlines by the session they count for.

    A headline published after a session's close, on a weekend or on a holiday counts
    for the next session (see ``calendar.session_of``); with an intraday ``interval``, for the
    bar whose close it precedes (``bars.bar_of``), in the session column. Sessions without
    headlines are absent here: no score is made up for them; the features stage decides how
    the model sees them.

    Returns:
        One row per session with headlines: news_count, mean compound score, the shares of
        positive and negative headlines, and the decayed sentiment (``decayed_sentiment``).
    """
    if news.empty:
        return empty_daily()
    scores = compound.to_numpy(dtype="float64")
    frame = pd.DataFrame({
        col.SESSION: bar_of(news[col.TIMESTAMP], exchange, interval).values,
        col.COMPOUND: scores,
        "positive": scores >= POSITIVE_THRESHOLD,
        "negative": scores <= NEGATIVE_THRESHOLD,
    })
    grouped = frame.groupby(col.SESSION)
    daily = pd.DataFrame({
        col.NEWS_COUNT: grouped.size().astype("int64"),
        col.SENTIMENT_MEAN: grouped[col.COMPOUND].mean(),
        col.SENTIMENT_POS_SHARE: grouped["positive"].mean().astype("float64"),
        col.SENTIMENT_NEG_SHARE: grouped["negative"].mean().astype("float64"),
    }).rename_axis(col.SESSION).reset_index()
    daily[col.SENTIMENT_DECAYED] = decayed_sentiment(
        daily[col.SESSION], grouped[col.COMPOUND].sum().reset_index(drop=True), daily[col.NEWS_COUNT], exchange,
        halflife)
    return daily
