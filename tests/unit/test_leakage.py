"""No look-ahead, as properties: changing data after day t changes nothing known at day t.

Hypothesis picks the day t and how the later data changes. The prices are real (the packaged
S&P 500 sample), so every indicator is past its warm-up well before t; the headlines are
placed around real XNYS closes.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpipe import columns as col
from stockpipe.features import build_features, feature_columns, join_sentiment
from stockpipe.intervals import adaptive_conformal, one_step_intervals, volatility
from stockpipe.lexicons import make_scorer
from stockpipe.news import news_frame
from stockpipe.params import FeaturesParams, PredictParams
from stockpipe.prices import load_sample
from stockpipe.sentiment import daily_sentiment, empty_daily, score_headlines
from stockpipe.windows import ModelSpec, Scaler, predict_prices, target_rows, windows_for

N_ROWS = 160
PARAMS = FeaturesParams()
WINDOW = 10
TRAIN_SHARE = 0.6


@pytest.fixture(scope="module")
def prices():
    return load_sample().iloc[:N_ROWS].reset_index(drop=True)


def perturb_after(frame: pd.DataFrame, day: int, factors: list[float]) -> pd.DataFrame:
    """Scale every price and volume after row ``day`` by a factor per row (cycled)."""
    changed = frame.copy()
    later = np.arange(day + 1, len(frame))
    scale = np.resize(np.asarray(factors), len(later))
    for name in (col.OPEN, col.HIGH, col.LOW, col.CLOSE, col.VOLUME):
        changed.loc[later, name] = changed.loc[later, name].to_numpy() * scale
    return changed


later_changes = st.lists(st.floats(min_value=0.5, max_value=2.0).filter(lambda factor: factor != 1.0),
                         min_size=1, max_size=8)


@settings(max_examples=30, deadline=None)
@given(day=st.integers(min_value=60, max_value=N_ROWS - 2), factors=later_changes)
def test_features_up_to_day_t_ignore_later_prices(prices, day, factors):
    before, _ = build_features(prices, empty_daily(), PARAMS)
    after, _ = build_features(perturb_after(prices, day, factors), empty_daily(), PARAMS)

    known = before[col.DATE] <= prices[col.DATE][day]
    pd.testing.assert_frame_equal(before[known], after[known])
    assert not before[~known].equals(after[~known])


def model_inputs(prices):
    table, _ = build_features(prices, empty_daily(), PARAMS)
    inputs = feature_columns(PARAMS)
    n_train = int(len(table) * TRAIN_SHARE)
    scaler = Scaler.fit(table[inputs].to_numpy()[:n_train], zero_constant=True)
    return table, inputs, n_train, scaler


@settings(max_examples=30, deadline=None)
@given(offset=st.integers(min_value=0, max_value=40), factors=later_changes)
def test_scaled_inputs_and_predictions_up_to_day_t_ignore_later_data(prices, offset, factors):
    table, inputs, n_train, scaler = model_inputs(prices)
    # t sits at or after the end of the training slice: the scaler was fitted before it.
    day_in_table = min(n_train - 1 + offset, len(table) - 2)
    day = int(np.flatnonzero(prices[col.DATE] == table[col.DATE][day_in_table])[0])
    changed_table, _, _, changed_scaler = model_inputs(perturb_after(prices, day, factors))

    assert scaler.to_dict() == changed_scaler.to_dict()
    known = slice(0, day_in_table + 1)
    np.testing.assert_array_equal(scaler.transform(table[inputs].to_numpy())[known],
                                  changed_scaler.transform(changed_table[inputs].to_numpy())[known])

    # A fixed linear "model" stands in for the LSTM: what matters is which rows reach it.
    weights = np.random.default_rng(0).normal(size=(WINDOW, len(inputs)))
    spec = ModelSpec(inputs=inputs, target="log_return", window=WINDOW, scaler=scaler,
                     target_scaler=Scaler(mean=np.zeros(1), scale=np.full(1, 0.01)))
    rows = target_rows(WINDOW, day_in_table + 1, WINDOW)
    predict = lambda windows: np.tanh((windows * weights).sum(axis=(1, 2)))  # noqa: E731
    np.testing.assert_array_equal(predict_prices(table, rows, spec, predict),
                                  predict_prices(changed_table, rows, spec, predict))


@settings(max_examples=20, deadline=None)
@given(target=st.integers(min_value=WINDOW, max_value=50), factor=st.floats(min_value=0.5, max_value=2.0))
def test_the_window_for_day_j_holds_only_earlier_rows(target, factor):
    features = np.arange(60 * 3, dtype="float64").reshape(60, 3)
    changed = features.copy()
    changed[target:] *= factor
    np.testing.assert_array_equal(windows_for(features, np.array([target]), WINDOW),
                                  windows_for(changed, np.array([target]), WINDOW))


# Headlines: anything published after a session's close changes nothing up to that session.
HEADLINES = ["Stocks plunge as recession fears grow", "Apple beats estimates and raises guidance",
             "Markets steady ahead of the Fed", "Bank shares slump after downgrade", "Oil rallies on supply cuts"]
NEW_YORK = "America/New_York"
JUNE_SESSIONS = pd.DatetimeIndex(["2020-06-01", "2020-06-02", "2020-06-03", "2020-06-04", "2020-06-05",
                                  "2020-06-08", "2020-06-09", "2020-06-10", "2020-06-11", "2020-06-12"])
headline_minutes = st.lists(st.tuples(st.integers(min_value=0, max_value=60 * 24 * 14 - 1),
                                      st.sampled_from(HEADLINES)), min_size=1, max_size=25)


def scored_news(items, start):
    """News rows (minutes after ``start`` in New York, text) and their vader_finance scores."""
    times = [(start + pd.Timedelta(minutes=minutes)).tz_convert("UTC") for minutes, _ in items]
    news = news_frame(times, [text for _, text in items], "SPY", "csv", [None] * len(items))
    scores, _, _ = score_headlines(news[col.HEADLINE], SCORER)
    return news, scores


SCORER = make_scorer("vader_finance")


@settings(max_examples=40, deadline=None)
@given(session=st.integers(min_value=0, max_value=len(JUNE_SESSIONS) - 2), earlier=headline_minutes,
       later=headline_minutes)
def test_headlines_after_a_close_change_nothing_up_to_that_session(session, earlier, later):
    day = JUNE_SESSIONS[session]
    close = pd.Timestamp(f"{day.date()} 16:00", tz=NEW_YORK)
    start = pd.Timestamp("2020-05-29 16:00", tz=NEW_YORK)
    # Earlier headlines fall at or before the close of `day`; later ones strictly after it.
    before_close = [(minutes, text) for minutes, text in earlier if start + pd.Timedelta(minutes=minutes) <= close]
    after_close = [(minutes, text) for minutes, text in later]
    known_news, known_scores = scored_news(before_close, start)
    late_news, late_scores = scored_news(after_close, close + pd.Timedelta(minutes=1))

    known = daily_sentiment(known_news, known_scores, "XNYS", halflife=3.0)
    everything = daily_sentiment(pd.concat([known_news, late_news], ignore_index=True),
                                 pd.concat([known_scores, late_scores], ignore_index=True), "XNYS", halflife=3.0)

    dates = pd.Series(JUNE_SESSIONS[JUNE_SESSIONS <= day])
    pd.testing.assert_frame_equal(join_sentiment(dates, known), join_sentiment(dates, everything))


# Intervals: the one for day j uses returns up to day j - 1 only. Changing the closes after row t
# changes returns from day t + 1 on, so nothing up to day t + 1's interval may move.
INTERVAL_ROWS = 600
INTERVAL_TRAIN_STOP = 400
CALIBRATION_ROWS = np.arange(400, 500)
SCORED_ROWS = np.arange(500, INTERVAL_ROWS)


@pytest.fixture(scope="module")
def closes():
    return load_sample()[col.CLOSE].to_numpy()[:INTERVAL_ROWS]


def closes_changed_after(close: np.ndarray, day: int, factors: list[float]) -> np.ndarray:
    """Scale every close after row ``day`` by a factor per row (cycled)."""
    changed = close.copy()
    changed[day + 1:] *= np.resize(np.asarray(factors), len(close) - day - 1)
    return changed


@settings(max_examples=25, deadline=None)
@given(day=st.integers(min_value=INTERVAL_TRAIN_STOP, max_value=INTERVAL_ROWS - 3), factors=later_changes,
       model=st.sampled_from(["garch", "ewma"]))
def test_a_volatility_forecast_uses_no_return_from_its_own_day_or_later(closes, day, factors, model):
    before = volatility(closes, INTERVAL_TRAIN_STOP, model, horizon=3)
    after = volatility(closes_changed_after(closes, day, factors), INTERVAL_TRAIN_STOP, model, horizon=3)

    # sigma[t + 1] forecasts the return of day t + 1, the first that changed.
    np.testing.assert_array_equal(before.sigma[:day + 2], after.sigma[:day + 2])
    assert before.nu == after.nu
    assert not np.array_equal(before.sigma[day + 2:], after.sigma[day + 2:])


scores = st.floats(min_value=0.0, max_value=10.0)


@settings(max_examples=40, deadline=None)
@given(calibration=st.lists(scores, min_size=10, max_size=30), known=st.lists(scores, min_size=1, max_size=20),
       later=st.lists(scores, min_size=1, max_size=10), replaced=st.lists(scores, min_size=1, max_size=10),
       gamma=st.floats(min_value=0.0, max_value=0.5))
def test_an_adaptive_multiplier_uses_no_score_from_its_own_day_or_later(calibration, known, later, replaced, gamma):
    # Days 0 .. t are `known`; the days after t are `later` in one run, `replaced` in the other.
    before = adaptive_conformal(np.array(calibration), np.array(known + later), 0.8, gamma)
    after = adaptive_conformal(np.array(calibration), np.array(known + replaced), 0.8, gamma)

    # The multiplier of day t + 1 is set before that day is scored.
    np.testing.assert_array_equal(before.multipliers[:len(known) + 1], after.multipliers[:len(known) + 1])


@settings(max_examples=25, deadline=None)
@given(day=st.integers(min_value=SCORED_ROWS[0], max_value=INTERVAL_ROWS - 2), factors=later_changes,
       method=st.sampled_from(["adaptive", "split"]), model=st.sampled_from(["garch", "ewma"]))
def test_a_one_step_interval_uses_no_close_from_its_own_day_or_later(closes, day, factors, method, model):
    predict = PredictParams(interval_method=method, volatility=model, coverage=0.9, gamma=0.05)

    def halfwidths(close):
        # A naive forecast (the close before each row) stands in for the model's.
        return one_step_intervals(close, INTERVAL_TRAIN_STOP, CALIBRATION_ROWS, close[CALIBRATION_ROWS - 1],
                                  SCORED_ROWS, close[SCORED_ROWS - 1], predict).halfwidth

    changed = closes_changed_after(closes, day, factors)
    known = SCORED_ROWS <= day + 1
    np.testing.assert_array_equal(halfwidths(closes)[known], halfwidths(changed)[known])
