"""The fused CPU LSTM kernel and its dropout: the one module that uses TensorFlow and Keras internals.

They run more training windows a second than Keras' own CPU path (benchmarks/README.md has the
figures, and what that buys a cold repro). What they rely on, none of it a public API:

- ``keras.layers.LSTM.inner_loop``, the method Keras 3's LSTM runs the recurrence in, overridden;
- ``tf.raw_ops.BlockLSTM``, TensorFlow's fused LSTM kernel, and the gradient registered for it;
- ``keras.layers.Dropout.seed_generator``, the layer's Keras seed state.

requirements.txt pins tensorflow and keras to the ranges these were checked on, and
``check_internals`` (run by tests/unit/test_fused.py) says in one line which of them changed.
``model.build_model(..., fused=False)`` trains with Keras' public layers only.
"""

from __future__ import annotations

import inspect

import keras
import tensorflow as tf

# Parts each batch is cut into on a CPU. Fixed, not the core count: the float sums of the
# shards' gradients, and so the trained model, must not depend on how many cores there are.
SHARDS = 2


def check_internals() -> None:
    """Raise RuntimeError naming the first internal this module relies on that this TensorFlow/Keras lacks."""
    versions = f"tensorflow {tf.__version__}, keras {keras.__version__}"
    parameters = list(inspect.signature(keras.layers.LSTM.inner_loop).parameters) \
        if hasattr(keras.layers.LSTM, "inner_loop") else None
    if parameters != ["self", "sequences", "initial_state", "mask", "training"]:
        raise RuntimeError(f"{versions}: keras.layers.LSTM.inner_loop is gone or takes other arguments "
                           f"({parameters}); FusedLSTM needs updating, or build with fused=False")
    if not hasattr(tf.raw_ops, "BlockLSTM"):
        raise RuntimeError(f"{versions}: tf.raw_ops.BlockLSTM is gone; FusedLSTM needs updating")
    generator = getattr(keras.layers.Dropout(0.5, seed=1), "seed_generator", None)
    if not callable(getattr(generator, "next", None)):
        raise RuntimeError(f"{versions}: keras.layers.Dropout has no seed_generator.next(); ShardedDropout needs "
                           "updating")


@keras.saving.register_keras_serializable(package="stockpipe")
class FusedLSTM(keras.layers.LSTM):
    """A Keras LSTM whose CPU path runs TensorFlow's fused ``BlockLSTM`` kernel.

    Keras runs an LSTM on a CPU as a graph loop of small operations per time step, and on a
    2-core machine that per-step overhead, not arithmetic, dominates training. The fused
    kernel computes the same cell (sigmoid gates, tanh cell, no peepholes) for the whole
    sequence in one operation, with its gradient; reading backwards (the second half of a
    ``Bidirectional`` layer) is the kernel on the reversed sequence. The kernel runs on one
    core, so each batch is cut into ``SHARDS`` shards, each with a kernel of its own, run side
    by side: windows do not interact, so the outputs are the same and the weight gradients
    are the shards' sums, equal up to float rounding. The shard count is fixed, not the
    machine's core count, so the rounding, and so the trained model, is the same on any number
    of CPU cores (a GPU runs the whole batch as one shard, through its own kernels). The
    weights are Keras' own, so a trained FusedLSTM copies 1:1 into a plain
    ``keras.layers.LSTM``. On a GPU, or for options the kernel lacks (masks, recurrent
    dropout, other activations), Keras' own path runs: cuDNN when it applies.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not _fused_kernel_applies(self, mask, training):
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        # BlockLSTM multiplies [x, h] by one matrix whose gates are ordered input, candidate,
        # forget, output; Keras orders them input, forget, candidate, output. (BlockLSTMV2
        # uses Keras' order, but TensorFlow registers the V1 gradient for it, which is wrong.)
        def block_order(values):
            input_gate, forget_gate, candidate, output_gate = tf.split(values, 4, axis=-1)
            return tf.concat([input_gate, candidate, forget_gate, output_gate], axis=-1)

        kernel = block_order(tf.concat([self.cell.kernel, self.cell.recurrent_kernel], axis=0))
        bias = block_order(self.cell.bias)
        no_peephole = tf.zeros([self.cell.units], dtype=sequences.dtype)
        steps = tf.cast(tf.shape(sequences)[1], tf.int64)
        if self.go_backwards:
            # As Keras does: outputs come in the order read, last input first.
            sequences = tf.reverse(sequences, axis=[1])
        # One kernel per shard, each on an equal part of the batch: TensorFlow runs operations
        # that do not depend on each other side by side, so each shard's transposes to and from
        # the kernel's time-major layout run beside the other's too. A batch that does not
        # divide evenly is padded with zero windows (the kernel's gradient for an empty batch is
        # garbage); their outputs are dropped, so their gradients are exactly zero.
        windows = tf.shape(sequences)[0]
        blocks = [
            # forget_bias 0 and a negative cell_clip (no clipping) give exactly Keras' cell.
            tf.raw_ops.BlockLSTM(
                seq_len_max=steps, x=tf.transpose(x, [1, 0, 2]), cs_prev=cell, h_prev=hidden, w=kernel,
                wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=bias, forget_bias=0.0, cell_clip=-1.0,
                use_peephole=False,
            )
            for x, hidden, cell in zip(*(_shards(tensor, windows) for tensor in (sequences, *initial_state)),
                                       strict=True)
        ]
        last_hidden = _joined([block.h[-1] for block in blocks], windows)
        last_cell = _joined([block.cs[-1] for block in blocks], windows)
        # Unused (and so never computed) when the layer returns its last state only.
        sequence = _joined([tf.transpose(block.h, [1, 0, 2]) for block in blocks], windows)
        return last_hidden, sequence, [last_hidden, last_cell]


def _shards(tensor, windows):
    """``tensor`` cut along its batch axis into ``SHARDS`` equal parts, zero-padded to divide.

    On a GPU, where one operation already spans the device, the whole batch is one part.
    """
    parts = 1 if _gpu_available() else SHARDS
    return tf.split(tf.pad(tensor, [[0, -windows % parts]] + [[0, 0]] * (tensor.shape.rank - 1)), parts)


def _joined(shards, windows):
    """The shards back in one batch, without the padding.

    ``tf.slice`` rather than indexing: its gradient is a pad, which hands the tensor on when
    there was no padding, where a strided slice's gradient copies it.
    """
    joined = tf.concat(shards, axis=0)
    return tf.slice(joined, [0] * joined.shape.rank, [windows] + [-1] * (joined.shape.rank - 1))


@keras.saving.register_keras_serializable(package="stockpipe")
class ShardedDropout(keras.layers.Dropout):
    """Keras' ``Dropout``, its mask drawn in ``SHARDS`` parts side by side (one on a GPU).

    Drawing the random numbers is most of dropout's cost, and with one thread per operation
    (``model.configure_threads``) one draw for the whole batch runs on one core while the other
    waits. Each shard of the batch draws from its own seed, split from the layer's seed for
    that step, so masks stay repeatable. TensorFlow's generator (Philox) costs the same per
    32 bits whatever they become, so each 32-bit draw gives two 16-bit ones, and a value is
    dropped when its 16 bits fall below ``rate * 2**16``, rounded: the rate is exact to 2**-17
    (Keras' own float draws come in steps of 2**-23), where at rate 0.2 the share dropped in one
    step's mask of 64 x 60 x 50 values varies by about 1e-3. The gradient is the upstream
    gradient times the same mask. Saved models hold Keras' own ``Dropout`` (``save_model``),
    which passes values through at inference, as this layer does.
    """

    def call(self, inputs, training=False):
        if not (training and 0 < self.rate < 1) or self.noise_shape is not None:
            return super().call(inputs, training=training)
        windows = tf.shape(inputs)[0]
        shards = _shards(inputs, windows)
        seeds = tf.random.experimental.stateless_split(self.seed_generator.next(), len(shards))
        threshold = tf.constant(min(round(self.rate * 2**16), 2**16 - 1) - 2**15, tf.int16)
        scale, zero = tf.constant(1 / (1 - self.rate), inputs.dtype), tf.zeros([], inputs.dtype)
        dropped = []
        for shard, seed in zip(shards, tf.unstack(seeds), strict=True):
            count = tf.size(shard)
            bits = tf.random.stateless_uniform([(count + 1) // 2], seed=seed, minval=None, maxval=None, dtype=tf.int32)
            draws = tf.reshape(tf.reshape(tf.bitcast(bits, tf.int16), [-1])[:count], tf.shape(shard))
            dropped.append(_masked(shard, tf.where(draws >= threshold, scale, zero)))
        return _joined(dropped, windows)


@tf.custom_gradient
def _masked(values, mask):
    """``values * mask``, differentiated for ``values`` only (nothing upstream of a mask learns)."""
    return values * mask, lambda upstream: (upstream * mask, None)


def _fused_kernel_applies(layer: keras.layers.LSTM, mask, training: bool) -> bool:
    return (
        mask is None and not layer.recurrent_dropout
        and not (training and layer.dropout) and layer.cell.use_bias and not _gpu_available()
        and layer.cell.activation is keras.activations.tanh
        and layer.cell.recurrent_activation is keras.activations.sigmoid
    )


def _gpu_available() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))
