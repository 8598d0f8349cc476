"""Intraday bars on an exchange's sessions: reading their times, checking them, and the regular-hours grid.

Bar times inside the pipeline are exchange-local wall-clock times without a zone, labelled at
the bar's start (09:30 is the first bar of a New York session). Within a session local times are
unambiguous (clocks change at night), so they sort and subtract like the instants they name.
A bar belongs to the session of its local date; a bar is in regular hours when it starts at or
after the session's open and before its close, so early closes come from the exchange calendar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockpipe.calendar import get_calendar, session_of, sessions_after
from stockpipe.errors import PipelineError

DAILY = "1d"
# Minutes per bar of every intraday data.interval.
INTERVAL_MINUTES = {"1h": 60, "30m": 30, "15m": 15, "5m": 5, "1m": 1}
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def bar_length(interval: str) -> pd.Timedelta:
    """The length of one bar of an intraday ``interval`` such as 5m."""
    return pd.Timedelta(minutes=INTERVAL_MINUTES[interval])


def exchange_zone(exchange: str) -> str:
    """The IANA time zone of an exchange, e.g. America/New_York for XNYS."""
    return str(get_calendar(exchange).tz)


def local_times(text: pd.Series, timezone: str, exchange: str, source: str) -> pd.Series:
    """Exchange-local bar times from timestamps written with a UTC offset, or without one in ``timezone``.

    Rows are named by the index of ``text`` (the file's line numbers). A file that mixes times
    with and without an offset is refused, as is a time the zone skips or repeats.
    """
    text = text.astype(str).str.strip()
    with_offset = text.str.contains(_OFFSET, regex=True)
    if with_offset.any() and not with_offset.all():
        row = text.index[with_offset != with_offset.iloc[0]][0]
        raise PipelineError(f"{source}: row {row}: {text[row]!r} mixes times with and without a UTC offset "
                            f"(row {text.index[0]} is {text.iloc[0]!r})")
    zone = exchange_zone(exchange)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=bool(with_offset.all()))
    if parsed.isna().any():
        row = text.index[parsed.isna()][0]
        raise PipelineError(f"{source}: row {row}: cannot read {text[row]!r} as a time (expected "
                            "YYYY-MM-DD HH:MM[:SS], optionally with a UTC offset such as +00:00)")
    if not with_offset.all():
        try:
            parsed = parsed.dt.tz_localize(timezone, ambiguous="raise", nonexistent="raise")
        except (ValueError, TypeError) as error:
            raise PipelineError(f"{source}: a time that {timezone} skips or repeats ({error}); "
                                "write times with a UTC offset") from None
    return parsed.dt.tz_convert(zone).dt.tz_localize(None).astype("datetime64[ns]")


def to_bar_start(times: pd.Series, interval: str, bar_label: str) -> pd.Series:
    """Bar times labelled at the start: ``bar_label`` end moves each back by one bar."""
    return times - bar_length(interval) if bar_label == "end" else times


def session_hours(exchange: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Local open and close of every session from ``first``'s date to ``last``'s, indexed by session date."""
    calendar = get_calendar(exchange, pd.Timestamp(first).normalize())
    days = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
    days = max(days[0], calendar.first_session.tz_localize(None)), min(days[1], calendar.last_session.tz_localize(None))
    if days[0] > days[1]:
        return pd.DataFrame({"open": pd.Series(dtype="datetime64[ns]"), "close": pd.Series(dtype="datetime64[ns]")})
    sessions = calendar.sessions_in_range(*days)
    if calendar.break_starts.loc[sessions].notna().any():
        raise PipelineError(f"params.yaml: data.exchange {calendar.name} breaks for lunch, which intraday bars do not "
                            "handle yet (each break would count as missing bars); use data.interval 1d")
    zone = calendar.tz
    opens = calendar.opens.loc[sessions]
    closes = calendar.closes.loc[sessions]
    index = sessions.tz_localize(None) if sessions.tz is not None else sessions
    return pd.DataFrame({"open": opens.dt.tz_convert(zone).dt.tz_localize(None).to_numpy(),
                         "close": closes.dt.tz_convert(zone).dt.tz_localize(None).to_numpy()},
                        index=index.astype("datetime64[ns]"))


def regular_bars(exchange: str, first: pd.Timestamp, last: pd.Timestamp, interval: str) -> pd.DatetimeIndex:
    """Every regular-hours bar start of the sessions from ``first``'s date to ``last``'s, in order.

    Bars start at the open and every ``interval`` after it, up to the close: a 1h grid on a
    09:30-16:00 session is 09:30, 10:30, .. 15:30 (the last bar is 30 minutes long), and an
    early close at 13:00 ends the grid at 12:30.
    """
    hours = session_hours(exchange, first, last)
    step = bar_length(interval)
    counts = np.ceil((hours["close"] - hours["open"]) / step).astype("int64").to_numpy()
    opens = np.repeat(hours["open"].to_numpy(), counts)
    offsets = np.concatenate([np.arange(count) for count in counts]) if len(counts) else np.array([], "int64")
    return pd.DatetimeIndex(opens + offsets * step.to_timedelta64())


def bars_after(exchange: str, last: pd.Timestamp, count: int, interval: str) -> pd.DatetimeIndex:
    """The ``count`` regular-hours bar starts after the bar that starts at ``last`` (nights, weekends and
    holidays skipped)."""
    minutes_per_day = 24 * 60
    sessions = sessions_after(exchange, pd.Timestamp(last).normalize(),
                              count * INTERVAL_MINUTES[interval] // minutes_per_day + count // 4 + 2)
    grid = regular_bars(exchange, pd.Timestamp(last).normalize(), sessions[-1], interval)
    return grid[grid > pd.Timestamp(last)][:count]


def bar_of(timestamps: pd.Series, exchange: str, interval: str) -> pd.Series:
    """The first bar to close after each timestamp (its local start): the bar at whose close it is known.

    Times are usually cut to the minute, so a stamp of 10:10 may mean 10:10:59: it counts for
    the bar that closes after it (with 5-minute bars, 10:10's), never for the one that closed at
    10:10. A stamp before the open counts for the first bar; one at or after the close, on a
    weekend or on a holiday for the first bar of the next session. A date without a time (local
    midnight) is known only once that day is over, so it counts after that day's close.
    Timestamps must be timezone-aware. ``interval`` 1d gives ``calendar.session_of``'s sessions.
    """
    if interval == DAILY or timestamps.empty:
        return session_of(timestamps, exchange)
    zone = exchange_zone(exchange)
    local = timestamps.dt.tz_convert(zone).dt.tz_localize(None).astype("datetime64[ns]")
    # A date alone: moved to the end of its day, so it counts for the next session.
    dated = local == local.dt.normalize()
    local = local.mask(dated, local + pd.Timedelta(days=1) - pd.Timedelta(1, "ns"))
    stamps = local.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    # The first session whose close comes strictly after the stamp.
    sessions = session_of(stamps + pd.Timedelta(1, "ns"), exchange)
    hours = session_hours(exchange, sessions.min(), sessions.max())
    opens = pd.Series(hours["open"].reindex(sessions.to_numpy()).to_numpy(), index=timestamps.index)
    closes = pd.Series(hours["close"].reindex(sessions.to_numpy()).to_numpy(), index=timestamps.index)
    step = bar_length(interval)
    last = np.ceil((closes - opens) / step).astype("int64") - 1
    index = np.floor((local - opens) / step).astype("int64")
    index = index.where(local >= opens, 0).clip(lower=0, upper=last)
    return (opens + index * step).rename("session")


def in_regular_hours(times: pd.Series, hours: pd.DataFrame) -> pd.Series:
    """Whether each bar starts within its session's regular hours (``session_hours``)."""
    days = times.dt.normalize()
    opens, closes = days.map(hours["open"]), days.map(hours["close"])
    return (times >= opens) & (times < closes)


def check_bars(times: pd.Series, interval: str, exchange: str, source: str) -> None:
    """Refuse bars that do not fit ``interval`` on ``exchange``'s sessions, naming the row.

    Three faults are refused: a bar on a day that is no session (a weekend or holiday: times
    outside every session, often a wrong data.timezone); a bar off the interval's grid from its
    session's open (a 1m file read as 5m); and a session whose bars are mostly further apart
    than the interval (a 5m file read as 1m), which names the spacing seen, so that a file of
    mixed intervals is named too. Bars before the open or after the close (pre- and after-market)
    are not faults here: cleaning drops and counts them.
    """
    if times.empty:
        return
    hours = session_hours(exchange, times.min(), times.max())
    days = times.dt.normalize()
    outside = ~days.isin(hours.index)
    if outside.any():
        row = times.index[outside][0]
        raise PipelineError(f"{source}: row {row}: {times[row]} is outside every {exchange} session (a weekend or "
                            f"holiday; {int(outside.sum())} such rows); check data.timezone and data.exchange")
    step = bar_length(interval)
    off_grid = (times - days.map(hours["open"])) % step != pd.Timedelta(0)
    if off_grid.any():
        row = times.index[off_grid][0]
        raise PipelineError(f"{source}: row {row}: {times[row]:%Y-%m-%d %H:%M} is not on the {interval} grid from "
                            f"the session's {days.map(hours['open'])[row]:%H:%M} open ({int(off_grid.sum())} such "
                            "rows): the file's bars are not data.interval apart")
    ordered = times.sort_values(kind="stable")
    steps = ordered.diff()[ordered.dt.normalize().eq(ordered.dt.normalize().shift())]
    if steps.empty:
        return
    usual = steps.groupby(ordered.dt.normalize()).agg(lambda values: values.value_counts().sort_index().idxmax())
    wrong = usual[usual != step]
    if wrong.empty:
        return
    minutes = (wrong / pd.Timedelta(minutes=1)).astype(int)
    session = wrong.index[0]
    row = ordered.index[ordered.dt.normalize() == session][0]
    seen = ", ".join(f"{value} min" for value in sorted(minutes.unique()))
    if len(wrong) == len(usual):
        raise PipelineError(f"{source}: row {row}: bars are {seen} apart, not data.interval {interval} "
                            f"(every one of {len(usual)} sessions)")
    raise PipelineError(f"{source}: row {row}: mixed intervals: session {session.date()}'s bars are {seen} apart, "
                        f"{len(usual) - len(wrong)} other sessions' {interval} ({len(wrong)} sessions differ)")


def bar_times(text: pd.Series, source: str, *, interval: str, timezone: str | None, bar_label: str,
              exchange: str) -> pd.Series:
    """A csv file's time column as checked bar starts: ``local_times``, ``to_bar_start``, then ``check_bars``.

    Args:
        timezone: The zone of times without an offset; None for the exchange's.
    """
    times = local_times(text, timezone or exchange_zone(exchange), exchange, source)
    times = to_bar_start(times, interval, bar_label)
    check_bars(times, interval, exchange, source)
    return times
