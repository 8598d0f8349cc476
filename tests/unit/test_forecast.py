"""Recursive multi-step forecast with a fake model whose outputs are known."""

import math

import numpy as np
import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.forecast import recursive_forecast
from stockpipe.params import FeaturesParams
from stockpipe.windows import ModelSpec, Scaler

TINY = FeaturesParams(sma_windows=[2], ema_windows=[2], rsi_window=2, macd={"fast": 2, "slow": 3, "signal": 1},
                      bbands_window=2, atr_window=1, obv_window=2)
IDENTITY = Scaler(mean=np.array([0.0]), scale=np.array([1.0]))
FUTURE = pd.DatetimeIndex(["2020-06-05", "2020-06-08", "2020-06-09"])


def flat_table():
    """Four sessions at 100 with headlines on the last two."""
    close = [100.0] * 4
    return pd.DataFrame({
        col.DATE: pd.to_datetime(["2020-06-01", "2020-06-02", "2020-06-03", "2020-06-04"]),
        col.OPEN: close, col.HIGH: close, col.LOW: close, col.CLOSE: close, col.VOLUME: [5.0, 5.0, 5.0, 7.0],
        col.LOG_RETURN: [np.nan, 0.0, 0.0, 0.0], col.NEWS_COUNT: [0, 0, 3, 1],
    })


def test_log_return_forecast_feeds_each_prediction_back():
    # Identity input scaling; the target scaler's mean is log(1.1), so a scaled output of 0 means +10% a day.
    spec = ModelSpec(inputs=[col.LOG_RETURN, col.NEWS_COUNT, col.CLOSE], target="log_return", window=2,
                     scaler=Scaler(mean=np.zeros(3), scale=np.ones(3)),
                     target_scaler=Scaler(mean=np.array([math.log(1.1)]), scale=np.array([1.0])))
    seen = []

    def predict_fn(windows):
        seen.append(windows)
        return np.zeros(len(windows))

    forecast = recursive_forecast(flat_table(), FUTURE, spec, TINY, predict_fn)

    assert list(forecast.columns) == [col.DATE, col.PREDICTED_CLOSE]
    assert forecast[col.DATE].tolist() == FUTURE.tolist()
    # 100 * 1.1, * 1.1, * 1.1.
    assert forecast[col.PREDICTED_CLOSE].tolist() == pytest.approx([110.0, 121.0, 133.1])
    assert [windows.dtype for windows in seen] == [np.float32] * 3
    log_1_1 = math.log(1.1)
    # Each step reads the last two rows; a predicted day has its log return, no headlines, its close.
    assert seen[0][0] == pytest.approx(np.array([[0.0, 3.0, 100.0], [0.0, 1.0, 100.0]]))
    assert seen[1][0] == pytest.approx(np.array([[0.0, 1.0, 100.0], [log_1_1, 0.0, 110.0]]))
    assert seen[2][0] == pytest.approx(np.array([[log_1_1, 0.0, 110.0], [log_1_1, 0.0, 121.0]]))


def test_zero_output_with_zero_mean_keeps_the_last_close():
    spec = ModelSpec(inputs=[col.LOG_RETURN], target="log_return", window=2, scaler=IDENTITY, target_scaler=IDENTITY)

    forecast = recursive_forecast(flat_table(), FUTURE, spec, TINY, lambda windows: np.zeros(len(windows)))

    assert forecast[col.PREDICTED_CLOSE].tolist() == [100.0, 100.0, 100.0]


def test_close_target_unscales_the_output():
    # Scaled output 1 with mean 50 and scale 2 is a close of 52, whatever the history.
    spec = ModelSpec(inputs=[col.LOG_RETURN], target="close", window=3, scaler=IDENTITY,
                     target_scaler=Scaler(mean=np.array([50.0]), scale=np.array([2.0])))

    forecast = recursive_forecast(flat_table(), FUTURE[:2], spec, TINY, lambda windows: np.ones(len(windows)))

    assert forecast[col.DATE].tolist() == FUTURE[:2].tolist()
    assert forecast[col.PREDICTED_CLOSE].tolist() == [52.0, 52.0]


def test_the_table_is_not_modified():
    table = flat_table()
    spec = ModelSpec(inputs=[col.LOG_RETURN], target="log_return", window=2, scaler=IDENTITY, target_scaler=IDENTITY)

    recursive_forecast(table, FUTURE, spec, TINY, lambda windows: np.ones(len(windows)))

    pd.testing.assert_frame_equal(table, flat_table())


def test_future_days_carry_the_decayed_sentiment_with_no_headlines():
    table = flat_table().assign(**{col.SENTIMENT_MEAN: [0.0, 0.0, 0.4, 0.2],
                                   col.SENTIMENT_DECAYED: [0.0, 0.0, 0.4, 0.3]})
    spec = ModelSpec(inputs=[col.NEWS_COUNT, col.SENTIMENT_MEAN, col.SENTIMENT_DECAYED], target="log_return", window=1,
                     scaler=Scaler(mean=np.zeros(3), scale=np.ones(3)), target_scaler=IDENTITY)
    seen = []

    recursive_forecast(table, FUTURE[:2], spec, TINY, lambda windows: seen.append(windows) or np.zeros(len(windows)))

    # The last real day, then a future day: count 0, mean 0, the decayed sentiment of 4 June carried.
    assert seen[0][0] == pytest.approx(np.array([[1.0, 0.2, 0.3]]))
    assert seen[1][0] == pytest.approx(np.array([[0.0, 0.0, 0.3]]))


def test_an_input_constant_in_training_is_0_on_real_and_future_days():
    # news_count was constant on the training rows (scaler.json marks it zeroed): the headlines of
    # 3 and 4 June reach the model as 0, as do the future days, while the log return is scaled as usual.
    spec = ModelSpec(inputs=[col.LOG_RETURN, col.NEWS_COUNT], target="log_return", window=2,
                     scaler=Scaler.from_dict({"mean": [0.0, 0.0], "scale": [0.5, 1.0], "zeroed": [False, True]}),
                     target_scaler=Scaler(mean=np.array([math.log(1.1)]), scale=np.array([1.0])))
    seen = []

    recursive_forecast(flat_table(), FUTURE, spec, TINY, lambda windows: seen.append(windows) or np.zeros(1))

    log_1_1 = math.log(1.1)
    assert seen[0][0] == pytest.approx(np.array([[0.0, 0.0], [0.0, 0.0]]))
    assert seen[1][0] == pytest.approx(np.array([[0.0, 0.0], [2 * log_1_1, 0.0]]))
    assert seen[2][0] == pytest.approx(np.array([[2 * log_1_1, 0.0], [2 * log_1_1, 0.0]]))

