"""Scaling fitted on the training slice, and sliding input windows for the LSTM."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.features import feature_columns


@dataclass(frozen=True)
class Scaler:
    """Standardisation by mean and standard deviation, stored as JSON rather than pickle.

    ``zeroed`` marks input columns that were constant on the rows the scaler was fitted on;
    ``transform`` maps them to 0 on every row (see ``fit``). ``None``, as in a spec saved
    before it existed, zeroes nothing.
    """

    mean: np.ndarray
    scale: np.ndarray
    zeroed: np.ndarray | None = None

    @classmethod
    def fit(cls, values: np.ndarray, zero_constant: bool = False) -> Scaler:
        """Fit on ``values`` (rows by columns, or one column).

        A constant column is centred on its value and not stretched. With ``zero_constant``
        (model inputs) it is also zeroed on later rows: the model never saw it vary, so its
        weights on it were never trained (an input that is always 0 gets no gradient) and
        any later value would feed them noise. A target is never zeroed: its later rows are
        what validation measures.
        """
        values = np.asarray(values, dtype="float64")
        values = values.reshape(len(values), -1)
        # Compared exactly: the standard deviation of equal floats such as 0.1 can come out as 1e-17.
        constant = (values == values[:1]).all(axis=0)
        mean = values.mean(axis=0)
        mean[constant] = values[0, constant]
        scale = values.std(axis=0)
        scale[constant | ~(scale > 0)] = 1.0
        return cls(mean=mean, scale=scale, zeroed=constant if zero_constant else None)

    def transform(self, values: np.ndarray) -> np.ndarray:
        scaled = (np.asarray(values, dtype="float64") - self.mean) / self.scale
        if self.zeroed is not None:
            scaled[..., self.zeroed] = 0.0
        return scaled

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype="float64") * self.scale + self.mean

    def to_dict(self) -> dict:
        data = {"mean": self.mean.tolist(), "scale": self.scale.tolist()}
        if self.zeroed is not None:
            data["zeroed"] = self.zeroed.tolist()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Scaler:
        zeroed = data.get("zeroed")
        return cls(mean=np.asarray(data["mean"], dtype="float64"), scale=np.asarray(data["scale"], dtype="float64"),
                   zeroed=None if zeroed is None else np.asarray(zeroed, dtype=bool))


def input_columns(features_params, target: str, social: bool = False, sessions: bool = False) -> list[str]:
    """Model inputs: the engineered features, plus the price level when it is the target.

    ``social``: with the posts' columns; ``sessions``: the table holds intraday bars (a ``session``
    column), with their session features.
    """
    names = feature_columns(features_params, social, sessions)
    return [*names, col.CLOSE] if target == "close" else names


def target_values(close: np.ndarray, target: str) -> np.ndarray:
    """What the model learns for each row j: log(close_j / close_{j-1}) or close_j."""
    close = np.asarray(close, dtype="float64")
    if target == "close":
        return close
    values = np.empty_like(close)
    values[0] = np.nan
    values[1:] = np.log(close[1:] / close[:-1])
    return values


def to_price(predicted: np.ndarray, previous_close: np.ndarray, target: str) -> np.ndarray:
    """Turn an (unscaled) model output for day j into a price, given the close of day j-1."""
    if target == "close":
        return np.asarray(predicted, dtype="float64")
    return np.asarray(previous_close, dtype="float64") * np.exp(predicted)


def windows_for(features: np.ndarray, target_rows: np.ndarray, window: int) -> np.ndarray:
    """Input windows for predicting rows ``target_rows``: rows j-window .. j-1 each.

    Only rows before j enter the window for day j, so nothing from day j or later leaks in.

    Returns:
        float32 array of shape (len(target_rows), window, n_features).
    """
    target_rows = np.asarray(target_rows)
    if len(target_rows) and target_rows.min() < window:
        raise PipelineError(f"model.window={window} needs {window} earlier rows before the first target row")
    views = np.lib.stride_tricks.sliding_window_view(features, window, axis=0)  # (n-window+1, f, window)
    return np.ascontiguousarray(views[target_rows - window].transpose(0, 2, 1), dtype="float32")


def check_window_fits(window: int, n_train: int) -> None:
    """Refuse a ``model.window`` that leaves the training slice fewer than two windows.

    Only the training slice limits the window: a validation or test window reaches back
    into the rows before its slice, so a window longer than those slices is fine.

    Raises:
        PipelineError: One line naming model.window, the rows there are and what to change.
    """
    needed = window + 2
    if n_train >= needed:
        return
    largest = n_train - 2
    shorter = f"a model.window of at most {largest} or " if largest >= 2 else ""
    raise PipelineError(
        f"params.yaml: model.window={window} needs at least {needed} training rows, but the training slice has "
        f"{n_train}; use {shorter}more price history (an earlier data.start)"
    )


def target_rows(first: int, stop: int, window: int) -> np.ndarray:
    """Row indices in [first, stop) that have ``window`` earlier rows to form an input."""
    return np.arange(max(first, window), stop)


def stack_parts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate consecutive split parts back into one chronological table."""
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class ModelSpec:
    """What training saved to turn a ticker's table into inputs and back (its scaler.json: beside its own
    model, or under specs/<ticker>/ beside the pooled one)."""

    inputs: list[str]
    target: str
    window: int
    scaler: Scaler
    target_scaler: Scaler
    # Rows of the features table the model trained on ([0, train_stop)) and stopped early
    # on ([train_stop, val_stop)); its intervals come from residuals on the latter.
    train_stop: int = 0
    val_stop: int = 0

    @classmethod
    def from_dict(cls, data: dict) -> ModelSpec:
        return cls(inputs=list(data["inputs"]), target=data["target"], window=int(data["window"]),
                   scaler=Scaler.from_dict(data["features"]), target_scaler=Scaler.from_dict(data["target_scaler"]),
                   train_stop=int(data.get("train_stop", 0)), val_stop=int(data.get("val_stop", 0)))

    def to_dict(self) -> dict:
        return {"inputs": self.inputs, "target": self.target, "window": self.window,
                "features": self.scaler.to_dict(), "target_scaler": self.target_scaler.to_dict(),
                "train_stop": self.train_stop, "val_stop": self.val_stop}


@dataclass(frozen=True)
class FoldArrays:
    """What one model trains on: its spec (scalers fitted on its training rows) and windows."""

    spec: ModelSpec
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def fold_arrays(table: pd.DataFrame, train_stop: int, val_stop: int, inputs: list[str], target: str,
                window: int) -> FoldArrays:
    """Scaled windows and targets for training on rows [0, train_stop) and stopping on [train_stop, val_stop).

    Both scalers are fitted on the training rows only, so no later row shapes the scaling,
    nor the choice of inputs that are constant there and so zeroed on every row.
    """
    rows_train = target_rows(0, train_stop, window)
    rows_val = target_rows(train_stop, val_stop, window)
    values = table[inputs].to_numpy()[:val_stop]
    scaler = Scaler.fit(values[:train_stop], zero_constant=True)
    targets = target_values(table[col.CLOSE].to_numpy()[:val_stop], target)
    target_scaler = Scaler.fit(targets[rows_train])
    features = scaler.transform(values)
    y = target_scaler.transform(targets).ravel().astype("float32")
    spec = ModelSpec(inputs=inputs, target=target, window=window, scaler=scaler, target_scaler=target_scaler,
                     train_stop=train_stop, val_stop=val_stop)
    return FoldArrays(spec, windows_for(features, rows_train, window), y[rows_train],
                      windows_for(features, rows_val, window), y[rows_val])


def windows_before(data: FoldArrays, dates: np.ndarray, cutoff: np.datetime64) -> FoldArrays:
    """``data`` without the training and validation windows whose target day is on or after ``cutoff``.

    A model pooled over tickers is tested on every ticker's test days, so it may learn from no
    ticker's row dated on or after the first of them: a stock listed later has training rows
    in the test years of older ones. Each window's inputs precede its target day. The scalers
    (``data.spec``) stay the ticker's own, fitted on its training slice, which precedes its test days.

    Args:
        dates: The dates of the rows of the table ``data`` was made from.
    """
    spec = data.spec
    train = dates[target_rows(0, spec.train_stop, spec.window)] < cutoff
    val = dates[target_rows(spec.train_stop, spec.val_stop, spec.window)] < cutoff
    return FoldArrays(spec, data.x_train[train], data.y_train[train], data.x_val[val], data.y_val[val])


def zeroed_inputs(spec: ModelSpec, table: pd.DataFrame) -> list[str]:
    """Inputs zeroed because they were constant on the spec's training rows, yet vary in ``table``.

    An input constant on every row of ``table`` (the sentiment columns without news, say) is
    left out: it already reached the model as 0 on every row, so zeroing it changes nothing.
    """
    if spec.scaler.zeroed is None:
        return []
    return [name for name, zeroed in zip(spec.inputs, spec.scaler.zeroed, strict=True)
            if zeroed and table[name].nunique(dropna=False) > 1]


def predict_prices(table: pd.DataFrame, rows: np.ndarray, spec: ModelSpec, predict_fn) -> np.ndarray:
    """Predicted close of each row in ``rows`` of ``table``, from the window before it."""
    missing = [name for name in spec.inputs if name not in table.columns]
    if missing:
        raise PipelineError(f"features table lacks model inputs {missing}: rerun the train stage")
    features = spec.scaler.transform(table[spec.inputs].to_numpy())
    outputs = predict_fn(windows_for(features, rows, spec.window))
    values = spec.target_scaler.inverse_transform(outputs.reshape(-1, 1)).ravel()
    return to_price(values, table[col.CLOSE].to_numpy()[rows - 1], spec.target)
