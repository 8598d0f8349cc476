"""Stage download_news: dated headlines of every ticker from a CSV and live providers, combined, or none offline.

One long table for the universe (each headline names its ticker, as data.tickers spells it);
metrics/news_coverage.json gives the counts of all tickers together and of each ticker. A CSV
without a ticker column counts for every ticker. With data.on_error skipping, a live feed that
fails for one ticker leaves it without that feed's headlines, recorded under its "errors".
"""

import argparse
import datetime
import logging
import os

import pandas as pd

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.http import make_session
from stockpipe.io import run_stage, write_json, write_parquet
from stockpipe.news import combine_news, coverage, empty_news, news_for, read_news_csv
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
    tickers = universe(params.data)
    # The file is read once for the universe, each ticker then takes its rows.
    file_news, file_counts = (read_news_csv(news_params.path, None, news_params.timezone, today=today)
                              if "csv" in news_params.source else (None, None))
    if file_news is not None and not file_news[col.TICKER].isna().all():
        named = set(file_news[col.TICKER].str.upper())
        if not any(ticker.upper() in named for ticker in tickers):
            shown = ", ".join(sorted(file_news[col.TICKER].dropna().unique())[:8])
            raise PipelineError(f"{news_params.path}: no headlines for any of data.tickers (file has {shown}, ...)")
    tables, reports = [], {}
    for ticker in tickers:
        frames, counts, errors = {}, {}, {}
        for source in news_params.source:
            if source == "none":
                continue
            if source == "csv":
                frames["csv"], counts["csv"] = news_for(file_news, ticker), file_counts
                continue
            session = session or make_session()
            for feed in SOURCE_FEEDS[source]:
                key = api_key(feed, os.environ) if feed in API_KEY_VARIABLES else None
                window = date_window(feed, news_params.start, news_params.end, today)
                log.info("asking %s for %s%s", feed, ticker, f" ({window[0]} .. {window[1]})" if window else "")
                try:
                    frames[feed], counts[feed] = fetch_feed(feed, session, news_params.base_url.get(feed),
                                                            ticker=ticker, query=news_params.query, window=window,
                                                            key=key)
                except PipelineError as error:
                    # Skipping leaves the ticker without this feed's headlines, said in the coverage file.
                    if not params.data.skip_failing:
                        raise PipelineError(f"ticker {ticker}: {error}") from None
                    errors[feed] = str(error)
                    log.warning("%s: %s gave no headlines: %s", ticker, feed, error)
        news, duplicates = combine_news(list(frames.values()), params.data.exchange)
        reports[ticker] = coverage(news_params.source, frames, counts, news, duplicates)
        if errors:
            reports[ticker]["errors"] = errors
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
