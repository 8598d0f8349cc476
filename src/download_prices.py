"""Stage download_prices: daily OHLCV from the packaged sample or a local CSV."""

import argparse
import logging
from pathlib import Path

from stockpipe import columns as col
from stockpipe.io import run_stage, write_parquet
from stockpipe.params import load_params
from stockpipe.prices import filter_range, load_sample, read_price_csv

log = logging.getLogger("download_prices")
TRACKED_DIR = Path("data/external")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="parquet file to write")
    args = parser.parse_args()
    data = load_params().data
    if data.source == "sample":
        prices = load_sample()
    else:
        path = Path(data.path)
        if TRACKED_DIR.resolve() not in path.resolve().parents:
            log.warning("%s is outside %s/: DVC will not notice when the file changes", path, TRACKED_DIR)
        prices = read_price_csv(path, data.date_format)
    prices = filter_range(prices, data.start, data.end, f"data.source={data.source}")
    prices.attrs = {"source": data.source, "ticker": data.ticker}
    write_parquet(prices, args.out)
    log.info("%s %s: %d rows, %s .. %s", data.source, data.ticker, len(prices),
             prices[col.DATE].min().date(), prices[col.DATE].max().date())


if __name__ == "__main__":
    run_stage(main)
