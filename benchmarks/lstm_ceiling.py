"""How far the train stage's LSTM throughput is from what this CPU can compute.

Prints, from one process:

- TensorFlow's float32 matrix-product rate at 2048 x 2048 (about the machine's peak), at 256 x 256,
  and at the shape of one LSTM step of the textbook model (a batch of 64 by a 100 x 200 matrix);
- the arithmetic of training on one textbook window (two LSTM(50) layers over 60 steps, forward
  and backward), counted from the layer sizes;
- the train stage's path (stockpipe.model.build_model, fused kernel) on the textbook's windows at
  batch 64 and 256, and the rate of arithmetic that throughput implies.

    .venv/bin/python benchmarks/lstm_ceiling.py data/interim/prices.parquet metrics/predictions.csv
"""

import argparse
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from stockpipe.model import build_model  # noqa: E402
from textbook_lstm import DROPOUT_RATE, UNITS, WINDOW, make_windows, prepare  # noqa: E402
from train_throughput import windows_per_second  # noqa: E402

STEP_BATCH = 64


def matmul_gflops(rows: int, inner: int, cols: int, seconds: float = 2.0) -> float:
    """Float32 GFLOP/s of one ``rows x inner`` by ``inner x cols`` product after another, for about ``seconds``."""
    a, b = tf.random.normal((rows, inner)), tf.random.normal((inner, cols))
    product = tf.function(tf.matmul)
    product(a, b).numpy()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        result = product(a, b)
        calls += 1
    result.numpy()
    return 2 * rows * inner * cols * calls / (time.perf_counter() - start) / 1e9


def training_flops_per_window(window: int, units: int, inputs: int = 1) -> float:
    """Multiply-adds of two stacked LSTM layers over ``window`` steps, times 3 for forward plus backward.

    Each step multiplies [x, h] by the 4 gates' weights: (inputs + units) x 4 units for the first
    layer, (units + units) x 4 units for the second; the element-wise gate work is left out.
    """
    per_step = 2 * 4 * units * ((inputs + units) + (units + units))
    return 3.0 * window * per_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prices")
    parser.add_argument("predictions")
    args = parser.parse_args()
    print("float32 matrix products (TensorFlow, one after another):")
    for rows, inner, cols in ((2048, 2048, 2048), (256, 256, 256), (STEP_BATCH, 2 * UNITS, 4 * UNITS)):
        print(f"  {rows} x {inner} by {inner} x {cols}: {matmul_gflops(rows, inner, cols):7.1f} GFLOP/s")
    flops = training_flops_per_window(WINDOW, UNITS)
    print(f"training one textbook window (2 x LSTM({UNITS}), {WINDOW} steps): {flops / 1e6:.1f} MFLOP")

    _, _, scaled, train_rows, _ = prepare(args.prices, args.predictions)
    x, y = make_windows(scaled, train_rows, WINDOW), scaled[train_rows]
    for batch_size in (64, 256):
        keras.utils.set_random_seed(0)
        model = build_model(WINDOW, 1, layers=2, units=UNITS, dropout_rate=DROPOUT_RATE, learning_rate=0.001)
        rate = windows_per_second(model, x, y, batch_size)
        print(f"train stage's path, batch {batch_size}: {rate:,.0f} windows/s = {rate * flops / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
