"""Repair daily OHLCV prices by documented rules, counting every repair.

The rules, in the order applied (each count lands in the ticker's data_quality in
metrics/prepare/batch_<b>.json):

1. ``unsorted_rows``: rows are sorted by date. ``duplicate_dates``: rows sharing a date
   keep the last one; ``duplicate_dates_conflicting`` counts those of them whose values
   differed from the row kept (also logged, with the first such date). The last row wins
   because later rows in an export are corrections: providers re-send the latest bar once
   the session has closed, and a spreadsheet's appended row is the one typed later.
   Stopping the run instead would fail every such download, and the count makes the
   choice visible in the metrics.
2. ``off_calendar_rows``: rows on days that are not sessions of the exchange (weekends,
   holidays) are dropped; ``missing_sessions`` counts sessions with no row.
3. ``gap_rows_dropped``: when a run of missing sessions is longer than
   ``clean.max_gap_sessions``, rows before the last such gap are dropped, so the model
   sees one contiguous history (``longest_gap_sessions`` is the longest run seen).
4. ``nonpositive_prices``: zero or negative prices become missing; ``negative_volume``:
   negative volumes become missing.
5. ``close_forward_filled``: a missing close takes the previous close, for at most
   ``clean.ffill_limit`` sessions in a row (sessions without a row count too, so a fill
   never reaches further back); ``rows_missing_close_dropped``: the rest of a longer run
   is dropped. Dropped rows are missing sessions like any other, so rule 3 is
   applied again: a long run of missing closes cuts the history as a gap does.
6. ``high_low_swapped``: a high below the low is read as the two columns swapped on that
   row and swapped back. ``ohlc_filled_from_close``: a missing open, high or low takes that
   day's close; ``volume_filled_zero``: a missing volume becomes 0.
7. ``ohlc_inconsistent_fixed``: high is raised to max(open, close) and low lowered to
   min(open, close) where they violate High >= max(Open, Close) >= min(Open, Close) >= Low.
Intraday bars (``interval`` other than 1d, docs/intraday.md) go through the same rules with bars
in place of sessions, after two of their own: ``extended_hours_rows``, bars before a session's
open or from its close on (pre- and after-market), are dropped unless ``extended_hours`` keeps
them; ``partial_last_bar`` (0 or 1): a last regular bar that ends before its session's close
was still forming when the file was written, and is dropped. The calendar is then every
regular bar of every session (``bars.regular_bars``), so ``missing_bars`` and
``longest_gap_bars`` count bars within sessions: the night between two sessions is no gap.
Each bar keeps its session (its local date) in a ``session`` column.

8. ``return_outliers``: close-to-close log returns whose robust z-score (median and MAD
   of the training slice only) exceeds ``clean.outlier_zscore``. With ``outlier_action:
   keep`` (default) they are counted and kept, since real crashes are real; with
   ``drop`` the rows are removed.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.bars import DAILY, bar_length, in_regular_hours, regular_bars, session_hours
from stockpipe.calendar import sessions_between
from stockpipe.errors import PipelineError

log = logging.getLogger(__name__)

# Report keys that count bars rather than sessions when the prices are intraday.
_IN_BARS = {"missing_sessions": "missing_bars", "longest_gap_sessions": "longest_gap_bars"}
# Scales the median absolute deviation to a standard deviation for normal data.
_MAD_TO_STD = 1.4826


def _dedupe_and_sort(prices: pd.DataFrame, report: dict) -> pd.DataFrame:
    report["unsorted_rows"] = int((prices[col.DATE].diff() < pd.Timedelta(0)).sum())
    ordered = prices.sort_values(col.DATE, kind="stable").reset_index(drop=True)
    dropped = ordered.duplicated(col.DATE, keep="last").to_numpy()
    deduped = ordered[~dropped]
    kept = deduped.set_index(col.DATE)[col.OHLCV].loc[ordered.loc[dropped, col.DATE]].to_numpy()
    values = ordered.loc[dropped, col.OHLCV].to_numpy()
    differs = ~((values == kept) | (np.isnan(values) & np.isnan(kept))).all(axis=1)
    report["duplicate_dates"] = int(dropped.sum())
    report["duplicate_dates_conflicting"] = int(differs.sum())
    if differs.any():
        first = ordered[dropped][differs].iloc[0]
        log.warning("%d rows share a date with a later row but not its values; the later row was kept "
                    "(first: %s, close %s, then %s)", differs.sum(), first[col.DATE].date(), first[col.CLOSE],
                    deduped.set_index(col.DATE).loc[first[col.DATE], col.CLOSE])
    return deduped.reset_index(drop=True)


def _align_to_calendar(prices: pd.DataFrame, exchange: str, report: dict) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    sessions = sessions_between(exchange, prices[col.DATE].iloc[0], prices[col.DATE].iloc[-1])
    return _on_calendar(prices, sessions, exchange, report)


def _regular_hours_only(prices: pd.DataFrame, exchange: str, interval: str, extended_hours: bool,
                        report: dict) -> pd.DataFrame:
    hours = session_hours(exchange, prices[col.DATE].iloc[0], prices[col.DATE].iloc[-1])
    regular = in_regular_hours(prices[col.DATE], hours)
    report["extended_hours_rows"] = int((~regular).sum())
    report["extended_hours_rows_dropped"] = 0 if extended_hours else int((~regular).sum())
    if not extended_hours:
        prices = prices[regular].reset_index(drop=True)
        regular = regular[regular].reset_index(drop=True)
    if prices.empty:
        raise PipelineError(f"no bar falls in the regular hours of {exchange} sessions (check data.exchange and "
                            "data.timezone, or set data.extended_hours: true)")
    last_regular = prices[col.DATE][regular.to_numpy()].iloc[-1]
    partial = last_regular == prices[col.DATE].iloc[-1] and \
        last_regular + bar_length(interval) < hours.loc[last_regular.normalize(), "close"]
    report["partial_last_bar"] = int(partial)
    return prices.iloc[:-1].reset_index(drop=True) if partial else prices


def _align_to_bars(prices: pd.DataFrame, exchange: str, interval: str, report: dict
                   ) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    grid = regular_bars(exchange, prices[col.DATE].iloc[0], prices[col.DATE].iloc[-1], interval)
    # Extended-hours bars that were kept are part of the calendar where they are, never missing ones.
    grid = grid.union(pd.DatetimeIndex(prices[col.DATE][~prices[col.DATE].isin(grid)]))
    return _on_calendar(prices, grid, exchange, report)


def _on_calendar(prices: pd.DataFrame, sessions: pd.DatetimeIndex, exchange: str, report: dict
                 ) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    on_calendar = prices[col.DATE].isin(sessions)
    report["off_calendar_rows"] = int((~on_calendar).sum())
    prices = prices[on_calendar].reset_index(drop=True)
    if prices.empty:
        raise PipelineError(f"no price rows fall on {exchange} sessions (check data.exchange)")
    sessions = sessions[(sessions >= prices[col.DATE].iloc[0]) & (sessions <= prices[col.DATE].iloc[-1])]
    report["missing_sessions"] = int(len(sessions) - len(prices))
    return prices, sessions


def _cut_at_long_gaps(prices: pd.DataFrame, sessions: pd.DatetimeIndex, max_gap: int, report: dict) -> pd.DataFrame:
    # Sessions skipped between consecutive rows: position difference on the calendar minus one.
    position = sessions.get_indexer(prices[col.DATE])
    skipped = np.diff(position) - 1
    long_gaps = np.flatnonzero(skipped > max_gap)
    longest = int(skipped.max()) if len(skipped) else 0
    report["longest_gap_sessions"] = max(report.get("longest_gap_sessions", 0), longest)
    report["gap_rows_dropped"] = report.get("gap_rows_dropped", 0)
    if len(long_gaps):
        first_kept = long_gaps[-1] + 1
        report["gap_rows_dropped"] += int(first_kept)
        prices = prices.iloc[first_kept:].reset_index(drop=True)
    return prices


def _forward_filled_close(prices: pd.DataFrame, sessions: pd.DatetimeIndex, limit: int) -> pd.Series:
    """The close column with each missing close taken from the last known one, if that is at most
    ``limit`` sessions back on the calendar: sessions without a row count too, so a fill never
    reaches further back than the limit says."""
    close = prices[col.CLOSE]
    if not limit:
        return close
    position = pd.Series(sessions.get_indexer(prices[col.DATE]), index=prices.index)
    known_at = position.where(close.notna()).ffill()
    reachable = close.isna() & (position - known_at <= limit)
    return close.mask(reachable, close.ffill())


def _repair_values(prices: pd.DataFrame, sessions: pd.DatetimeIndex, params, report: dict) -> pd.DataFrame:
    prices = prices.copy()
    ohlc = prices[col.OHLC]
    nonpositive = ohlc <= 0
    report["nonpositive_prices"] = int(nonpositive.to_numpy().sum())
    prices[col.OHLC] = ohlc.mask(nonpositive)
    negative_volume = prices[col.VOLUME] < 0
    report["negative_volume"] = int(negative_volume.sum())
    prices.loc[negative_volume, col.VOLUME] = np.nan

    missing_close = prices[col.CLOSE].isna()
    filled = _forward_filled_close(prices, sessions, params.ffill_limit)
    report["close_forward_filled"] = int((missing_close & filled.notna()).sum())
    prices[col.CLOSE] = filled
    still_missing = prices[col.CLOSE].isna()
    report["rows_missing_close_dropped"] = int(still_missing.sum())
    prices = prices[~still_missing].reset_index(drop=True)
    if prices.empty:
        raise PipelineError("no price row has a close (every close is missing or not positive)")
    prices = _cut_at_long_gaps(prices, sessions, params.max_gap_sessions, report)

    swapped = prices[col.HIGH] < prices[col.LOW]
    report["high_low_swapped"] = int(swapped.sum())
    prices.loc[swapped, [col.HIGH, col.LOW]] = prices.loc[swapped, [col.LOW, col.HIGH]].to_numpy()
    report["ohlc_filled_from_close"] = int(prices[[col.OPEN, col.HIGH, col.LOW]].isna().to_numpy().sum())
    for name in (col.OPEN, col.HIGH, col.LOW):
        prices[name] = prices[name].fillna(prices[col.CLOSE])
    report["volume_filled_zero"] = int(prices[col.VOLUME].isna().sum())
    prices[col.VOLUME] = prices[col.VOLUME].fillna(0.0)

    body_high = prices[[col.OPEN, col.CLOSE]].max(axis=1)
    body_low = prices[[col.OPEN, col.CLOSE]].min(axis=1)
    bad = (prices[col.HIGH] < body_high) | (prices[col.LOW] > body_low)
    report["ohlc_inconsistent_fixed"] = int(bad.sum())
    prices[col.HIGH] = np.maximum(prices[col.HIGH], body_high)
    prices[col.LOW] = np.minimum(prices[col.LOW], body_low)
    return prices


def return_outliers(close: pd.Series, train_rows: int, zscore: float) -> pd.Series:
    """Flag log returns whose robust z-score exceeds ``zscore``.

    The median and MAD come from the first ``train_rows`` rows only, so the threshold
    knows nothing of the test period.
    """
    returns = np.log(close).diff()
    reference = returns.iloc[1:max(train_rows, 2)]
    median = reference.median()
    spread = _MAD_TO_STD * (reference - median).abs().median()
    if not np.isfinite(spread) or spread == 0:
        return pd.Series(False, index=close.index)
    return ((returns - median).abs() / spread > zscore).fillna(False)


def clean_prices(prices: pd.DataFrame, exchange: str, params, train_fraction: float, interval: str = DAILY,
                 extended_hours: bool = False) -> tuple[pd.DataFrame, dict]:
    """Apply the rules in this module's docstring.

    Args:
        prices: Raw rows (date, open, high, low, close, volume) in any order.
        exchange: Exchange calendar code, e.g. XNYS.
        params: The ``clean`` params section.
        train_fraction: Leading share of rows that later becomes the training slice;
            outlier thresholds are fitted on it alone.
        interval: data.interval; intraday bars carry their exchange-local start in ``date``.
        extended_hours: Intraday: keep pre- and after-market bars.

    Returns:
        The cleaned prices and the count of every repair by kind.
    """
    report = {"rows_in": int(len(prices))}
    if prices.empty:
        raise PipelineError("no price rows to clean")
    prices = _dedupe_and_sort(prices, report)
    if interval == DAILY:
        prices, sessions = _align_to_calendar(prices, exchange, report)
    else:
        prices = _regular_hours_only(prices, exchange, interval, extended_hours, report)
        prices, sessions = _align_to_bars(prices, exchange, interval, report)
    prices = _cut_at_long_gaps(prices, sessions, params.max_gap_sessions, report)
    prices = _repair_values(prices, sessions, params, report)
    outliers = return_outliers(prices[col.CLOSE], int(len(prices) * train_fraction), params.outlier_zscore)
    report["return_outliers"] = int(outliers.sum())
    report["outlier_rows_dropped"] = 0
    if params.outlier_action == "drop":
        report["outlier_rows_dropped"] = int(outliers.sum())
        prices = prices[~outliers].reset_index(drop=True)
    report["rows_out"] = int(len(prices))
    if interval != DAILY:
        report = {_IN_BARS.get(kind, kind): count for kind, count in report.items()}
        prices = prices.assign(**{col.SESSION: prices[col.DATE].dt.normalize()})
    return prices, report
