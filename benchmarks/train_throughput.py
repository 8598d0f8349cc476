"""Training throughput of the train stage's code path against the textbook's model.fit.

Both fit the textbook's windows (60 scaled closes before each training day, from
textbook_lstm.prepare) with the textbook's layer sizes (two LSTM(50) layers, dropout 0.2,
Dense(1), Adam, MSE), in one process, taking turns:

- textbook: keras.layers.LSTM, batch 32, plain model.fit (the tutorial recipe);
- pipeline: stockpipe.model.build_model (FusedLSTM on CPU) at params.yaml's train.batch_size,
  fed by stockpipe.model.batches, as in the train stage.

One warm-up epoch each (graph tracing) is left out; then ROUNDS rounds of one timed epoch
each, textbook then pipeline, so that a change in the machine's load falls on both alike.
Prints one JSON line: windows, timed epochs per model, each side's median windows per second
and the median of the rounds' ratios.

    .venv/bin/python benchmarks/train_throughput.py data/interim/prices.parquet metrics/predictions.csv
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import keras
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from stockpipe.model import batches, build_model  # noqa: E402
from textbook_lstm import BATCH_SIZE, DROPOUT_RATE, UNITS, WINDOW, make_windows, prepare  # noqa: E402
from textbook_lstm import build_model as build_textbook_model  # noqa: E402

ROUNDS = 5


def epoch_rate(model: keras.Model, windows: int, data: dict) -> float:
    """Windows per second of one epoch of ``model.fit(**data)`` over ``windows`` windows."""
    start = time.perf_counter()
    model.fit(**data, epochs=1, verbose=0)
    return windows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prices")
    parser.add_argument("predictions")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    args = parser.parse_args()
    _, _, scaled, train_rows, _ = prepare(args.prices, args.predictions)
    x, y = make_windows(scaled, train_rows, WINDOW), scaled[train_rows]
    train = yaml.safe_load(Path(args.params).read_text())["train"]

    keras.utils.set_random_seed(0)
    textbook = build_textbook_model(WINDOW)
    keras.utils.set_random_seed(0)
    ours = build_model(WINDOW, 1, layers=2, units=UNITS, dropout_rate=DROPOUT_RATE,
                       learning_rate=train["learning_rate"])
    runs = [(textbook, {"x": x, "y": y, "batch_size": BATCH_SIZE}),
            (ours, {"x": batches(x, y, train["batch_size"], shuffle_seed=0), "shuffle": False})]
    for model, data in runs:
        model.fit(**data, epochs=1, verbose=0)  # traces the graphs
    rounds = [[epoch_rate(model, len(x), data) for model, data in runs] for _ in range(ROUNDS)]
    print(json.dumps({
        "windows": len(x), "epochs": ROUNDS, "textbook_batch_size": BATCH_SIZE,
        "pipeline_batch_size": train["batch_size"],
        "textbook_windows_per_second": round(statistics.median(book for book, _ in rounds)),
        "pipeline_windows_per_second": round(statistics.median(pipe for _, pipe in rounds)),
        "ratio": round(statistics.median(pipe / book for book, pipe in rounds), 2),
    }))


if __name__ == "__main__":
    main()
