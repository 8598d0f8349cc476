"""Stage download_prices: daily OHLCV from the packaged sample, a local CSV or a live provider.

The same script runs the refresh@prices stage (data.refresh: [prices]), which downloads into
data/refresh/ on every dvc repro; this stage then takes that file instead of downloading
again, so it and everything downstream rerun only when the downloaded bytes changed.
"""

import argparse
import datetime
import logging
import os
from pathlib import Path

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.http import make_session
from stockpipe.io import read_parquet, run_stage, write_parquet
from stockpipe.params import load_params
from stockpipe.prices import filter_range, load_sample, read_price_csv
from stockpipe.sources import API_KEY_VARIABLES, LIVE_SOURCES, download

log = logging.getLogger("download_prices")
TRACKED_DIR = Path("data/external")


def kept(path: Path) -> str:
    """What a failed download leaves behind (dvc.yaml marks the output persist, so DVC keeps it too)."""
    if not path.exists():
        return f"no earlier {path} to keep"
    previous = read_parquet(path)
    return (f"the previous {path} ({len(previous)} rows, {previous[col.DATE].min().date()} .. "
            f"{previous[col.DATE].max().date()}) is kept")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="parquet file to write")
    parser.add_argument("--refreshed", help="file of the refresh@prices stage, used when data.refresh lists prices")
    args = parser.parse_args()
    data = load_params().data
    today = datetime.datetime.now(datetime.UTC).date()
    labels = {"source": data.source, "ticker": data.ticker,
              "adjusted": data.adjusted if data.source in LIVE_SOURCES else None}
    # How a file was read (null for live sources), for metrics/data_quality.json.
    read = {"encoding": None, "delimiter": None}
    if args.refreshed and "prices" in data.refresh:
        prices = read_parquet(args.refreshed)
        if {key: prices.attrs.get(key) for key in labels} != labels:
            raise PipelineError(f"{args.refreshed}: downloaded for {prices.attrs}, not {labels}; run dvc repro")
    elif data.source in LIVE_SOURCES:
        variable = API_KEY_VARIABLES.get(data.source)
        log.info("asking %s for %s", data.source, data.ticker)
        try:
            prices = download(
                data.source, make_session(), data.base_url, data.ticker, data.start, data.end,
                adjusted=data.adjusted, today=today, api_key=os.environ.get(variable) if variable else None,
            )
        except PipelineError as error:
            raise PipelineError(f"{error}; {kept(Path(args.out))}") from None
    elif data.source == "sample":
        sample = load_sample(data.ticker)
        read = {key: sample.attrs[key] for key in read}
        prices = filter_range(sample, data.start, data.end, "data.source=sample")
    else:
        path = Path(data.path_for(data.ticker))
        if TRACKED_DIR.resolve() not in path.resolve().parents:
            log.warning("%s is outside %s/: DVC will not notice when the file changes", path, TRACKED_DIR)
        raw = read_price_csv(path, data.date_format, today=today)
        read = {key: raw.attrs[key] for key in read}
        prices = filter_range(raw, data.start, data.end, "data.source=csv")
    # `adjusted` is null for sample and csv: their prices are used as written.
    prices.attrs = {**labels, **read}
    write_parquet(prices, args.out)
    kind = {True: "adjusted for splits and dividends", False: "as traded", None: "as written"}[labels["adjusted"]]
    log.info("%s %s: %d rows, %s .. %s, %s", data.source, data.ticker, len(prices),
             prices[col.DATE].min().date(), prices[col.DATE].max().date(), kind)


if __name__ == "__main__":
    run_stage(main)
