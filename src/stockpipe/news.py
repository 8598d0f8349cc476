"""Dated headlines: a local CSV in long format, and several sources combined into one table."""

from __future__ import annotations

import datetime
import html
import re
from pathlib import Path

import pandas as pd

from stockpipe import columns as col
from stockpipe.adapters.io import read_csv_table
from stockpipe.calendar import session_of
from stockpipe.errors import PipelineError
from stockpipe.prices import slashed_order

_TIME_NAMES = ["timestamp", "datetime", "time", "date", "published", "publishedat", "published_at"]
_HEADLINE_NAMES = ["headline", "headlines", "title"]
_TICKER_NAMES = ["ticker", "stock", "symbol"]
# 05/06/2020, 5.6.20 or 05-06-2020 10:30: day and month as numbers, in an order the value may not tell.
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?=$|[ T])")
# A time of day (10:30, 10:30:00, 10:30:00.123) and what follows it, where a zone would be.
_AFTER_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(.*)$")
# A UTC offset after the time: -04:00, +0000 (RFC 822) or +01.
_OFFSET = re.compile(r"(?:^|(?<=\s))[+-]\d{2}(?::?\d{2})?(?![\d:])")
_WORD = re.compile(r"[A-Za-z]+")
_UTC_NAMES = {"UTC", "GMT", "Z", "z"}
_MONTHS_AND_DAYS = ("JANUARY FEBRUARY MARCH APRIL MAY JUNE JULY AUGUST SEPTEMBER OCTOBER NOVEMBER DECEMBER "
                    "MONDAY TUESDAY WEDNESDAY THURSDAY FRIDAY SATURDAY SUNDAY").split()
# Capital letters after a time that name no zone: AM/PM (A.M. gives A and M), months and weekdays.
_NOT_ZONES = {"A", "P", "M", "AM", "PM", "SEPT", *_MONTHS_AND_DAYS, *(name[:3] for name in _MONTHS_AND_DAYS)}
# US Eastern zone names as US outlets write them: read in New York time (parse_timestamps).
EASTERN = "America/New_York"
EASTERN_NAMES = {"ET", "EST", "EDT"}
_EASTERN_WORD = r"\b(?:ET|EST|EDT)\b"
# A day of the month written out: 17 July, July 17 (not July 2020), 2020-07-17, 7/17/.
_HAS_DAY = r"\d{1,2}[-/ .][A-Za-z]{3,}|[A-Za-z]{3,}\.?\s+\d{1,2}(?!\d)|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/"


_TAG = re.compile(r"<[^>]*>")


def empty_news() -> pd.DataFrame:
    """The news table with no rows, written when no news source is configured."""
    return news_frame([], [], None, "none", [])


def news_frame(timestamps, headlines, ticker: str | None, source: str, publishers) -> pd.DataFrame:
    """The news table (timestamp in UTC, headline, ticker, source, publisher) from columns."""
    return pd.DataFrame({
        col.TIMESTAMP: pd.Series(pd.DatetimeIndex(pd.to_datetime(timestamps, utc=True)), dtype="datetime64[ns, UTC]"),
        col.HEADLINE: pd.Series(headlines, dtype="string"),
        col.TICKER: pd.Series([ticker] * len(headlines), dtype="string"),
        col.SOURCE: pd.Series([source] * len(headlines), dtype="string"),
        col.PUBLISHER: pd.Series(publishers, dtype="string"),
    })


def news_for(news: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """The headlines of ``ticker`` in a table read for every ticker: the rows that name it, in any
    case, labelled as data.tickers spells it; a file without a ticker column names none, and then
    all its headlines count for every ticker (market news)."""
    if news[col.TICKER].isna().all():
        return news.assign(**{col.TICKER: pd.Series(ticker, index=news.index, dtype="string")})
    rows = news[news[col.TICKER].str.upper() == ticker.upper()]
    return rows.assign(**{col.TICKER: pd.Series(ticker, index=rows.index, dtype="string")}).reset_index(drop=True)


def clean_headline(text: str | None) -> str:
    """A headline as plain text: HTML tags removed, entities decoded, spaces collapsed."""
    if not text:
        return ""
    # Entities first, then tags: feeds write "&lt;b&gt;" as often as "<b>".
    return " ".join(_TAG.sub(" ", html.unescape(html.unescape(str(text)))).split())


def headline_key(headlines: pd.Series) -> pd.Series:
    """The form in which two headlines count as the same: case, accents' encoding, punctuation
    and spacing ignored ("Apple’s shares rise" = "APPLE'S SHARES RISE!")."""
    return (headlines.astype("string").str.normalize("NFKC").str.casefold()
            .str.replace(r"[\W_]+", " ", regex=True).str.strip())


def combine_news(frames: list[pd.DataFrame], exchange: str) -> tuple[pd.DataFrame, int]:
    """One table from several sources, a story that two sources carry counted once.

    Two rows are the same story when their headlines match (``headline_key``) and they
    count for the same session (``calendar.session_of``) but come from different sources;
    the row of the source listed first is kept. Repeats within one source are the source's
    own data and are kept.

    Returns:
        The combined news sorted by time, and the number of rows dropped as duplicates.
    """
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty_news(), 0
    combined = pd.concat(frames, ignore_index=True)
    rank = pd.Series(combined[col.SOURCE].map({name: order for order, name in
                                               enumerate(dict.fromkeys(combined[col.SOURCE]))}), dtype="int64")
    story = pd.DataFrame({"key": headline_key(combined[col.HEADLINE]),
                          "session": session_of(combined[col.TIMESTAMP], exchange), "rank": rank})
    first_rank = story.groupby(["key", "session"])["rank"].transform("min")
    keep = (rank == first_rank).to_numpy()
    news = combined[keep].sort_values(col.TIMESTAMP, kind="stable").reset_index(drop=True)
    return news[col.NEWS_COLUMNS], int((~keep).sum())


def coverage(sources: list[str], frames: dict[str, pd.DataFrame], counts: dict[str, dict], news: pd.DataFrame,
             duplicates: int) -> dict:
    """What each source gave and the dates the combined table covers, for news_coverage.json.

    ``counts`` are each source's own counts (a file's rows read, dropped, ...); a file's count
    of headlines, which covers every ticker in it, is written as ``file_headlines``.
    """

    def span(frame: pd.DataFrame) -> dict:
        if frame.empty:
            return {"first": None, "last": None}
        return {"first": str(frame[col.TIMESTAMP].min().date()), "last": str(frame[col.TIMESTAMP].max().date())}

    def source_report(feed: str, frame: pd.DataFrame) -> dict:
        # A file's own counts describe the whole file (every ticker): its headline count is kept apart,
        # so "headlines" is always what this table got from the source.
        extra = dict(counts.get(feed, {}))
        if "headlines" in extra:
            extra["file_headlines"] = extra.pop("headlines")
        return {"headlines": int(len(frame)), **span(frame), **extra}

    by_source = {feed: source_report(feed, frame) for feed, frame in frames.items()}
    return {"sources": list(sources), "headlines": int(len(news)), "duplicates_dropped": int(duplicates),
            **span(news), "by_source": by_source}


def _pick(frame: pd.DataFrame, names: list[str]) -> str | None:
    lowered = {str(name).strip().lower(): name for name in frame.columns}
    return next((lowered[name] for name in names if name in lowered), None)


def parse_timestamps(values: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """Parse headline times to UTC, row by row.

    Values with a UTC offset (-04:00, +0000) or a name for UTC (Z, UTC, GMT) after the time
    keep it; values with a time but no zone are read in ``timezone`` (the exchange's zone by
    default); date-only values become midnight in ``timezone``, so they count for that date's
    session. US Eastern names (ET, EST, EDT, as CNBC and most US outlets write them, e.g.
    "7:51 PM ET Fri, 17 July 2020") are read in America/New_York, whichever of EST and EDT is
    written, since outlets write EST all year. A value with any other zone (PST, CET, GMT+1:
    see ``_zone_after_time``) is unreadable rather than read in a guessed zone.

    Returns:
        The UTC timestamps, and a mask of values that could not be read (NaT there).
    """
    text = values.astype("string").str.strip()
    zones = _zones(text)
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    explicit = zones == "UTC"
    if explicit.any():
        parsed[explicit] = pd.to_datetime(text[explicit], utc=True, errors="coerce", format="mixed")
    eastern = zones.isin(EASTERN_NAMES)
    if eastern.any():
        text = text.mask(eastern, text[eastern].str.replace(_EASTERN_WORD, " ", regex=True))
    for rows, zone in (((zones == "") & text.notna(), timezone), (eastern, EASTERN)):
        if rows.any():
            naive = pd.to_datetime(text[rows], errors="coerce", format="mixed", dayfirst=False)
            parsed[rows] = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert(
                "UTC")
    # "Jul-18" has no day: pandas would invent the 1st, so such rows are refused.
    local = ((zones == "") | eastern) & text.notna()
    dayless = local & ~text.str.contains(_HAS_DAY, na=False)
    parsed[dayless] = pd.NaT
    return parsed, parsed.isna()


def _zone_after_time(rest: str) -> str:
    """The zone written after a time of day, given the text that follows the time.

    Returns:
        "" when there is none, "UTC" for a numeric offset or Z, UTC or GMT (which pandas reads
        right), else the zone as written: a name such as PST or CST, which this reader does not
        guess (CST names three zones, and pandas would drop it and read the time as local), or
        GMT+1, which dateutil reads POSIX-style as UTC-1.
    """
    offset = _OFFSET.search(rest)
    for word in _WORD.finditer(rest):
        if offset is not None and word.start() > offset.start():
            break
        name = word[0]
        # dateutil takes a capitalised word of up to five letters after the time for a zone.
        if name.upper() in _NOT_ZONES or len(name) > 5 or not (name.isupper() or name in _UTC_NAMES):
            continue
        if name not in _UTC_NAMES:
            return name
        signed = re.match(r"\s*[+-][\d:]+", rest[word.end():])
        return name + signed[0] if signed else "UTC"
    return "UTC" if offset is not None else ""


def _zones(text: pd.Series) -> pd.Series:
    """``_zone_after_time`` of each value ("" where there is no time), each distinct ending worked out once."""
    rest = text.str.extract(_AFTER_TIME, expand=False)
    found = {ending: _zone_after_time(ending) for ending in rest.dropna().unique()}
    return rest.map(found).fillna("").astype(object)


def numeric_dates_to_iso(text: pd.Series, source: str) -> pd.Series:
    """Rewrite numeric D/M/Y or M/D/Y dates as YYYY-MM-DD, in the one order the values allow.

    pandas would read 05/06/2020 as 6 May without a word. As for prices, the order comes
    from a value whose day exceeds 12; a file where every such date fits both orders, or
    where some fit only one and others only the other, is refused, naming the rows. Other
    values pass unchanged. Rows are named by the index (the file's line numbers).
    """
    parts = text.str.extract(_NUMERIC_DATE)
    found = parts[0].notna()
    if not found.any():
        return text
    first, second = parts[0][found].astype(int), parts[1][found].astype(int)
    order = slashed_order(first, second, text, source)
    if order is None:
        row = first.index[0]
        raise PipelineError(
            f"{source}: row {row}: date {text[row]!r} could be day-first or month-first, as could every numeric date "
            "in the file; write the dates as YYYY-MM-DD")
    rewritten = text.copy()
    for row in text.index[found]:
        match = _NUMERIC_DATE.match(text[row])
        day, month = (match[1], match[2]) if order == "dayfirst" else (match[2], match[1])
        year = int(match[3])
        if len(match[3]) == 2:
            # As strptime's %y reads them: 69 .. 99 are 19xx, 00 .. 68 are 20xx.
            year += 2000 if year < 69 else 1900
        rewritten[row] = f"{year:04d}-{int(month):02d}-{int(day):02d}{text[row][match.end():]}"
    return rewritten


def read_news_csv(
    path: str | Path, ticker: str | None, timezone: str, today: datetime.date | None = None
) -> tuple[pd.DataFrame, dict]:
    """Read a long-format headline file: a time or date column, a headline, optionally a ticker.

    The encoding and delimiter are found as ``io.read_csv_table`` says. Rows are dropped and
    counted when their date cannot be read (for example "Jul-18", which has no day:
    ``rows_bad_date``), is later than the day after ``today`` (``rows_future_date``: a
    mistyped year, which would be scored for a session that has not happened), when the
    headline is empty (``rows_empty_headline``),
    or when the row repeats an earlier one exactly: same time, headline and ticker
    (``rows_duplicate``; a press release filed twice). Numeric dates are read in the order
    ``numeric_dates_to_iso`` finds, times as ``parse_timestamps`` says; a file with a time in
    a zone other than UTC or a numeric offset (PST, CET, GMT+1) is refused, naming the first
    such row. A row with more or fewer fields than the header (a
    headline broken across lines) is dropped and counted (``rows_malformed``) before the
    ticker is looked at. When the file has a ticker column, only rows for ``ticker`` are kept.

    Returns:
        The headlines (timestamp in UTC, headline, ticker) sorted by time, and the counts
        of what was dropped, with the file's encoding and delimiter.
    """
    source = str(path)
    # A headline file is often scraped: a record broken across lines is dropped and counted,
    # not a reason to stop (a price file's malformed row is).
    raw, read = read_csv_table(path, source, malformed="drop")
    time_column, headline_column = _pick(raw, _TIME_NAMES), _pick(raw, _HEADLINE_NAMES)
    if time_column is None or headline_column is None:
        raise PipelineError(
            f"{source}: needs a time column ({'/'.join(_TIME_NAMES[:4])}) and a headline column "
            f"({'/'.join(_HEADLINE_NAMES)}); found {', '.join(map(str, raw.columns))}"
        )
    ticker_column = _pick(raw, _TICKER_NAMES)
    malformed = read.pop("rows_malformed")
    counts = {"rows_read": int(len(raw)) + malformed, "rows_malformed": malformed}
    if ticker_column is not None and ticker:
        available = raw[ticker_column].dropna().unique()
        rows = len(raw)
        raw = raw[raw[ticker_column].str.upper() == ticker.upper()]
        counts["rows_other_tickers"] = rows - int(len(raw))
        if raw.empty:
            shown = ", ".join(sorted(map(str, available))[:8])
            raise PipelineError(f"{source}: no headlines for ticker {ticker} (file has {shown}, ...)")
    times = numeric_dates_to_iso(raw[time_column].astype("string").str.strip(), source)
    timestamps, unreadable = parse_timestamps(times, timezone)
    zones = _zones(times[unreadable])
    unclear = zones[~zones.isin(["", "UTC", *EASTERN_NAMES])]
    if not unclear.empty:
        # Refused, not dropped: like a day-or-month-first date, the value is complete but could mean
        # several times, and a feed that writes one zone name writes it on every row.
        row = unclear.index[0]
        raise PipelineError(
            f"{source}: row {row}: column {time_column} has the time {times[row]!r}, whose zone {unclear[row]!r} "
            f"gives no UTC offset for sure ({len(unclear)} row{'s' if len(unclear) > 1 else ''} in all); write the "
            "times with an offset such as -05:00, or in UTC")
    future = pd.Series(False, index=raw.index)
    if today is not None:
        future = ~unreadable & (timestamps >= pd.Timestamp(today, tz="UTC") + pd.Timedelta(days=2))
    headlines = raw[headline_column].astype("string").str.strip()
    empty = headlines.isna() | (headlines == "")
    # Rows kept for ``ticker`` carry it as data.tickers spells it, whatever case the file wrote.
    tickers = raw[ticker_column].astype("string") if ticker_column is not None and not ticker \
        else pd.Series(ticker, index=raw.index, dtype="string")
    keep = ~unreadable & ~future & ~empty
    repeated = pd.DataFrame({"time": timestamps, "headline": headlines, "ticker": tickers})[keep].duplicated()
    counts["rows_bad_date"] = int(unreadable.sum())
    counts["rows_future_date"] = int(future.sum())
    counts["rows_empty_headline"] = int((empty & ~unreadable & ~future).sum())
    counts["rows_duplicate"] = int(repeated.sum())
    keep[repeated.index[repeated]] = False
    news = news_frame(timestamps[keep].values, headlines[keep].values, ticker, "csv", [None] * int(keep.sum()))
    if ticker_column is not None and not ticker:
        news[col.TICKER] = raw[ticker_column][keep].astype("string").values
    news = news.sort_values(col.TIMESTAMP, kind="stable").reset_index(drop=True)
    counts["headlines"] = int(len(news))
    counts.update(read)
    if news.empty:
        raise PipelineError(f"{source}: no usable headlines ({counts['rows_bad_date']} rows had unreadable dates, "
                            f"{counts['rows_future_date']} future dates, {counts['rows_empty_headline']} empty "
                            "headlines)")
    return news, counts
