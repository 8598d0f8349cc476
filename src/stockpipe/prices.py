"""Read daily OHLCV prices from the packaged sample or from a local CSV file."""

from __future__ import annotations

import importlib.util
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from stockpipe import columns as col
from stockpipe.errors import PipelineError

# Header spellings seen in real exports, lower-cased with spaces and underscores removed.
_ALIASES = {
    "date": col.DATE, "datetime": col.DATE, "timestamp": col.DATE, "time": col.DATE,
    "open": col.OPEN, "high": col.HIGH, "low": col.LOW, "close": col.CLOSE,
    "adjclose": "adj_close", "volume": col.VOLUME, "vol": col.VOLUME,
}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([ T].*)?$")
_SLASHED = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")


def sample_path() -> Path:
    """Path of the real S&P 500 daily prices (1999-2018) shipped inside the ``arch`` wheel.

    The file is located without importing ``arch``, whose import pulls in SciPy and
    statsmodels and would add seconds to every run.
    """
    spec = importlib.util.find_spec("arch")
    if spec is None or spec.origin is None:
        raise PipelineError("data.source 'sample' needs the 'arch' package (pip install -r requirements.txt)")
    path = Path(spec.origin).parent / "data" / "sp500" / "sp500.csv.gz"
    if not path.exists():
        raise PipelineError(f"{path}: sample file missing from the installed 'arch' package")
    return path


def load_sample() -> pd.DataFrame:
    """Real daily S&P 500 OHLCV, 1999-01-04 .. 2018-12-31, as shipped by ``arch``."""
    path = sample_path()
    # arch writes its dates month-first (12/31/2018); say so rather than guess.
    return read_price_csv(path, date_format="monthfirst")


def detect_date_format(values: pd.Series, source: str) -> str:
    """Tell ISO, day-first and month-first dates apart from the values themselves.

    Slashed dates are day-first when some first field exceeds 12, month-first when some
    second field does; when every value fits both, the caller must say which.
    """
    text = values.astype(str).str.strip()
    if text.str.match(_ISO).all():
        return "iso"
    parts = text.str.extract(_SLASHED)
    if parts.isna().any().any():
        bad = text[parts[0].isna()].iloc[0]
        raise PipelineError(f"{source}: unrecognised date {bad!r} (expected YYYY-MM-DD or D/M/YYYY)")
    first, second = parts[0].astype(int), parts[1].astype(int)
    day_first, month_first = (first > 12).any(), (second > 12).any()
    if day_first and month_first:
        raise PipelineError(f"{source}: dates mix day-first and month-first orders")
    if day_first:
        return "dayfirst"
    if month_first:
        return "monthfirst"
    raise PipelineError(
        f"{source}: dates are ambiguous (every day and month is <= 12); "
        "set data.date_format to 'dayfirst' or 'monthfirst'"
    )


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
        bad = text[parsed.isna()].iloc[0]
        row = int(np.flatnonzero(parsed.isna())[0]) + 2
        raise PipelineError(f"{source}: row {row}: cannot read date {bad!r} as {date_format}")
    return parsed


def read_price_csv(
    path: str | Path | io.StringIO, date_format: str = "auto", source: str | None = None
) -> pd.DataFrame:
    """Read a daily OHLCV CSV in the shapes that real exports come in.

    Column case and spacing do not matter; ``Adj Close``, ``Dividends`` and
    ``Stock Splits`` may be present; rows may be newest-first or oldest-first.

    Args:
        path: A file, or a text buffer holding a downloaded CSV.
        source: Name that starts error messages; the path when not given.

    Returns:
        Columns date, open, high, low, close, volume in file order; cleaning sorts them.
    """
    source = source or str(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=["", "null", "NaN", "nan", "-"])
    except FileNotFoundError:
        raise PipelineError(f"{source}: file not found") from None
    except (pd.errors.EmptyDataError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise PipelineError(f"{source}: cannot read as CSV ({str(error).splitlines()[0]})") from None
    renamed = {}
    for name in raw.columns:
        key = re.sub(r"[\s_]", "", str(name).lower())
        if key in _ALIASES and _ALIASES[key] not in renamed.values():
            renamed[name] = _ALIASES[key]
    frame = raw.rename(columns=renamed)
    missing = [name for name in [col.DATE, *col.OHLC] if name not in frame.columns]
    if missing:
        raise PipelineError(
            f"{source}: missing column(s) {', '.join(missing)} (found {', '.join(map(str, raw.columns))})"
        )
    if frame.empty:
        raise PipelineError(f"{source}: no data rows")
    if col.VOLUME not in frame.columns:
        frame[col.VOLUME] = np.nan
    out = pd.DataFrame({col.DATE: parse_dates(frame[col.DATE], date_format, source)})
    for name in col.OHLCV:
        out[name] = _to_number(frame[name], name, source)
    return out


def _to_number(values: pd.Series, name: str, source: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2
        raise PipelineError(f"{source}: row {row}: column {name} has non-numeric value {values[bad].iloc[0]!r}")
    return numbers.astype("float64")


def filter_range(frame: pd.DataFrame, start: str | None, end: str | None, source: str) -> pd.DataFrame:
    """Keep rows with ``start <= date <= end`` (either bound may be None)."""
    kept = frame
    if start:
        kept = kept[kept[col.DATE] >= pd.Timestamp(start)]
    if end:
        kept = kept[kept[col.DATE] <= pd.Timestamp(end)]
    if kept.empty:
        first, last = frame[col.DATE].min().date(), frame[col.DATE].max().date()
        raise PipelineError(
            f"{source}: no rows between data.start={start} and data.end={end} (file covers {first} .. {last})"
        )
    return kept.reset_index(drop=True)

