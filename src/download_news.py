"""Stage download_news: dated headlines from a local CSV, or an empty table offline."""

import argparse
import logging

from stockpipe import columns as col
from stockpipe.io import run_stage, write_json, write_parquet
from stockpipe.news import empty_news, read_news_csv
from stockpipe.params import load_params

log = logging.getLogger("download_news")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="parquet file of headlines to write")
    parser.add_argument("--coverage", required=True, help="JSON file of counts to write")
    args = parser.parse_args()
    params = load_params()
    if params.news.source == "none":
        news, counts = empty_news(), {"headlines": 0}
    else:
        news, counts = read_news_csv(params.news.path, params.data.ticker, params.news.timezone)
    coverage = {"source": params.news.source, **counts,
                "first": str(news[col.TIMESTAMP].min().date()) if len(news) else None,
                "last": str(news[col.TIMESTAMP].max().date()) if len(news) else None}
    write_parquet(news, args.out)
    write_json(coverage, args.coverage)
    log.info("news.source=%s: %d headlines (%s .. %s)", params.news.source, len(news),
             coverage["first"], coverage["last"])


if __name__ == "__main__":
    run_stage(main)
