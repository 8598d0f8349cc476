"""Read dated headlines from a local CSV file in long format."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from stockpipe import columns as col
from stockpipe.errors import PipelineError

_TIME_NAMES = ["timestamp", "datetime", "time", "date", "published", "publishedat", "published_at"]
_HEADLINE_NAMES = ["headline", "headlines", "title"]
_TICKER_NAMES = ["ticker", "stock", "symbol"]
# A date alone, e.g. 2020-06-05, 5-Jun-20 or 05/06/2020: it counts for that day's session.
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")


def empty_news() -> pd.DataFrame:
    """The news table with no rows, written when no news source is configured."""
    return pd.DataFrame({
        col.TIMESTAMP: pd.Series([], dtype="datetime64[ns, UTC]"),
        col.HEADLINE: pd.Series([], dtype="string"),
        col.TICKER: pd.Series([], dtype="string"),
    })


def _pick(frame: pd.DataFrame, names: list[str]) -> str | None:
    lowered = {str(name).strip().lower(): name for name in frame.columns}
    return next((lowered[name] for name in names if name in lowered), None)


def parse_timestamps(values: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """Parse headline times to UTC.

    Values with a UTC offset keep it; values with a time but no offset are read in
    ``timezone`` (the exchange's zone by default); date-only values become midnight in
    ``timezone``, so they count for that date's session.

    Returns:
        The UTC timestamps, and a mask of values that could not be read (NaT there).
    """
    text = values.astype("string").str.strip()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    with_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True, na=False) & text.str.contains(
        _HAS_TIME, na=False
    )
    if with_offset.any():
        parsed[with_offset] = pd.to_datetime(text[with_offset], utc=True, errors="coerce", format="mixed")
    local = ~with_offset & text.notna()
    if local.any():
        naive = pd.to_datetime(text[local], errors="coerce", format="mixed", dayfirst=False)
        parsed[local] = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert(
            "UTC"
        )
        # "Jul-18" has no day: pandas would invent the 1st, so such rows are refused.
        dayless = local & ~text.str.contains(r"\d{1,2}[-/ .][A-Za-z]{3,}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/", na=False)
        parsed[dayless] = pd.NaT
    return parsed, parsed.isna()


def read_news_csv(path: str | Path, ticker: str | None, timezone: str) -> tuple[pd.DataFrame, dict]:
    """Read a long-format headline file: a time or date column, a headline, optionally a ticker.

    Rows whose date cannot be read (for example "Jul-18", which has no day) or whose
    headline is empty are dropped and counted. When the file has a ticker column, only
    rows for ``ticker`` are kept.

    Returns:
        The headlines (timestamp in UTC, headline, ticker) sorted by time, and counts of
        what was dropped.
    """
    source = str(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise PipelineError(f"{source}: file not found") from None
    except (pd.errors.EmptyDataError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise PipelineError(f"{source}: cannot read as CSV ({str(error).splitlines()[0]})") from None
    time_column, headline_column = _pick(raw, _TIME_NAMES), _pick(raw, _HEADLINE_NAMES)
    if time_column is None or headline_column is None:
        raise PipelineError(
            f"{source}: needs a time column ({'/'.join(_TIME_NAMES[:4])}) and a headline column "
            f"({'/'.join(_HEADLINE_NAMES)}); found {', '.join(map(str, raw.columns))}"
        )
    ticker_column = _pick(raw, _TICKER_NAMES)
    counts = {"rows_read": int(len(raw))}
    if ticker_column is not None and ticker:
        available = raw[ticker_column].dropna().unique()
        raw = raw[raw[ticker_column].str.upper() == ticker.upper()]
        counts["rows_other_tickers"] = counts["rows_read"] - int(len(raw))
        if raw.empty:
            shown = ", ".join(sorted(map(str, available))[:8])
            raise PipelineError(f"{source}: no headlines for ticker {ticker} (file has {shown}, ...)")
    timestamps, unreadable = parse_timestamps(raw[time_column], timezone)
    headlines = raw[headline_column].astype("string").str.strip()
    empty = headlines.isna() | (headlines == "")
    keep = ~unreadable & ~empty
    counts["rows_bad_date"] = int(unreadable.sum())
    counts["rows_empty_headline"] = int((empty & ~unreadable).sum())
    news = pd.DataFrame({
        col.TIMESTAMP: timestamps[keep].values,
        col.HEADLINE: headlines[keep].values,
        col.TICKER: (raw[ticker_column][keep].astype("string").values if ticker_column is not None
                     else pd.array([ticker] * int(keep.sum()), dtype="string")),
    })
    news[col.TIMESTAMP] = pd.to_datetime(news[col.TIMESTAMP], utc=True)
    news = news.sort_values(col.TIMESTAMP, kind="stable").reset_index(drop=True)
    counts["headlines"] = int(len(news))
    if news.empty:
        raise PipelineError(f"{source}: no usable headlines ({counts['rows_bad_date']} rows had unreadable dates)")
    return news, counts
