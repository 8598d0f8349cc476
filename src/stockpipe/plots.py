"""Pictures that answer a user's questions, each as a table and as a figure.

1. What happens next? ``fan_table``: the last closes, the forecast and its two bands.
2. Can I trust the band? ``calibration_table``: the test closes, the one-step band, the misses
   and the rolling coverage beside the target.
3. Where does the model gain or lose against naive? ``gain_loss_table``: the cumulative
   difference of squared errors (model minus naive) over the test days, folds marked.
4. How does a universe do? ``coverage_table`` beside the skill table the summary writes.

The tables are what `dvc plots` draws with the templates in .dvc/plots/; the ``*_figure``
functions draw the same data with matplotlib's object-oriented API (``Figure``, never pyplot,
so no GUI backend or global state is touched) for the PNGs a pull request shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from stockpipe import columns as col
from stockpipe.columns import time_text
from stockpipe.errors import PipelineError
from stockpipe.summary import COVERAGE_TOLERANCE, ROLLING_SHORTFALL

FAN_SESSIONS = 120  # closes before the forecast in the fan chart
ROLLING_DAYS = 250  # the rolling coverage's window, when the test period has at least twice as many days
FORECAST = "forecast"
MISS = "miss"
ROLLING_COVERAGE = "rolling_coverage"
TARGET = "target"
SQUARED_ERROR_GAIN = "model_minus_naive"
CUMULATIVE = "cumulative"
FOLD_START = "fold_start"
RANK, SKILL, COVERAGE = "rank", "skill", "coverage"
BAND_LOW, BAND_HIGH = "band_low", "band_high"

FAN_COLUMNS = [col.DATE, col.CLOSE, FORECAST, col.LOWER_50, col.UPPER_50, col.LOWER, col.UPPER]
CALIBRATION_COLUMNS = [col.DATE, col.ACTUAL, col.PREDICTED, col.LOWER, col.UPPER, MISS, ROLLING_COVERAGE, TARGET]
GAIN_LOSS_COLUMNS = [col.DATE, col.FOLD, SQUARED_ERROR_GAIN, CUMULATIVE, FOLD_START]
COVERAGE_COLUMNS = [RANK, col.TICKER, COVERAGE, TARGET, BAND_LOW, BAND_HIGH]

# One look across the pictures: the model's colour, the band's, the naive forecast's grey and the misses' red.
MODEL_COLOUR, BAND_COLOUR, NAIVE_COLOUR, MISS_COLOUR, CLOSE_COLOUR = "#1f77b4", "#6baed6", "#7f7f7f", "#d62728", "#222"


def main_ticker(requested: str | None, listed: list[str] | None, available) -> str | None:
    """The ticker the single-ticker pictures show: plots.ticker, else the first of data.tickers that has results
    (``listed`` is None for data.tickers all), else the first by name; None when no ticker has any.

    Raises:
        PipelineError: plots.ticker names a ticker without results.
    """
    available = set(available)
    if requested is not None:
        if requested not in available:
            shown = sorted(available)
            more = ", ..." if len(shown) > 8 else ""
            raise PipelineError(f"params.yaml: plots.ticker: {requested} has no results (not in data.tickers, or "
                                f"skipped); use one of {', '.join(shown[:8]) or 'none'}{more}")
        return requested
    first = [ticker for ticker in (listed or []) if ticker in available] or sorted(available)
    return first[0] if first else None


def empty_figure(message: str) -> Figure:
    """A picture that says why there is nothing to draw (every ticker skipped), so the stage's outputs exist."""
    figure = Figure(figsize=(9, 2))
    figure.text(0.5, 0.5, message, ha="center", va="center")
    return figure


def _days(values) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(values))


class _Axis:
    """Where a picture puts its rows: dates for daily rows; for intraday bars, their positions, so nights and
    weekends take no room, labelled with the bars' times. ``unit`` names a row in titles and legends."""

    def __init__(self, values):
        self.dates = _days(values)
        self.intraday = bool((self.dates != self.dates.normalize()).any())
        self.x = np.arange(len(self.dates)) if self.intraday else self.dates
        self.unit = "bar" if self.intraday else "day"

    def label(self, position: int) -> str:
        return f"{self.dates[position]:%Y-%m-%d %H:%M}" if self.intraday else f"{self.dates[position]:%Y-%m-%d}"

    def format(self, axis) -> None:
        """Dates that read at any span: as few labels as fit, each only as precise as it needs to be."""
        if not self.intraday:
            locator = AutoDateLocator(minticks=4, maxticks=8)
            axis.xaxis.set_major_locator(locator)
            axis.xaxis.set_major_formatter(ConciseDateFormatter(locator))
            return
        axis.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        axis.xaxis.set_major_formatter(
            lambda value, _: self.label(int(value)).replace(" ", "\n") if 0 <= value < len(self.dates) else "")


def fan_table(dates, closes, forecast: pd.DataFrame, sessions: int = FAN_SESSIONS) -> pd.DataFrame:
    """The last ``sessions`` closes and the forecast after them (``FAN_COLUMNS``).

    ``forecast`` is one ticker's rows of the predict stage's file. The last close also starts
    the forecast line and both bands, so the fan opens from the price it was made from.
    """
    dates, closes = _days(dates)[-sessions:], np.asarray(closes, dtype="float64")[-sessions:]
    history = pd.DataFrame({col.DATE: dates, col.CLOSE: closes})
    for name in FAN_COLUMNS[2:]:
        history[name] = np.nan
    history.loc[history.index[-1], FAN_COLUMNS[2:]] = closes[-1]
    ahead = pd.DataFrame({col.DATE: _days(forecast[col.DATE]), col.CLOSE: np.nan,
                          FORECAST: forecast[col.PREDICTED_CLOSE].to_numpy(dtype="float64")})
    for name in (col.LOWER_50, col.UPPER_50, col.LOWER, col.UPPER):
        ahead[name] = forecast[name].to_numpy(dtype="float64")
    table = pd.concat([history, ahead], ignore_index=True)[FAN_COLUMNS]
    table[col.DATE] = time_text(table[col.DATE])
    return table


def fan_figure(table: pd.DataFrame, ticker: str, coverage: float) -> Figure:
    """The fan chart of ``fan_table``: closes, the forecast, its 50% and ``coverage`` bands, the last close marked."""
    figure = Figure(figsize=(9, 4.5), layout="constrained")
    axis = figure.add_subplot()
    rows = _Axis(table[col.DATE])
    x = rows.x
    known = table[col.CLOSE].notna().to_numpy()
    ahead = table[FORECAST].notna().to_numpy()
    last = np.flatnonzero(known)[-1]
    axis.plot(x[known], table[col.CLOSE][known], color=CLOSE_COLOUR, linewidth=1.2, label="close")
    axis.fill_between(x[ahead], table[col.LOWER][ahead], table[col.UPPER][ahead], color=BAND_COLOUR, alpha=0.3,
                      linewidth=0, label=f"{coverage:.0%} band")
    axis.fill_between(x[ahead], table[col.LOWER_50][ahead], table[col.UPPER_50][ahead], color=BAND_COLOUR,
                      alpha=0.6, linewidth=0, label=f"{col.INNER_COVERAGE:.0%} band")
    axis.plot(x[ahead], table[FORECAST][ahead], color=MODEL_COLOUR, linestyle="--", marker=".", label="forecast")
    axis.plot(x[last], table[col.CLOSE].iloc[last], "o", color=CLOSE_COLOUR,
              label=f"last close {table[col.CLOSE].iloc[last]:,.2f} ({rows.label(last)})")
    steps = int(ahead.sum()) - 1
    unit = "bars" if rows.intraday else "sessions"
    axis.set_title(f"{ticker}: the last {int(known.sum())} {unit} and a forecast of the next {steps}")
    axis.set_ylabel("close")
    axis.grid(alpha=0.3)
    rows.format(axis)
    figure.legend(loc="outside lower center", ncols=5, frameon=False)
    return figure


def rolling_window(days: int) -> int:
    """The rolling coverage's window: ``ROLLING_DAYS``, or a quarter of a shorter test period, so the line has a
    shape (a universe's series often have about a year of test days)."""
    return ROLLING_DAYS if days >= 2 * ROLLING_DAYS else max(days // 4, 1)


def calibration_table(predictions: pd.DataFrame, coverage: float, window: int | None = None) -> pd.DataFrame:
    """Each test day's close, one-step band and miss, and the share of closes inside over the last ``window`` days
    (``rolling_window`` by default; empty before the window fills) (``CALIBRATION_COLUMNS``)."""
    actual = predictions[col.ACTUAL].to_numpy(dtype="float64")
    lower, upper = (predictions[name].to_numpy(dtype="float64") for name in (col.LOWER, col.UPPER))
    miss = ((actual < lower) | (actual > upper)).astype("int64")
    window = rolling_window(len(miss)) if window is None else window
    rolling = pd.Series(1 - miss, dtype="float64").rolling(window).mean()
    return pd.DataFrame({col.DATE: predictions[col.DATE].to_numpy(), col.ACTUAL: actual,
                         col.PREDICTED: predictions[col.PREDICTED].to_numpy(dtype="float64"), col.LOWER: lower,
                         col.UPPER: upper, MISS: miss, ROLLING_COVERAGE: rolling.to_numpy(),
                         TARGET: float(coverage)})[CALIBRATION_COLUMNS]


def calibration_figure(table: pd.DataFrame, ticker: str, coverage: float) -> Figure:
    """Above, the test closes in their one-step band with the misses marked; below, the rolling coverage."""
    figure = Figure(figsize=(9, 6), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    rows = _Axis(table[col.DATE])
    x, unit = rows.x, rows.unit
    missed = table[MISS].to_numpy() == 1
    top.fill_between(x, table[col.LOWER], table[col.UPPER], color=BAND_COLOUR, alpha=0.4, linewidth=0,
                     label=f"one-step {coverage:.0%} band")
    top.plot(x, table[col.ACTUAL], color=CLOSE_COLOUR, linewidth=0.8, label="close")
    top.plot(x[missed], table[col.ACTUAL][missed], "x", color=MISS_COLOUR, markersize=4,
             label=f"outside the band: {int(missed.sum())} of {len(table)} {unit}s ({missed.mean():.1%})")
    top.set_title(f"{ticker}: test closes in the band forecast the {unit} before")
    top.set_ylabel("close")
    window = rolling_window(len(table))
    bottom.axhline(coverage, color=NAIVE_COLOUR, linewidth=1, label=f"target {coverage:.0%}")
    bottom.axhline(1 - missed.mean(), color=MODEL_COLOUR, linestyle=":", linewidth=1,
                   label=f"all {len(table)} test {unit}s: {1 - missed.mean():.1%}")
    if window == ROLLING_DAYS:
        bottom.axhline(coverage - ROLLING_SHORTFALL, color=MISS_COLOUR, linestyle="--", linewidth=1,
                       label=f"summary's floor for {ROLLING_DAYS} {unit}s in a row")
    bottom.plot(x, table[ROLLING_COVERAGE], color=MODEL_COLOUR, label=f"coverage over the last {window} {unit}s")
    bottom.set_ylabel("share inside")
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    # Below the axes, never over the data.
    figure.legend(loc="outside lower center", ncols=2, frameon=False)
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    rows.format(bottom)
    return figure


def gain_loss_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """Each test day's squared error of the model minus naive's, and its running sum (``GAIN_LOSS_COLUMNS``).

    A rising sum is where the model loses to naive; ``fold_start`` marks the first day of each
    walk-forward fold after the first.
    """
    actual = predictions[col.ACTUAL].to_numpy(dtype="float64")
    gain = ((predictions[col.PREDICTED].to_numpy(dtype="float64") - actual) ** 2
            - (predictions[col.NAIVE].to_numpy(dtype="float64") - actual) ** 2)
    fold = predictions[col.FOLD].to_numpy(dtype="int64")
    starts = np.r_[False, fold[1:] != fold[:-1]].astype("int64")
    return pd.DataFrame({col.DATE: predictions[col.DATE].to_numpy(), col.FOLD: fold, SQUARED_ERROR_GAIN: gain,
                         CUMULATIVE: np.cumsum(gain), FOLD_START: starts})[GAIN_LOSS_COLUMNS]


def gain_loss_figure(table: pd.DataFrame, ticker: str, verdict: str) -> Figure:
    """The cumulative squared-error difference over the test days, fold boundaries marked; ``verdict`` in the title."""
    figure = Figure(figsize=(9, 4.5), layout="constrained")
    axis = figure.add_subplot()
    rows = _Axis(table[col.DATE])
    axis.axhline(0, color=NAIVE_COLOUR, linewidth=1)
    axis.plot(rows.x, table[CUMULATIVE], color=MODEL_COLOUR, label="sum of (model - naive) squared errors")
    for number, start in enumerate(rows.x[table[FOLD_START].to_numpy() == 1]):
        axis.axvline(start, color=NAIVE_COLOUR, linestyle=":", label="a new fold's model" if number == 0 else None)
    axis.set_title(f"{ticker}: the model {verdict}\nup: {rows.unit}s the model loses to naive; down: {rows.unit}s "
                   "it gains", fontsize="medium")
    axis.set_ylabel("cumulative squared error (price units squared)")
    axis.grid(alpha=0.3)
    rows.format(axis)
    figure.legend(loc="outside lower center", ncols=2, frameon=False)
    return figure


def coverage_table(rows: dict[str, dict], coverage: float) -> pd.DataFrame:
    """Every ticker's test coverage, lowest first, beside the target band (``COVERAGE_COLUMNS``)."""
    ranked = sorted((row["interval_coverage"], ticker) for ticker, row in rows.items())
    return pd.DataFrame({RANK: np.arange(1, len(ranked) + 1, dtype="int64"),
                         col.TICKER: [ticker for _, ticker in ranked],
                         COVERAGE: np.array([value for value, _ in ranked], dtype="float64"),
                         TARGET: float(coverage), BAND_LOW: coverage - COVERAGE_TOLERANCE,
                         BAND_HIGH: coverage + COVERAGE_TOLERANCE})[COVERAGE_COLUMNS]


def zero_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """About ``bins`` histogram edges of equal width over ``values``, one of them at 0, so no bar straddles the line
    between gaining and losing."""
    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    width = (high - low) / bins or 1e-3
    start = np.floor(low / width)
    return np.arange(start, max(np.ceil(high / width), start + 1) + 1) * width


def universe_figure(skills: pd.DataFrame, coverages: pd.DataFrame, coverage: float) -> Figure:
    """Left, how the tickers' skill against naive spreads, zero marked; right, their coverage against the band.

    ``skills`` is the summary's skill table (rank, ticker, skill), ``coverages`` ``coverage_table``'s.
    """
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = figure.subplots(1, 2)
    skill = skills[SKILL].to_numpy(dtype="float64")
    left.hist(skill, bins=zero_edges(skill, int(np.clip(len(skill) // 4, 5, 40))), color=MODEL_COLOUR, alpha=0.8)
    left.axvline(0, color=MISS_COLOUR, linewidth=1.2, label="0: as good as naive")
    left.axvline(np.median(skill), color=CLOSE_COLOUR, linestyle="--", linewidth=1,
                 label=f"median {np.median(skill):+.4f}")
    left.set_title(f"Skill against naive: {int((skill > 0).sum())} of {len(skill)} tickers above 0")
    left.set_xlabel("skill (1 - rmse / naive rmse)")
    left.set_ylabel("tickers")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Few, short labels: a universe's skills can all lie within 0.0002 of each other.
    left.xaxis.set_major_locator(MaxNLocator(5))
    left.xaxis.set_major_formatter(lambda number, _: f"{number:.2g}")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=2, frameon=False)
    value = coverages[COVERAGE].to_numpy(dtype="float64")
    outside = int((np.abs(value - coverage) > COVERAGE_TOLERANCE + 1e-12).sum())
    right.axhspan(coverage - COVERAGE_TOLERANCE, coverage + COVERAGE_TOLERANCE, color=NAIVE_COLOUR, alpha=0.2,
                  linewidth=0, label=f"{coverage:.0%} +- {COVERAGE_TOLERANCE * 100:.0f} points")
    right.plot(coverages[RANK], value, ".", color=MODEL_COLOUR, label="a ticker's test coverage")
    right.set_title(f"Coverage of the {coverage:.0%} band: {outside} of {len(value)} tickers outside")
    right.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    if len(value) <= 30:
        right.set_xticks(coverages[RANK], coverages[col.TICKER], rotation=60, fontsize="small")
    else:
        right.set_xlabel("tickers, lowest coverage first")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22 if len(value) <= 30 else -0.15), ncols=2,
                 frameon=False)
    for axis in (left, right):
        axis.grid(alpha=0.3)
    return figure
