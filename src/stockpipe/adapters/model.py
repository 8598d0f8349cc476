"""The Keras LSTM: build, train with early stopping, predict."""

from __future__ import annotations

import json
import re
import time
import zipfile

import keras
import numpy as np
import tensorflow as tf

from stockpipe.adapters.fused import FusedLSTM, ShardedDropout
from stockpipe.adapters.io import atomic_path, usable_cores

# Training steps per call from Python into TensorFlow: a small model's step is short enough that
# the Python and eager-runtime overhead of one call per step shows; more than 8 gained nothing.
STEPS_PER_EXECUTION = 8


def configure_threads() -> None:
    """One thread per TensorFlow operation, and one operation per core side by side.

    Call it before TensorFlow runs anything. ``FusedLSTM`` and ``ShardedDropout`` already
    spread each batch over ``fused.SHARDS`` operations side by side. By default TensorFlow also
    splits single operations over a pool of one thread per core, which the two kernels then
    share, and handing those parts over between threads (``ParallelFor``) costs more than it gains.
    """
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(usable_cores())


def set_seed(seed: int) -> None:
    """Make weight initialisation, dropout and shuffling repeatable on this machine.

    Keras' global state is cleared first, so each model built after this call starts from
    the same state, however many models the process built before.
    """
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_model(window: int, n_features: int, layers: int, units: int, dropout_rate: float,
                learning_rate: float, fused: bool = True, *, cell: str = "lstm", bidirectional: bool = False,
                recurrent_dropout: float = 0.0, l2: float = 0.0, dense_units: int = 0) -> keras.Model:
    """Stacked recurrent layers over ``window`` days of ``n_features`` inputs, Dense head, MSE, Adam.

    Args:
        cell: "lstm" or "gru".
        bidirectional: Read each window forwards and backwards (outputs concatenated).
        recurrent_dropout: Dropout on the recurrent state inside the cells. It rules out the
            fast kernels (fused on a CPU, cuDNN on a GPU), so training is much slower.
        l2: L2 penalty on the kernels of every layer.
        dense_units: Width of a ReLU layer before the head; 0 for none.
        fused: Use FusedLSTM for LSTM layers and ShardedDropout (module ``fused``); False builds
            Keras' public ``LSTM`` and ``Dropout`` only.

    Dropout follows each recurrent layer rather than sitting inside the cells, which keeps the
    layers eligible for the fast kernels.
    """
    recurrent = {"lstm": FusedLSTM if fused else keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    dropout = ShardedDropout if fused else keras.layers.Dropout
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=(window, n_features), name="window")
    hidden = inputs
    for index in range(layers):
        layer = recurrent(units, return_sequences=index < layers - 1, recurrent_dropout=recurrent_dropout,
                          kernel_regularizer=regularizer, name=f"{cell}_{index + 1}")
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{index + 1}")
        hidden = layer(hidden)
        if dropout_rate > 0:
            hidden = dropout(dropout_rate, name=f"dropout_{index + 1}")(hidden)
    if dense_units:
        hidden = keras.layers.Dense(dense_units, activation="relu", kernel_regularizer=regularizer,
                                    name="hidden")(hidden)
    outputs = keras.layers.Dense(1, kernel_regularizer=regularizer, name="next_day")(hidden)
    model = keras.Model(inputs, outputs, name=f"{cell}_forecaster")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse",
                  steps_per_execution=STEPS_PER_EXECUTION)
    return model


def model_from_params(model_params, train_params, n_features: int) -> keras.Model:
    """``build_model`` with the ``model`` and ``train`` params sections."""
    return build_model(model_params.window, n_features, model_params.layers, model_params.units,
                       model_params.dropout, train_params.learning_rate, cell=model_params.cell,
                       bidirectional=model_params.bidirectional, recurrent_dropout=model_params.recurrent_dropout,
                       l2=model_params.l2, dense_units=model_params.dense_units)


def fit_model(model: keras.Model, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
              y_val: np.ndarray, epochs: int, batch_size: int, patience: int, *, seed: int,
              callbacks: list | None = None) -> keras.callbacks.History:
    """Train with the validation slice driving early stopping; the best weights are restored.

    The training windows are shuffled every epoch, in an order that ``seed`` fixes.
    """
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    return model.fit(
        batches(x_train, y_train, batch_size, shuffle_seed=seed), validation_data=batches(x_val, y_val, batch_size),
        epochs=epochs, verbose=0, callbacks=[stopper, *(callbacks or [])],
        shuffle=False,  # batches() shuffles; Keras' own flag applies to arrays only
    )


def train_and_save(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, model_params,
                   train_params, *, seed: int, path, callbacks: list | None = None) -> dict:
    """Build a model from the params with ``seed``, fit it (``fit_model``) and save it to ``path`` atomically.

    Returns:
        The per-epoch ``loss`` and ``val_loss``, the ``best_epoch`` (from 1, the one whose
        weights were kept) and the training ``windows_per_second``.
    """
    set_seed(seed)
    model = model_from_params(model_params, train_params, x_train.shape[-1])
    started = time.perf_counter()
    history = fit_model(model, x_train, y_train, x_val, y_val, train_params.epochs, train_params.batch_size,
                        train_params.patience, seed=seed, callbacks=callbacks)
    seconds = time.perf_counter() - started
    with atomic_path(path) as tmp:
        save_model(model, tmp)
    losses = history.history["val_loss"]
    return {"loss": history.history["loss"], "val_loss": losses,
            "best_epoch": min(range(len(losses)), key=losses.__getitem__) + 1,
            "windows_per_second": len(x_train) * len(losses) / seconds}


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None) -> tf.data.Dataset:
    """(windows, targets) in batches, reshuffled every epoch when ``shuffle_seed`` is given.

    Keras' own pipeline for NumPy arrays leaves tf.data's autotuner on, and on a 2-core
    machine deleting its iterator at the end of an epoch can block for a large part of a small
    model's epoch. This one has the autotuner off and no function per batch: it shuffles and
    batches the windows themselves (tf.data's shuffle orders by position, whatever the
    elements, so the order is the same as shuffling row numbers), for one more copy of the
    windows in the shuffle buffer.
    """
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    return dataset.batch(batch_size).with_options(options)


def live_callback(live):
    """A callback logging each epoch's train and validation loss to a dvclive ``Live``."""
    from dvclive.keras import DVCLiveCallback

    return DVCLiveCallback(live=live)


def predict(model: keras.Model, windows: np.ndarray) -> np.ndarray:
    """Model outputs for a batch of windows, as a flat float64 array."""
    if len(windows) == 0:
        return np.empty(0)
    return np.asarray(model.predict(windows, batch_size=1024, verbose=0), dtype="float64").ravel()


def save_model(model: keras.Model, path) -> None:
    """Save as a plain Keras model: FusedLSTM layers become ``keras.layers.LSTM`` with the same
    weights, ShardedDropout layers ``keras.layers.Dropout``.

    The file then loads anywhere Keras does, without this project's code.
    """
    plain = keras.models.clone_model(model, clone_function=_without_fused_layers)
    plain.set_weights(model.get_weights())
    plain.save(path)
    _make_repeatable(path)


def _make_repeatable(path) -> None:
    """Rewrite a saved .keras archive so that the same weights always give the same bytes.

    Keras stamps the save time into ``metadata.json`` and the zip entries, and numbers shared
    objects in ``config.json`` by memory address. Dropping the time, fixing the entry dates
    and renumbering the objects in order of appearance changes nothing Keras reads back, and
    lets DVC see that a rerun of train produced the same model, so the stages after it are
    not rerun for nothing.
    """
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    metadata = json.loads(entries["metadata.json"])
    metadata.pop("date_saved", None)
    entries["metadata.json"] = json.dumps(metadata).encode()
    numbers: dict[str, str] = {}
    entries["config.json"] = _SHARED_OBJECT_ID.sub(
        lambda match: f'{match[1]}{numbers.setdefault(match[2], str(len(numbers) + 1))}',
        entries["config.json"].decode()).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)


_SHARED_OBJECT_ID = re.compile(r'("shared_object_id": )(\d+)')


def _without_fused_layers(layer: keras.layers.Layer) -> keras.layers.Layer:
    if isinstance(layer, ShardedDropout):
        return keras.layers.Dropout.from_config(layer.get_config())
    if isinstance(layer, FusedLSTM):
        return keras.layers.LSTM.from_config(layer.get_config())
    if isinstance(layer, keras.layers.Bidirectional) and isinstance(layer.forward_layer, FusedLSTM):
        inner = keras.layers.LSTM.from_config(layer.forward_layer.get_config())
        return keras.layers.Bidirectional(inner, merge_mode=layer.merge_mode, name=layer.name)
    return layer.__class__.from_config(layer.get_config())


def load_model(path) -> keras.Model:
    """Load a saved model in Keras safe mode (no arbitrary code from the file runs)."""
    return keras.saving.load_model(path, safe_mode=True, compile=False)


def recurrent_kernels(model: keras.Model) -> list[str]:
    """The recurrent kernels a training step of ``model`` runs, read off its traced graph.

    "cuDNN" (TensorFlow's ``CudnnRNN`` operations: Keras' path on a GPU), "fused BlockLSTM"
    (``FusedLSTM`` on a CPU) and "per-step loop" (Keras' graph loop of small operations per
    time step), in that order, each that a forward and backward pass contains; empty for a
    model without recurrent layers. The step is traced, not run: weights and random state
    stay as they were.
    """
    windows = model.inputs[0]

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(batch, training=True))
        return tape.gradient(loss, model.trainable_variables)

    graph = step.get_concrete_function(tf.TensorSpec(windows.shape, windows.dtype)).graph
    ops = {op.type for op in graph.get_operations()}
    ops.update(node.op for function in graph.as_graph_def().library.function for node in function.node_def)
    found = {
        "cuDNN": any(op.startswith("CudnnRNN") for op in ops),
        "fused BlockLSTM": any(op.startswith("BlockLSTM") for op in ops),
        "per-step loop": bool(ops & {"While", "StatelessWhile"}),
    }
    return [name for name, ran in found.items() if ran]
