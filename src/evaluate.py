"""Stage evaluate: test-set errors in price units beside the naive forecast, and a plot."""

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.inference import load_forecaster
from stockpipe.io import atomic_path, read_parquet, run_stage, write_csv, write_json
from stockpipe.metrics import forecast_metrics
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
    val_metrics, _ = score(target_rows(n_train, n_train + n_val, spec.window))
    metrics.update({"val_rmse": val_metrics["rmse"], "val_naive_rmse": val_metrics["naive_rmse"],
                    "val_skill": val_metrics["skill"]})
    frame = pd.DataFrame({col.DATE: table[col.DATE].to_numpy()[test_rows], col.ACTUAL: close[test_rows],
                          col.PREDICTED: predicted, col.NAIVE: close[test_rows - 1]})
    frame[col.DATE] = frame[col.DATE].dt.strftime("%Y-%m-%d")
    write_json(metrics, args.metrics)
    write_csv(frame, args.predictions)
    verdict = "beats" if metrics["beats_naive"] else "LOSES TO"
    plot_predictions(frame.assign(**{col.DATE: pd.to_datetime(frame[col.DATE])}),
                     f"Test set: LSTM rmse {metrics['rmse']:.2f} {verdict.lower()} naive rmse "
                     f"{metrics['naive_rmse']:.2f} (skill {metrics['skill']:+.3f})", Path(args.plot))
    log.info("test rmse %.3f vs naive %.3f: skill %+.4f, the model %s the naive forecast",
             metrics["rmse"], metrics["naive_rmse"], metrics["skill"], verdict)


if __name__ == "__main__":
    run_stage(main)
