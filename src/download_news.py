"""Stage download_news: dated headlines of every ticker from a CSV and live providers, combined, or none offline.

One long table for the universe (each headline names its ticker, as data.tickers spells it);
metrics/news_coverage.json gives the counts of all tickers together and of each ticker. A CSV
without a ticker column counts for every ticker. With data.on_error skipping, a live feed that
fails for one ticker leaves it without that feed's headlines, recorded under its "errors".

Social sources (stocktwits, reddit) bring posts, not headlines: the new posts are added to the
post archive (``--archive``, kept in git and never deleted by DVC), and every archived post of
the universe's tickers from the configured social feeds is written to ``--posts``. A social
feed that fails for a ticker whose other requested sources worked is a warning, recorded under
the ticker's "errors"; the stage fails only when every requested source failed (or, as for news
feeds, always when data.on_error stops). A failed run leaves the archive as it was.
"""

import argparse
import datetime
import logging
import os
from pathlib import Path

import pandas as pd

from stockpipe import columns as col
from stockpipe.adapters.http import make_session
from stockpipe.adapters.io import atomic_path, run_stage, write_json, write_parquet
from stockpipe.adapters.news_sources import API_KEY_VARIABLES, SOURCE_FEEDS, api_key, date_window, fetch_feed
from stockpipe.adapters.social_sources import REDDIT_PAUSE_SECONDS, STOCKTWITS_TOKEN_VARIABLE, Pacer, fetch_social
from stockpipe.errors import PipelineError
from stockpipe.news import combine_news, coverage, empty_news, news_for, read_news_csv
from stockpipe.params import SOCIAL_SOURCES, load_params
from stockpipe.prices import universe
from stockpipe.social import archive_records, empty_posts, feed_coverage, merge_posts, posts_from_archive

log = logging.getLogger("download_news")


def read_archive(path: str) -> pd.DataFrame:
    """The post archive; none yet is an empty one, a damaged one stops the run (it is the only copy)."""
    if not Path(path).is_file():
        return empty_posts()
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise PipelineError(f"{path}: unreadable post archive ({' '.join(str(error).split())[:160]}); it is the only "
                            "copy of the posts seen so far: restore it from git rather than delete it") from None
    return posts_from_archive(table, path)


def write_archive(posts: pd.DataFrame, path: str) -> None:
    with atomic_path(path) as tmp:
        archive_records(posts).to_csv(tmp, index=False, lineterminator="\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="parquet file of headlines to write")
    parser.add_argument("--coverage", required=True, help="JSON file of per-source counts and dates to write")
    parser.add_argument("--posts", required=True, help="parquet file of the universe's social posts to write")
    parser.add_argument("--archive", required=True, help="CSV of every social post seen so far, read and extended")
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
    social_feeds = news_params.social
    if social_feeds:
        archive = read_archive(args.archive)
        pages = news_params.social_pages * len(tickers) if "stocktwits" in social_feeds else 0
        if pages > 200:
            log.warning("stocktwits: up to %d requests for %d tickers; StockTwits serves about 200 an hour to one "
                        "address, so expect HTTP 429 (lower news.social_pages)", pages, len(tickers))
    tables, reports, new_posts = [], {}, 0
    # Reddit's requests are spaced across every ticker, not only within one.
    reddit_pacer = Pacer(REDDIT_PAUSE_SECONDS)
    for ticker in tickers:
        frames, counts, errors, social = {}, {}, {}, {}
        failed = set()
        for source in news_params.source:
            if source == "none":
                continue
            if source == "csv":
                frames["csv"], counts["csv"] = news_for(file_news, ticker), file_counts
                continue
            session = session or make_session()
            if source in SOCIAL_SOURCES:
                log.info("asking %s for %s", source, ticker)
                try:
                    posts, social[source] = fetch_social(
                        source, session, news_params.base_url.get(source), ticker=ticker, query=news_params.query,
                        subreddits=news_params.subreddits, pages=news_params.social_pages,
                        token=os.environ.get(STOCKTWITS_TOKEN_VARIABLE, "").strip() or None, pacer=reddit_pacer)
                except PipelineError as error:
                    # Recent posts are a supplement: the ticker goes on with its other sources.
                    failed.add(source)
                    errors[source] = str(error)
                    log.warning("%s: %s gave no posts: %s", ticker, source, error)
                    continue
                archive, added = merge_posts(archive, posts)
                social[source]["new"] = added
                new_posts += added
                continue
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
        requested = [source for source in news_params.source if source != "none"]
        if failed and failed == set(requested) and not params.data.skip_failing:
            raise PipelineError(f"ticker {ticker}: every requested source failed: {errors[requested[0]]}")
        news, duplicates = combine_news(list(frames.values()), params.data.exchange)
        reports[ticker] = coverage(news_params.source, frames, counts, news, duplicates)
        if social_feeds:
            reports[ticker]["social"] = {}
            for feed in social_feeds:
                mine = archive[(archive[col.FEED] == feed) & (archive[col.TICKER] == ticker)]
                reports[ticker]["social"][feed] = {**feed_coverage(mine, feed), **social.get(feed, {})}
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
    posts = empty_posts()
    if social_feeds:
        posts = archive[archive[col.FEED].isin(social_feeds) & archive[col.TICKER].isin(tickers)]
        posts = posts.reset_index(drop=True)
        report["posts"] = int(len(posts))
        report["new_posts"] = new_posts
        report["archived_posts"] = int(len(archive))
    write_parquet(news, args.out)
    write_parquet(posts, args.posts)
    if social_feeds:
        write_archive(archive, args.archive)
    elif not Path(args.archive).is_file():
        # DVC expects every output; without a social source an existing archive is left untouched.
        write_archive(empty_posts(), args.archive)
    write_json(report, args.coverage)
    log.info("news.source=%s: %d headlines for %d tickers after %d duplicates (%s .. %s)",
             ",".join(news_params.source), len(news), len(reports), report["duplicates_dropped"], report["first"],
             report["last"])
    if social_feeds:
        log.info("%s: %d posts for the tickers (%d new), %d in the archive", ",".join(social_feeds), len(posts),
                 new_posts, len(archive))


if __name__ == "__main__":
    run_stage(main)
