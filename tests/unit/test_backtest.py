"""Walk-forward bookkeeping: which model and scaler files belong to which fold and seed.

The scores (pooled metrics, spreads, intervals) are tested in test_scoring.py.
"""

from pathlib import Path

import pandas as pd

from stockpipe.backtest import model_file, seed_values, spec_file, split_sizes_of, ticker_dirs


def test_seeds_count_up_from_the_seed_param():
    assert seed_values(42, 3) == [42, 43, 44]


def test_the_last_folds_first_seed_is_the_shipped_model_the_rest_sit_in_backtest():
    assert model_file(Path("models"), 3, 42, shipped=True) == Path("models/model.keras")
    assert model_file(Path("models"), 3, 43, shipped=False) == Path("models/backtest/fold3_seed43.keras")
    assert spec_file(Path("models"), 3, last=True) == Path("models/scaler.json")
    assert spec_file(Path("models"), 1, last=False) == Path("models/backtest/fold1_scaler.json")


def test_each_ticker_has_its_own_models_or_shares_the_global_ones_with_its_own_scaler():
    assert ticker_dirs("ticker", Path("models/batch_0"), Path("models/global"), "^GSPC") == (
        Path("models/batch_0/^GSPC"), Path("models/batch_0/^GSPC"))
    assert ticker_dirs("global", Path("models/batch_0"), Path("models/global"), "^GSPC") == (
        Path("models/global"), Path("models/global/specs/^GSPC"))


def test_split_sizes_count_the_rows_of_each_part():
    table = pd.DataFrame({"part": ["train", "train", "train", "val", "test", "test"], "close": range(6)})

    assert split_sizes_of(table) == (3, 1, 2)
    assert split_sizes_of(table[table["part"] != "val"]) == (3, 0, 2)

