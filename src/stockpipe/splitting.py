"""Chronological train / validation / test split."""

from __future__ import annotations

import pandas as pd

from stockpipe.errors import PipelineError


def split_sizes(n_rows: int, test_size: float, val_size: float) -> tuple[int, int, int]:
    """Rows in train, validation and test; test is the last ``test_size`` share of rows.

    Validation is the ``val_size`` share of all rows that sits at the end of the
    training part, just before the test set; it drives early stopping only.
    """
    n_test = int(round(n_rows * test_size))
    n_val = int(round(n_rows * val_size))
    n_train = n_rows - n_test - n_val
    if min(n_train, n_val, n_test) < 1:
        raise PipelineError(
            f"{n_rows} feature rows are too few to split with split.test_size={test_size} "
            f"and split.val_size={val_size} (train {n_train}, validation {n_val}, test {n_test} rows; each needs "
            "at least one); use more price history (an earlier data.start)"
        )
    return n_train, n_val, n_test


def chronological_split(table: pd.DataFrame, test_size: float, val_size: float) -> dict[str, pd.DataFrame]:
    """Split rows in date order into ``train``, ``val`` and ``test`` without shuffling."""
    n_train, n_val, _ = split_sizes(len(table), test_size, val_size)
    return {
        "train": table.iloc[:n_train].reset_index(drop=True),
        "val": table.iloc[n_train:n_train + n_val].reset_index(drop=True),
        "test": table.iloc[n_train + n_val:].reset_index(drop=True),
    }
