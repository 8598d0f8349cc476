"""Stage monitor: keep each ticker's forecasts in a dated history, score them against the actual closes, report drift.

One history file holds every ticker's forecasts; each ticker's rows are scored against its own
closes and summed up against its own test-set errors.
"""

import argparse
import logging
from pathlib import Path

import pandas as pd

from stockpipe import columns as col
from stockpipe import plots
from stockpipe.adapters.io import (
    batch_file,
    batch_files,
    read_csv_table,
    read_json_object,
    read_parquet,
    run_stage,
    ticker_rows,
    write_csv,
    write_json,
    write_png,
)
from stockpipe.errors import PipelineError
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
from stockpipe.universe import batch_of, by_ticker

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


def read_forecast(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """predict's forecast CSV (a ticker column, then the forecast's) with its types, and the file's text cells
    (which keep the bands), or a one-line PipelineError."""
    if not path.exists():
        raise PipelineError(f"{path}: file not found (run the stage that writes it first)")
    # A batch whose tickers were all skipped, or to which no ticker hashes, has a forecast of no rows.
    frame, _ = read_csv_table(path, na_values=(), header_only=True)
    if col.TICKER not in frame.columns:
        raise PipelineError(f"{path}: no {col.TICKER} column (expected {col.TICKER}, {col.DATE}, "
                            f"{col.PREDICTED_CLOSE}, ... as predict writes them; rerun predict)")
    try:
        return pd.concat([frame[[col.TICKER]].reset_index(drop=True),
                          forecast_from_csv(frame.drop(columns=col.TICKER)).reset_index(drop=True)], axis=1), frame
    except ValueError as error:
        raise PipelineError(f"{path}: {error}") from None


def read_folder(folder: str, batches: list[int], suffix: str, reader) -> list:
    """The file of each of ``batches`` in a stage's folder, read with ``reader``, in batch order."""
    return [reader(path) for path in batch_files(folder, batches, suffix)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("forecasts", help="folder of every batch's forecast CSV from predict")
    parser.add_argument("features", help="folder of every batch's features parquet: the actual closes")
    parser.add_argument("metrics", help="folder of every batch's test metrics JSON from evaluate (rmse, naive_rmse)")
    parser.add_argument("--history", required=True, help="forecast history CSV, read and extended in place")
    parser.add_argument("--report", required=True, help="monitor JSON to write")
    parser.add_argument("--plots", required=True, help="folder to write the main ticker's fan chart into")
    args = parser.parse_args()
    params = load_params()
    monitor, batches = params.monitor, params.data.batches
    test_metrics = {}
    for batch in read_folder(args.metrics, batches, ".json", read_json_object):
        test_metrics.update(batch["tickers"])
    prices = {}
    for table in read_folder(args.features, batches, ".parquet", read_parquet):
        prices.update(by_ticker(table))
    forecasts, forecast_files = {}, {}
    for path in batch_files(args.forecasts, batches, ".csv"):
        table, forecast_files[path] = read_forecast(path)
        forecasts.update(by_ticker(table))
    # Checked before anything is written: a plots.ticker without a forecast stops the stage with its outputs as
    # they were. The history keeps only the point forecast; the bands come from predict's file of the ticker's batch.
    tickers = params.data.tickers
    main = plots.main_ticker(params.plots.ticker, None if tickers == "all" else tickers,
                             [name for name in forecasts if name in prices])
    path = None if main is None else batch_file(args.forecasts, batch_of(main, len(batches)), ".csv")
    bands = None if main is None else ticker_rows(forecast_files[path], path, main, (col.PREDICTED_CLOSE,),
                                                  optional=(col.LOWER_50, col.UPPER_50, col.LOWER, col.UPPER))
    history = read_history(Path(args.history))
    reports = {}
    for ticker in sorted(forecasts):
        if ticker not in prices or ticker not in test_metrics:
            continue
        try:
            history = score(record(history, forecast_rows(forecasts[ticker], prices[ticker], ticker)),
                            prices[ticker], ticker)
            reports[ticker] = summarize(history, ticker, test_metrics[ticker], monitor.window, monitor.min_scored,
                                        monitor.drift_ratio)
        except ValueError as error:
            raise PipelineError(f"ticker {ticker}: {args.forecasts} / {args.features} / {args.metrics}: {error}") \
                from None
    drifting = [ticker for ticker, report in reports.items() if report["drift"]]
    write_csv(history_to_csv(history), args.history)
    write_json({"tickers_monitored": len(reports), "drifting": drifting, "tickers": reports}, args.report)
    others = history.loc[~history[col.TICKER].isin(list(reports)), col.TICKER]
    if not others.empty:
        names = sorted(others.unique())
        log.info("%d rows of other tickers (%s) kept as they were", len(others), ", ".join(names[:10]))
    for ticker, report in reports.items():
        first = report["first_step"]
        if first["n"]:
            log.info("%s: %d forecasts, %d rows scored; the last %d first steps: rmse %.3f vs naive %.3f (rmse / "
                     "naive %s times the test set's); drift: %s", ticker, report["forecasts"], report["n_scored"],
                     first["n"], first["rmse"], first["naive_rmse"],
                     "n/a" if report["ratio"] is None else f"{report['ratio']:.2f}",
                     "not judged yet" if report["drift"] is None else report["drift"])
    log.info("%d tickers monitored, %d drifting%s", len(reports), len(drifting),
             f": {', '.join(drifting[:10])}" if drifting else "")
    draw_fan(Path(args.plots), main, prices, bands, params.predict.coverage)


def draw_fan(folder: Path, ticker: str | None, prices: dict[str, pd.DataFrame], forecast: pd.DataFrame | None,
             coverage: float) -> None:
    """The main ticker's fan chart: its last closes and the forecast with both bands, table and PNG."""
    if ticker is None:
        write_csv(pd.DataFrame(columns=plots.FAN_COLUMNS), folder / "fan.csv")
        write_png(plots.empty_figure("no ticker has a forecast to draw"), folder / "fan.png")
        return
    table = plots.fan_table(prices[ticker][col.DATE], prices[ticker][col.CLOSE], forecast)
    write_csv(table, folder / "fan.csv")
    write_png(plots.fan_figure(table, ticker, coverage), folder / "fan.png")
    log.info("%s's fan chart in %s", ticker, folder)


if __name__ == "__main__":
    run_stage(main)
