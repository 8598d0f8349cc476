"""Run a saved LSTM forecaster with NumPy, so evaluate and predict need no TensorFlow.

Importing TensorFlow costs seconds per process, while the forward pass over a few thousand
windows costs milliseconds. The weights and layer configuration are read straight from the
``.keras`` file that the train stage saves (a zip of config.json and model.weights.h5); a
layer this module cannot reproduce exactly is refused rather than approximated. A unit test
checks the outputs against Keras' own ``model.predict``.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from stockpipe.adapters.io import read_json_object
from stockpipe.errors import PipelineError

_ACTIVATIONS = {
    "linear": lambda values: values,
    "tanh": np.tanh,
    "sigmoid": lambda values: 0.5 * (1.0 + np.tanh(0.5 * values)),
    "relu": lambda values: np.maximum(values, 0.0),
}


@dataclass(frozen=True)
class _Recurrent:
    """Weights and options of a Keras recurrent layer, as saved."""

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    activation: str
    recurrent_activation: str
    return_sequences: bool


class _Lstm(_Recurrent):
    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        n_samples, n_steps, _ = inputs.shape
        units = self.recurrent_kernel.shape[0]
        activation, gate = _ACTIVATIONS[self.activation], _ACTIVATIONS[self.recurrent_activation]
        # The input projection of every step at once; only the recurrence is sequential.
        projected = inputs @ self.kernel + self.bias
        hidden = np.zeros((n_samples, units), dtype=inputs.dtype)
        cell = np.zeros((n_samples, units), dtype=inputs.dtype)
        outputs = []
        for step in range(n_steps):
            z = projected[:, step] + hidden @ self.recurrent_kernel
            # Keras orders the gates input, forget, candidate, output.
            input_gate, forget_gate = gate(z[:, :units]), gate(z[:, units:2 * units])
            candidate, output_gate = activation(z[:, 2 * units:3 * units]), gate(z[:, 3 * units:])
            cell = forget_gate * cell + input_gate * candidate
            hidden = output_gate * activation(cell)
            if self.return_sequences:
                outputs.append(hidden)
        return np.stack(outputs, axis=1) if self.return_sequences else hidden


class _Gru(_Recurrent):
    """Keras' GRU with reset_after=True: separate input and recurrent biases (shape (2, 3 * units))."""

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        n_samples, n_steps, _ = inputs.shape
        units = self.recurrent_kernel.shape[0]
        activation, gate = _ACTIVATIONS[self.activation], _ACTIVATIONS[self.recurrent_activation]
        projected = inputs @ self.kernel + self.bias[0]
        hidden = np.zeros((n_samples, units), dtype=inputs.dtype)
        outputs = []
        for step in range(n_steps):
            inner = hidden @ self.recurrent_kernel + self.bias[1]
            x_step = projected[:, step]
            # Keras orders the gates update, reset, candidate; the reset gate scales the
            # recurrent part of the candidate after the matrix product (reset_after).
            update = gate(x_step[:, :units] + inner[:, :units])
            reset = gate(x_step[:, units:2 * units] + inner[:, units:2 * units])
            candidate = activation(x_step[:, 2 * units:] + reset * inner[:, 2 * units:])
            hidden = update * hidden + (1.0 - update) * candidate
            if self.return_sequences:
                outputs.append(hidden)
        return np.stack(outputs, axis=1) if self.return_sequences else hidden


@dataclass(frozen=True)
class _Bidirectional:
    """Keras' Bidirectional(merge_mode="concat"): the backward layer reads the window reversed."""

    forward: _Recurrent
    backward: _Recurrent

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        backward = self.backward(inputs[:, ::-1])
        if self.forward.return_sequences:
            backward = backward[:, ::-1]
        return np.concatenate([self.forward(inputs), backward], axis=-1)


@dataclass(frozen=True)
class _Dense:
    kernel: np.ndarray
    bias: np.ndarray
    activation: str

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        return _ACTIVATIONS[self.activation](inputs @ self.kernel + self.bias)


@dataclass(frozen=True)
class Forecaster:
    """The layers of a saved model, applied in order (dropout is the identity at inference)."""

    layers: tuple

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """Model outputs for windows shaped (n_samples, window, n_features), as a flat array."""
        values = np.asarray(windows, dtype="float64")
        if len(values) == 0:
            return np.empty(0)
        for layer in self.layers:
            values = layer(values)
        return values.reshape(len(values))


def _snake_case(name: str) -> str:
    """Keras' own rule: InputLayer -> input_layer, LSTM -> lstm, GRU -> gru."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def load_forecaster(path: str | Path) -> Forecaster:
    """Read a ``.keras`` file saved by the train stage into a NumPy ``Forecaster``.

    Raises:
        PipelineError: The file is missing or holds a layer or option this module does not
            reproduce (rerun train, or evaluate with Keras).
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    except FileNotFoundError:
        raise PipelineError(f"{path}: model file not found (run the train stage first)") from None
    except (zipfile.BadZipFile, KeyError) as error:
        raise PipelineError(f"{path}: not a Keras model file ({error})") from None
    # Keras stores each layer's weights under its class name in snake case, numbered in order.
    seen: dict[str, int] = {}
    layers = []
    for layer in config["config"]["layers"]:
        kind, options = layer["class_name"], layer["config"]
        key = _snake_case(kind)
        group = f"layers/{key}" if key not in seen else f"layers/{key}_{seen[key]}"
        seen[key] = seen.get(key, 0) + 1
        if kind in ("InputLayer", "Dropout"):
            continue
        if kind == "Dense" and options.get("use_bias", True) and options["activation"] in _ACTIVATIONS:
            layers.append(_Dense(*_variables(weights, group), options["activation"]))
        elif kind in _RECURRENT and _plain_recurrent(kind, options):
            layers.append(_recurrent(kind, options, _variables(weights, f"{group}/cell")))
        elif kind == "Bidirectional" and options.get("merge_mode") == "concat" and _plain_recurrent(
                options["layer"]["class_name"], options["layer"]["config"]):
            inner_kind, inner = options["layer"]["class_name"], options["layer"]["config"]
            layers.append(_Bidirectional(
                _recurrent(inner_kind, inner, _variables(weights, f"{group}/forward_layer/cell")),
                _recurrent(inner_kind, inner, _variables(weights, f"{group}/backward_layer/cell")),
            ))
        else:
            raise PipelineError(f"{path}: layer {options.get('name')} ({kind}) is not supported by NumPy inference")
    return Forecaster(layers=tuple(layers))


_RECURRENT = {"LSTM": _Lstm, "GRU": _Gru}


def _variables(weights: h5py.File, group: str) -> list[np.ndarray]:
    arrays, index = [], 0
    while f"{group}/vars/{index}" in weights:
        arrays.append(np.asarray(weights[f"{group}/vars/{index}"], dtype="float64"))
        index += 1
    return arrays


def _recurrent(kind: str, options: dict, variables: list[np.ndarray]) -> _Recurrent:
    return _RECURRENT[kind](*variables, options["activation"], options["recurrent_activation"],
                            options["return_sequences"])


def _plain_recurrent(kind: str, options: dict) -> bool:
    """A layer this module reproduces exactly: no reversed or stateful reading, known activations."""
    return (kind in _RECURRENT and options.get("use_bias", True) and not options.get("go_backwards")
            and not options.get("stateful") and options.get("activation") in _ACTIVATIONS
            and options.get("recurrent_activation") in _ACTIVATIONS
            and (kind != "GRU" or options.get("reset_after", True)))


def read_trained(scope: str, ticker_models: str | Path, global_models: str | Path) -> dict:
    """The ``trained.json`` of the training stage of ``scope`` (train's for ticker, train_global's for global).

    It names the tickers that have models (``tickers``) and those the stage left out (``skipped``).

    Raises:
        PipelineError: The models there were trained under another model.scope.
    """
    path = Path(global_models if scope == "global" else ticker_models) / "trained.json"
    trained = read_json_object(path)
    if trained["scope"] != scope:
        raise PipelineError(f"{path}: the models were trained with model.scope {trained['scope']}, not {scope}: "
                            "run dvc repro")
    return trained
