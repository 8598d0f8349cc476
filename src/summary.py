"""Stage summary: every ticker's test errors beside the naive forecast, as JSON and a markdown table."""

import argparse
import logging
from pathlib import Path

from stockpipe.io import atomic_path, read_json_object, run_stage, write_json
from stockpipe.params import load_params
from stockpipe.tickers import markdown_table, summary, summary_row

log = logging.getLogger("summary")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("metrics", help="the main ticker's metrics.json")
    parser.add_argument("tickers_dir", help="folder with <ticker>/model/metrics.json for each of data.tickers")
    parser.add_argument("--json", required=True)
    parser.add_argument("--markdown", required=True)
    args = parser.parse_args()
    data = load_params().data
    rows = {data.ticker: summary_row(read_json_object(args.metrics))}
    for ticker in data.tickers:
        rows[ticker] = summary_row(read_json_object(Path(args.tickers_dir) / ticker / "model" / "metrics.json"))
    table = summary(rows)
    write_json(table, args.json)
    with atomic_path(args.markdown) as tmp:
        tmp.write_text(markdown_table(table), encoding="utf-8")
    log.info("%d of %d tickers beat the naive forecast (mean skill %+.4f)", table["beat_naive"], table["count"],
             table["mean_skill"])


if __name__ == "__main__":
    run_stage(main)
