"""Stage clean: repair prices by documented rules and count every repair."""

import argparse
import logging

from stockpipe.cleaning import clean_prices
from stockpipe.io import read_parquet, run_stage, write_json, write_parquet
from stockpipe.params import load_params

log = logging.getLogger("clean")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("prices", help="raw prices parquet from download_prices")
    parser.add_argument("out", help="clean prices parquet to write")
    parser.add_argument("--report", required=True, help="data-quality JSON to write")
    args = parser.parse_args()
    params = load_params()
    raw = read_parquet(args.prices)
    train_fraction = 1 - params.split.test_size - params.split.val_size
    prices, report = clean_prices(raw, params.data.exchange, params.clean, train_fraction)
    write_parquet(prices, args.out)
    write_json({**raw.attrs, "exchange": params.data.exchange, **report}, args.report)
    repairs = {kind: count for kind, count in report.items() if count and kind not in ("rows_in", "rows_out")}
    log.info("%d rows in, %d out; repairs: %s", report["rows_in"], report["rows_out"], repairs or "none")


if __name__ == "__main__":
    run_stage(main)
