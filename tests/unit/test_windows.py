"""Scaling, targets and input windows: literal arrays, hand-checked, with no look-ahead."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.params import FeaturesParams
from stockpipe.windows import (
    ModelSpec,
    Scaler,
    fold_arrays,
    input_columns,
    predict_prices,
    stack_parts,
    target_rows,
    target_values,
    to_price,
    windows_before,
    windows_for,
    zeroed_inputs,
)

IDENTITY = Scaler(mean=np.array([0.0]), scale=np.array([1.0]))


def test_scaler_fit_by_hand():
    # Column 1: mean 2, population std sqrt(2/3). Column 2 is constant: centred, not stretched.
    scaler = Scaler.fit(np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0]]))

    assert scaler.mean.tolist() == [2.0, 10.0]
    assert scaler.scale.tolist() == pytest.approx([math.sqrt(2 / 3), 1.0])
    assert scaler.transform([[3.0, 12.0]]) == pytest.approx(np.array([[1 / math.sqrt(2 / 3), 2.0]]))
    assert scaler.inverse_transform(scaler.transform([[7.0, -1.0]])) == pytest.approx(np.array([[7.0, -1.0]]))


def test_scaler_of_one_column():
    scaler = Scaler.fit(np.array([1.0, 3.0]))

    assert scaler.mean.tolist() == [2.0]
    assert scaler.scale.tolist() == [1.0]


def test_scaler_round_trips_through_json_types():
    scaler = Scaler.fit(np.array([[1.0, 5.0], [3.0, 9.0]]))

    data = scaler.to_dict()
    restored = Scaler.from_dict(data)

    assert data == {"mean": [2.0, 7.0], "scale": [1.0, 2.0]}
    assert restored.mean.tolist() == scaler.mean.tolist()
    assert restored.scale.tolist() == scaler.scale.tolist()


def test_scaler_zeroes_an_input_constant_on_the_fitted_rows():
    # Column 2 is 0 on every fitted row: the model never sees it vary, so it gets 0 for it on any later row.
    scaler = Scaler.fit(np.array([[1.0, 0.0], [3.0, 0.0]]), zero_constant=True)

    assert (scaler.mean.tolist(), scaler.scale.tolist(), scaler.zeroed.tolist()) == ([2.0, 0.0], [1.0, 1.0],
                                                                                      [False, True])
    assert scaler.transform([[5.0, 100.0], [1.0, 13.0]]).tolist() == [[3.0, 0.0], [-1.0, 0.0]]
    assert scaler.to_dict() == {"mean": [2.0, 0.0], "scale": [1.0, 1.0], "zeroed": [False, True]}
    assert Scaler.from_dict(scaler.to_dict()).transform([[5.0, 100.0]]).tolist() == [[3.0, 0.0]]


def test_scaler_finds_a_constant_column_exactly():
    # The standard deviation of three 0.1s comes out as 1.4e-17, not 0: stretching by it would blow
    # rounding noise up to whole units. Compared exactly, the column is constant and centred on 0.1.
    scaler = Scaler.fit(np.array([0.1, 0.1, 0.1]))

    assert (scaler.mean.tolist(), scaler.scale.tolist()) == ([0.1], [1.0])
    assert scaler.transform(np.array([0.1, 0.1, 0.1, 0.3])).tolist() == pytest.approx([0.0, 0.0, 0.0, 0.2])


def test_scaler_fitted_on_training_rows_ignores_later_rows():
    table = np.array([[1.0], [2.0], [3.0], [100.0], [200.0]])
    changed = table.copy()
    changed[3:] = [[-50.0], [7.0]]
    n_train = 3

    scaler = Scaler.fit(table[:n_train])
    scaler_changed = Scaler.fit(changed[:n_train])

    assert scaler.to_dict() == scaler_changed.to_dict()
    assert (scaler.mean.tolist(), scaler.scale.tolist()) == ([2.0], pytest.approx([math.sqrt(2 / 3)]))
    scaled = scaler.transform(table)
    assert scaled[:n_train].mean() == pytest.approx(0.0)
    assert scaled[:n_train].std() == pytest.approx(1.0)


def test_input_columns_add_the_close_only_when_it_is_the_target():
    params = FeaturesParams(sma_windows=[2], ema_windows=[2])

    assert input_columns(params, "log_return")[-1] == col.SENTIMENT_COLUMNS[-1]
    assert input_columns(params, "close") == [*input_columns(params, "log_return"), col.CLOSE]


def test_target_values():
    close = np.array([100.0, 110.0, 99.0])

    log_returns = target_values(close, "log_return")

    assert np.isnan(log_returns[0])
    assert log_returns[1:].tolist() == pytest.approx([math.log(1.1), math.log(0.9)])
    assert target_values(close, "close").tolist() == [100.0, 110.0, 99.0]


def test_to_price():
    assert to_price(np.array([math.log(1.1), 0.0]), np.array([100.0, 50.0]), "log_return").tolist() == pytest.approx(
        [110.0, 50.0]
    )
    assert to_price(np.array([101.5]), np.array([100.0]), "close").tolist() == [101.5]


def test_windows_for_by_hand():
    # Row r holds [2r, 2r + 1].
    features = np.arange(12, dtype="float64").reshape(6, 2)

    windows = windows_for(features, np.array([2, 5]), window=2)

    assert windows.dtype == np.float32
    assert windows.shape == (2, 2, 2)
    # Target row 2 reads rows 0 and 1; target row 5 reads rows 3 and 4.
    assert windows.tolist() == [[[0, 1], [2, 3]], [[6, 7], [8, 9]]]


def test_window_for_row_j_uses_only_rows_before_j():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(8, 3))
    for j in range(3, 8):
        changed = features.copy()
        changed[j:] = 1e6

        assert np.array_equal(windows_for(features, np.array([j]), 3), windows_for(changed, np.array([j]), 3))


def test_window_needs_earlier_rows():
    with pytest.raises(PipelineError, match=r"^model\.window=3 needs 3 earlier rows before the first target row$"):
        windows_for(np.zeros((6, 2)), np.array([2, 3]), window=3)


def test_no_target_rows_give_no_windows():
    assert windows_for(np.zeros((6, 2)), np.array([], dtype=int), window=3).shape == (0, 3, 2)


def test_target_rows():
    assert target_rows(0, 6, 2).tolist() == [2, 3, 4, 5]
    assert target_rows(4, 6, 2).tolist() == [4, 5]
    assert target_rows(0, 2, 2).tolist() == []


def test_stack_parts_restores_the_order():
    parts = [pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [3]}), pd.DataFrame({"x": [4, 5]})]

    stacked = stack_parts(parts)

    assert stacked["x"].tolist() == [1, 2, 3, 4, 5]
    assert stacked.index.tolist() == [0, 1, 2, 3, 4]


def test_model_spec_from_dict():
    spec = ModelSpec.from_dict({"inputs": ["a", "b"], "target": "close", "window": "3",
                                "features": {"mean": [1.0, 2.0], "scale": [1.0, 4.0], "zeroed": [True, False]},
                                "target_scaler": {"mean": [100.0], "scale": [10.0]}})

    assert (spec.inputs, spec.target, spec.window) == (["a", "b"], "close", 3)
    assert spec.scaler.scale.tolist() == [1.0, 4.0]
    assert spec.scaler.transform([[50.0, 10.0]]).tolist() == [[0.0, 2.0]]
    assert spec.target_scaler.mean.tolist() == [100.0]


def test_a_spec_saved_before_zeroed_existed_scales_as_it_did():
    # scaler.json written by an earlier train stage: no "zeroed", so every input is centred and
    # scaled, a constant one included, as that model was trained on.
    old = {"inputs": ["x", "news_count"], "target": "log_return", "window": 2,
           "features": {"mean": [4.0, 0.0], "scale": [2.0, 1.0]}, "target_scaler": {"mean": [0.0], "scale": [0.01]},
           "train_stop": 4, "val_stop": 6}

    spec = ModelSpec.from_dict(json.loads(json.dumps(old)))

    assert spec.scaler.zeroed is None
    assert spec.scaler.transform([[6.0, 13.0]]).tolist() == [[1.0, 13.0]]
    assert spec.to_dict() == old


def test_model_spec_round_trips_with_its_rows():
    spec = ModelSpec(inputs=["a"], target="log_return", window=2, scaler=IDENTITY, target_scaler=IDENTITY,
                     train_stop=5, val_stop=7)

    again = ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict())))

    assert (again.inputs, again.window, again.train_stop, again.val_stop) == (["a"], 2, 5, 7)
    assert again.target_scaler.scale.tolist() == [1.0]


def test_fold_arrays_fit_both_scalers_on_the_training_rows_only():
    # Rows 0-3 train, 4-5 validate, 6-7 belong to a later block and must change nothing.
    table = pd.DataFrame({"x": [1.0, 3.0, 5.0, 7.0, 100.0, 200.0, 1e6, -1e6],
                          col.CLOSE: [100.0, 110.0, 121.0, 145.2, 146.41, 161.051, 1e9, 1.0]})

    data = fold_arrays(table, train_stop=4, val_stop=6, inputs=["x"], target="log_return", window=2)
    later_changed = fold_arrays(table.assign(x=[*table["x"][:6], 0.0, 0.0]), 4, 6, ["x"], "log_return", 2)

    assert data.spec.scaler.mean.tolist() == [4.0]  # mean of 1, 3, 5, 7
    assert data.spec.scaler.scale.tolist() == pytest.approx([math.sqrt(5.0)])
    # The targets of training rows 2 and 3 are log(1.1) and log(1.2).
    assert data.spec.target_scaler.mean.tolist() == pytest.approx([(math.log(1.1) + math.log(1.2)) / 2])
    assert (data.spec.train_stop, data.spec.val_stop) == (4, 6)
    assert data.x_train.shape == (2, 2, 1) and data.x_val.shape == (2, 2, 1)
    assert data.x_val[1, :, 0].tolist() == pytest.approx([(7.0 - 4.0) / math.sqrt(5.0), (100.0 - 4.0) / math.sqrt(5.0)])
    assert data.y_train.tolist() == pytest.approx([-1.0, 1.0])
    np.testing.assert_array_equal(later_changed.x_train, data.x_train)
    np.testing.assert_array_equal(later_changed.y_val, data.y_val)


def test_windows_before_keeps_only_windows_whose_target_day_precedes_the_cutoff():
    # Eight sessions; windows of 2: training targets rows 2, 3, validation targets rows 4, 5.
    table = pd.DataFrame({"x": [1.0, 3.0, 5.0, 7.0, 100.0, 200.0, 300.0, 400.0],
                          col.CLOSE: [100.0, 110.0, 121.0, 145.2, 146.41, 161.051, 170.0, 180.0]})
    dates = pd.date_range("2020-06-01", periods=8, freq="B").to_numpy()  # Mon 1 .. Wed 10 June
    data = fold_arrays(table, train_stop=4, val_stop=6, inputs=["x"], target="log_return", window=2)

    # Another ticker's first test day is row 5's date (Mon 8 June): rows 5 and later must not teach the model.
    kept = windows_before(data, dates, np.datetime64("2020-06-08"))

    assert kept.spec is data.spec  # the ticker's own scalers, fitted on its training slice
    np.testing.assert_array_equal(kept.x_train, data.x_train)  # targets Wed 3, Thu 4 June
    np.testing.assert_array_equal(kept.x_val, data.x_val[:1])  # Fri 5 June kept, Mon 8 June left out
    np.testing.assert_array_equal(kept.y_val, data.y_val[:1])
    assert len(windows_before(data, dates, np.datetime64("2020-06-03")).x_train) == 0


def news_table(news):
    """Eight rows: x varies throughout, the close rises 1% a day, ``news`` is the news_count column."""
    return pd.DataFrame({"x": [1.0, 3.0, 5.0, 7.0, 2.0, 4.0, 6.0, 8.0], col.NEWS_COUNT: news,
                         col.CLOSE: [100.0 * 1.01 ** day for day in range(8)]})


def test_an_input_constant_on_a_folds_training_rows_reaches_its_model_as_0():
    # Headlines only from row 5 on. Fold 1 trains on rows 0-3, stops on 4-5 and tests on 6-7: its model
    # never saw news_count vary, so it gets 0 for it on every row, validation and test included.
    table = news_table([0, 0, 0, 0, 0, 60, 13, 100])
    inputs = ["x", col.NEWS_COUNT]
    seen = []

    first = fold_arrays(table, train_stop=4, val_stop=6, inputs=inputs, target="log_return", window=2)
    predict_prices(table, np.array([6, 7]), first.spec, lambda windows: seen.append(windows) or np.zeros(2))

    assert first.spec.scaler.zeroed.tolist() == [False, True]
    assert first.x_train[..., 1].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert first.x_val[..., 1].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert seen[0][..., 1].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    # x of rows 4-6 (2, 4, 6) scaled by (x - 4) / sqrt(5), as before.
    assert seen[0][..., 0] == pytest.approx(np.array([[-2.0, 0.0], [0.0, 2.0]]) / math.sqrt(5.0))
    assert zeroed_inputs(first.spec, table) == [col.NEWS_COUNT]
    # The decision is the training rows' alone: later headlines change neither it nor the windows.
    later_changed = fold_arrays(news_table([0, 0, 0, 0, 7, 0, 0, 5]), 4, 6, inputs, "log_return", 2)
    assert later_changed.spec.to_dict() == first.spec.to_dict()
    np.testing.assert_array_equal(later_changed.x_val, first.x_val)

    # Fold 2 trains on rows 0-5, which hold the headline of row 5: news_count is an input like any other.
    second = fold_arrays(table, train_stop=6, val_stop=8, inputs=inputs, target="log_return", window=2)

    assert second.spec.scaler.zeroed.tolist() == [False, False]
    assert second.spec.scaler.mean[1] == 10.0
    # Mean 10 and variance (5 * 10**2 + 50**2) / 6 = 500 over rows 0-5; the window of row 7 reads rows 5 and 6.
    assert second.x_val[1, :, 1].tolist() == pytest.approx([50.0 / math.sqrt(500.0), 3.0 / math.sqrt(500.0)])
    assert zeroed_inputs(second.spec, table) == []


def test_an_input_constant_on_every_row_is_scaled_as_before():
    # No news at all (the default news.source: none): news_count reached the model as (0 - 0) / 1 = 0
    # before zeroing existed, and still does, so the windows are the same bytes and nothing is warned about.
    table = news_table([0] * 8)
    values = table[["x", col.NEWS_COUNT]].to_numpy(dtype="float64")
    unzeroed = Scaler(mean=values[:4].mean(axis=0), scale=np.array([values[:4, 0].std(), 1.0]))

    data = fold_arrays(table, train_stop=4, val_stop=6, inputs=["x", col.NEWS_COUNT], target="log_return", window=2)

    assert data.spec.scaler.zeroed.tolist() == [False, True]
    np.testing.assert_array_equal(data.x_train, windows_for(unzeroed.transform(values), np.array([2, 3]), 2))
    np.testing.assert_array_equal(data.x_val, windows_for(unzeroed.transform(values), np.array([4, 5]), 2))
    assert zeroed_inputs(data.spec, table) == []


def test_a_spec_without_zeroed_names_no_zeroed_inputs():
    spec = ModelSpec(inputs=["x"], target="close", window=2, scaler=IDENTITY, target_scaler=IDENTITY)

    assert zeroed_inputs(spec, price_table()) == []


def price_table():
    return pd.DataFrame({"x": [1.0, 3.0, 5.0, 7.0], col.CLOSE: [100.0, 110.0, 121.0, 133.1]})


def test_predict_prices_scales_windows_and_turns_outputs_into_prices():
    spec = ModelSpec(inputs=["x"], target="log_return", window=2,
                     scaler=Scaler(mean=np.array([1.0]), scale=np.array([2.0])),
                     target_scaler=Scaler(mean=np.array([0.0]), scale=np.array([0.1])))
    seen = []

    def predict_fn(windows):
        seen.append(windows)
        # Scaled output 1 is a log return of 0 + 1 * 0.1.
        return np.ones(len(windows))

    prices = predict_prices(price_table(), np.array([2, 3]), spec, predict_fn)

    # x scaled by (x - 1) / 2: rows 0 .. 3 become 0, 1, 2, 3.
    assert seen[0].tolist() == [[[0.0], [1.0]], [[1.0], [2.0]]]
    # Previous closes 110 and 121, each times e^0.1.
    assert prices.tolist() == pytest.approx([110 * math.exp(0.1), 121 * math.exp(0.1)])


def test_predict_prices_for_a_close_target():
    spec = ModelSpec(inputs=["x"], target="close", window=2, scaler=IDENTITY,
                     target_scaler=Scaler(mean=np.array([100.0]), scale=np.array([10.0])))

    prices = predict_prices(price_table(), np.array([3]), spec, lambda windows: np.full(len(windows), 0.5))

    assert prices.tolist() == [105.0]


def test_predict_prices_refuses_a_table_without_the_inputs():
    spec = ModelSpec(inputs=["x", "rsi_14"], target="close", window=2, scaler=IDENTITY, target_scaler=IDENTITY)

    with pytest.raises(PipelineError, match=r"^features table lacks model inputs \['rsi_14'\]: rerun the train stage$"):
        predict_prices(price_table(), np.array([3]), spec, lambda windows: np.zeros(len(windows)))
