"""Chronological train / validation / test split, and walk-forward folds over the test rows."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold as row ranges of the stacked (train, val, test) table.

    Training rows are [0, train_stop), validation rows [train_stop, val_stop) and the
    fold's test block [val_stop, test_stop).
    """

    number: int
    train_stop: int
    val_stop: int
    test_stop: int


def walk_forward_folds(n_train: int, n_val: int, n_test: int, folds: int) -> list[Fold]:
    """Expanding-window folds whose test blocks tile the ``n_test`` test rows in date order.

    Fold j tests on the j-th of ``folds`` consecutive blocks of the test rows, stops early
    on the ``n_val`` rows just before that block and trains on every row before those. Each
    fold therefore learns only from the past of its block, fold 1 is the plain split, and
    every test row is predicted exactly once, so the pooled test errors of any number of
    folds cover the same days.

    Raises:
        PipelineError: More folds than test rows.
    """
    if folds > n_test:
        raise PipelineError(f"params.yaml: evaluate.folds={folds} exceeds the {n_test} test rows; use fewer folds "
                            "or a larger split.test_size")
    first = n_train + n_val
    starts = [first + n_test * index // folds for index in range(folds + 1)]
    return [Fold(number=index + 1, train_stop=starts[index] - n_val, val_stop=starts[index],
                 test_stop=starts[index + 1]) for index in range(folds)]
