import json

import numpy as np
import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.adapters.inference import load_forecaster, read_trained
from stockpipe.adapters.model import build_model, load_model, predict, save_model
from stockpipe.errors import PipelineError
from stockpipe.windows import ModelSpec, fold_arrays, predict_prices, target_rows

ARCHITECTURES = [
    {}, {"cell": "gru"}, {"bidirectional": True}, {"cell": "gru", "bidirectional": True},
    {"dense_units": 4, "l2": 0.01}, {"recurrent_dropout": 0.2},
]


@pytest.mark.parametrize("architecture", ARCHITECTURES, ids=lambda options: str(options) or "plain")
@pytest.mark.parametrize("layers", [1, 2])
def test_numpy_forward_pass_matches_keras(tmp_path, layers, architecture):
    model = build_model(window=7, n_features=5, layers=layers, units=6, dropout_rate=0.3, learning_rate=0.01,
                        **architecture)
    rng = np.random.default_rng(layers)
    # Large random weights drive the gates well away from 0.5, so a wrong gate order would show.
    model.set_weights([rng.normal(0, 0.5, weights.shape) for weights in model.get_weights()])
    path = tmp_path / "model.keras"
    save_model(model, path)
    windows = rng.normal(size=(40, 7, 5)).astype("float32")

    expected = predict(load_model(path), windows)
    actual = load_forecaster(path).predict(windows)

    assert actual.shape == (40,)
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_evaluate_path_gives_0_for_an_input_constant_in_training_as_keras_was_trained(tmp_path):
    # No headline before row 40, then up to 100 a day: the model trained on rows 0-29 never saw news_count vary.
    rng = np.random.default_rng(7)
    n_rows, train_stop, val_stop, window = 60, 30, 40, 5
    table = pd.DataFrame({"x": rng.normal(size=n_rows), col.NEWS_COUNT: np.r_[np.zeros(val_stop), np.arange(1, 21) * 5],
                          col.CLOSE: 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n_rows)))})
    inputs = ["x", col.NEWS_COUNT]
    data = fold_arrays(table, train_stop, val_stop, inputs, "log_return", window)
    model = build_model(window=window, n_features=2, layers=1, units=6, dropout_rate=0.0, learning_rate=0.01)
    model.set_weights([rng.normal(0, 0.5, weights.shape) for weights in model.get_weights()])
    path = tmp_path / "model.keras"
    save_model(model, path)
    # What evaluate reads: the spec through its JSON file, the model through NumPy.
    spec = ModelSpec.from_dict(json.loads(json.dumps(data.spec.to_dict())))
    rows = target_rows(val_stop, n_rows, window)
    forecaster = load_forecaster(path)

    numpy_prices = predict_prices(table, rows, spec, forecaster.predict)
    keras_prices = predict_prices(table, rows, data.spec, lambda windows: predict(load_model(path), windows))
    without_news = predict_prices(table.assign(**{col.NEWS_COUNT: 0.0}), rows, spec, forecaster.predict)

    np.testing.assert_allclose(numpy_prices, keras_prices, rtol=1e-5)
    np.testing.assert_array_equal(numpy_prices, without_news)
    # The validation windows Keras stopped on carry the same 0.
    assert not data.x_val[..., 1].any()


def test_no_windows_gives_no_outputs(tmp_path):
    path = tmp_path / "model.keras"
    save_model(build_model(3, 2, 1, 2, 0.0, 0.01), path)
    assert load_forecaster(path).predict(np.empty((0, 3, 2))).shape == (0,)


def test_missing_model_file_is_one_clear_error(tmp_path):
    with pytest.raises(PipelineError, match=r"model\.keras: model file not found \(run the train stage first\)"):
        load_forecaster(tmp_path / "model.keras")


def test_file_that_is_not_a_keras_model_is_refused(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text("not a zip")
    with pytest.raises(PipelineError, match="not a Keras model file"):
        load_forecaster(path)


def test_read_trained_takes_the_note_of_the_scope_in_force_and_refuses_the_other(tmp_path):
    (tmp_path / "tickers").mkdir()
    (tmp_path / "global").mkdir()
    (tmp_path / "tickers" / "trained.json").write_text('{"scope": "ticker", "tickers": ["AAPL"], "skipped": {}}')
    (tmp_path / "global" / "trained.json").write_text('{"scope": "ticker", "tickers": []}')  # train_global's note

    assert read_trained("ticker", tmp_path / "tickers", tmp_path / "global")["tickers"] == ["AAPL"]
    with pytest.raises(PipelineError,
                       match=r"global/trained\.json: the models were trained with model.scope ticker, not global"):
        read_trained("global", tmp_path / "tickers", tmp_path / "global")
