"""Stage download_news: dated headlines of every ticker from a CSV and live providers, combined, or none offline.

One long table for the universe (each headline names its ticker); metrics/news_coverage.json
gives the counts of all tickers together and of each ticker.
"""

import argparse
import datetime
import logging
import os

import pandas as pd

from stockpipe.http import make_session
from stockpipe.io import run_stage, write_json, write_parquet
from stockpipe.news import combine_news, coverage, empty_news, read_news_csv
from stockpipe.news_sources import API_KEY_VARIABLES, SOURCE_FEEDS, api_key, date_window, fetch_feed
from stockpipe.params import load_params
from stockpipe.prices import universe

log = logging.getLogger("download_news")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="parquet file of headlines to write")
    parser.add_argument("--coverage", required=True, help="JSON file of per-source counts and dates to write")
    args = parser.parse_args()
    params = load_params()
    news_params = params.news
    today = datetime.datetime.now(datetime.UTC).date()
    session = None
    tables, reports = [], {}
    for ticker in universe(params.data):
        frames, counts = {}, {}
        for source in news_params.source:
            if source == "none":
                continue
            if source == "csv":
                frames["csv"], counts["csv"] = read_news_csv(news_params.path, ticker, news_params.timezone,
                                                             today=today)
                continue
            session = session or make_session()
            for feed in SOURCE_FEEDS[source]:
                key = api_key(feed, os.environ) if feed in API_KEY_VARIABLES else None
                window = date_window(feed, news_params.start, news_params.end, today)
                log.info("asking %s for %s%s", feed, ticker, f" ({window[0]} .. {window[1]})" if window else "")
                frames[feed], counts[feed] = fetch_feed(feed, session, news_params.base_url.get(feed), ticker=ticker,
                                                        query=news_params.query, window=window, key=key)
        news, duplicates = combine_news(list(frames.values()), params.data.exchange)
        reports[ticker] = coverage(news_params.source, frames, counts, news, duplicates)
        tables.append(news)
        if frames and news.empty:
            log.warning("no headlines from %s for %s: its sentiment columns will be empty", ", ".join(frames), ticker)
    news = pd.concat(tables, ignore_index=True) if any(len(table) for table in tables) else empty_news()
    first = [report["first"] for report in reports.values() if report["first"]]
    last = [report["last"] for report in reports.values() if report["last"]]
    report = {"sources": list(news_params.source), "headlines": int(len(news)),
              "duplicates_dropped": sum(report["duplicates_dropped"] for report in reports.values()),
              "first": min(first, default=None), "last": max(last, default=None), "by_ticker": reports}
    write_parquet(news, args.out)
    write_json(report, args.coverage)
    log.info("news.source=%s: %d headlines for %d tickers after %d duplicates (%s .. %s)",
             ",".join(news_params.source), len(news), len(reports), report["duplicates_dropped"], report["first"],
             report["last"])


if __name__ == "__main__":
    run_stage(main)
