"""Stage prepare: each ticker of one batch cleaned, turned into features and split in date order.

Each ticker on its own: repairs by documented rules (counted), TA-Lib indicators and session
sentiment, then the chronological train / validation / test split, kept as a ``part`` column of
one long table for the batch.
"""

import argparse
import logging

import pandas as pd

from stockpipe import columns as col
from stockpipe.adapters.io import read_parquet, run_stage, write_json, write_parquet
from stockpipe.cleaning import clean_prices
from stockpipe.features import build_features
from stockpipe.params import load_params
from stockpipe.splitting import chronological_split
from stockpipe.universe import by_ticker, long_table, run_each, skips_failing

log = logging.getLogger("prepare")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("prices", help="the batch's raw prices parquet from download_prices")
    parser.add_argument("sentiment", help="the batch's daily sentiment parquet from the sentiment stage")
    parser.add_argument("out", help="the batch's features parquet to write (with a part column)")
    parser.add_argument("--report", required=True, help="JSON of each ticker's repairs and feature rows to write")
    args = parser.parse_args()
    params = load_params()
    raw = read_parquet(args.prices)
    sentiment = read_parquet(args.sentiment)
    daily = by_ticker(sentiment)
    # A ticker without headlines gets no sentiment rows, in the columns the sentiment stage writes.
    no_news = sentiment.drop(columns=col.TICKER).iloc[:0]
    train_fraction = 1 - params.split.test_size - params.split.val_size
    skipped = dict(raw.attrs.get("skipped", {}))
    labels = {key: raw.attrs.get(key) for key in ("source", "adjusted")}
    reports = {}

    def prepare(ticker: str, prices: pd.DataFrame) -> pd.DataFrame:
        clean, quality = clean_prices(prices, params.data.exchange, params.clean, train_fraction,
                                      params.data.interval, params.data.extended_hours)
        table, features = build_features(clean, daily.get(ticker, no_news), params.features,
                                         bool(params.news.social))
        parts = chronological_split(table, params.split.test_size, params.split.val_size)
        read = raw.attrs.get("read", {}).get(ticker, {"encoding": None, "delimiter": None})
        reports[ticker] = {"data_quality": {**labels, "exchange": params.data.exchange, **read, **quality},
                           "features": features}
        return pd.concat([part.assign(**{col.PART: name}) for name, part in parts.items()], ignore_index=True)

    series = by_ticker(raw)
    tables = run_each(series, lambda ticker: prepare(ticker, series[ticker]), skips_failing(raw), "prepare",
                      skipped)
    table = long_table(tables)
    table.attrs = {"skip_failing": skips_failing(raw), "skipped": skipped}
    write_parquet(table, args.out)
    write_json({"tickers": reports, "skipped": skipped}, args.report)
    repairs = {}
    for report in reports.values():
        for kind, count in report["data_quality"].items():
            if type(count) is int and count and kind not in ("rows_in", "rows_out"):
                repairs[kind] = repairs.get(kind, 0) + count
    log.info("%d tickers (%d skipped), %d feature rows; repairs: %s", len(tables), len(skipped), len(table),
             repairs or "none")


if __name__ == "__main__":
    run_stage(main)
