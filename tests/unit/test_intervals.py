"""Volatility-scaled intervals and their scores, on literal data worked by hand.

The volatility model needs at least 30 returns, so its tests use real closes (the packaged
S&P 500 sample); everything else runs on a handful of literal numbers.
"""

import math

import numpy as np
import pytest
from scipy import stats

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.intervals import (
    adaptive_conformal,
    christoffersen_p,
    conformal_quantile,
    conformal_rank,
    diagnostics,
    kupiec_p,
    one_step_intervals,
    scaled_scores,
    volatility,
    winkler,
)
from stockpipe.params import PredictParams
from stockpipe.prices import load_sample

N_ROWS = 600
TRAIN_STOP = 400  # GARCH on the first 399 returns of 1999-2000 has a non-zero ARCH term to filter with
CALIBRATION_ROWS = np.arange(400, 500)
TEST_ROWS = np.arange(500, N_ROWS)


@pytest.fixture(scope="module")
def close():
    return load_sample()[col.CLOSE].to_numpy()[:N_ROWS]


# Adaptive conformal inference.

def test_adaptive_conformal_by_hand_over_five_days():
    # Coverage 0.8: target miscoverage 0.2; gamma 0.1, so a hit adds 0.1 * 0.2 = 0.02 to alpha and a
    # miss adds 0.1 * (0.2 - 1) = -0.08. The calibration scores are 1 .. 10 in any order.
    calibration = np.array([4.0, 9.0, 1.0, 7.0, 10.0, 3.0, 6.0, 2.0, 8.0, 5.0])
    scores = np.array([9.5, 0.5, 4.5, 12.0, 3.5])
    # Day 1: pool 1 .. 10 (n 10), level 0.8, rank ceil(11 * 0.8 = 8.8) = 9: multiplier 9.
    #        9.5 > 9 misses: alpha 0.2 - 0.08 = 0.12; the pool gains 9.5.
    # Day 2: n 11, level 0.88, rank ceil(12 * 0.88 = 10.56) = 11 of 1 .. 9, 9.5, 10: multiplier 10.
    #        0.5 hits: alpha 0.14; the pool gains 0.5.
    # Day 3: n 12, level 0.86, rank ceil(13 * 0.86 = 11.18) = 12 of 0.5, 1 .. 9, 9.5, 10: multiplier 10.
    #        4.5 hits: alpha 0.16; the pool gains 4.5.
    # Day 4: n 13, level 0.84, rank ceil(14 * 0.84 = 11.76) = 12 of 0.5, 1 .. 4, 4.5, 5 .. 9, 9.5, 10: 9.5.
    #        Two hits narrowed the interval. 12 > 9.5 misses: alpha 0.08; the pool gains 12.
    # Day 5: n 14, level 0.92, rank ceil(15 * 0.92 = 13.8) = 14 = n: the largest, 12.
    #        3.5 hits: alpha 0.10; the pool gains 3.5.
    # Next:  n 15, level 0.90, rank ceil(16 * 0.9 = 14.4) = 15 = n: 12.
    result = adaptive_conformal(calibration, scores, coverage=0.8, gamma=0.1)

    np.testing.assert_array_equal(result.multipliers, [9.0, 10.0, 10.0, 9.5, 12.0])
    assert result.next_multiplier == 12.0
    assert result.next_alpha == pytest.approx(0.10)


def test_a_score_equal_to_the_multiplier_is_a_hit():
    # Day 1's multiplier is 9 (as above); a score of exactly 9 is inside: alpha 0.2 + 0.02.
    result = adaptive_conformal(np.arange(1.0, 11.0), np.array([9.0]), coverage=0.8, gamma=0.1)

    assert result.multipliers[0] == 9.0
    assert result.next_alpha == pytest.approx(0.22)


def test_adaptive_conformal_without_a_step_is_plain_conformal_on_a_growing_pool():
    calibration = np.array([4.0, 9.0, 1.0, 7.0, 10.0, 3.0, 6.0, 2.0, 8.0, 5.0])
    scores = np.array([9.5, 0.5, 4.5, 12.0, 3.5])
    plain = [conformal_quantile(sorted([*calibration, *scores[:day]]), 0.8) for day in range(len(scores) + 1)]
    # By hand: ranks ceil(0.8 * (n + 1)) for n = 10 .. 15 are 9, 10, 11, 12, 12 (15 * 0.8 is 12 exactly, in
    # binary too), 13. Each new score below 9.5 (0.5, 4.5, 3.5) moves the rank up with it; 12 lands above.
    # Pools: 1..10 -> 9; +9.5 -> 9.5; +0.5 -> 9.5; +4.5 -> 9.5; +12 -> 9.5; +3.5 -> 9.5.
    assert plain == [9.0, 9.5, 9.5, 9.5, 9.5, 9.5]

    result = adaptive_conformal(calibration, scores, coverage=0.8, gamma=0.0)

    np.testing.assert_array_equal(result.multipliers, plain[:-1])
    assert result.next_multiplier == plain[-1]
    assert result.next_alpha == pytest.approx(0.2)


def test_a_run_of_misses_widens_the_next_multiplier_beyond_what_the_pool_alone_gives():
    calibration = np.arange(1.0, 21.0)  # 1 .. 20
    misses = np.array([30.0, 31.0, 32.0])
    # gamma 0.1: day 1 rank ceil(21 * 0.8 = 16.8) = 17: 17, a miss, alpha 0.12;
    # day 2 rank ceil(22 * 0.88 = 19.36) = 20: 20, a miss, alpha 0.04;
    # day 3 rank ceil(23 * 0.96 = 22.08) = 23, past n = 22: the largest, 31; 32 misses, alpha -0.04;
    # next: level 1.04, past n again: the largest, 32.
    adaptive = adaptive_conformal(calibration, misses, coverage=0.8, gamma=0.1)
    # gamma 0: ranks ceil(0.8 * (n + 1)) = 17, 18, 19, then 20 for n = 20 .. 23: the misses sit above them.
    plain = adaptive_conformal(calibration, misses, coverage=0.8, gamma=0.0)

    np.testing.assert_array_equal(adaptive.multipliers, [17.0, 20.0, 31.0])
    assert adaptive.next_multiplier == 32.0
    assert adaptive.next_alpha == pytest.approx(-0.04)
    np.testing.assert_array_equal(plain.multipliers, [17.0, 18.0, 19.0])
    assert plain.next_multiplier == 20.0


# Split conformal's quantile.

SCORES = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10]


def test_conformal_quantile_takes_the_finite_sample_rank():
    # n = 10: level 0.8 gives rank ceil(11 * 0.8 = 8.8) = 9; level 0.5 gives ceil(5.5) = 6.
    assert conformal_quantile(SCORES, 0.8) == 0.09
    assert conformal_quantile(np.array(SCORES), 0.5) == 0.06


def test_conformal_quantile_past_the_last_rank_is_the_largest_score():
    # Level 0.95: rank ceil(11 * 0.95 = 10.45) = 11, past n = 10; level 1.3 (an alpha below zero) likewise.
    assert conformal_quantile(SCORES, 0.95) == 0.10
    assert conformal_quantile(SCORES, 1.3) == 0.10


def test_conformal_quantile_at_or_below_level_zero_is_the_smallest_score():
    # An alpha above one: rank ceil(11 * -0.2) = -2, raised to the first.
    assert conformal_quantile(SCORES, 0.05) == 0.01
    assert conformal_quantile(SCORES, -0.2) == 0.01


# Coverage tests.

def test_kupiec_p_value_by_hand():
    # 250 days, 35 misses, coverage 0.9: p = 0.1, observed rate 35 / 250 = 0.14.
    # LR = -2 [215 ln 0.9 + 35 ln 0.1 - 215 ln 0.86 - 35 ln 0.14]
    #    = -2 [-22.65251 - 80.59048 + 32.42692 + 68.81395] = -2 * -2.00212 = 4.00424.
    statistic = -2 * (215 * math.log(0.9) + 35 * math.log(0.1) - 215 * math.log(0.86) - 35 * math.log(0.14))
    assert statistic == pytest.approx(4.00424, abs=1e-5)
    misses = np.zeros(250, dtype=bool)
    misses[::7][:35] = True

    assert kupiec_p(misses, 0.9) == pytest.approx(stats.chi2.sf(statistic, 1))
    assert kupiec_p(misses, 0.9) == pytest.approx(0.04539, abs=1e-5)


def test_kupiec_p_value_is_one_at_exactly_the_target_miss_rate():
    # 25 misses in 100 days at 75% coverage: LR = 0. 0.25 is exact in binary, so p is exactly 1.
    assert kupiec_p(np.arange(100) % 4 == 0, 0.75) == 1.0
    # 1 - 0.9 is 0.09999999999999998 in binary, not 25 / 250: p is 1 to within that rounding.
    assert kupiec_p(np.arange(250) % 10 == 0, 0.9) == pytest.approx(1.0, abs=1e-6)


def test_kupiec_p_value_of_no_days_is_none():
    assert kupiec_p(np.array([], dtype=bool), 0.9) is None


def test_christoffersen_p_value_by_hand():
    misses = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    # Transitions (nine): 00 00 01 11 11 10 00 00 00: n00 = 5, n01 = 1, n10 = 1, n11 = 2.
    # pi0 = 1/6, pi1 = 2/3, pi = 3/9 = 1/3.
    # Independent: 6 ln(2/3) + 3 ln(1/3) = -2.43279 - 3.29584 = -5.72863.
    # Markov: 5 ln(5/6) + ln(1/6) + ln(1/3) + 2 ln(2/3) = -0.91161 - 1.79176 - 1.09861 - 0.81093 = -4.61291.
    # LR = -2 (-5.72863 + 4.61291) = 2.23144.
    independent = 6 * math.log(2 / 3) + 3 * math.log(1 / 3)
    markov = 5 * math.log(5 / 6) + math.log(1 / 6) + math.log(1 / 3) + 2 * math.log(2 / 3)
    statistic = -2 * (independent - markov)
    assert statistic == pytest.approx(2.23144, abs=1e-5)

    assert christoffersen_p(misses) == pytest.approx(stats.chi2.sf(statistic, 1))
    assert christoffersen_p(misses) == pytest.approx(0.13523, abs=1e-5)


def test_christoffersen_p_value_is_one_when_a_miss_says_nothing_about_the_next_day():
    # 00 01 11 10 00 00 01 10 00: n00 = 4, n01 = 2, n10 = 2, n11 = 1: pi0 = pi1 = pi = 1/3, LR = 0.
    assert christoffersen_p(np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)) == pytest.approx(1.0)


@pytest.mark.parametrize("misses", [[0, 0, 0, 0, 0], [1, 1, 1], [0, 0, 0, 1], [1], []],
                         ids=["no-miss", "no-hit", "only-the-last-day-missed", "one-day", "no-days"])
def test_christoffersen_p_value_is_none_without_transitions_from_both_states(misses):
    assert christoffersen_p(np.array(misses, dtype=bool)) is None


def test_winkler_score_by_hand_on_three_days():
    # Coverage 0.8: penalty 2 / 0.2 = 10 per unit outside.
    # Inside 98 .. 102: width 4. Below 95 .. 99 by 0.5: 4 + 5 = 9. Above 100 .. 106 by 1.5: 6 + 15 = 21.
    scores = winkler(np.array([100.0, 94.5, 107.5]), np.array([98.0, 95.0, 100.0]), np.array([102.0, 99.0, 106.0]),
                     coverage=0.8)

    np.testing.assert_allclose(scores, [4.0, 9.0, 21.0])


def test_scaled_scores_are_log_errors_in_units_of_sigma():
    # |log(110 / 100)| / 0.05 and |log(100 / 110)| / 0.1.
    np.testing.assert_allclose(scaled_scores([110.0, 100.0], [100.0, 110.0], np.array([0.05, 0.1])),
                               [math.log(1.1) / 0.05, math.log(1.1) / 0.1])


# Diagnostics on nine days. The band is 98 .. 102 every day. Days 1 and 8 fall to 80, day 6 rises to 125.
ACTUAL = np.array([100.0, 80.0, 100.0, 100.0, 100.0, 100.0, 125.0, 100.0, 80.0])
LOWER = np.full(9, 98.0)
UPPER = np.full(9, 102.0)
# Terciles: edges at the 1/3 and 2/3 quantiles of 0.01 .. 0.09, i.e. 0.0367 and 0.0633.
# Low: days 0, 1, 2 (0.01, 0.03, 0.02); mid: days 3, 4, 5 (0.05, 0.04, 0.06); high: days 6, 7, 8.
SIGMA = np.array([0.01, 0.03, 0.02, 0.05, 0.04, 0.06, 0.09, 0.08, 0.07])


def test_diagnostics_by_hand_on_nine_days():
    # Inside: 1 0 1 1 1 1 0 1 0. Four-day windows hold 3 3 4 3 3 2: the worst is days 5 .. 8, 2 of 4.
    # Width share: 4 / 100 on six days, 4 / 80 on two, 4 / 125 on one: (0.24 + 0.10 + 0.032) / 9.
    # Winkler at coverage 0.8 (penalty 10): 4 inside; 4 + 10 * 18 = 184 at 80; 4 + 10 * 23 = 234 at 125.
    result = diagnostics(ACTUAL, LOWER, UPPER, SIGMA, coverage=0.8, rolling_days=4)
    inside = np.array([1, 0, 1, 1, 1, 1, 0, 1, 0], dtype=bool)

    assert result == {
        "coverage": pytest.approx(6 / 9),
        "coverage_by_volatility": {"low": pytest.approx(2 / 3), "mid": 1.0, "high": pytest.approx(1 / 3)},
        "worst_rolling_coverage": 0.5,
        "rolling_days": 4,
        "mean_width": 4.0,
        "mean_width_share": pytest.approx(0.372 / 9),
        "winkler": pytest.approx((6 * 4 + 2 * 184 + 234) / 9),
        "misses": 3,
        "kupiec_p": kupiec_p(~inside, 0.8),
        "christoffersen_p": christoffersen_p(~inside),
    }


def test_diagnostics_rolling_window_longer_than_the_days_covers_them_all():
    result = diagnostics(ACTUAL, LOWER, UPPER, SIGMA, coverage=0.8, rolling_days=250)

    assert result["rolling_days"] == 9
    assert result["worst_rolling_coverage"] == pytest.approx(6 / 9)


# The volatility model, on real closes.

@pytest.mark.parametrize("model", ["ewma", "garch"])
def test_volatility_forecasts_are_finite_from_the_third_row_and_grow_with_the_horizon(close, model):
    result = volatility(close, TRAIN_STOP, model, horizon=5)

    assert result.sigma.shape == (N_ROWS,)
    # Row 1's forecast would be made at row 0's close, before any return: there is none.
    assert np.isnan(result.sigma[:2]).all()
    assert np.isfinite(result.sigma[2:]).all() and (result.sigma[2:] > 0).all()
    assert result.ahead.shape == (5,)
    assert (np.diff(result.ahead) > 0).all()
    assert result.nu > 2  # Student-t of unit variance needs more than two degrees of freedom


def test_ewma_volatility_follows_the_riskmetrics_recursion_one_day_behind(close):
    # sigma[j]^2 = 0.94 sigma[j-1]^2 + 0.06 r[j-1]^2 with r[j] = log(close[j] / close[j-1]): day j's
    # forecast uses returns up to the day before. EWMA's forecast of every later step is the next
    # day's variance, so k sessions ahead the standard deviation is sqrt(k) times it.
    result = volatility(close, TRAIN_STOP, "ewma", horizon=3)
    returns = np.diff(np.log(close))  # returns[j - 1] is the return of row j

    np.testing.assert_allclose(result.sigma[3:] ** 2, 0.94 * result.sigma[2:-1] ** 2 + 0.06 * returns[1:-1] ** 2,
                               rtol=1e-10)
    following = math.sqrt(0.94 * result.sigma[-1] ** 2 + 0.06 * returns[-1] ** 2)
    np.testing.assert_allclose(result.ahead, following * np.sqrt([1, 2, 3]), rtol=1e-10)


def test_volatility_needs_thirty_training_returns(close):
    # Rows 0 .. 30 give 30 returns; rows 0 .. 29 give 29.
    assert np.isfinite(volatility(close[:100], 31, "ewma").sigma[2:]).all()
    with pytest.raises(ValueError,
                       match=r"^29 training returns are too few to fit a volatility model \(30 at least\)$"):
        volatility(close[:100], 30, "ewma")


@pytest.mark.parametrize("bad", [0.0, -1.0], ids=["zero", "negative"])
def test_volatility_refuses_a_close_that_is_not_positive(close, bad):
    changed = close.copy()
    changed[450] = bad

    with pytest.raises(ValueError, match=r"^closes must be positive to take log returns$"):
        volatility(changed, TRAIN_STOP, "garch")


# One-step intervals around a naive forecast (yesterday's close) on real closes.

def naive(close, rows):
    return close[rows - 1]


def test_split_intervals_are_the_conformal_quantile_of_calibration_errors_widened_by_root_step(close):
    predict = PredictParams(interval_method="split", coverage=0.9, volatility="garch")
    result = one_step_intervals(close, TRAIN_STOP, CALIBRATION_ROWS, naive(close, CALIBRATION_ROWS), TEST_ROWS,
                                naive(close, TEST_ROWS), predict, horizon=4)
    # 100 calibration errors at 90%: rank ceil(101 * 0.9 = 90.9) = 91.
    errors = np.sort(np.abs(np.log(close[CALIBRATION_ROWS] / close[CALIBRATION_ROWS - 1])))
    model = volatility(close, TRAIN_STOP, "garch", horizon=4)

    np.testing.assert_array_equal(result.halfwidth, np.full(len(TEST_ROWS), errors[90]))
    np.testing.assert_allclose(result.ahead, errors[90] * np.sqrt([1, 2, 3, 4]))
    np.testing.assert_array_equal(result.sigma, model.sigma[TEST_ROWS])
    np.testing.assert_allclose(result.garch_halfwidth, model.quantile(0.95) * model.sigma[TEST_ROWS])


@pytest.mark.parametrize("model", ["ewma", "garch"])
def test_adaptive_intervals_scale_the_aci_multipliers_by_sigma(close, model):
    predict = PredictParams(interval_method="adaptive", coverage=0.9, gamma=0.05, volatility=model)
    result = one_step_intervals(close, TRAIN_STOP, CALIBRATION_ROWS, naive(close, CALIBRATION_ROWS), TEST_ROWS,
                                naive(close, TEST_ROWS), predict, horizon=3)
    vol = volatility(close, TRAIN_STOP, model, horizon=3)
    calibration = np.abs(np.log(close[CALIBRATION_ROWS] / close[CALIBRATION_ROWS - 1])) / vol.sigma[CALIBRATION_ROWS]
    scores = np.abs(np.log(close[TEST_ROWS] / close[TEST_ROWS - 1])) / vol.sigma[TEST_ROWS]
    adaptive = adaptive_conformal(calibration, scores, 0.9, 0.05)

    np.testing.assert_allclose(result.halfwidth, adaptive.multipliers * vol.sigma[TEST_ROWS])
    assert result.ahead[0] == pytest.approx(adaptive.next_multiplier * vol.ahead[0])
    np.testing.assert_allclose(result.ahead, adaptive.next_multiplier * vol.ahead)


def test_too_few_calibration_rows_for_the_coverage_names_predict_coverage(close):
    # Eight rows at 90%: rank ceil(9 * 0.9 = 8.1) = 9, past the eighth.
    rows = CALIBRATION_ROWS[:8]

    with pytest.raises(PipelineError, match=r"^params\.yaml: predict\.coverage: 8 validation forecasts are too few "
                                            r"for 90% intervals$"):
        one_step_intervals(close, TRAIN_STOP, rows, naive(close, rows), TEST_ROWS, naive(close, TEST_ROWS),
                           PredictParams(coverage=0.9))


def test_too_few_training_rows_for_the_volatility_model_names_predict_volatility(close):
    with pytest.raises(PipelineError, match=r"^params\.yaml: predict\.volatility \(garch\): 29 training returns are "
                                            r"too few .*; the volatility model needs a longer training slice \(more "
                                            r"history, or a smaller split\.test_size or split\.val_size\)$"):
        one_step_intervals(close, 30, CALIBRATION_ROWS, naive(close, CALIBRATION_ROWS), TEST_ROWS,
                           naive(close, TEST_ROWS), PredictParams())


@pytest.mark.parametrize("model", ["garch", "ewma"])
def test_a_short_training_slice_starts_the_filter_from_its_own_returns_only(close, model):
    # arch starts the variance from up to 75 returns; with 39 training returns, those must be the
    # training ones: scaling every close after row 50 leaves every forecast up to row 51 alone.
    changed = close.copy()
    changed[51:] *= 1.5

    before, after = volatility(close[:200], 40, model), volatility(changed[:200], 40, model)

    np.testing.assert_array_equal(before.sigma[:52], after.sigma[:52])
    assert before.sigma[52] != after.sigma[52]


def test_an_unknown_volatility_model_is_refused(close):
    with pytest.raises(ValueError, match="unknown volatility model 'arch'"):
        volatility(close, TRAIN_STOP, "arch")


def test_the_conformal_rank_is_not_pushed_up_by_floating_point():
    # 300 * 0.81 is 243.00000000000003 in floating point; the rank is 243, not 244.
    assert conformal_rank(299, 0.81) == 243
    assert conformal_quantile(list(range(1, 300)), 0.81) == 243
