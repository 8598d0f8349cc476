"""Stage monitor: keep each forecast in a dated history, score it against the actual closes, report drift."""

import argparse
import logging
from pathlib import Path

import pandas as pd

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.io import read_csv_table, read_json_object, read_parquet, run_stage, write_csv, write_json
from stockpipe.monitor import (
    empty_history,
    forecast_from_csv,
    forecast_rows,
    history_from_csv,
    history_to_csv,
    record,
    score,
    summarize,
)
from stockpipe.params import load_params

log = logging.getLogger("monitor")


def read_history(path: Path) -> pd.DataFrame:
    """The history CSV, or an empty history where there is none yet (a first run, or a clone without it)."""
    if not path.exists():
        log.info("no history at %s yet: starting one", path)
        return empty_history()
    try:
        return history_from_csv(path)
    except ValueError as error:
        raise PipelineError(f"{path}: {error}") from None


def read_forecast(path: Path) -> pd.DataFrame:
    """predict's forecast CSV with its types, or a one-line PipelineError naming the file."""
    if not path.exists():
        raise PipelineError(f"{path}: file not found (run the stage that writes it first)")
    frame, _ = read_csv_table(path)
    try:
        return forecast_from_csv(frame)
    except ValueError as error:
        raise PipelineError(f"{path}: {error}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("forecast", help="forecast CSV from predict (date, predicted_close)")
    parser.add_argument("prices", help="clean prices parquet: the actual closes")
    parser.add_argument("metrics", help="test-set metrics JSON from evaluate (rmse, naive_rmse)")
    parser.add_argument("--history", required=True, help="forecast history CSV, read and extended in place")
    parser.add_argument("--report", required=True, help="monitor JSON to write")
    args = parser.parse_args()
    params = load_params()
    # The prices, and so the forecast, are data.ticker's: its rows alone are scored and summed up.
    ticker = params.data.ticker
    monitor = params.monitor
    prices = read_parquet(args.prices)
    forecast = read_forecast(Path(args.forecast))
    test_metrics = read_json_object(args.metrics)
    history = read_history(Path(args.history))
    try:
        history = score(record(history, forecast_rows(forecast, prices, ticker)), prices, ticker)
        report = summarize(history, ticker, test_metrics, monitor.window, monitor.min_scored, monitor.drift_ratio)
    except ValueError as error:
        raise PipelineError(f"{args.forecast} / {args.prices} / {args.metrics}: {error}") from None
    write_csv(history_to_csv(history), args.history)
    write_json(report, args.report)
    others = history.loc[history[col.TICKER] != ticker, col.TICKER]
    if not others.empty:
        log.info("%d rows of other tickers (%s) kept as they were", len(others), ", ".join(sorted(others.unique())))
    first = report["first_step"]
    if first["n"]:
        log.info("%s: %d forecasts, %d rows scored; the last %d first steps: rmse %.3f vs naive %.3f (rmse / naive "
                 "%s times the test set's); drift: %s", ticker, report["forecasts"], report["n_scored"], first["n"],
                 first["rmse"], first["naive_rmse"], "n/a" if report["ratio"] is None else f"{report['ratio']:.2f}",
                 "not judged yet" if report["drift"] is None else report["drift"])
    else:
        log.info("%s: %d forecasts, none scored yet: the prices end on %s", ticker, report["forecasts"],
                 prices[col.DATE].max().date())


if __name__ == "__main__":
    run_stage(main)
