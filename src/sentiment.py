"""Stage sentiment: VADER score per headline, aggregated by trading session."""

import argparse
import logging

from stockpipe import columns as col
from stockpipe.io import read_parquet, run_stage, write_parquet
from stockpipe.params import load_params
from stockpipe.sentiment import daily_sentiment, make_analyzer, score_headlines

log = logging.getLogger("sentiment")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("news", help="headlines parquet from download_news")
    parser.add_argument("out", help="daily sentiment parquet to write")
    args = parser.parse_args()
    exchange = load_params().data.exchange
    news = read_parquet(args.news)
    compound = score_headlines(news[col.HEADLINE], make_analyzer())
    daily = daily_sentiment(news, compound, exchange)
    write_parquet(daily, args.out)
    log.info("%d headlines scored into %d %s sessions", len(news), len(daily), exchange)


if __name__ == "__main__":
    run_stage(main)
