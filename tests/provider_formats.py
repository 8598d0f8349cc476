"""Answer bodies in each provider's documented format, built from prices as traded.

Yahoo chart v8: split-adjusted open/high/low/close and volume, split- and dividend-adjusted
``adjclose``, session-open timestamps, split and dividend events. Stooq: the CSV download.
Alpha Vantage: TIME_SERIES_DAILY (as traded) and TIME_SERIES_DAILY_ADJUSTED, newest first.
"""

from __future__ import annotations

import datetime
import json
from zoneinfo import ZoneInfo

import pandas as pd

YAHOO_NOT_FOUND = json.dumps(
    {"chart": {"result": None, "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"}}}
)
HTML_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Something went wrong</h1><p>Please try again later.</p></body></html>\n"
)
STOOQ_NO_DATA = "No data"
STOOQ_LIMIT = "Exceeded the daily hits limit"
AV_INVALID = json.dumps({"Error Message": "Invalid API call. Please retry or visit the documentation "
                                          "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."})
AV_NOTE = json.dumps({"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per "
                              "minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you "
                              "would like to target a higher API call frequency."})
AV_DAILY_LIMIT = json.dumps({"Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 "
                                            "requests per day. Please subscribe to any of the premium plans at "
                                            "https://www.alphavantage.co/premium/ to instantly remove all daily "
                                            "rate limits."})
AV_PREMIUM = json.dumps({"Information": "Thank you for using Alpha Vantage! This is a premium endpoint. You may "
                                        "subscribe to any of the premium plans at https://www.alphavantage.co/premium/ "
                                        "to instantly unlock all premium endpoints"})


def frame(rows: list[tuple]) -> pd.DataFrame:
    """Prices as traded from (date, open, high, low, close, volume) tuples."""
    prices = pd.DataFrame(rows, columns=["date", "open", "high", "low", "close", "volume"])
    prices["date"] = pd.to_datetime(prices["date"])
    return prices


def _split_factor(dates: pd.Series, splits: dict) -> pd.Series:
    """Per row, the product of the ratios of the splits after it."""
    factor = pd.Series(1.0, index=dates.index)
    for day, (numerator, denominator) in splits.items():
        factor[dates < pd.Timestamp(day)] *= numerator / denominator
    return factor


def _dividend_factor(dates: pd.Series, close: pd.Series, dividends: dict) -> pd.Series:
    """Yahoo's multiplier per row: 1 - dividend / previous close, for each later ex-date."""
    factor = pd.Series(1.0, index=dates.index)
    for day, amount in dividends.items():
        before = dates < pd.Timestamp(day)
        factor[before] *= 1 - amount / close[before].iloc[-1]
    return factor


def _session_open(day: pd.Timestamp, zone: str, at: str) -> int:
    hour, minute = map(int, at.split(":"))
    local = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))
    return int(local.timestamp())


def yahoo_chart(traded: pd.DataFrame, symbol: str = "AAPL", splits: dict | None = None,
                dividends: dict | None = None, zone: str = "America/New_York", opens_at: str = "09:30",
                with_adjclose: bool = True) -> str:
    """A Yahoo chart v8 body. ``splits``: {ex-date: (numerator, denominator)}; ``dividends``:
    {ex-date: amount per share as paid}."""
    splits, dividends = splits or {}, dividends or {}
    split = _split_factor(traded["date"], splits)
    quote = {name: (traded[name] / split).tolist() for name in ("open", "high", "low", "close")}
    quote["volume"] = [int(round(value)) for value in traded["volume"] * split]
    close = pd.Series(quote["close"])
    # Yahoo states dividends per share in today's shares, i.e. divided by the later splits.
    adjusted_dividends = {day: amount / split[traded["date"] >= pd.Timestamp(day)].iloc[0]
                          for day, amount in dividends.items()}
    adjclose = (close * _dividend_factor(traded["date"], close, adjusted_dividends)).tolist()
    stamps = [_session_open(day, zone, opens_at) for day in traded["date"]]
    offset = int(ZoneInfo(zone).utcoffset(traded["date"].iloc[-1].to_pydatetime()).total_seconds())
    events = {}
    if splits:
        events["splits"] = {
            str(_session_open(pd.Timestamp(day), zone, opens_at)): {
                "date": _session_open(pd.Timestamp(day), zone, opens_at), "numerator": numerator,
                "denominator": denominator, "splitRatio": f"{numerator}:{denominator}"}
            for day, (numerator, denominator) in splits.items()}
    if dividends:
        events["dividends"] = {
            str(_session_open(pd.Timestamp(day), zone, opens_at)): {
                "amount": amount, "date": _session_open(pd.Timestamp(day), zone, opens_at)}
            for day, amount in adjusted_dividends.items()}
    indicators = {"quote": [quote]}
    if with_adjclose:
        indicators["adjclose"] = [{"adjclose": adjclose}]
    result = {
        "meta": {
            "currency": "USD", "symbol": symbol, "exchangeName": "NMS", "fullExchangeName": "NasdaqGS",
            "instrumentType": "EQUITY", "firstTradeDate": stamps[0], "regularMarketTime": stamps[-1] + 23400,
            "hasPrePostMarketData": True, "gmtoffset": offset, "timezone": "EST",
            "exchangeTimezoneName": zone, "regularMarketPrice": quote["close"][-1],
            "chartPreviousClose": quote["close"][0], "priceHint": 2, "dataGranularity": "1d", "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
        },
        "timestamp": stamps,
        "events": events,
        "indicators": indicators,
    }
    if not events:
        del result["events"]
    return json.dumps({"chart": {"result": [result], "error": None}})


def stooq_csv(prices: pd.DataFrame) -> str:
    """Stooq's daily CSV download, oldest first, CRLF line ends."""
    lines = ["Date,Open,High,Low,Close,Volume"]
    for row in prices.itertuples(index=False):
        lines.append(f"{row.date:%Y-%m-%d},{row.open:.10g},{row.high:.10g},{row.low:.10g},{row.close:.10g},"
                     f"{row.volume:.10g}")
    return "\r\n".join(lines) + "\r\n"


def alphavantage_daily(traded: pd.DataFrame, symbol: str = "IBM") -> str:
    """TIME_SERIES_DAILY: prices as traded, newest first, numbers as text."""
    series = {}
    for row in traded.iloc[::-1].itertuples(index=False):
        series[f"{row.date:%Y-%m-%d}"] = {
            "1. open": f"{row.open:.4f}", "2. high": f"{row.high:.4f}", "3. low": f"{row.low:.4f}",
            "4. close": f"{row.close:.4f}", "5. volume": f"{row.volume:.0f}"}
    meta = {"1. Information": "Daily Prices (open, high, low, close) and Volumes", "2. Symbol": symbol,
            "3. Last Refreshed": f"{traded['date'].iloc[-1]:%Y-%m-%d}", "4. Output Size": "Full size",
            "5. Time Zone": "US/Eastern"}
    return json.dumps({"Meta Data": meta, "Time Series (Daily)": series}, indent=4)


def alphavantage_daily_adjusted(traded: pd.DataFrame, symbol: str = "IBM", splits: dict | None = None,
                                dividends: dict | None = None) -> str:
    """TIME_SERIES_DAILY_ADJUSTED: as traded plus adjusted close, dividend and split coefficient."""
    splits, dividends = splits or {}, dividends or {}
    split = _split_factor(traded["date"], splits)
    close = traded["close"] / split
    adjusted_dividends = {day: amount / split[traded["date"] >= pd.Timestamp(day)].iloc[0]
                          for day, amount in dividends.items()}
    adjusted_close = close * _dividend_factor(traded["date"], close, adjusted_dividends)
    series = {}
    for index in traded.index[::-1]:
        row = traded.loc[index]
        day = f"{row['date']:%Y-%m-%d}"
        numerator, denominator = splits.get(day, (1, 1))
        series[day] = {
            "1. open": f"{row['open']:.4f}", "2. high": f"{row['high']:.4f}", "3. low": f"{row['low']:.4f}",
            "4. close": f"{row['close']:.4f}", "5. adjusted close": f"{adjusted_close[index]:.10g}",
            "6. volume": f"{row['volume']:.0f}", "7. dividend amount": f"{dividends.get(day, 0):.4f}",
            "8. split coefficient": f"{numerator / denominator:.1f}"}
    meta = {"1. Information": "Daily Time Series with Splits and Dividend Events", "2. Symbol": symbol,
            "3. Last Refreshed": f"{traded['date'].iloc[-1]:%Y-%m-%d}", "4. Output Size": "Full size",
            "5. Time Zone": "US/Eastern"}
    return json.dumps({"Meta Data": meta, "Time Series (Daily)": series}, indent=4)
