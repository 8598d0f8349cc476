"""Stage sentiment: score each headline with the chosen lexicon, aggregate by trading session.

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
from stockpipe.io import parquet_frame, read_parquet, run_stage, usable_cores, write_parquet
from stockpipe.lexicons import make_scorer
from stockpipe.params import load_params
from stockpipe.sentiment import daily_sentiment, empty_cache, empty_daily, score_headlines

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
    parser.add_argument("out", help="daily sentiment parquet to write")
    parser.add_argument("--cache", required=True, help="parquet of scores already computed, read and rewritten")
    args = parser.parse_args()
    params = load_params()
    exchange, sentiment = params.data.exchange, params.sentiment
    news = read_parquet(args.news)
    cache = read_cache(args.cache)
    if news.empty:
        # news.source: none, the default. Building the lexicon reads NLTK's VADER rules, and
        # importing NLTK alone takes over a second, so with nothing to score it is not built.
        daily, counts = empty_daily(), dict.fromkeys(("headlines", "distinct", "scored", "reused"), 0)
    else:
        scores, cache, counts = score_headlines(news[col.HEADLINE], make_scorer(sentiment.lexicon), cache,
                                                usable_cores())
        daily = daily_sentiment(news, scores, exchange, sentiment.halflife)
    write_parquet(daily, args.out)
    write_parquet(cache, args.cache)
    log.info("%d headlines (%d distinct: %d scored, %d from the cache) with %s into %d %s sessions",
             counts["headlines"], counts["distinct"], counts["scored"], counts["reused"], sentiment.lexicon,
             len(daily), exchange)


if __name__ == "__main__":
    run_stage(main)
