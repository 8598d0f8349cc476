"""Trading sessions of an exchange, from the exchange_calendars library."""

from __future__ import annotations

from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

from stockpipe.errors import PipelineError

# exchange_calendars only builds sessions inside [start, end]. Most data starts after this
# date; older data (index histories reach back a century) gets a calendar from its own year.
_CALENDAR_START = pd.Timestamp("1970-01-02")


def get_calendar(exchange: str, first: pd.Timestamp | None = None) -> xcals.ExchangeCalendar:
    """The calendar of an ISO 10383 exchange code such as XNYS, covering ``first`` onwards."""
    start = _CALENDAR_START
    if first is not None and pd.Timestamp(first) < _CALENDAR_START:
        # Whole years keep the cache to a few calendars.
        start = pd.Timestamp(year=pd.Timestamp(first).year, month=1, day=1)
    return _build_calendar(exchange, start)


@lru_cache(maxsize=8)
def _build_calendar(exchange: str, start: pd.Timestamp) -> xcals.ExchangeCalendar:
    try:
        return xcals.get_calendar(exchange, start=start)
    except xcals.errors.InvalidCalendarName:
        raise PipelineError(f"params.yaml: data.exchange: unknown exchange {exchange!r} (e.g. XNYS, XLON)") from None
    except ValueError as error:
        # e.g. "The XSHG holidays are only recorded back to the year 1991, ..."
        raise PipelineError(f"data.exchange {exchange}: {str(error).split(',')[0]}; the data starts earlier") from None


def sessions_between(exchange: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    """All sessions from ``first`` to ``last`` inclusive, clipped to the calendar's range."""
    calendar = get_calendar(exchange, first)
    first = max(pd.Timestamp(first), calendar.first_session)
    last = min(pd.Timestamp(last), calendar.last_session)
    if first > last:
        return pd.DatetimeIndex([])
    return calendar.sessions_in_range(first, last).tz_localize(None)


def sessions_after(exchange: str, last: pd.Timestamp, count: int) -> pd.DatetimeIndex:
    """The ``count`` sessions that follow ``last`` (weekends and holidays skipped)."""
    calendar = get_calendar(exchange)
    last = pd.Timestamp(last)
    if last >= calendar.last_session:
        raise PipelineError(f"exchange calendar {exchange} ends on {calendar.last_session.date()}")
    following = calendar.sessions_window(calendar.date_to_session(last, direction="next"), count + 1)
    following = following[following > last][:count]
    return following.tz_localize(None)


def session_of(timestamps: pd.Series, exchange: str) -> pd.Series:
    """Map exchange-local timestamps to the session whose close they precede.

    A timestamp at or before a session's close counts for that session; one after the
    close, on a weekend or on a holiday counts for the next session. Timestamps must be
    timezone-aware; date-only values should be passed as midnight, which falls before
    that day's close and so counts for that day (or the next session if it is closed).
    """
    if timestamps.empty:
        return pd.Series(pd.DatetimeIndex([]), index=timestamps.index, name="session")
    calendar = get_calendar(exchange, timestamps.min().tz_convert(None))
    closes = calendar.closes  # indexed by session, values are UTC close times
    utc = timestamps.dt.tz_convert("UTC")
    # searchsorted(side='left') gives the first close at or after each timestamp.
    positions = closes.values.searchsorted(utc.values.astype(closes.values.dtype), side="left")
    beyond = positions >= len(closes)
    if beyond.any():
        raise PipelineError(
            f"timestamp {timestamps[beyond].iloc[0]} is after the last session "
            f"of the {exchange} calendar ({calendar.last_session.date()})"
        )
    sessions = closes.index[positions].tz_localize(None) if closes.index.tz else closes.index[positions]
    return pd.Series(sessions, index=timestamps.index, name="session")
