"""Stage features: TA-Lib indicators and session sentiment per trading day."""

import argparse
import logging

from stockpipe.features import build_features
from stockpipe.io import read_parquet, run_stage, write_json, write_parquet
from stockpipe.params import load_params

log = logging.getLogger("features")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("prices", help="clean prices parquet")
    parser.add_argument("sentiment", help="daily sentiment parquet")
    parser.add_argument("out", help="features parquet to write")
    parser.add_argument("--report", required=True, help="JSON of rows dropped to write")
    args = parser.parse_args()
    params = load_params().features
    table, report = build_features(read_parquet(args.prices), read_parquet(args.sentiment), params)
    write_parquet(table, args.out)
    write_json(report, args.report)
    log.info("%d rows, %d warm-up rows dropped, %d sessions with news",
             report["rows_out"], report["warmup_rows_dropped"], report["sessions_with_news"])


if __name__ == "__main__":
    run_stage(main)
