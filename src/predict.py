"""Stage predict: each ticker of a batch, a forecast of the next trading sessions (or intraday bars) after its last
data date."""

import argparse
import logging
from pathlib import Path

import pandas as pd

from stockpipe import columns as col
from stockpipe.adapters.inference import load_forecaster, read_trained
from stockpipe.adapters.io import read_json_object, read_parquet, run_stage, write_csv
from stockpipe.backtest import model_file, seed_values, spec_file, ticker_dirs
from stockpipe.bars import bars_after
from stockpipe.calendar import sessions_after
from stockpipe.columns import time_text
from stockpipe.forecast import recursive_forecast
from stockpipe.intervals import band, one_step_intervals
from stockpipe.params import load_params
from stockpipe.scoring import ensemble
from stockpipe.universe import by_ticker, long_table, run_each, skips_failing
from stockpipe.windows import ModelSpec, predict_prices, target_rows

log = logging.getLogger("predict")
FORECAST_COLUMNS = [col.DATE, col.PREDICTED_CLOSE, col.LOWER, col.UPPER, col.LOWER_50, col.UPPER_50]


def forecast_ticker(table: pd.DataFrame, params, model_dir: Path, spec_dir: Path) -> pd.DataFrame:
    """One ticker's forecast (``FORECAST_COLUMNS``): the mean of the last fold's seeds' forecasts and its bands.

    Its intervals are calibrated as the evaluate stage's: on the validation rows, then, with
    predict.interval_method adaptive, updated day by day through every later row up to the last.
    """
    spec = ModelSpec.from_dict(read_json_object(spec_file(spec_dir, 0, last=True)))
    seeds = seed_values(params.seed, params.train.seeds)
    # The last fold's models: the shipped one (its first seed, model.keras) and its other seeds.
    forecasters = [load_forecaster(model_file(model_dir, params.evaluate.folds, seed, shipped=seed == seeds[0]))
                   for seed in seeds]
    data, last = params.data, table[col.DATE].iloc[-1]
    # Intraday: the next bars of regular hours, nights, weekends and holidays skipped.
    dates = bars_after(data.exchange, last, params.predict.horizon, data.interval) if data.intraday \
        else sessions_after(data.exchange, last, params.predict.horizon)
    forecasts = {seed: recursive_forecast(table, dates, spec, params.features, forecaster.predict)
                 for seed, forecaster in zip(seeds, forecasters, strict=True)}
    forecast = forecasts[seeds[0]].assign(**{col.PREDICTED_CLOSE: ensemble(
        {seed: frame[col.PREDICTED_CLOSE] for seed, frame in forecasts.items()})})
    close = table[col.CLOSE].to_numpy(dtype="float64")
    val_rows = target_rows(spec.train_stop, spec.val_stop, spec.window)
    later_rows = target_rows(spec.val_stop, len(table), spec.window)
    val, later = ({seed: predict_prices(table, rows, spec, forecaster.predict)
                   for seed, forecaster in zip(seeds, forecasters, strict=True)} for rows in (val_rows, later_rows))
    intervals = one_step_intervals(close, spec.train_stop, val_rows, ensemble(val), later_rows, ensemble(later),
                                   params.predict, horizon=len(dates), inner=col.INNER_COVERAGE)
    predicted = forecast[col.PREDICTED_CLOSE].to_numpy()
    lower, upper = band(predicted, intervals.ahead)
    lower_50, upper_50 = band(predicted, intervals.inner_ahead)
    forecast = forecast.assign(**{col.LOWER: lower, col.UPPER: upper, col.LOWER_50: lower_50, col.UPPER_50: upper_50})
    forecast[col.DATE] = time_text(forecast[col.DATE])
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
        log.info("%s: last close %.2f on %s; %d-step forecast %s .. %s ends at %.2f (%.0f%% interval %.2f .. %.2f)",
                 ticker, series[ticker][col.CLOSE].iloc[-1], time_text(series[ticker][col.DATE].iloc[-1:])[0],
                 len(frame),
                 frame[col.DATE].iloc[0], frame[col.DATE].iloc[-1], frame[col.PREDICTED_CLOSE].iloc[-1],
                 100 * params.predict.coverage, frame[col.LOWER].iloc[-1], frame[col.UPPER].iloc[-1])


if __name__ == "__main__":
    run_stage(main)
