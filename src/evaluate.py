"""Stage evaluate: each ticker of a batch, its test-set errors in price units beside the naive forecast.

Per ticker, per walk-forward fold and seed, with the models of model.scope: the ticker's own
(train) or the pooled one (train_global) with the ticker's own scalers. Test days are the same
for both scopes. Writes one metrics file and one long predictions file for the batch.
"""

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.adapters.inference import load_forecaster, read_trained
from stockpipe.adapters.io import read_json_object, read_parquet, run_stage, write_csv, write_json
from stockpipe.backtest import model_file, seed_values, spec_file, split_sizes_of, ticker_dirs
from stockpipe.columns import time_text
from stockpipe.errors import PipelineError
from stockpipe.metrics import check_ma_window_fits, verdict_words
from stockpipe.params import load_params
from stockpipe.scoring import FoldPredictions, backtest_metrics, fold_intervals, one_step_band
from stockpipe.splitting import Fold, walk_forward_folds
from stockpipe.universe import by_ticker, long_table, run_each, skips_failing
from stockpipe.windows import ModelSpec, predict_prices, target_rows

log = logging.getLogger("evaluate")
PREDICTION_COLUMNS = [col.DATE, col.ACTUAL, col.PREDICTED, col.NAIVE, col.FOLD, col.LOWER, col.UPPER]


def predict_fold(table: pd.DataFrame, fold: Fold, seeds: list[int], model_dir: Path, spec_dir: Path,
                 last: bool) -> FoldPredictions:
    """One fold's predictions of its test block and validation rows, every seed's."""
    spec = ModelSpec.from_dict(read_json_object(spec_file(spec_dir, fold.number, last)))
    test_rows = target_rows(fold.val_stop, fold.test_stop, spec.window)
    val_rows = target_rows(fold.train_stop, fold.val_stop, spec.window)
    test, val = {}, {}
    for seed in seeds:
        forecaster = load_forecaster(model_file(model_dir, fold.number, seed, shipped=last and seed == seeds[0]))
        test[seed] = predict_prices(table, test_rows, spec, forecaster.predict)
        val[seed] = predict_prices(table, val_rows, spec, forecaster.predict)
    return FoldPredictions(fold, test_rows, val_rows, test, val)


def evaluate_ticker(table: pd.DataFrame, params, model_dir: Path, spec_dir: Path) -> tuple[dict, pd.DataFrame]:
    """One ticker's metrics (errors beside the baselines, intervals, folds and seeds) and its test predictions with
    their one-step predict.coverage interval."""
    folds = walk_forward_folds(*split_sizes_of(table), params.evaluate.folds)
    # Checked before any model is loaded: the moving average of the first test day needs that many closes.
    check_ma_window_fits(params.evaluate.ma_window, folds[0].val_stop)
    seeds = seed_values(params.seed, params.train.seeds)
    results = [predict_fold(table, fold, seeds, model_dir, spec_dir, last=fold is folds[-1]) for fold in folds]
    close, dates = table[col.CLOSE].to_numpy(), table[col.DATE].to_numpy()
    intervals = fold_intervals(close, results, params.predict)
    metrics = backtest_metrics(close, dates, results, seeds, params.evaluate.ma_window, params.predict,
                               params.evaluate.significance, intervals)
    rows = np.concatenate([result.test_rows for result in results])
    lower, upper = one_step_band(results, intervals)
    frame = pd.DataFrame({col.DATE: time_text(dates[rows]), col.ACTUAL: close[rows],
                          col.PREDICTED: np.concatenate([result.test_ensemble for result in results]),
                          col.NAIVE: close[rows - 1],
                          col.FOLD: np.concatenate([np.full(len(result.test_rows), result.fold.number)
                                                    for result in results]),
                          col.LOWER: lower, col.UPPER: upper})
    return metrics, frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("features", help="the batch's features parquet from prepare (with a part column)")
    parser.add_argument("ticker_models", help="the batch's folder of per-ticker models (train)")
    parser.add_argument("global_models", help="the folder of the pooled model (train_global)")
    parser.add_argument("--metrics", required=True, help="JSON of each ticker's test metrics to write")
    parser.add_argument("--predictions", required=True, help="CSV of each ticker's test predictions to write")
    args = parser.parse_args()
    params = load_params()
    scope = params.model.scope
    trained = read_trained(scope, args.ticker_models, args.global_models)
    table = read_parquet(args.features)
    prepared = by_ticker(table)
    # train_global's list names every batch's tickers; only this batch's belong in its file.
    skipped = {**table.attrs.get("skipped", {}),
               **{ticker: reason for ticker, reason in trained.get("skipped", {}).items() if ticker in prepared}}
    series = {ticker: rows for ticker, rows in prepared.items() if ticker in trained["tickers"]}

    def evaluate(ticker: str) -> tuple[dict, pd.DataFrame]:
        return evaluate_ticker(series[ticker], params, *ticker_dirs(scope, Path(args.ticker_models),
                                                                    Path(args.global_models), ticker))

    results = run_each(series, evaluate, skips_failing(table), "evaluate", skipped)
    write_json({"scope": scope, "tickers": {ticker: metrics for ticker, (metrics, _) in results.items()},
                "skipped": dict(sorted(skipped.items()))}, args.metrics)
    empty = pd.DataFrame({name: pd.Series(dtype="object") for name in PREDICTION_COLUMNS})
    write_csv(long_table({ticker: frame for ticker, (_, frame) in results.items()}, empty=empty), args.predictions)
    for ticker, (metrics, _) in results.items():
        volatile = metrics["intervals"]["coverage_by_volatility"]["high"]
        log.info("%s: test rmse %.3f vs naive %.3f: skill %+.4f, the model %s; %.0f%% %s intervals held %.1f%% of "
                 "test closes (%s on the most volatile third of days)", ticker, metrics["rmse"],
                 metrics["naive_rmse"], metrics["skill"], verdict_words(metrics), 100 * params.predict.coverage,
                 params.predict.interval_method, 100 * metrics["interval_coverage"],
                 "n/a" if volatile is None else f"{volatile:.1%}")
    beat = sum(metrics["beats_naive"] for metrics, _ in results.values())
    worse = sum(metrics["skill"] < 0 and metrics["significant"] for metrics, _ in results.values())
    log.info("%d of %d tickers beat the naive forecast, %d lose to it significantly (DM p < %g; %d skipped)", beat,
             len(results), worse, params.evaluate.significance, len(skipped))
    if params.evaluate.fail_below_naive:
        fail_below_naive([(ticker, metrics) for ticker, (metrics, _) in results.items()], params.evaluate)


def fail_below_naive(results: list[tuple[str, dict]], evaluate_params) -> None:
    """Stop the stage when a ticker loses to naive: on the sign of its skill, or only when significantly (fail_on)."""
    significant = evaluate_params.fail_on == "significant"
    losing = [ticker for ticker, metrics in results
              if metrics["skill"] < 0 and (metrics["significant"] or not significant)]
    if losing:
        what = (f"significantly (Diebold-Mariano p < {evaluate_params.significance:g})" if significant
                else "test skill < 0")
        raise PipelineError(
            f"{what} for {', '.join(losing[:5])}{' ...' if len(losing) > 5 else ''}: the model loses to the naive "
            f"forecast (evaluate.fail_below_naive is true, fail_on {evaluate_params.fail_on}; the metrics were "
            "written)")


if __name__ == "__main__":
    run_stage(main)
