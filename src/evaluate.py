"""Stage evaluate: test-set errors in price units beside the naive forecast, per fold and seed, and a plot."""

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.backtest import FoldPredictions, backtest_metrics, model_file, seed_values, spec_file
from stockpipe.errors import PipelineError
from stockpipe.inference import load_forecaster
from stockpipe.io import atomic_path, read_parquet, run_stage, write_csv, write_json
from stockpipe.metrics import check_ma_window_fits
from stockpipe.params import load_params
from stockpipe.splitting import Fold, walk_forward_folds
from stockpipe.windows import ModelSpec, predict_prices, stack_parts, target_rows

log = logging.getLogger("evaluate")


def predict_fold(table: pd.DataFrame, fold: Fold, seeds: list[int], model_dir: Path, last: bool) -> FoldPredictions:
    """One fold's predictions of its test block (every seed) and validation rows (the first seed)."""
    spec = ModelSpec.read(spec_file(model_dir, fold.number, last))
    test_rows = target_rows(fold.val_stop, fold.test_stop, spec.window)
    val_rows = target_rows(fold.train_stop, fold.val_stop, spec.window)
    test, val = {}, None
    for seed in seeds:
        forecaster = load_forecaster(model_file(model_dir, fold.number, seed, shipped=last and seed == seeds[0]))
        test[seed] = predict_prices(table, test_rows, spec, forecaster.predict)
        if val is None:
            val = predict_prices(table, val_rows, spec, forecaster.predict)
    return FoldPredictions(fold, test_rows, val_rows, test, val)


def plot_predictions(frame: pd.DataFrame, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(11, 4.5))
    axis.plot(frame[col.DATE], frame[col.ACTUAL], label="actual close", linewidth=1.2, color="black")
    axis.plot(frame[col.DATE], frame[col.PREDICTED], label="LSTM", linewidth=1.0)
    axis.plot(frame[col.DATE], frame[col.NAIVE], label="naive (previous close)", linewidth=0.8, alpha=0.7)
    axis.set_title(title)
    axis.set_ylabel("price")
    axis.legend()
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, format="png")
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("split_dir", help="folder with train/val/test parquet files")
    parser.add_argument("model_dir", help="folder with model.keras, scaler.json and the backtest's models")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--predictions", required=True)
    parser.add_argument("--plot", required=True)
    args = parser.parse_args()
    params = load_params()
    parts = [read_parquet(Path(args.split_dir) / f"{name}.parquet") for name in ("train", "val", "test")]
    table = stack_parts(parts)
    folds = walk_forward_folds(*map(len, parts), params.evaluate.folds)
    # Checked before any model is loaded: the moving average of the first test day needs that many closes.
    check_ma_window_fits(params.evaluate.ma_window, folds[0].val_stop)
    seeds = seed_values(params.seed, params.train.seeds)
    results = [predict_fold(table, fold, seeds, Path(args.model_dir), last=fold is folds[-1]) for fold in folds]
    close, dates = table[col.CLOSE].to_numpy(), table[col.DATE].to_numpy()
    metrics = backtest_metrics(close, dates, results, seeds, params.evaluate.ma_window, params.predict.coverage)
    rows = np.concatenate([result.test_rows for result in results])
    frame = pd.DataFrame({col.DATE: dates[rows], col.ACTUAL: close[rows],
                          col.PREDICTED: np.concatenate([result.test[seeds[0]] for result in results]),
                          col.NAIVE: close[rows - 1],
                          col.FOLD: np.concatenate([np.full(len(result.test_rows), result.fold.number)
                                                    for result in results])})
    frame[col.DATE] = frame[col.DATE].dt.strftime("%Y-%m-%d")
    write_json(metrics, args.metrics)
    write_csv(frame, args.predictions)
    verdict = "beats" if metrics["beats_naive"] else "LOSES TO"
    plot_predictions(frame.assign(**{col.DATE: pd.to_datetime(frame[col.DATE])}),
                     f"Test set: LSTM rmse {metrics['rmse']:.2f} {verdict.lower()} naive rmse "
                     f"{metrics['naive_rmse']:.2f} (skill {metrics['skill']:+.3f})", Path(args.plot))
    log.info("test rmse %.3f vs naive %.3f: skill %+.4f, the model %s the naive forecast; "
             "%.0f%% intervals held %.1f%% of test closes", metrics["rmse"], metrics["naive_rmse"],
             metrics["skill"], verdict, 100 * params.predict.coverage, 100 * metrics["interval_coverage"])
    for name in ("folds", "seeds"):
        if metrics[name]["count"] > 1:
            skill = metrics[name]["skill"]
            log.info("skill over %d %s: mean %+.4f, sd %.4f, range %+.4f .. %+.4f", metrics[name]["count"], name,
                     skill["mean"], skill["std"], skill["min"], skill["max"])
    if params.evaluate.fail_below_naive and metrics["skill"] < 0:
        raise PipelineError(
            f"test skill {metrics['skill']:+.4f} < 0: the model loses to the naive forecast "
            "(evaluate.fail_below_naive is true; metrics/metrics.json was written)"
        )


if __name__ == "__main__":
    run_stage(main)
