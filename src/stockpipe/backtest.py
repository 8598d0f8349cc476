"""Bookkeeping of a walk-forward backtest: which model files belong to which fold and seed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stockpipe import columns as col


def seed_values(seed: int, count: int) -> list[int]:
    """The ``count`` training seeds: ``seed``, ``seed + 1``, ..."""
    return [seed + index for index in range(count)]


def model_file(model_dir: Path, fold: int, seed: int, shipped: bool) -> Path:
    """The saved model of one fold and seed.

    The shipped model, the last fold's with the first seed, is ``model.keras`` at the top of
    ``model_dir``: it learnt from the most history and is the one predict uses. The others
    sit under ``backtest/``.
    """
    if shipped:
        return Path(model_dir) / "model.keras"
    return Path(model_dir) / "backtest" / f"fold{fold}_seed{seed}.keras"


def spec_file(model_dir: Path, fold: int, last: bool) -> Path:
    """The spec (scalers, window, rows) of one fold, which its seeds share; the last fold's is ``scaler.json``."""
    return Path(model_dir) / ("scaler.json" if last else f"backtest/fold{fold}_scaler.json")


def split_sizes_of(table: pd.DataFrame) -> tuple[int, int, int]:
    """Rows of one ticker's features table in train, validation and test (its ``part`` column)."""
    return tuple(int((table[col.PART] == name).sum()) for name in ("train", "val", "test"))


def ticker_dirs(scope: str, tickers_dir: Path, global_dir: Path, ticker: str) -> tuple[Path, Path]:
    """Where one ticker's models and its specs (scalers) are: (model folder, spec folder).

    With ``model.scope: ticker`` both are the ticker's own folder under ``tickers_dir``; with
    ``global`` every ticker shares the models in ``global_dir`` and has its own specs, since
    each ticker's inputs are scaled with its own training-slice statistics.
    """
    if scope == "global":
        return Path(global_dir), Path(global_dir) / "specs" / ticker
    return Path(tickers_dir) / ticker, Path(tickers_dir) / ticker
