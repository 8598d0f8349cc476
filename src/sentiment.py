"""Stage sentiment: score each headline with the chosen lexicon, aggregate by ticker and trading session.

Writes one long parquet file per batch (data.batches), as download_prices does, so a
ticker's news reaches only its own batch's stages. With a social source in news.source, the
posts (text without cashtags, mentions and links: ``social.text_for_scoring``) are scored with
the same scorer and cache, and each session's row gets the social columns beside the news ones.

Scores are kept in a cache file (a DVC output with persist: true, so DVC leaves it in place
when the stage reruns): a headline scored before under the same lexicon is not scored
again, and only new headlines cost time. A score depends only on the text and the lexicon,
so the cache changes how fast the stage runs, never what it writes.
"""

import argparse
import logging
from pathlib import Path

import pandas as pd

from stockpipe import columns as col
from stockpipe.adapters.io import (
    atomic_dir,
    batch_file,
    parquet_frame,
    read_parquet,
    run_stage,
    usable_cores,
    write_parquet,
)
from stockpipe.lexicons import make_scorer
from stockpipe.params import load_params
from stockpipe.sentiment import daily_sentiment, empty_cache, empty_daily, score_headlines
from stockpipe.social import daily_social, empty_daily_social, join_posts, text_for_scoring
from stockpipe.universe import batch_members, long_table

log = logging.getLogger("sentiment")


def read_cache(path: str) -> pd.DataFrame:
    """The scores of earlier runs; a missing or damaged cache only means scoring again."""
    if not Path(path).is_file():
        return empty_cache()
    try:
        cache = parquet_frame(path)
    except (OSError, ValueError) as error:
        log.warning("%s: unreadable (%s); scoring every headline", path, str(error).splitlines()[0])
        return empty_cache()
    if list(cache.columns) != list(empty_cache().columns):
        log.warning("%s: unexpected columns %s; scoring every headline", path, list(cache.columns))
        return empty_cache()
    return cache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("news", help="headlines parquet from download_news")
    parser.add_argument("out", help="folder to write, one daily-sentiment parquet file per batch")
    parser.add_argument("--cache", required=True, help="parquet of scores already computed, read and rewritten")
    parser.add_argument("--model", required=True, help="the learned scorer's model file (sentiment.lexicon learned)")
    parser.add_argument("--posts", required=True, help="social posts parquet from download_news")
    args = parser.parse_args()
    params = load_params()
    exchange, sentiment = params.data.exchange, params.sentiment
    social = bool(params.news.social)
    news = read_parquet(args.news)
    posts = read_parquet(args.posts) if social else None
    cache = read_cache(args.cache)
    daily = {}
    # news.source: none, the default, has nothing to score: building the lexicon reads NLTK's
    # VADER rules, and importing NLTK alone takes over a second, so the scorer is built on demand.
    scorer = None
    counts = dict.fromkeys(("headlines", "distinct", "scored", "reused"), 0)
    if not news.empty:
        scorer = make_scorer(sentiment.lexicon, args.model)
        scores, cache, counts = score_headlines(news[col.HEADLINE], scorer, cache, usable_cores())
        for ticker, rows in news.groupby(col.TICKER, sort=True).groups.items():
            daily[ticker] = daily_sentiment(news.loc[rows].reset_index(drop=True),
                                            scores.loc[rows].reset_index(drop=True), exchange, sentiment.halflife,
                                            params.data.interval)
    if social:
        post_counts = dict.fromkeys(("headlines", "distinct", "scored", "reused"), 0)
        by_ticker = {}
        if not posts.empty:
            scorer = scorer or make_scorer(sentiment.lexicon, args.model)
            texts = posts[col.TEXT].astype(str).map(text_for_scoring)
            post_scores, cache, post_counts = score_headlines(texts, scorer, cache, usable_cores())
            for ticker, rows in posts.groupby(col.TICKER, sort=True).groups.items():
                by_ticker[ticker] = daily_social(posts.loc[rows].reset_index(drop=True),
                                                 post_scores.loc[rows].reset_index(drop=True), exchange,
                                                 params.data.interval)
        for ticker in sorted(set(daily) | set(by_ticker)):
            daily[ticker] = join_posts(daily.get(ticker, empty_daily()), by_ticker.get(ticker, empty_daily_social()))
        log.info("%d posts (%d distinct texts: %d scored, %d from the cache) with %s", post_counts["headlines"],
                 post_counts["distinct"], post_counts["scored"], post_counts["reused"], sentiment.lexicon)
    empty = join_posts(empty_daily(), empty_daily_social()) if social else empty_daily()
    n_batches = len(params.data.batches)
    with atomic_dir(args.out) as folder:
        for batch in params.data.batches:
            members = {ticker: daily[ticker] for ticker in batch_members(daily, batch, n_batches)}
            write_parquet(long_table(members, empty=empty), batch_file(folder, batch))
    write_parquet(cache, args.cache)
    log.info("%d headlines (%d distinct: %d scored, %d from the cache) with %s into %d sessions of %d tickers",
             counts["headlines"], counts["distinct"], counts["scored"], counts["reused"], sentiment.lexicon,
             sum(map(len, daily.values())), len(daily))


if __name__ == "__main__":
    run_stage(main)
