"""Daily OHLCV from live providers: Yahoo Finance, Stooq and Alpha Vantage.

Each function takes the HTTP session and the base URL, so tests point it at a local server,
and returns the standard frame (date, open, high, low, close, volume), oldest first. Every
failure is one PipelineError line that starts with the provider and the ticker.
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
import math
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import requests

from stockpipe import columns as col
from stockpipe.adapters.http import (
    ALPHAVANTAGE_KEY_VARIABLE,
    alphavantage_answer,
    alphavantage_key_refused,
    excerpt,
    fetch,
    hiding_key,
    looks_like_html,
    parse_json,
)
from stockpipe.errors import PipelineError
from stockpipe.prices import read_price_csv

DEFAULT_BASE_URLS = {
    "yahoo": "https://query1.finance.yahoo.com",
    "stooq": "https://stooq.com",
    "alphavantage": "https://www.alphavantage.co",
}
LIVE_SOURCES = tuple(DEFAULT_BASE_URLS)
# Environment variables holding API keys: keys never go into params, dvc.lock or logs.
API_KEY_VARIABLES = {"alphavantage": ALPHAVANTAGE_KEY_VARIABLE, "stooq": "STOOQ_API_KEY"}

log = logging.getLogger(__name__)

# How many days back Yahoo serves bars of each intraday interval (its chart API refuses older ones).
YAHOO_INTRADAY_DAYS = {"1m": 7, "5m": 60, "15m": 60, "30m": 60, "1h": 730}
# Alpha Vantage's spelling of each intraday interval.
AV_INTERVALS = {"1m": "1min", "5m": "5min", "15m": "15min", "30m": "30min", "1h": "60min"}

# 1900-01-01, the start yfinance asks Yahoo for when no start is given.
_YAHOO_EARLIEST = -2208994789
_AV_DAILY = "TIME_SERIES_DAILY"
_AV_ADJUSTED = "TIME_SERIES_DAILY_ADJUSTED"


def download(
    source: str, session: requests.Session, base_url: str | None, ticker: str, start: str | None, end: str | None,
    *, adjusted: bool, today: datetime.date, api_key: str | None = None, interval: str = "1d",
    extended_hours: bool = False,
) -> pd.DataFrame:
    """Prices of ``ticker`` from ``source`` with ``start <= date <= end`` (either may be None).

    Daily rows are dated at midnight; intraday bars (``interval`` other than 1d) carry their
    start as an exchange-local time.

    Args:
        base_url: A mirror or proxy of the provider; None for its public address.
        adjusted: True for split- and dividend-adjusted prices, False for prices as traded.
        today: The caller's date, used by Yahoo as the end of the request.
        api_key: The key for providers that need one, read from the environment by the caller.

    Raises:
        PipelineError: One line naming provider, ticker and cause.
    """
    base = (base_url or DEFAULT_BASE_URLS[source]).rstrip("/")
    what = f"{source} {ticker}"
    if interval != "1d" and source == "stooq":
        raise PipelineError(f"{what}: Stooq serves daily bars only, not data.interval {interval}; "
                            "use yahoo, alphavantage or csv for intraday bars")
    if source == "yahoo":
        prices = yahoo_prices(session, base, ticker, start, adjusted=adjusted, today=today, interval=interval,
                              extended_hours=extended_hours)
    elif source == "alphavantage" and interval != "1d":
        prices = alphavantage_intraday(session, base, ticker, start, interval, adjusted=adjusted,
                                       extended_hours=extended_hours, today=today, api_key=api_key)
    elif source == "stooq":
        if not adjusted:
            raise PipelineError(f"{what}: Stooq publishes adjusted prices only; set data.adjusted: true")
        prices = stooq_prices(session, base, ticker, start, end, api_key=api_key)
    elif source == "alphavantage":
        prices = alphavantage_prices(session, base, ticker, adjusted=adjusted, api_key=api_key)
    else:
        raise PipelineError(f"data.source: {source!r} is not a live provider (one of {', '.join(LIVE_SOURCES)})")
    return _within(prices, start, end, what)


def yahoo_prices(
    session: requests.Session, base_url: str, ticker: str, start: str | None, *, adjusted: bool,
    today: datetime.date, interval: str = "1d", extended_hours: bool = False,
) -> pd.DataFrame:
    """Daily or intraday prices from Yahoo Finance's chart API (v8), from ``start`` up to ``today``.

    Intraday bars reach back only ``YAHOO_INTRADAY_DAYS`` days; an older (or no) ``start`` is
    moved up to that limit, with a log line. Yahoo's intraday bars are split-adjusted and carry
    no adjclose: with ``adjusted=True`` they are used as served (not dividend-adjusted).

    Yahoo's open/high/low/close are adjusted for splits and its ``adjclose`` for splits and
    dividends. ``adjusted=True`` scales the whole bar by adjclose/close; ``adjusted=False``
    undoes the split adjustment with the split events. The request always runs to ``today``,
    because Yahoo adjusts history for every split up to now and undoing them needs the
    events after the caller's end date too.
    """
    what = f"yahoo {ticker}"
    # Two days early: Yahoo keeps bars stamped from period1 on, and the first session of an
    # exchange east of UTC (Sydney opens at 23:00 UTC the day before) would fall just short.
    # download() trims to the exchange-local dates asked for.
    period1 = _epoch(start) - 2 * 86_400 if start else _YAHOO_EARLIEST
    period2 = _epoch((today + datetime.timedelta(days=2)).isoformat())
    intraday = interval != "1d"
    if intraday:
        earliest = today - datetime.timedelta(days=YAHOO_INTRADAY_DAYS[interval] - 1)
        if not start or datetime.date.fromisoformat(start) < earliest:
            log.info("%s: Yahoo serves %s bars for the last %d days only: asking from %s, not data.start=%s",
                     what, interval, YAHOO_INTRADAY_DAYS[interval], earliest, start)
            start = earliest.isoformat()
        period1 = _epoch(start)
        period2 = _epoch((today + datetime.timedelta(days=1)).isoformat())
    params = {"period1": period1, "period2": period2, "interval": interval, "events": "div,splits",
              "includeAdjustedClose": "true"}
    if intraday:
        params["includePrePost"] = "true" if extended_hours else "false"
    response = fetch(session, f"{base_url}/v8/finance/chart/{quote(ticker, safe='')}", params, what)
    body = parse_json(response, what)
    chart = body.get("chart") if isinstance(body, dict) else None
    if not isinstance(chart, dict):
        _raise_yahoo_error(body, response, what)
        raise PipelineError(f"{what}: unexpected JSON (HTTP {response.status_code}), no 'chart' object")
    _raise_yahoo_error(chart, response, what)
    if response.status_code != 200:
        raise PipelineError(f"{what}: HTTP {response.status_code} from Yahoo")
    results = chart.get("result")
    if not results:
        raise PipelineError(f"{what}: unknown ticker (Yahoo returned no chart result)")
    result = results[0] if isinstance(results, list) else None
    if not isinstance(result, dict):
        raise PipelineError(f"{what}: malformed chart JSON (chart.result is not a list of objects)")
    stamps = result.get("timestamp") or []
    if not stamps and intraday:
        raise PipelineError(f"{what}: Yahoo returned no {interval} bars from {start} to {today} (no session in "
                            "that range, e.g. a weekend or holiday, or none it still keeps)")
    if not stamps:
        raise PipelineError(f"{what}: no rows from data.start={start} onwards (Yahoo returned no sessions)")
    try:
        quote_block = result["indicators"]["quote"][0]
        frame = pd.DataFrame({name: _yahoo_column(quote_block, name, len(stamps), what) for name in col.OHLCV})
        meta = result.get("meta") or {}
        dates = _local_times(stamps, meta) if intraday else _session_dates(stamps, meta)
        adjclose = (result["indicators"].get("adjclose") or [{}])[0].get("adjclose")
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        raise PipelineError(f"{what}: malformed chart JSON (no indicators.quote[0] for the timestamps)") from None
    frame.insert(0, col.DATE, dates)
    if adjusted and not (intraday and adjclose is None):
        if adjclose is None:
            raise PipelineError(
                f"{what}: the answer has no adjclose series, so dividend-adjusted prices cannot be built; "
                "set data.adjusted: false for prices as traded"
            )
        factor = _numbers(adjclose, len(stamps), "adjclose", what) / frame[col.CLOSE]
        for name in col.OHLC:
            frame[name] *= factor
    elif not adjusted:
        splits = ((result.get("events") or {}).get("splits") or {}).values()
        factor = _split_factor(frame[col.DATE], splits, result.get("meta") or {}, what)
        for name in col.OHLC:
            frame[name] *= factor
        frame[col.VOLUME] /= factor
    return frame.sort_values(col.DATE, kind="stable").reset_index(drop=True)


def stooq_prices(
    session: requests.Session, base_url: str, ticker: str, start: str | None, end: str | None,
    *, api_key: str | None = None,
) -> pd.DataFrame:
    """Daily prices from Stooq's CSV download, adjusted for splits and dividends as Stooq publishes them.

    A ticker without a market suffix is taken as a US listing (``AAPL`` -> ``aapl.us``), as
    Stooq names them; indices keep their ``^`` (``^spx``).
    """
    with hiding_key(api_key):
        return _stooq(session, base_url, ticker, start, end, api_key, f"stooq {ticker}")


def _stooq(
    session: requests.Session, base_url: str, ticker: str, start: str | None, end: str | None, api_key: str | None,
    what: str,
) -> pd.DataFrame:
    symbol = ticker.lower()
    if "." not in symbol and not symbol.startswith("^"):
        symbol += ".us"
    params = {"s": symbol, "i": "d"}
    if start:
        params["d1"] = start.replace("-", "")
    if end:
        params["d2"] = end.replace("-", "")
    if api_key:
        params["apikey"] = api_key
    response = fetch(session, f"{base_url}/q/d/l/", params, what)
    text = response.text
    if response.status_code != 200:
        raise PipelineError(f"{what}: HTTP {response.status_code} from Stooq")
    stripped = text.strip()
    if not stripped:
        raise PipelineError(f"{what}: empty response body (HTTP 200) where CSV was expected")
    if looks_like_html(stripped):
        hint = "" if api_key else "; Stooq's downloads may need a key: set STOOQ_API_KEY"
        raise PipelineError(f"{what}: got an HTML page (HTTP 200) where CSV was expected{hint}")
    lowered = stripped.lower()
    if lowered == "no data":
        raise PipelineError(
            f"{what}: Stooq has no data for {symbol!r} between data.start={start} and data.end={end} "
            "(unknown symbol, or no sessions in the range)"
        )
    if "exceeded the daily hits limit" in lowered:
        raise PipelineError(f"{what}: rate limit hit (Stooq: exceeded the daily hits limit); run again tomorrow")
    if not lowered.startswith("date,"):
        raise PipelineError(f"{what}: not price CSV (starts with {excerpt(stripped, 60)!r})")
    _check_csv_rows(stripped, what)
    prices = read_price_csv(io.StringIO(stripped), "iso", source=what)
    return prices.sort_values(col.DATE, kind="stable").reset_index(drop=True)


def alphavantage_prices(
    session: requests.Session, base_url: str, ticker: str, *, adjusted: bool, api_key: str | None,
) -> pd.DataFrame:
    """Full daily history from Alpha Vantage.

    ``adjusted=True`` asks for TIME_SERIES_DAILY_ADJUSTED (a premium endpoint for many keys)
    and scales each bar by adjusted close / close, volume by the later split coefficients;
    ``adjusted=False`` asks for TIME_SERIES_DAILY, which is as traded.
    """
    what = f"alphavantage {ticker}"
    if not api_key:
        raise PipelineError(
            f"{what}: no API key; set the environment variable {API_KEY_VARIABLES['alphavantage']} "
            "(a free key: https://www.alphavantage.co/support/#api-key)"
        )
    with hiding_key(api_key):
        return _alphavantage(session, base_url, ticker, adjusted, api_key, what)


def _alphavantage(
    session: requests.Session, base_url: str, ticker: str, adjusted: bool, api_key: str, what: str
) -> pd.DataFrame:
    function = _AV_ADJUSTED if adjusted else _AV_DAILY
    params = {"function": function, "symbol": ticker, "outputsize": "full", "datatype": "json", "apikey": api_key}
    response = fetch(session, f"{base_url}/query", params, what)
    body = alphavantage_answer(response, what)
    notice = body.get("Note") or body.get("Information")
    if notice:
        raise PipelineError(_alphavantage_notice(str(notice), function, what))
    series = body.get("Time Series (Daily)")
    if not isinstance(series, dict):
        raise PipelineError(f"{what}: no 'Time Series (Daily)' in the answer (keys: {', '.join(map(str, body))})")
    if not series:
        raise PipelineError(f"{what}: no rows (Alpha Vantage returned an empty time series)")
    fields = ["1. open", "2. high", "3. low", "4. close", "6. volume" if adjusted else "5. volume"]
    if adjusted:
        fields += ["5. adjusted close", "8. split coefficient"]
    rows = []
    for day, values in series.items():
        if not isinstance(values, dict) or any(field not in values for field in fields):
            raise PipelineError(f"{what}: malformed time series: {day} lacks one of {', '.join(fields)}")
        rows.append([day, *(values[field] for field in fields)])
    raw = pd.DataFrame(rows, columns=[col.DATE, *col.OHLCV, *(["adj_close", "split"] if adjusted else [])])
    frame = pd.DataFrame({col.DATE: pd.to_datetime(raw[col.DATE], format="%Y-%m-%d", errors="coerce")})
    if frame[col.DATE].isna().any():
        bad = raw[col.DATE][frame[col.DATE].isna()].iloc[0]
        raise PipelineError(f"{what}: malformed time series: date {bad!r}")
    for name in raw.columns[1:]:
        frame[name] = pd.to_numeric(raw[name], errors="coerce").astype("float64")
        if frame[name].isna().any():
            bad = raw[col.DATE][frame[name].isna()].iloc[0]
            raise PipelineError(f"{what}: malformed time series: non-numeric {name} on {bad}")
    frame = frame.sort_values(col.DATE, kind="stable").reset_index(drop=True)
    if adjusted:
        factor = frame.pop("adj_close") / frame[col.CLOSE]
        for name in col.OHLC:
            frame[name] *= factor
        # A split coefficient applies to the sessions before its date.
        split = frame.pop("split")
        later_splits = split[::-1].cumprod()[::-1] / split
        frame[col.VOLUME] *= later_splits
    return frame


def alphavantage_intraday(
    session: requests.Session, base_url: str, ticker: str, start: str | None, interval: str, *, adjusted: bool,
    extended_hours: bool, today: datetime.date, api_key: str | None,
) -> pd.DataFrame:
    """Intraday bars from Alpha Vantage's TIME_SERIES_INTRADAY, in the exchange's local time as it writes them.

    With ``start``, one request per month (``month=YYYY-MM``) from its month to ``today``'s;
    without, one request for the latest 30 days (what the API answers without a month).
    """
    what = f"alphavantage {ticker}"
    if not api_key:
        raise PipelineError(f"{what}: no API key; set the environment variable {API_KEY_VARIABLES['alphavantage']}")
    months = [None] if not start else [
        month.strftime("%Y-%m") for month in pd.period_range(start[:7], today.isoformat()[:7], freq="M")]
    frames = []
    with hiding_key(api_key):
        for month in months:
            params = {"function": "TIME_SERIES_INTRADAY", "symbol": ticker, "interval": AV_INTERVALS[interval],
                      "outputsize": "full", "adjusted": str(adjusted).lower(),
                      "extended_hours": str(extended_hours).lower(), "datatype": "json", "apikey": api_key}
            if month:
                params["month"] = month
            body = alphavantage_answer(fetch(session, f"{base_url}/query", params, what), what)
            notice = body.get("Note") or body.get("Information")
            if notice:
                raise PipelineError(_alphavantage_notice(str(notice), "TIME_SERIES_INTRADAY", what))
            frames.append(_av_bars(body, f"Time Series ({AV_INTERVALS[interval]})", f"{what} {month or ''}".strip()))
    return pd.concat(frames).drop_duplicates(col.DATE, keep="last").sort_values(col.DATE).reset_index(drop=True)


def _av_bars(body: dict, key: str, what: str) -> pd.DataFrame:
    series = body.get(key)
    if not isinstance(series, dict):
        raise PipelineError(f"{what}: no {key!r} in the answer (keys: {', '.join(map(str, body))})")
    fields = ["1. open", "2. high", "3. low", "4. close", "5. volume"]
    rows = []
    for stamp, values in series.items():
        if not isinstance(values, dict) or any(field not in values for field in fields):
            raise PipelineError(f"{what}: malformed time series: {stamp} lacks one of {', '.join(fields)}")
        rows.append([stamp, *(values[field] for field in fields)])
    raw = pd.DataFrame(rows, columns=[col.DATE, *col.OHLCV])
    frame = pd.DataFrame({col.DATE: pd.to_datetime(raw[col.DATE], format="%Y-%m-%d %H:%M:%S", errors="coerce")})
    for name in col.OHLCV:
        frame[name] = pd.to_numeric(raw[name], errors="coerce").astype("float64")
    bad = frame.isna().any(axis=1)
    if bad.any():
        raise PipelineError(f"{what}: malformed time series: bar {raw[col.DATE][bad].iloc[0]!r}")
    return frame


def _alphavantage_notice(text: str, function: str, what: str) -> str:
    """One line for Alpha Vantage's 200-with-a-notice answers: rate limit, premium, key."""
    lowered = text.lower()
    quoted = f"(Alpha Vantage: {excerpt(text)})"
    if "rate limit" in lowered or "call frequency" in lowered or "requests per day" in lowered:
        return f"{what}: rate limit hit {quoted}; wait and run again"
    if "premium" in lowered:
        hint = "; set data.adjusted: false for prices as traded (TIME_SERIES_DAILY)" if function == _AV_ADJUSTED else ""
        return f"{what}: {function} with outputsize=full needs a premium key {quoted}{hint}"
    refused = alphavantage_key_refused(text, what)
    return refused or f"{what}: Alpha Vantage answered with a notice instead of prices {quoted}"


def _raise_yahoo_error(block: object, response: requests.Response, what: str) -> None:
    """Raise Yahoo's own error object ({code, description}) when the answer carries one."""
    if not isinstance(block, dict):
        return
    error = block.get("error")
    if not error and isinstance(block.get("finance"), dict):
        error = block["finance"].get("error")
    if not error:
        return
    if not isinstance(error, dict):
        raise PipelineError(f"{what}: Yahoo error {excerpt(str(error))} (HTTP {response.status_code})")
    code, description = error.get("code", "?"), excerpt(str(error.get("description", "")))
    if code == "Not Found" or response.status_code == 404:
        raise PipelineError(f"{what}: unknown ticker (Yahoo: {description or code})")
    raise PipelineError(f"{what}: Yahoo error {code}: {description} (HTTP {response.status_code})")


def _yahoo_column(block: dict, name: str, length: int, what: str) -> pd.Series:
    if name not in block:
        raise PipelineError(f"{what}: malformed chart JSON (indicators.quote[0] has no {name!r})")
    return _numbers(block[name], length, name, what)


def _numbers(values: object, length: int, name: str, what: str) -> pd.Series:
    if not isinstance(values, list) or len(values) != length:
        got = len(values) if isinstance(values, list) else type(values).__name__
        raise PipelineError(f"{what}: malformed chart JSON ({name} has {got} values for {length} timestamps)")
    numbers = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").astype("float64")
    if (numbers.isna() & pd.Series(values).notna()).any():
        raise PipelineError(f"{what}: malformed chart JSON (non-numeric value in {name})")
    return numbers


def _local_times(stamps: list, meta: dict) -> pd.Series:
    """Yahoo's epoch-second timestamps as wall-clock times in the exchange's time zone."""
    moments = pd.to_datetime(pd.Series(stamps, dtype="int64"), unit="s", utc=True)
    zone = meta.get("exchangeTimezoneName")
    try:
        local = moments.dt.tz_convert(ZoneInfo(zone)).dt.tz_localize(None) if zone else None
    except (ZoneInfoNotFoundError, ValueError):
        local = None
    if local is None:
        offset = meta.get("gmtoffset") or 0
        local = moments.dt.tz_localize(None) + pd.to_timedelta(int(offset), unit="s")
    return local.astype("datetime64[ns]")


def _session_dates(stamps: list, meta: dict) -> pd.Series:
    """Calendar dates, in the exchange's time zone, of Yahoo's session-open timestamps."""
    local = _local_times(stamps, meta)
    # Yahoo stamps some daily bars on the hour at 22:00 or 23:00 local time of the day before (seen
    # around daylight-saving changes, São Paulo in January 2022); no exchange opens then, so such a
    # stamp belongs to the next day, as yfinance reads it too.
    late = (local.dt.hour >= 22) & (local.dt.minute == 0) & (local.dt.second == 0)
    local = local.where(~late, local + pd.to_timedelta(24 - local.dt.hour, unit="h"))
    return local.dt.normalize().astype("datetime64[ns]")


def _split_factor(dates: pd.Series, splits, meta: dict, what: str) -> pd.Series:
    """Per row, the product of the ratios of all splits after it: raw price = Yahoo price * factor."""
    factor = pd.Series(1.0, index=dates.index)
    for split in splits:
        try:
            ratio = float(split["numerator"]) / float(split["denominator"])
            day = _session_dates([int(split["date"])], meta).iloc[0]
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            raise PipelineError(f"{what}: malformed split event {excerpt(str(split))}") from None
        if not math.isfinite(ratio) or ratio <= 0:
            raise PipelineError(f"{what}: malformed split event {excerpt(str(split))}")
        factor[dates < day] *= ratio
    return factor


def _check_csv_rows(text: str, what: str) -> None:
    """Refuse a CSV whose rows do not all have the header's number of fields (a cut-off body)."""
    rows = list(csv.reader(io.StringIO(text)))
    width = len(rows[0])
    for number, row in enumerate(rows[1:], start=2):
        if row and len(row) != width:
            raise PipelineError(
                f"{what}: truncated or malformed CSV (row {number} has {len(row)} fields, the header {width})"
            )
    if len(rows) < 2:
        raise PipelineError(f"{what}: CSV has a header and no rows")


def _within(prices: pd.DataFrame, start: str | None, end: str | None, what: str) -> pd.DataFrame:
    kept = prices
    if start:
        kept = kept[kept[col.DATE] >= pd.Timestamp(start)]
    if end:
        kept = kept[kept[col.DATE] < pd.Timestamp(end) + pd.Timedelta(days=1)]
    if kept.empty:
        first, last = prices[col.DATE].min().date(), prices[col.DATE].max().date()
        raise PipelineError(
            f"{what}: no rows between data.start={start} and data.end={end} (the provider has {first} .. {last})"
        )
    return kept.reset_index(drop=True)


def _epoch(day: str) -> int:
    return int(datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.UTC).timestamp())


