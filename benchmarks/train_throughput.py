"""Training throughput of the train stage's code path against the textbook's model.fit.

Both fit the textbook's windows (60 scaled closes before each training day, from
textbook_lstm.prepare) with the textbook's layer sizes (two LSTM(50) layers, dropout 0.2,
Dense(1), Adam, MSE), each in a process of its own, set up as its own script runs:

- textbook: keras.layers.LSTM, batch 32, plain model.fit, TensorFlow's default threads (the
  tutorial recipe);
- pipeline: stockpipe.adapters.model.build_model (FusedLSTM on CPU) at params.yaml's train.batch_size,
  fed by stockpipe.adapters.model.batches, with the train stage's threads (configure_threads).

Each process fits one untimed epoch (graph tracing); then ROUNDS rounds of one timed epoch
each, textbook then pipeline, one process at a time while the other waits, so that a change in
the machine's load falls on both alike. Prints one JSON line: windows, timed epochs per model,
each side's median windows per second, the median of the rounds' ratios, the device and the
recurrent kernels each side's training step ran (stockpipe.adapters.model.recurrent_kernels: "fused
BlockLSTM" on a CPU, "cuDNN" on a GPU, "per-step loop" for Keras' own CPU path). On a GPU both
processes share it, each taking memory as it needs it.

    .venv/bin/python benchmarks/train_throughput.py data/raw/prices/batch_0.parquet metrics/evaluate/batch_0.csv
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The textbook's epochs come at a few distinct speeds (about 1,540 windows/s, 1,870-2,150, now and
# then 773), so the median of five rounds moved with how many of each it drew: in three runs of
# eleven rounds, the first five's median ratio was 4.17, 4.21 and 3.77, all eleven's 4.17-4.42.
ROUNDS = 11
SIDES = ("textbook", "pipeline")


def serve(side: str, prices: str, predictions: str, params: str) -> None:
    """One side's process: build, fit one untimed epoch, then time one epoch per line on stdin."""
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import keras
    import tensorflow as tf
    import yaml

    from stockpipe.adapters.io import usable_cores
    from stockpipe.adapters.model import batches, build_model, configure_threads, recurrent_kernels
    from textbook_lstm import BATCH_SIZE, DROPOUT_RATE, UNITS, WINDOW, make_windows, prepare
    from textbook_lstm import build_model as build_textbook_model

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)  # else the first process takes it all
    if side == "pipeline":
        configure_threads()
    _, _, scaled, train_rows, _ = prepare(prices, predictions)
    x, y = make_windows(scaled, train_rows, WINDOW), scaled[train_rows]
    keras.utils.set_random_seed(0)
    if side == "textbook":
        batch_size = BATCH_SIZE
        model, data = build_textbook_model(WINDOW), {"x": x, "y": y, "batch_size": batch_size}
    else:
        train = yaml.safe_load(Path(params).read_text())["train"]
        batch_size = train["batch_size"]
        model = build_model(WINDOW, 1, layers=2, units=UNITS, dropout_rate=DROPOUT_RATE,
                            learning_rate=train["learning_rate"])
        data = {"x": batches(x, y, batch_size, shuffle_seed=0), "shuffle": False}
    model.fit(**data, epochs=1, verbose=0)  # traces the graphs
    device = (tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus
              else f"CPU, {usable_cores()} cores")
    print(json.dumps({"windows": len(x), "batch_size": batch_size, "device": device,
                      "kernels": recurrent_kernels(model)}), flush=True)
    for _ in sys.stdin:
        start = time.perf_counter()
        model.fit(**data, epochs=1, verbose=0)
        print(len(x) / (time.perf_counter() - start), flush=True)


def answer(side: str, process: subprocess.Popen) -> str:
    line = process.stdout.readline()
    if not line:
        sys.exit(f"train_throughput.py: the {side} process ended early (its error is above)")
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prices")
    parser.add_argument("predictions")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--serve", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.prices, args.predictions, args.params)
        return
    processes = {side: subprocess.Popen([sys.executable, __file__, args.prices, args.predictions, "--params",
                                         args.params, "--serve", side], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
                 for side in SIDES}
    try:
        setups = {side: json.loads(answer(side, process)) for side, process in processes.items()}
        rounds = []
        for _ in range(ROUNDS):
            rates = []
            for side, process in processes.items():
                process.stdin.write("epoch\n")
                process.stdin.flush()
                rates.append(float(answer(side, process)))
            rounds.append(rates)
    finally:
        for process in processes.values():
            process.stdin.close()
            process.wait()
    print(json.dumps({
        "windows": setups["pipeline"]["windows"], "epochs": ROUNDS,
        "textbook_batch_size": setups["textbook"]["batch_size"],
        "pipeline_batch_size": setups["pipeline"]["batch_size"],
        "textbook_windows_per_second": round(statistics.median(book for book, _ in rounds)),
        "pipeline_windows_per_second": round(statistics.median(pipe for _, pipe in rounds)),
        "ratio": round(statistics.median(pipe / book for book, pipe in rounds), 2),
        "device": setups["pipeline"]["device"],
        "textbook_kernels": setups["textbook"]["kernels"],
        "pipeline_kernels": setups["pipeline"]["kernels"],
    }))


if __name__ == "__main__":
    main()
