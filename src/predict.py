"""Stage predict: each ticker of a batch, a forecast of the next trading sessions after its last data date."""

import argparse
import logging
from pathlib import Path

import pandas as pd

from stockpipe import columns as col
from stockpipe.backtest import model_file, spec_file, ticker_dirs
from stockpipe.calendar import sessions_after
from stockpipe.errors import PipelineError
from stockpipe.forecast import recursive_forecast, validation_log_residuals, with_intervals
from stockpipe.inference import load_forecaster, read_trained
from stockpipe.io import read_parquet, run_stage, write_csv
from stockpipe.metrics import conformal_halfwidth
from stockpipe.params import load_params
from stockpipe.universe import by_ticker, long_table, run_each, skips_failing
from stockpipe.windows import ModelSpec

log = logging.getLogger("predict")
FORECAST_COLUMNS = [col.DATE, col.PREDICTED_CLOSE, col.LOWER, col.UPPER]


def forecast_ticker(table: pd.DataFrame, params, model_dir: Path, spec_dir: Path) -> pd.DataFrame:
    """One ticker's forecast (date, predicted_close, lower, upper) from its shipped model."""
    spec = ModelSpec.read(spec_file(spec_dir, 0, last=True))
    # The shipped model (the last fold's, first seed's) has one name whatever the fold and seed.
    forecaster = load_forecaster(model_file(model_dir, fold=0, seed=0, shipped=True))
    dates = sessions_after(params.data.exchange, table[col.DATE].iloc[-1], params.predict.horizon)
    forecast = recursive_forecast(table, dates, spec, params.features, forecaster.predict)
    residuals = validation_log_residuals(table, spec, forecaster.predict)
    try:
        forecast = with_intervals(forecast, conformal_halfwidth(residuals, params.predict.coverage))
    except ValueError as error:
        raise PipelineError(f"params.yaml: predict.coverage: {error}") from None
    forecast[col.DATE] = forecast[col.DATE].dt.strftime("%Y-%m-%d")
    return forecast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("features", help="the batch's features parquet from prepare (the whole history)")
    parser.add_argument("ticker_models", help="the batch's folder of per-ticker models (train)")
    parser.add_argument("global_models", help="the folder of the pooled model (train_global)")
    parser.add_argument("out", help="forecast CSV to write, one row per ticker and session")
    args = parser.parse_args()
    params = load_params()
    scope = params.model.scope
    trained = read_trained(scope, args.ticker_models, args.global_models)
    table = read_parquet(args.features)
    series = {ticker: rows for ticker, rows in by_ticker(table).items() if ticker in trained["tickers"]}

    def forecast(ticker: str) -> pd.DataFrame:
        return forecast_ticker(series[ticker], params, *ticker_dirs(scope, Path(args.ticker_models),
                                                                    Path(args.global_models), ticker))

    forecasts = run_each(series, forecast, skips_failing(table), "predict", {})
    empty = pd.DataFrame({name: pd.Series(dtype="object") for name in FORECAST_COLUMNS})
    write_csv(long_table(forecasts, empty=empty), args.out)
    for ticker, frame in forecasts.items():
        log.info("%s: last close %.2f on %s; %d-session forecast %s .. %s ends at %.2f (%.0f%% interval %.2f .. %.2f)",
                 ticker, series[ticker][col.CLOSE].iloc[-1], series[ticker][col.DATE].iloc[-1].date(), len(frame),
                 frame[col.DATE].iloc[0], frame[col.DATE].iloc[-1], frame[col.PREDICTED_CLOSE].iloc[-1],
                 100 * params.predict.coverage, frame[col.LOWER].iloc[-1], frame[col.UPPER].iloc[-1])


if __name__ == "__main__":
    run_stage(main)
