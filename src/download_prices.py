"""Stage download_prices: daily OHLCV of every ticker from the packaged sample, CSV files or a live provider.

Writes one long parquet file per batch (data.batches) into the output folder: a ticker's
batch is a hash of its name, so a change to one ticker's file leaves the other batches'
files as they were and DVC reruns only the stages of its batch.

The same script runs the refresh@prices stage (data.refresh: [prices]) with --all-in-one:
it downloads every ticker into one file on every dvc repro; this stage then takes that file
instead of downloading again, so it and everything downstream rerun only when the bytes changed.
"""

import argparse
import datetime
import functools
import logging
import os
from pathlib import Path

import pandas as pd

from stockpipe import columns as col
from stockpipe.adapters.http import make_session
from stockpipe.adapters.io import atomic_dir, batch_file, read_parquet, run_stage, write_parquet
from stockpipe.adapters.sources import API_KEY_VARIABLES, LIVE_SOURCES, download
from stockpipe.bars import bar_times
from stockpipe.errors import PipelineError
from stockpipe.params import load_params
from stockpipe.prices import filter_range, load_sample, read_price_csv, universe
from stockpipe.universe import batch_members, by_ticker, long_table, run_each

log = logging.getLogger("download_prices")
TRACKED_DIR = Path("data/external")


def kept(path: Path) -> str:
    """What a failed download leaves behind (dvc.yaml marks the output persist, so DVC keeps it too)."""
    if not path.exists():
        return f"no earlier {path} to keep"
    files = [path] if path.is_file() else sorted(path.glob("batch_*.parquet"))
    tickers = sum(read_parquet(file)[col.TICKER].nunique() for file in files)
    return f"the previous {path} ({tickers} ticker{'' if tickers == 1 else 's'}) is kept"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", help="folder to write, one parquet file per batch (a file with --all-in-one)")
    parser.add_argument("--refreshed", help="file of the refresh@prices stage, used when data.refresh lists prices")
    parser.add_argument("--all-in-one", action="store_true", help="write every ticker into the one file `out`")
    args = parser.parse_args()
    params = load_params()
    data = params.data
    today = datetime.datetime.now(datetime.UTC).date()
    tickers = universe(data)
    labels = {"source": data.source, "adjusted": data.adjusted if data.source in LIVE_SOURCES else None}
    # How each file was read (null for live sources), for the data-quality report.
    read: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    session = make_session() if data.source in LIVE_SOURCES else None

    def fetch(ticker: str) -> pd.DataFrame:
        if data.source in LIVE_SOURCES:
            variable = API_KEY_VARIABLES.get(data.source)
            log.info("asking %s for %s", data.source, ticker)
            try:
                return download(data.source, session, data.base_url, ticker, data.start, data.end,
                                adjusted=data.adjusted, today=today,
                                api_key=os.environ.get(variable) if variable else None,
                                interval=data.interval, extended_hours=data.extended_hours)
            except PipelineError as error:
                if data.skip_failing:
                    raise
                raise PipelineError(f"{error}; {kept(Path(args.out))}") from None
        if data.source == "sample":
            raw, source = load_sample(ticker), "data.source=sample"
        else:
            times = functools.partial(bar_times, interval=data.interval, timezone=data.timezone,
                                      bar_label=data.bar_label, exchange=data.exchange) if data.intraday else None
            raw = read_price_csv(Path(data.path_for(ticker)), data.date_format, today=today, times=times)
            source = "data.source=csv"
        read[ticker] = {key: raw.attrs[key] for key in ("encoding", "delimiter")}
        return filter_range(raw, data.start, data.end, source)

    if args.refreshed and "prices" in data.refresh and not args.all_in_one:
        refreshed = read_parquet(args.refreshed)
        if {key: refreshed.attrs.get(key) for key in labels} != labels:
            raise PipelineError(f"{args.refreshed}: downloaded for {refreshed.attrs}, not {labels}; run dvc repro")
        frames = {ticker: rows for ticker, rows in by_ticker(refreshed).items() if ticker in tickers}
        skipped = {ticker: reason for ticker, reason in refreshed.attrs.get("skipped", {}).items() if ticker in tickers}
    else:
        if data.source == "csv":
            outside = [path for path in {Path(data.path_for(ticker)).parent for ticker in tickers}
                       if TRACKED_DIR.resolve() not in [path.resolve(), *path.resolve().parents]]
            for path in outside:
                log.warning("%s is outside %s/: DVC will not notice when its files change", path, TRACKED_DIR)
        frames = run_each(tickers, fetch, data.skip_failing, "download_prices", skipped)
    if not frames:
        raise PipelineError(f"no ticker of data.tickers could be read ({len(skipped)} skipped: "
                            f"{'; '.join(f'{t}: {r}' for t, r in list(skipped.items())[:3])})")

    n_batches = len(data.batches)

    def batch_table(batch: int | None) -> pd.DataFrame:
        members = list(frames) if batch is None else batch_members(frames, batch, n_batches)
        left_out = list(skipped) if batch is None else batch_members(skipped, batch, n_batches)
        # attrs travel in the parquet file: what was read and which tickers were left out, for the reports.
        table = long_table({ticker: frames[ticker] for ticker in members})
        table.attrs = {**labels, "skip_failing": data.skip_failing,
                       "read": {ticker: read[ticker] for ticker in members if ticker in read},
                       "skipped": {ticker: skipped[ticker] for ticker in left_out}}
        return table

    if args.all_in_one:
        write_parquet(batch_table(None), args.out)
    else:
        with atomic_dir(args.out) as folder:
            for batch in data.batches:
                write_parquet(batch_table(batch), batch_file(folder, batch))
    rows = sum(len(frame) for frame in frames.values())
    shown = "%Y-%m-%d %H:%M" if data.intraday else "%Y-%m-%d"
    first = min(frame[col.DATE].min() for frame in frames.values()).strftime(shown)
    last = max(frame[col.DATE].max() for frame in frames.values()).strftime(shown)
    log.info("%s: %d tickers (%d skipped), %d rows, %s .. %s, in %d batches", data.source, len(frames), len(skipped),
             rows, first, last, 1 if args.all_in_one else len(data.batches))


if __name__ == "__main__":
    run_stage(main)
