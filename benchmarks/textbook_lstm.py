"""The "textbook" Keras LSTM stock predictor, made honest: the yardstick for the pipeline.

Tutorials predict tomorrow's close from the last 60 closes with two LSTM(50) layers, dropout 0.2,
a Dense(1) head, Adam and MSE, batch 32, 20 epochs. That recipe is kept as it is. Two habits
of the tutorials are fixed, because they make the reported error meaningless:

- the MinMaxScaler is fitted on the training part only (every date before the first test date),
  not on the whole series, so the test prices never shape the inputs;
- the model is scored on exactly the test dates of a pipeline run (read from its
  metrics/evaluate/batch_0.csv), beside the naive forecast "tomorrow's close = today's close",
  with the pipeline's own metric function, so rmse and skill compare one to one.

There is no validation set and no early stopping: that is the textbook recipe.

Usage (after `dvc repro`, from the repository root):

    .venv/bin/python benchmarks/textbook_lstm.py data/raw/prices/batch_0.parquet metrics/evaluate/batch_0.csv

Keras prints one line per epoch; the last line on stdout is the result as JSON: rmse, naive_rmse,
skill (1 - rmse / naive_rmse), epochs, train_windows, test_windows, fit_seconds and
train_windows_per_second (training windows processed per second of model.fit, all epochs).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler

# The metric function is the pipeline's own; src/ is not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from stockpipe.adapters.io import parquet_frame  # noqa: E402
from stockpipe.metrics import forecast_metrics  # noqa: E402

WINDOW = 60
UNITS = 50
DROPOUT_RATE = 0.2
BATCH_SIZE = 32
EPOCHS = 20
SEED = 42


def make_windows(values: np.ndarray, target_rows: np.ndarray, window: int) -> np.ndarray:
    """The ``window`` values before each target row, shaped (n_windows, window, 1) for the LSTM."""
    return np.stack([values[row - window:row] for row in target_rows])[..., np.newaxis].astype("float32")


def build_model(window: int) -> keras.Model:
    """Two stacked LSTM(50) layers with dropout 0.2, a Dense(1) head, Adam and MSE."""
    inputs = keras.Input(shape=(window, 1))
    hidden = keras.layers.LSTM(UNITS, return_sequences=True)(inputs)
    hidden = keras.layers.Dropout(DROPOUT_RATE)(hidden)
    hidden = keras.layers.LSTM(UNITS)(hidden)
    hidden = keras.layers.Dropout(DROPOUT_RATE)(hidden)
    outputs = keras.layers.Dense(1)(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


def prepare(prices_path: str, predictions_path: str):
    """Closes, the scaler fitted before the first test date, scaled closes, train and test rows."""
    prices = parquet_frame(prices_path)  # pd.read_parquet, without Arrow threads that can abort the exit
    pipeline = pd.read_csv(predictions_path, parse_dates=["date"])
    close = prices["close"].to_numpy(dtype="float64")
    test_rows = pd.Index(prices["date"]).get_indexer(pipeline["date"])
    if (test_rows < 0).any():
        raise ValueError(f"{(test_rows < 0).sum()} test dates of {predictions_path} are not in {prices_path}")
    first_test = test_rows.min()
    if first_test <= WINDOW:
        raise ValueError(f"only {first_test} rows before the first test date; {WINDOW}-day windows need more")
    # Both forecasts must be scored against the same prices, or the two skills would not compare.
    if not np.allclose(close[test_rows], pipeline["actual"], rtol=1e-6):
        raise ValueError(f"the closes in {prices_path} differ from the actual column of {predictions_path}")
    # Everything before the first test date is the training part; the scaler sees nothing later.
    scaler = MinMaxScaler().fit(close[:first_test].reshape(-1, 1))
    scaled = scaler.transform(close.reshape(-1, 1)).ravel()
    return close, scaler, scaled, np.arange(WINDOW, first_test), test_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prices", help="cleaned daily prices (parquet: date, open, high, low, close, volume)")
    parser.add_argument("predictions", help="the pipeline's metrics/evaluate/batch_0.csv, whose dates are the test set")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs (default {EPOCHS})")
    args = parser.parse_args()

    close, scaler, scaled, train_rows, test_rows = prepare(args.prices, args.predictions)
    x_train, y_train = make_windows(scaled, train_rows, WINDOW), scaled[train_rows]
    # A test window holds the 60 closes before its date, which may include earlier test days:
    # one-step-ahead forecasting, exactly like the pipeline and the naive forecast.
    x_test = make_windows(scaled, test_rows, WINDOW)

    keras.utils.set_random_seed(SEED)
    model = build_model(WINDOW)
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=BATCH_SIZE, verbose=2)
    fit_seconds = time.perf_counter() - start

    predicted = scaler.inverse_transform(model.predict(x_test, verbose=0)).ravel()
    metrics = forecast_metrics(close[test_rows], predicted, close[test_rows - 1])
    print(json.dumps({
        "rmse": metrics["rmse"],
        "naive_rmse": metrics["naive_rmse"],
        "skill": metrics["skill"],
        "epochs": args.epochs,
        "train_windows": len(train_rows),
        "test_windows": len(test_rows),
        "fit_seconds": round(fit_seconds, 3),
        "train_windows_per_second": round(len(train_rows) * args.epochs / fit_seconds, 1),
    }))


if __name__ == "__main__":
    main()
