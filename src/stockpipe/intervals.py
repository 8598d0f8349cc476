"""Prediction intervals that follow volatility, and how to judge them.

A volatility model from ``arch`` (GARCH(1,1) or RiskMetrics' EWMA, Student-t errors) is fitted
on a training slice's daily log returns and filtered forward with those parameters, so the
volatility forecast for a day uses returns up to the day before only. Each one-step error is
scaled by it, and adaptive conformal inference (Gibbs & Candes 2021) turns the scaled errors
of the days already scored into the next day's interval.
"""

from __future__ import annotations

import warnings
from bisect import insort
from dataclasses import dataclass

import numpy as np
from arch.univariate import GARCH, EWMAVariance, StudentsT, ZeroMean
from scipy import stats
from scipy.special import xlogy

from stockpipe.errors import PipelineError

# Returns in percent: arch's optimiser is tuned for numbers of that size.
PERCENT = 100.0
RISKMETRICS_LAMBDA = 0.94


@dataclass(frozen=True)
class Volatility:
    """One-step volatility forecasts (log-return units) and what the model says about the days after the data.

    ``sigma[j]`` is the forecast, made at the close of row j - 1, of the standard deviation of
    log(close_j / close_{j-1}); ``sigma[0]`` and ``sigma[1]`` are NaN. ``ahead[k - 1]`` is the standard deviation
    of the log change over the k sessions after the last row (the sum of the model's
    variance forecasts for steps 1 .. k). ``quantile(p)`` is the fitted Student-t's quantile
    of unit variance.
    """

    sigma: np.ndarray
    ahead: np.ndarray
    nu: float

    def quantile(self, probability: float) -> float:
        return float(StudentsT().ppf(probability, [self.nu]))


def volatility(close: np.ndarray, train_stop: int, model: str, horizon: int = 1) -> Volatility:
    """Fit ``model`` (garch or ewma) on the log returns of rows < ``train_stop`` and filter it over every row.

    arch fits on the training returns only (``last_obs``), its starting variance included, and
    forecasts from every later day with those parameters: the forecast for row j is made at
    the close of row j - 1. ``sigma[0]`` and ``sigma[1]`` (no earlier return) are NaN.

    Raises:
        ValueError: Fewer than 30 training returns, a close that is not positive, or an unknown model.
    """
    close = np.asarray(close, dtype="float64")
    if not (close > 0).all():
        raise ValueError("closes must be positive to take log returns")
    if model not in ("garch", "ewma"):
        raise ValueError(f"unknown volatility model {model!r} (garch or ewma)")
    returns = PERCENT * np.diff(np.log(close))
    if train_stop - 1 < 30:
        raise ValueError(f"{max(train_stop - 1, 0)} training returns are too few to fit a volatility model "
                         "(30 at least)")
    process = GARCH(1, 0, 1) if model == "garch" else EWMAVariance(RISKMETRICS_LAMBDA)
    with warnings.catch_warnings():
        # A poorly identified GARCH still gives a usable filter; its convergence note is noise in a stage log.
        warnings.simplefilter("ignore")
        fitted = ZeroMean(returns, volatility=process, distribution=StudentsT()).fit(
            disp="off", show_warning=False, last_obs=train_stop - 1)
        # Row t: the variance forecasts for returns t + 1 .. t + horizon, made with returns up to t.
        variance = fitted.forecast(horizon=horizon, start=0, reindex=False).variance.to_numpy()
    sigma = np.concatenate([[np.nan, np.nan], np.sqrt(variance[:-1, 0])]) / PERCENT
    return Volatility(sigma=sigma, ahead=np.sqrt(np.cumsum(variance[-1])) / PERCENT, nu=float(fitted.params["nu"]))


def conformal_quantile(scores: list[float] | np.ndarray, level: float) -> float:
    """The ceil((n + 1) * level)-th smallest of n sorted scores; the largest when that rank is past n.

    Split conformal's quantile: with exchangeable scores, a new score is at most this one
    with probability at least ``level``. Past the largest score the exact answer is an
    unbounded interval; the largest score stands in for it, so a run of misses widens the
    intervals as far as the worst day seen and ``level`` keeps the record of the debt.
    """
    n = len(scores)
    rank = min(max(conformal_rank(n, level), 1), n)
    return float(scores[rank - 1])


def conformal_rank(n: int, level: float) -> int:
    """ceil((n + 1) * level), rounded first so that 300 * 0.81 = 243.00000000000003 counts as 243."""
    return int(np.ceil(round((n + 1) * level, 9)))


@dataclass(frozen=True)
class AdaptiveResult:
    """Multipliers of sigma for each scored day, and the state the next day starts from."""

    multipliers: np.ndarray  # the one used on each day, set before the day was scored
    next_multiplier: float  # for the day after the last scored one
    next_alpha: float  # the working miscoverage level after the last scored day


def adaptive_conformal(calibration: np.ndarray, scores: np.ndarray, coverage: float, gamma: float) -> AdaptiveResult:
    """Adaptive conformal inference over days in order.

    Day t's multiplier is the conformal quantile, at level 1 - alpha_t, of the calibration
    scores and of every day's score before t. Once day t is scored, alpha_{t+1} = alpha_t +
    gamma * (target miscoverage - miss_t): a miss lowers alpha and so widens the next
    intervals; a hit narrows them a little. ``gamma`` = 0 is plain conformal on a growing
    calibration set.
    """
    target = 1.0 - coverage
    alpha = target
    pool = sorted(float(score) for score in calibration)
    multipliers = np.empty(len(scores))
    for day, score in enumerate(np.asarray(scores, dtype="float64")):
        multipliers[day] = conformal_quantile(pool, 1.0 - alpha)
        miss = float(score > multipliers[day])
        alpha += gamma * (target - miss)
        insort(pool, float(score))
    return AdaptiveResult(multipliers, conformal_quantile(pool, 1.0 - alpha), alpha)


def scaled_scores(actual: np.ndarray, predicted: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """|log(actual / predicted)| / sigma: each day's error in units of its forecast volatility."""
    return np.abs(np.log(np.asarray(actual, dtype="float64") / np.asarray(predicted, dtype="float64"))) / sigma


def band(predicted: np.ndarray, halfwidth_log: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper prices predicted * exp(-+ halfwidth) for log-price half-widths."""
    predicted = np.asarray(predicted, dtype="float64")
    return predicted * np.exp(-halfwidth_log), predicted * np.exp(halfwidth_log)


def kupiec_p(misses: np.ndarray, coverage: float) -> float | None:
    """Kupiec's unconditional coverage test: p-value of "the miss rate is 1 - coverage" (chi-squared, 1 dof)."""
    misses = np.asarray(misses, dtype=bool)
    n, x = len(misses), int(misses.sum())
    if n == 0:
        return None
    p, observed = 1.0 - coverage, x / n
    statistic = -2.0 * ((n - x) * np.log(1 - p) + x * np.log(p) - xlogy(n - x, 1 - observed) - xlogy(x, observed))
    return float(stats.chi2.sf(max(statistic, 0.0), 1))


def christoffersen_p(misses: np.ndarray) -> float | None:
    """Christoffersen's independence test: p-value of "a miss today says nothing about a miss tomorrow".

    None when the days give no transitions to compare (fewer than two days, or no miss or no hit).
    """
    misses = np.asarray(misses, dtype=bool)
    before, after = misses[:-1], misses[1:]
    n00, n01 = int(np.sum(~before & ~after)), int(np.sum(~before & after))
    n10, n11 = int(np.sum(before & ~after)), int(np.sum(before & after))
    if n00 + n01 == 0 or n10 + n11 == 0:
        return None
    pi0, pi1, pi = n01 / (n00 + n01), n11 / (n10 + n11), (n01 + n11) / (n00 + n01 + n10 + n11)
    independent = xlogy(n00 + n10, 1 - pi) + xlogy(n01 + n11, pi)
    markov = xlogy(n00, 1 - pi0) + xlogy(n01, pi0) + xlogy(n10, 1 - pi1) + xlogy(n11, pi1)
    return float(stats.chi2.sf(max(-2.0 * (independent - markov), 0.0), 1))


def winkler(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, coverage: float) -> np.ndarray:
    """The interval score of each day: width, plus 2 / (1 - coverage) times how far the actual fell outside."""
    actual = np.asarray(actual, dtype="float64")
    penalty = 2.0 / (1.0 - coverage)
    return (upper - lower) + penalty * (np.maximum(lower - actual, 0.0) + np.maximum(actual - upper, 0.0))


def diagnostics(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, sigma: np.ndarray, coverage: float,
                rolling_days: int = 250) -> dict:
    """How one set of intervals did on the days scored, in the order they came.

    - coverage overall and by tercile of the volatility forecast of those days (low, mid, high);
    - the worst coverage over any ``rolling_days`` consecutive days (all of them when fewer);
    - mean width in price units and as a share of the actual close; the mean Winkler score;
    - Kupiec's and Christoffersen's p-values (small: the misses are too many or too few, or clustered).
    """
    actual = np.asarray(actual, dtype="float64")
    inside = (actual >= lower) & (actual <= upper)
    days = min(rolling_days, len(inside))
    rolling = np.convolve(inside, np.ones(days), mode="valid") / days
    edges = np.quantile(sigma, [1 / 3, 2 / 3])
    tercile = np.searchsorted(edges, sigma, side="right")
    by_tercile = {name: float(inside[tercile == index].mean()) if (tercile == index).any() else None
                  for index, name in enumerate(("low", "mid", "high"))}
    width = upper - lower
    return {
        "coverage": float(inside.mean()), "coverage_by_volatility": by_tercile,
        "worst_rolling_coverage": float(rolling.min()), "rolling_days": int(days),
        "mean_width": float(width.mean()), "mean_width_share": float(np.mean(width / actual)),
        "winkler": float(winkler(actual, lower, upper, coverage).mean()),
        "misses": int((~inside).sum()), "kupiec_p": kupiec_p(~inside, coverage),
        "christoffersen_p": christoffersen_p(~inside),
    }


@dataclass(frozen=True)
class Intervals:
    """Half-widths (log-price units) of one set of scored days, and of the sessions after the data.

    ``halfwidth`` is the chosen method's for each scored day, ``garch_halfwidth`` the plain
    GARCH-t parametric one (the volatility model's own Student-t quantile times its
    volatility forecast) around the same point forecasts; ``sigma`` the volatility forecast of
    each scored day; ``ahead[k - 1]`` the chosen method's half-width k sessions after the last
    row of the table; ``inner_ahead`` the same at the ``inner`` coverage asked for (None when not).
    """

    halfwidth: np.ndarray
    garch_halfwidth: np.ndarray
    sigma: np.ndarray
    ahead: np.ndarray
    inner_ahead: np.ndarray | None = None


def one_step_intervals(close: np.ndarray, train_stop: int, calibration_rows: np.ndarray,
                       calibration_predicted: np.ndarray, rows: np.ndarray, predicted: np.ndarray, predict,
                       horizon: int = 1, inner: float | None = None) -> Intervals:
    """Intervals for the one-step forecasts ``predicted`` of ``rows``, scored in date order.

    ``predict`` holds the params: ``interval_method`` adaptive (volatility-scaled scores of
    the calibration rows, then adaptive conformal inference over ``rows``, with the volatility
    model's multi-step variance for the sessions after the data) or split (today's constant
    split-conformal half-width from the calibration rows, widened by the square root of the
    step), ``coverage``, ``gamma`` and ``volatility``. The volatility model is fitted on rows
    before ``train_stop``.

    Raises:
        PipelineError: Too few calibration rows for the coverage, or too few training rows
            for the volatility model; each names its param.
    """
    close = np.asarray(close, dtype="float64")
    if conformal_rank(len(calibration_rows), predict.coverage) > len(calibration_rows):
        raise PipelineError(f"params.yaml: predict.coverage: {len(calibration_rows)} validation forecasts are too few "
                            f"for {predict.coverage:.0%} intervals")
    try:
        model = volatility(close, train_stop, predict.volatility, horizon)
    except ValueError as error:
        raise PipelineError(f"params.yaml: predict.volatility ({predict.volatility}): {error}; the volatility model "
                            "needs a longer training slice (more history, or a smaller split.test_size or "
                            "split.val_size)") from None
    sigma = model.sigma[rows]
    garch = model.quantile(1.0 - (1.0 - predict.coverage) / 2) * sigma
    if predict.interval_method == "split":
        errors = np.abs(np.log(close[calibration_rows] / calibration_predicted))
        halfwidth = conformal_quantile(np.sort(errors), predict.coverage)
        steps = np.sqrt(np.arange(1, horizon + 1))
        inner_ahead = None if inner is None else conformal_quantile(np.sort(errors), inner) * steps
        return Intervals(np.full(len(rows), halfwidth), garch, sigma, halfwidth * steps, inner_ahead)
    calibration = scaled_scores(close[calibration_rows], calibration_predicted, model.sigma[calibration_rows])
    scores = scaled_scores(close[rows], predicted, sigma)
    adaptive = adaptive_conformal(calibration, scores, predict.coverage, predict.gamma)
    inner_ahead = (None if inner is None else
                   adaptive_conformal(calibration, scores, inner, predict.gamma).next_multiplier * model.ahead)
    return Intervals(adaptive.multipliers * sigma, garch, sigma, adaptive.next_multiplier * model.ahead, inner_ahead)
