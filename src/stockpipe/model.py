"""The Keras LSTM: build, train with early stopping, predict."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def set_seed(seed: int) -> None:
    """Make weight initialisation, dropout and shuffling repeatable on this machine."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_model(window: int, n_features: int, layers: int, units: int, dropout_rate: float,
                learning_rate: float) -> keras.Model:
    """Stacked LSTM over ``window`` days of ``n_features`` inputs, Dense head, MSE loss, Adam.

    Dropout sits between layers rather than inside the LSTM cells, which keeps the layers
    eligible for the fast cuDNN kernel on a GPU.
    """
    inputs = keras.Input(shape=(window, n_features), name="window")
    hidden = inputs
    for index in range(layers):
        hidden = keras.layers.LSTM(units, return_sequences=index < layers - 1, name=f"lstm_{index + 1}")(hidden)
        if dropout_rate > 0:
            hidden = keras.layers.Dropout(dropout_rate, name=f"dropout_{index + 1}")(hidden)
    outputs = keras.layers.Dense(1, name="next_day")(hidden)
    model = keras.Model(inputs, outputs, name="lstm_forecaster")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    return model


def fit_model(model: keras.Model, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
              y_val: np.ndarray, epochs: int, batch_size: int, patience: int,
              callbacks: list | None = None) -> keras.callbacks.History:
    """Train with the validation slice driving early stopping; the best weights are restored."""
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    return model.fit(
        x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size,
        shuffle=True, verbose=0, callbacks=[stopper, *(callbacks or [])],
    )


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
    model.save(path)


def load_model(path) -> keras.Model:
    """Load a saved model in Keras safe mode (no arbitrary code from the file runs)."""
    return keras.saving.load_model(path, safe_mode=True, compile=False)
