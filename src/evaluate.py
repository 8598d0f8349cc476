"""Stage evaluate: test-set errors in price units beside the naive forecast, and a plot."""

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.inference import load_forecaster
from stockpipe.io import atomic_path, read_parquet, run_stage, write_csv, write_json
from stockpipe.metrics import (
    baseline_forecasts,
    conformal_halfwidth,
    forecast_metrics,
    interval_coverage,
    mase,
)
from stockpipe.params import load_params
from stockpipe.windows import ModelSpec, predict_prices, stack_parts, target_rows

log = logging.getLogger("evaluate")


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
    parser.add_argument("model_dir", help="folder with model.keras and scaler.json")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--predictions", required=True)
    parser.add_argument("--plot", required=True)
    args = parser.parse_args()
    params = load_params()
    parts = [read_parquet(Path(args.split_dir) / f"{name}.parquet") for name in ("train", "val", "test")]
    table = stack_parts(parts)
    spec = ModelSpec.from_dict(json.loads((Path(args.model_dir) / "scaler.json").read_text()))
    forecaster = load_forecaster(Path(args.model_dir) / "model.keras")
    close = table[col.CLOSE].to_numpy()
    n_train, n_val = len(parts[0]), len(parts[1])

    def score(rows: np.ndarray) -> tuple[dict, np.ndarray]:
        predicted = predict_prices(table, rows, spec, forecaster.predict)
        return forecast_metrics(close[rows], predicted, close[rows - 1]), predicted

    test_rows = target_rows(n_train + n_val, len(table), spec.window)
    metrics, predicted = score(test_rows)
    val_rows = target_rows(n_train, n_train + n_val, spec.window)
    val_metrics, val_predicted = score(val_rows)
    metrics.update({"val_rmse": val_metrics["rmse"], "val_naive_rmse": val_metrics["naive_rmse"],
                    "val_skill": val_metrics["skill"], "mase": mase(metrics["mae"], close[:n_train])})
    # Baselines that need no model, on the same test days, in the same units.
    for name, forecast in baseline_forecasts(close, test_rows, n_train, params.evaluate.ma_window).items():
        if name != "naive":
            errors = forecast_metrics(close[test_rows], forecast, close[test_rows - 1])
            metrics.update({f"{name}_rmse": errors["rmse"], f"{name}_mae": errors["mae"],
                            f"{name}_skill": errors["skill"]})
    # Split-conformal intervals from validation residuals only; their coverage is measured on test.
    try:
        halfwidth = conformal_halfwidth(np.log(close[val_rows] / val_predicted), params.predict.coverage)
    except ValueError as error:
        raise PipelineError(f"params.yaml: predict.coverage: {error}") from None
    metrics.update({"interval_coverage_target": params.predict.coverage,
                    "interval_coverage": interval_coverage(close[test_rows], predicted, halfwidth),
                    "interval_halfwidth_log": halfwidth})
    frame = pd.DataFrame({col.DATE: table[col.DATE].to_numpy()[test_rows], col.ACTUAL: close[test_rows],
                          col.PREDICTED: predicted, col.NAIVE: close[test_rows - 1]})
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
    if params.evaluate.fail_below_naive and metrics["skill"] < 0:
        raise PipelineError(
            f"test skill {metrics['skill']:+.4f} < 0: the model loses to the naive forecast "
            "(evaluate.fail_below_naive is true; metrics/metrics.json was written)"
        )


if __name__ == "__main__":
    run_stage(main)
