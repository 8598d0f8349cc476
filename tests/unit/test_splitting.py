"""Chronological split on seven literal rows, checked by hand."""

import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.splitting import Fold, chronological_split, split_sizes, walk_forward_folds

SEVEN_DAYS = pd.DataFrame({
    col.DATE: pd.to_datetime(["2020-06-01", "2020-06-02", "2020-06-03", "2020-06-04", "2020-06-05", "2020-06-08",
                              "2020-06-09"]),
    col.CLOSE: [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0],
})


@pytest.mark.parametrize(
    ("n_rows", "test_size", "val_size", "sizes"),
    [
        (7, 0.3, 0.15, (4, 1, 2)),  # test round(2.1) = 2, val round(1.05) = 1
        (7, 0.2, 0.1, (5, 1, 1)),  # test round(1.4) = 1, val round(0.7) = 1
        (10, 0.2, 0.1, (7, 1, 2)),
        (5031, 0.2, 0.1, (3522, 503, 1006)),  # the sample's size: round(1006.2), round(503.1)
    ],
)
def test_split_sizes(n_rows, test_size, val_size, sizes):
    assert split_sizes(n_rows, test_size, val_size) == sizes


def test_seven_rows_split_in_date_order():
    parts = chronological_split(SEVEN_DAYS, test_size=0.3, val_size=0.15)

    assert list(parts) == ["train", "val", "test"]
    assert parts["train"][col.CLOSE].tolist() == [10.0, 11.0, 12.0, 13.0]
    assert parts["val"][col.CLOSE].tolist() == [14.0]
    assert parts["test"][col.CLOSE].tolist() == [15.0, 16.0]
    assert parts["test"][col.DATE].tolist() == [pd.Timestamp("2020-06-08"), pd.Timestamp("2020-06-09")]
    for part in parts.values():
        assert part.index.tolist() == list(range(len(part)))


def test_parts_cover_the_table_once_without_overlap():
    parts = chronological_split(SEVEN_DAYS, test_size=0.2, val_size=0.1)

    stacked = pd.concat(parts.values(), ignore_index=True)

    pd.testing.assert_frame_equal(stacked, SEVEN_DAYS)
    assert parts["train"][col.DATE].max() < parts["val"][col.DATE].min()
    assert parts["val"][col.DATE].max() < parts["test"][col.DATE].min()


def test_too_few_rows_name_the_params():
    # 3 rows: test round(0.6) = 1, val round(0.3) = 0.
    with pytest.raises(PipelineError, match=(
        r"^3 feature rows are too few to split with split\.test_size=0\.2 and split\.val_size=0\.1 "
        r"\(train 2, validation 0, test 1 rows; each needs at least one\); use more price history"
    )):
        chronological_split(SEVEN_DAYS.iloc[:3], test_size=0.2, val_size=0.1)


def test_one_fold_is_the_plain_split():
    assert walk_forward_folds(3522, 503, 1006, folds=1) == [Fold(1, 3522, 4025, 5031)]


def test_fold_blocks_tile_the_test_rows_and_each_fold_learns_only_from_before_its_block():
    # 7 training, 2 validation and 5 test rows in 2 folds: blocks of 2 and 3 test rows.
    folds = walk_forward_folds(7, 2, 5, folds=2)

    assert folds == [Fold(1, train_stop=7, val_stop=9, test_stop=11), Fold(2, train_stop=9, val_stop=11, test_stop=14)]
    assert [row for fold in folds for row in range(fold.val_stop, fold.test_stop)] == list(range(9, 14))
    for fold in folds:
        assert fold.val_stop - fold.train_stop == 2  # the same validation length before every block


def test_as_many_folds_as_test_rows_gives_one_row_each():
    folds = walk_forward_folds(10, 2, 3, folds=3)

    assert [(fold.val_stop, fold.test_stop) for fold in folds] == [(12, 13), (13, 14), (14, 15)]


def test_more_folds_than_test_rows_is_refused_naming_the_param():
    with pytest.raises(PipelineError, match=r"evaluate.folds=4 exceeds the 3 test rows"):
        walk_forward_folds(10, 2, 3, folds=4)
