"""Read daily OHLCV prices from the packaged sample or from a local CSV file."""

from __future__ import annotations

import datetime
import glob
import importlib.util
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.adapters.io import read_csv_table
from stockpipe.errors import PipelineError
from stockpipe.params import TICKER_MAX_LENGTH, TICKER_PATTERN

# Header spellings seen in real exports, lower-cased with spaces and underscores removed.
_ALIASES = {
    "date": col.DATE, "datetime": col.DATE, "timestamp": col.DATE, "time": col.DATE,
    "open": col.OPEN, "high": col.HIGH, "low": col.LOW, "close": col.CLOSE,
    "adjclose": "adj_close", "volume": col.VOLUME, "vol": col.VOLUME,
}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([ T].*)?$")
_SLASHED = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
# Cell texts that mean "no value" in real exports: what pandas and spreadsheets read as missing, and "-".
MISSING_MARKERS = ["", "NA", "N/A", "n/a", "#N/A", "null", "NULL", "None", "NaN", "nan", "-"]
# 1,234.5 or 12,345,678: commas between groups of three digits, as spreadsheets write large numbers.
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")


# Real daily OHLCV, 1999-01-04 .. 2018-12-31, that the ``arch`` wheel ships: ticker -> (folder, name).
SAMPLE_TICKERS = {"^GSPC": ("sp500", "S&P 500"), "^IXIC": ("nasdaq", "NASDAQ Composite")}


def sample_path(ticker: str = "^GSPC") -> Path:
    """Path of the real daily prices (1999-2018) of ``ticker`` shipped inside the ``arch`` wheel.

    The file is located without importing ``arch``, whose import pulls in SciPy and
    statsmodels and would add seconds to every run.
    """
    if ticker not in SAMPLE_TICKERS:
        known = ", ".join(f"{symbol} ({name})" for symbol, (_, name) in SAMPLE_TICKERS.items())
        raise PipelineError(f"params.yaml: data.tickers: data.source 'sample' ships {known}, not {ticker!r}; "
                            "use data.source csv or a live source for other tickers")
    spec = importlib.util.find_spec("arch")
    if spec is None or spec.origin is None:
        raise PipelineError("data.source 'sample' needs the 'arch' package (pip install -r requirements.txt)")
    folder = SAMPLE_TICKERS[ticker][0]
    path = Path(spec.origin).parent / "data" / folder / f"{folder}.csv.gz"
    if not path.exists():
        raise PipelineError(f"{path}: sample file missing from the installed 'arch' package")
    return path


def load_sample(ticker: str = "^GSPC") -> pd.DataFrame:
    """Real daily OHLCV of ``ticker``, 1999-01-04 .. 2018-12-31, as shipped by ``arch``."""
    path = sample_path(ticker)
    # arch writes its dates month-first (12/31/2018); say so rather than guess.
    return read_price_csv(path, date_format="monthfirst")


def detect_date_format(values: pd.Series, source: str) -> str:
    """Tell ISO, day-first and month-first dates apart from the values themselves.

    Slashed dates are day-first when some first field exceeds 12, month-first when some
    second field does; when every value fits both, the caller must say which. A column that
    mixes shapes or orders is refused, naming a row of each; rows are named by the index of
    ``values`` (the file's line numbers, from ``read_csv_table``).
    """
    text = values.astype(str).str.strip()
    iso = text.str.match(_ISO)
    if iso.all():
        return "iso"
    parts = text.str.extract(_SLASHED)
    slashed = parts[0].notna()
    if (~iso & ~slashed).any():
        row = text.index[~iso & ~slashed][0]
        raise PipelineError(f"{source}: row {row}: unrecognised date {text[row]!r} "
                            "(expected YYYY-MM-DD, D/M/YYYY or M/D/YYYY)")
    if iso.any():
        first_iso, first_slashed = text.index[iso][0], text.index[slashed][0]
        raise PipelineError(
            f"{source}: dates mix formats: row {first_iso} {text[first_iso]!r} is YYYY-MM-DD, row {first_slashed} "
            f"{text[first_slashed]!r} is slashed (expected one format throughout)")
    order = slashed_order(parts[0].astype(int), parts[1].astype(int), text, source)
    if order:
        return order
    raise PipelineError(
        f"{source}: dates are ambiguous (every day and month is <= 12); "
        "set data.date_format to 'dayfirst' or 'monthfirst'"
    )


def slashed_order(first: pd.Series, second: pd.Series, text: pd.Series, source: str) -> str | None:
    """"dayfirst" or "monthfirst" as the numeric fields of slashed dates allow, or None.

    A first field above 12 can only be a day, a second field above 12 only a day too; None
    means every value fits both orders. Values that allow only one order each, but not the
    same one, are refused, naming a row of each (``text`` gives the rows' original values).
    """
    day_first, month_first = first > 12, second > 12
    if day_first.any() and month_first.any():
        row_day, row_month = first.index[day_first][0], second.index[month_first][0]
        raise PipelineError(
            f"{source}: dates mix day-first and month-first orders: row {row_day} {text[row_day]!r} can only be "
            f"day-first, row {row_month} {text[row_month]!r} only month-first (expected one order throughout)")
    if day_first.any():
        return "dayfirst"
    if month_first.any():
        return "monthfirst"
    return None


def parse_dates(values: pd.Series, date_format: str, source: str) -> pd.Series:
    """Parse dates to midnight timestamps without a timezone, in a known order."""
    if date_format == "auto":
        date_format = detect_date_format(values, source)
    text = values.astype(str).str.strip()
    if date_format == "iso":
        # Keep the calendar date of timestamps such as 2020-01-02 00:00:00-05:00.
        parsed = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    else:
        # Read the fields in the stated order only: pandas' dayfirst is a hint that it drops
        # silently for a value such as 1/13/2020, which would then be read month-first.
        parts = text.str.extract(_SLASHED)
        day, month = (parts[0], parts[1]) if date_format == "dayfirst" else (parts[1], parts[0])
        joined = day + "/" + month + "/" + parts[2]
        long_year = parts[2].str.len() == 4
        parsed = pd.to_datetime(joined.where(long_year), format="%d/%m/%Y", errors="coerce").where(
            long_year, pd.to_datetime(joined.where(~long_year), format="%d/%m/%y", errors="coerce")
        )
    if parsed.isna().any():
        row = text.index[parsed.isna()][0]
        raise PipelineError(f"{source}: row {row}: cannot read date {text[row]!r} as {date_format}")
    return parsed


def read_price_csv(
    path: str | Path | io.StringIO, date_format: str = "auto", source: str | None = None,
    today: datetime.date | None = None, times: Callable[[pd.Series, str], pd.Series] | None = None,
) -> pd.DataFrame:
    """Read a daily OHLCV CSV in the shapes that real exports come in.

    Column case and spacing do not matter; ``Adj Close``, ``Dividends`` and
    ``Stock Splits`` may be present; rows may be newest-first or oldest-first. The
    encoding and delimiter are found as ``io.read_csv_table`` says. Numbers written with
    thousands separators (``"1,234.5"``) are read as the number they write, except in
    semicolon-separated files, where a comma is the decimal mark and is refused rather
    than guessed. Everything else that is not a number, a date that is missing or
    unreadable, and a date after ``today`` stop the read with the row.

    Args:
        path: A file, or a text buffer holding a downloaded CSV.
        source: Name that starts error messages; the path when not given.
        today: Dates later than the day after it are refused (an exchange east of UTC
            is a day ahead of UTC's date); None checks nothing.
        times: Reads the date column (its text, indexed by line number, and ``source``) as
            intraday bar times instead of dates, e.g. ``bars.bar_times`` with its settings.

    Returns:
        Columns date, open, high, low, close, volume in file order (cleaning sorts them),
        with the file's ``encoding`` and ``delimiter`` in ``attrs``.
    """
    source = source or str(path)
    raw, read = read_csv_table(path, source, na_values=MISSING_MARKERS)
    renamed = {}
    for name in raw.columns:
        key = re.sub(r"[\s_]", "", str(name).lower())
        if key in _ALIASES and _ALIASES[key] not in renamed.values():
            renamed[name] = _ALIASES[key]
    frame = raw.rename(columns=renamed)
    if col.DATE not in frame.columns:
        frame = _yfinance_header(frame)
    missing = [name for name in [col.DATE, *col.OHLC] if name not in frame.columns]
    if missing:
        raise PipelineError(
            f"{source}: missing column(s) {', '.join(missing)} (found {', '.join(map(str, raw.columns))})"
        )
    if frame[col.DATE].isna().any():
        raise PipelineError(f"{source}: row {frame.index[frame[col.DATE].isna()][0]}: no date (expected one per row)")
    if col.VOLUME not in frame.columns:
        frame[col.VOLUME] = np.nan
    dates = times(frame[col.DATE], source) if times else parse_dates(frame[col.DATE], date_format, source)
    if today is not None:
        _refuse_future_dates(dates, frame[col.DATE], today, source)
    out = pd.DataFrame({col.DATE: dates})
    for name in col.OHLCV:
        out[name] = _to_number(frame[name], name, source, thousands=read["delimiter"] != ";")
    out = out.reset_index(drop=True)
    out.attrs = read
    return out


def _yfinance_header(frame: pd.DataFrame) -> pd.DataFrame:
    """yfinance's three header lines (``Price,Close,..`` / ``Ticker,AAPL,..`` / ``Datetime,,..``) as one:
    the first column is the date, named on the third line; the ticker line is dropped."""
    first = frame.columns[0]
    labels = frame[first].iloc[:2].astype(str).str.strip().str.lower().tolist()
    if str(first).strip().lower() != "price" or len(labels) < 2 or labels[0] != "ticker" \
            or labels[1] not in ("date", "datetime"):
        return frame
    return frame.iloc[2:].rename(columns={first: col.DATE})


def _refuse_future_dates(dates: pd.Series, text: pd.Series, today: datetime.date, source: str) -> None:
    future = dates > pd.Timestamp(today) + pd.Timedelta(days=1)
    if future.any():
        row = dates.index[future][0]
        raise PipelineError(
            f"{source}: row {row}: date {text[row].strip()!r} is after today ({today}; {int(future.sum())} such "
            "rows); expected past sessions only (a mistyped year?)")


def _to_number(values: pd.Series, name: str, source: str, thousands: bool) -> pd.Series:
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    if thousands:
        grouped = text.str.fullmatch(_THOUSANDS).fillna(False)
        text = text.where(~grouped, text.str.replace(",", "", regex=False))
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = (numbers.isna() & text.notna()) | np.isinf(numbers)
    if bad.any():
        row = values.index[bad][0]
        expected = "1234.5" if not thousands else "1234.5 or 1,234.5"
        raise PipelineError(f"{source}: row {row}: column {name} has non-numeric value {values[row]!r} "
                            f"(expected a number such as {expected})")
    return numbers


def filter_range(frame: pd.DataFrame, start: str | None, end: str | None, source: str) -> pd.DataFrame:
    """Keep rows with ``start <= date <= end`` (either bound may be None)."""
    kept = frame
    if start:
        kept = kept[kept[col.DATE] >= pd.Timestamp(start)]
    if end:
        # Every bar of the end day: a daily row is that day's midnight, an intraday bar later that day.
        kept = kept[kept[col.DATE] < pd.Timestamp(end) + pd.Timedelta(days=1)]
    if kept.empty:
        first, last = frame[col.DATE].min().date(), frame[col.DATE].max().date()
        raise PipelineError(
            f"{source}: no rows between data.start={start} and data.end={end} (file covers {first} .. {last})"
        )
    return kept.reset_index(drop=True)


def matching_tickers(pattern: str) -> list[str]:
    """Every ticker whose file matches ``pattern`` (data.path with {ticker}), sorted.

    Raises:
        PipelineError: No {ticker} in the pattern, or no file matches it.
    """
    path = Path(pattern)
    if pattern.count("{ticker}") != 1 or "{ticker}" not in path.name:
        raise PipelineError(f"params.yaml: data.tickers: all needs {{ticker}} once, in the file name of data.path "
                            f"(got {pattern!r})")
    before, after = path.name.split("{ticker}")
    regex = re.compile(re.escape(before) + r"(.+)" + re.escape(after) + r"\Z")
    tickers = sorted(match.group(1) for file in path.parent.glob(f"{glob.escape(before)}*{glob.escape(after)}")
                     if file.is_file() and (match := regex.match(file.name)))
    if not tickers:
        raise PipelineError(f"params.yaml: data.tickers: all found no file matching data.path {pattern!r}")
    unusable = [ticker for ticker in tickers
                if not re.fullmatch(TICKER_PATTERN, ticker) or len(ticker) > TICKER_MAX_LENGTH]
    if unusable:
        raise PipelineError(f"{path.parent}: file names give tickers that are not tickers ({', '.join(unusable[:5])}); "
                            f"a ticker has 1-20 letters, digits or . - ^ =, at least one a letter or digit")
    return tickers


def universe(data) -> list[str]:
    """The tickers data.tickers names: its list, or for "all" every matching file (csv) or sample series."""
    if data.tickers != "all":
        return list(data.tickers)
    if data.source == "sample":
        return list(SAMPLE_TICKERS)
    return matching_tickers(data.path)
