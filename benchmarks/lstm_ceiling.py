"""How far the train stage's LSTM throughput is from what this CPU can compute.

Prints, from one process:

- TensorFlow's float32 matrix-product rate at 2048 x 2048 (about the machine's peak), at 256 x 256,
  and at the shape of one LSTM step of the textbook model (a batch of 64 by a 100 x 200 matrix);
- the arithmetic of training on one textbook window (two LSTM(50) layers over 60 steps, forward
  and backward), counted from the layer sizes;
- the train stage's path (stockpipe.adapters.model.build_model, fused kernel) on the textbook's windows at
  batch 64 and 256, and the rate of arithmetic that throughput implies;
- where the fused kernel's time goes, on one shard of SHARD windows: its forward and backward pass
  with the second layer's inputs and with none (the recurrent half alone), beside the three
  whole-sequence matrix products that would take the input half out of its loop.

With --one-core TensorFlow runs with the train stage's threads (stockpipe.adapters.model.configure_threads:
one thread per operation, one operation per core), so the matrix products run on one core and
the train stage's path runs as in the train stage.

    .venv/bin/python benchmarks/lstm_ceiling.py data/raw/prices/batch_0.parquet metrics/evaluate/batch_0.csv
    .venv/bin/python benchmarks/lstm_ceiling.py --one-core data/raw/prices/batch_0.parquet metrics/evaluate/batch_0.csv
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
from stockpipe.adapters.model import batches, build_model, configure_threads  # noqa: E402
from textbook_lstm import DROPOUT_RATE, UNITS, WINDOW, make_windows, prepare  # noqa: E402

STEP_BATCH = 64
SHARD = 32
EPOCHS = 3


def seconds_per_call(function, seconds: float = 2.0) -> float:
    """Wall seconds of one call of a tf.function, over about ``seconds`` of calls after a warm-up."""
    function().numpy()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        result = function()
        calls += 1
    result.numpy()
    return (time.perf_counter() - start) / calls


def windows_per_second(model: keras.Model, x, y, batch_size: int) -> float:
    """The train stage's windows per second over EPOCHS epochs, after one untimed warm-up epoch."""
    data = batches(x, y, batch_size, shuffle_seed=0)
    model.fit(data, epochs=1, verbose=0, shuffle=False)  # batches() shuffles
    start = time.perf_counter()
    model.fit(data, epochs=EPOCHS, verbose=0, shuffle=False)
    return len(x) * EPOCHS / (time.perf_counter() - start)


def matmul_gflops(rows: int, inner: int, cols: int) -> float:
    """Float32 GFLOP/s of one ``rows x inner`` by ``inner x cols`` product after another."""
    a, b = tf.random.normal((rows, inner)), tf.random.normal((inner, cols))
    return 2 * rows * inner * cols / seconds_per_call(tf.function(lambda: tf.matmul(a, b))) / 1e9


def kernel_ms(windows: int, inputs: int) -> float:
    """Milliseconds of the fused kernel's forward and backward pass over WINDOW steps of ``windows``
    windows with ``inputs`` inputs and UNITS units."""
    x = tf.random.normal((WINDOW, windows, inputs))
    weights = tf.random.normal((inputs + UNITS, 4 * UNITS), stddev=0.1)
    state, bias, no_peephole = tf.zeros((windows, UNITS)), tf.zeros(4 * UNITS), tf.zeros(UNITS)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch([x, weights])
            hidden = tf.raw_ops.BlockLSTM(
                seq_len_max=tf.constant(WINDOW, tf.int64), x=x, cs_prev=state, h_prev=state, w=weights,
                wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=bias, forget_bias=0.0, cell_clip=-1.0,
                use_peephole=False).h
            loss = tf.reduce_sum(hidden)
        return tape.gradient(loss, weights)

    return seconds_per_call(forward_backward) * 1e3


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
    parser.add_argument("--one-core", action="store_true", help="the train stage's threads: one per operation")
    args = parser.parse_args()
    if args.one_core:
        configure_threads()
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

    print(f"fused kernel, forward and backward, one shard of {SHARD} windows over {WINDOW} steps:")
    print(f"  with the second layer's {UNITS} inputs: {kernel_ms(SHARD, UNITS):.2f} ms")
    print(f"  with no inputs (the recurrent half alone): {kernel_ms(SHARD, 0):.2f} ms")
    rows = WINDOW * SHARD
    products = sum(1e3 / matmul_gflops(*shape) * 2 * shape[0] * shape[1] * shape[2] / 1e9
                   for shape in ((rows, UNITS, 4 * UNITS), (UNITS, rows, 4 * UNITS), (rows, 4 * UNITS, UNITS)))
    print(f"  the input half as three whole-sequence products (x W, x' dG, dG W'): {products:.2f} ms")


if __name__ == "__main__":
    main()
