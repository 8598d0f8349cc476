"""Training throughput of the train stage's code path against the textbook's model.fit.

Both fit the textbook's windows (60 scaled closes before each training day, from
textbook_lstm.prepare) with the textbook's layer sizes (two LSTM(50) layers, dropout 0.2,
Dense(1), Adam, MSE), in one process, one after the other:

- textbook: keras.layers.LSTM, batch 32, plain model.fit (the tutorial recipe);
- pipeline: stockpipe.model.build_model (FusedLSTM on CPU) at params.yaml's train.batch_size.

One warm-up epoch each (graph tracing) is left out; then EPOCHS timed epochs. Prints one JSON
line: windows, epochs, both windows-per-second figures and their ratio.

    .venv/bin/python benchmarks/train_throughput.py data/interim/prices.parquet metrics/predictions.csv
"""

import argparse
import json
import sys
import time
from pathlib import Path

import keras
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from stockpipe.model import build_model  # noqa: E402
from textbook_lstm import BATCH_SIZE, DROPOUT_RATE, UNITS, WINDOW, make_windows, prepare  # noqa: E402
from textbook_lstm import build_model as build_textbook_model  # noqa: E402

EPOCHS = 3


def windows_per_second(model: keras.Model, x, y, batch_size: int) -> float:
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, epochs=EPOCHS, batch_size=batch_size, verbose=0)
    return len(x) * EPOCHS / (time.perf_counter() - start)


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
    textbook = windows_per_second(build_textbook_model(WINDOW), x, y, BATCH_SIZE)
    keras.utils.set_random_seed(0)
    ours = build_model(WINDOW, 1, layers=2, units=UNITS, dropout_rate=DROPOUT_RATE,
                       learning_rate=train["learning_rate"])
    pipeline = windows_per_second(ours, x, y, train["batch_size"])
    print(json.dumps({"windows": len(x), "epochs": EPOCHS, "textbook_batch_size": BATCH_SIZE,
                      "pipeline_batch_size": train["batch_size"], "textbook_windows_per_second": round(textbook),
                      "pipeline_windows_per_second": round(pipeline), "ratio": round(pipeline / textbook, 2)}))


if __name__ == "__main__":
    main()
