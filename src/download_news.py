"""Stage download_news: dated headlines from a CSV and live providers, combined, or none offline."""

import argparse
import datetime
import logging
import os

from stockpipe.http import make_session
from stockpipe.io import run_stage, write_json, write_parquet
from stockpipe.news import combine_news, coverage, read_news_csv
from stockpipe.news_sources import API_KEY_VARIABLES, SOURCE_FEEDS, api_key, date_window, fetch_feed
from stockpipe.params import load_params

log = logging.getLogger("download_news")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="parquet file of headlines to write")
    parser.add_argument("--coverage", required=True, help="JSON file of per-source counts and dates to write")
    args = parser.parse_args()
    params = load_params()
    news_params, ticker = params.news, params.data.ticker
    today = datetime.datetime.now(datetime.UTC).date()
    frames, counts = {}, {}
    session = None
    for source in news_params.source:
        if source == "none":
            continue
        if source == "csv":
            frames["csv"], counts["csv"] = read_news_csv(news_params.path, ticker, news_params.timezone, today=today)
            continue
        session = session or make_session()
        for feed in SOURCE_FEEDS[source]:
            key = api_key(feed, os.environ) if feed in API_KEY_VARIABLES else None
            window = date_window(feed, news_params.start, news_params.end, today)
            log.info("asking %s for %s%s", feed, ticker, f" ({window[0]} .. {window[1]})" if window else "")
            frames[feed], counts[feed] = fetch_feed(feed, session, news_params.base_url.get(feed), ticker=ticker,
                                                    query=news_params.query, window=window, key=key)
    news, duplicates = combine_news(list(frames.values()), params.data.exchange)
    report = coverage(news_params.source, frames, counts, news, duplicates)
    write_parquet(news, args.out)
    write_json(report, args.coverage)
    for feed, frame in frames.items():
        log.info("%s: %d headlines (%s .. %s)", feed, len(frame), report["by_source"][feed]["first"],
                 report["by_source"][feed]["last"])
    log.info("news.source=%s: %d headlines after %d duplicates (%s .. %s)", ",".join(news_params.source), len(news),
             duplicates, report["first"], report["last"])
    if frames and news.empty:
        log.warning("no headlines from %s for %s: the sentiment columns will be empty", ", ".join(frames), ticker)


if __name__ == "__main__":
    run_stage(main)
