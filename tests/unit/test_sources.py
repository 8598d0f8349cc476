"""Live price providers against a real HTTP server on 127.0.0.1 speaking each provider's format."""

import datetime
import json
import logging

import pandas as pd
import pytest

from stockpipe.adapters import http
from stockpipe.adapters.http import make_session
from stockpipe.adapters.sources import LIVE_SOURCES, alphavantage_prices, download, stooq_prices, yahoo_prices
from stockpipe.errors import PipelineError
from stockpipe.prices import load_sample
from tests import provider_formats as fmt
from tests.http_server import Reply

TODAY = datetime.date(2020, 9, 10)
YAHOO_PATH = "/v8/finance/chart/AAPL"
STOOQ_PATH = "/q/d/l/"
AV_PATH = "/query"
KEY = "TESTKEY123"

# Four sessions as traded around a 4:1 split (ex-date 2020-08-31) and a 1.00 dividend
# (ex-date 2020-09-01): adjusted prices before the split are a quarter, and everything before
# the dividend is scaled by 1 - 1.00 / 128 = 0.9921875.
TRADED = fmt.frame([
    ("2020-08-27", 500.0, 510.0, 490.0, 500.0, 100.0),
    ("2020-08-28", 500.0, 508.0, 496.0, 504.0, 100.0),
    ("2020-08-31", 127.0, 130.0, 125.0, 128.0, 400.0),
    ("2020-09-01", 128.0, 135.0, 127.0, 134.0, 400.0),
])
SPLITS = {"2020-08-31": (4, 1)}
DIVIDENDS = {"2020-09-01": 1.0}
ADJUSTED = fmt.frame([
    ("2020-08-27", 124.0234375, 126.50390625, 121.54296875, 124.0234375, 400.0),
    ("2020-08-28", 124.0234375, 126.0078125, 123.03125, 125.015625, 400.0),
    ("2020-08-31", 126.0078125, 128.984375, 124.0234375, 127.0, 400.0),
    ("2020-09-01", 128.0, 135.0, 127.0, 134.0, 400.0),
])


@pytest.fixture
def session():
    # Tiny backoff keeps the retry tests fast; the retry counts are the real defaults.
    return make_session(backoff_factor=0.001)


def json_reply(body, status=200, **headers):
    return Reply(status, body, "application/json", headers)


def yahoo(server, session, ticker="AAPL", start="2020-08-01", adjusted=True):
    return yahoo_prices(session, server.url, ticker, start, adjusted=adjusted, today=TODAY)


def stooq(server, session, ticker="AAPL", start="2020-08-27", end="2020-09-01", api_key=None):
    return stooq_prices(session, server.url, ticker, start, end, api_key=api_key)


def alphavantage(server, session, adjusted=False, api_key=KEY):
    return alphavantage_prices(session, server.url, "IBM", adjusted=adjusted, api_key=api_key)


def sample_years(first="2013-01-01", last="2018-12-31"):
    sample = load_sample()
    return sample[(sample["date"] >= first) & (sample["date"] <= last)].reset_index(drop=True)


# --- Yahoo -------------------------------------------------------------------------------------


def test_yahoo_adjusted_prices_take_splits_and_dividends_from_adjclose(http_server, session):
    http_server.serve(YAHOO_PATH, json_reply(fmt.yahoo_chart(TRADED, splits=SPLITS, dividends=DIVIDENDS)))

    prices = yahoo(http_server, session)

    pd.testing.assert_frame_equal(prices, ADJUSTED)


def test_yahoo_raw_prices_undo_the_split_adjustment(http_server, session):
    http_server.serve(YAHOO_PATH, json_reply(fmt.yahoo_chart(TRADED, splits=SPLITS, dividends=DIVIDENDS)))

    prices = yahoo(http_server, session, adjusted=False)

    # A 4:1 split is not a 75% crash: the prices before it come back as traded.
    pd.testing.assert_frame_equal(prices, TRADED)


def test_yahoo_request_asks_daily_bars_with_events_up_to_today(http_server, session):
    http_server.serve("/v8/finance/chart/%5EGSPC", json_reply(fmt.yahoo_chart(TRADED, symbol="^GSPC")))

    yahoo(http_server, session, ticker="^GSPC", start="2020-08-27")

    [request] = http_server.requests
    assert request.query == {
        "period1": "1598313600",  # 2020-08-25 00:00 UTC: two days early, download() trims
        "period2": "1599868800",  # 2020-09-12 00:00 UTC: today + 2 days
        "interval": "1d", "events": "div,splits", "includeAdjustedClose": "true",
    }
    assert request.headers["User-Agent"].startswith("stockpipe/")


def test_yahoo_without_start_asks_from_1900(http_server, session):
    http_server.serve(YAHOO_PATH, json_reply(fmt.yahoo_chart(TRADED)))

    yahoo(http_server, session, start=None)

    assert http_server.requests[0].query["period1"] == "-2208994789"


def test_yahoo_multi_year_range_keeps_every_session_date(http_server, session):
    # Six real years of the S&P 500: session opens are 13:30 or 14:30 UTC depending on
    # daylight saving time, and every one must map to its New York calendar date.
    sample = sample_years()
    http_server.serve("/v8/finance/chart/%5EGSPC", json_reply(fmt.yahoo_chart(sample, symbol="^GSPC")))

    prices = download("yahoo", session, http_server.url, "^GSPC", "2014-01-01", "2016-12-31", adjusted=True,
                      today=TODAY)

    expected = sample_years("2014-01-01", "2016-12-31")
    assert len(prices) == len(expected) == 756
    assert prices["date"].tolist() == expected["date"].tolist()
    pd.testing.assert_series_equal(prices["close"], expected["close"])


def test_yahoo_dates_are_calendar_dates_of_the_exchange(http_server, session):
    # Sydney opens at 10:00, which is 23:00 UTC the day before: the UTC date would be wrong.
    traded = fmt.frame([("2020-01-02", 1.0, 1.0, 1.0, 1.0, 1.0), ("2020-01-03", 2.0, 2.0, 2.0, 2.0, 2.0)])
    http_server.serve("/v8/finance/chart/BHP.AX",
                      json_reply(fmt.yahoo_chart(traded, symbol="BHP.AX", zone="Australia/Sydney", opens_at="10:00")))

    prices = yahoo(http_server, session, ticker="BHP.AX", start="2020-01-01")

    assert prices["date"].dt.strftime("%Y-%m-%d").tolist() == ["2020-01-02", "2020-01-03"]


def test_yahoo_is_asked_early_enough_for_the_first_session_east_of_utc(http_server, session):
    # Sydney's session of 16 March 2020 opens at 10:00 there, 23:00 UTC on the 15th; Yahoo keeps
    # only bars stamped from period1 on, so period1 must not be midnight UTC of the 16th.
    traded = fmt.frame([("2020-03-16", 1.0, 1.0, 1.0, 1.0, 1.0), ("2020-03-17", 2.0, 2.0, 2.0, 2.0, 2.0)])
    body = fmt.yahoo_chart(traded, symbol="^AXJO", zone="Australia/Sydney", opens_at="10:00")
    http_server.serve("/v8/finance/chart/%5EAXJO", json_reply(body))

    prices = download("yahoo", session, http_server.url, "^AXJO", "2020-03-16", "2020-03-17", adjusted=True,
                      today=TODAY)

    first_open = json.loads(body)["chart"]["result"][0]["timestamp"][0]
    assert int(http_server.requests[0].query["period1"]) <= first_open
    assert prices["date"].dt.strftime("%Y-%m-%d").tolist() == ["2020-03-16", "2020-03-17"]


def test_yahoo_bar_stamped_late_the_evening_before_counts_for_its_day(http_server, session):
    # As Yahoo sent São Paulo's bars around January 2022: Tuesday's bar stamped 23:00 local on Monday.
    traded = fmt.frame([("2022-01-03", 10.0, 10.0, 10.0, 10.0, 1.0), ("2022-01-04", 11.0, 11.0, 11.0, 11.0, 1.0)])
    body = json.loads(fmt.yahoo_chart(traded, symbol="^BVSP", zone="America/Sao_Paulo", opens_at="10:00"))
    late = pd.Timestamp("2022-01-03 23:00", tz="America/Sao_Paulo")
    body["chart"]["result"][0]["timestamp"][1] = int(late.timestamp())
    http_server.serve("/v8/finance/chart/%5EBVSP", json_reply(json.dumps(body)))

    prices = yahoo(http_server, session, ticker="^BVSP", start="2022-01-03")

    assert prices["date"].dt.strftime("%Y-%m-%d").tolist() == ["2022-01-03", "2022-01-04"]
    assert prices["close"].tolist() == [10.0, 11.0]


def test_yahoo_unknown_ticker_is_a_404_with_chart_error(http_server, session):
    http_server.serve("/v8/finance/chart/NOPE", json_reply(fmt.YAHOO_NOT_FOUND, status=404))

    with pytest.raises(PipelineError, match=r"^yahoo NOPE: unknown ticker \(Yahoo: No data found, symbol may be "
                                            r"delisted\)$"):
        yahoo(http_server, session, ticker="NOPE")


@pytest.mark.parametrize("status", [200, 404])
def test_yahoo_html_page_instead_of_json(http_server, session, status):
    http_server.serve(YAHOO_PATH, Reply(status, fmt.HTML_ERROR_PAGE, "text/html"))

    with pytest.raises(PipelineError, match=rf"^yahoo AAPL: got an HTML page \(HTTP {status}\) where JSON was "):
        yahoo(http_server, session)


def test_yahoo_truncated_json(http_server, session):
    body = fmt.yahoo_chart(TRADED)
    http_server.serve(YAHOO_PATH, json_reply(body[: len(body) // 2]))

    with pytest.raises(PipelineError, match=r"^yahoo AAPL: malformed or truncated JSON \("):
        yahoo(http_server, session)


def test_yahoo_connection_closed_mid_body(http_server, session):
    body = fmt.yahoo_chart(TRADED)
    http_server.serve(YAHOO_PATH, Reply(200, body, cut=len(body) // 2))

    with pytest.raises(PipelineError, match=r"^yahoo AAPL: the answer was cut off"):
        yahoo(http_server, session)


def test_yahoo_empty_body(http_server, session):
    http_server.serve(YAHOO_PATH, json_reply(""))

    with pytest.raises(PipelineError, match=r"^yahoo AAPL: empty response body \(HTTP 200\) where JSON"):
        yahoo(http_server, session)


def test_yahoo_429_honours_retry_after_then_succeeds(http_server, session, monkeypatch):
    http_server.serve(YAHOO_PATH, Reply(429, "Too Many Requests", "text/plain", {"Retry-After": "1"}),
                      json_reply(fmt.yahoo_chart(TRADED)))
    waits = []
    honoured = http._CappedRetry.get_retry_after
    monkeypatch.setattr(http._CappedRetry, "get_retry_after",
                        lambda retry, response: waits.append(honoured(retry, response)) or waits[-1])

    prices = yahoo(http_server, session)

    # The wait the retry slept before asking again: the server's Retry-After.
    assert waits == [1.0]
    assert len(http_server.requests) == 2 and len(prices) == 4


def test_yahoo_three_500s_then_success(http_server, session):
    error = Reply(500, "Internal Server Error", "text/plain")
    http_server.serve(YAHOO_PATH, error, error, error, json_reply(fmt.yahoo_chart(TRADED)))

    prices = yahoo(http_server, session)

    assert len(http_server.requests) == 4 and len(prices) == 4


def test_yahoo_500_beyond_the_retries_fails_clearly(http_server):
    error = Reply(500, "Internal Server Error", "text/plain")
    http_server.serve(YAHOO_PATH, error, error, error, json_reply(fmt.yahoo_chart(TRADED)))

    with pytest.raises(PipelineError, match=r"^yahoo AAPL: provider error HTTP 500 after retries$"):
        yahoo(http_server, make_session(retries=2, backoff_factor=0.001))
    assert len(http_server.requests) == 3


def test_yahoo_rate_limit_still_hit_after_retries(http_server, session):
    http_server.serve(YAHOO_PATH, Reply(429, "Too Many Requests", "text/plain", {"Retry-After": "0"}))

    with pytest.raises(PipelineError, match=r"^yahoo AAPL: rate limit still hit after retries \(HTTP 429\)"):
        yahoo(http_server, session)
    assert len(http_server.requests) == 4


def test_yahoo_no_sessions_in_the_range(http_server, session):
    # Yahoo's answer for a range without sessions has no timestamp array at all.
    empty = ('{"chart": {"result": [{"meta": {"symbol": "AAPL", "exchangeTimezoneName": "America/New_York"}, '
             '"indicators": {"quote": [{}], "adjclose": [{}]}}], "error": null}}')
    http_server.serve(YAHOO_PATH, json_reply(empty))

    with pytest.raises(PipelineError, match=r"^yahoo AAPL: no rows from data.start=2030-01-01 onwards"):
        yahoo(http_server, session, start="2030-01-01")


def test_download_range_outside_the_answer_names_what_the_provider_has(http_server, session):
    http_server.serve(YAHOO_PATH, json_reply(fmt.yahoo_chart(TRADED)))

    with pytest.raises(PipelineError, match=r"^yahoo AAPL: no rows between data.start=2020-09-02 and data.end=None "
                                            r"\(the provider has 2020-08-27 \.\. 2020-09-01\)$"):
        download("yahoo", session, http_server.url + "/", "AAPL", "2020-09-02", None, adjusted=True, today=TODAY)


def test_yahoo_without_adjclose_refuses_adjusted_prices(http_server, session):
    http_server.serve(YAHOO_PATH, json_reply(fmt.yahoo_chart(TRADED, with_adjclose=False)))

    with pytest.raises(PipelineError, match=r"no adjclose series.*set data.adjusted: false"):
        yahoo(http_server, session)


def test_yahoo_columns_of_different_lengths_are_malformed(http_server, session):
    body = json.loads(fmt.yahoo_chart(TRADED))
    del body["chart"]["result"][0]["indicators"]["quote"][0]["close"][0]
    http_server.serve(YAHOO_PATH, json_reply(json.dumps(body)))

    with pytest.raises(PipelineError, match=r"^yahoo AAPL: malformed chart JSON \(close has 3 values for 4 timest"):
        yahoo(http_server, session)


# --- Stooq -------------------------------------------------------------------------------------


def test_stooq_reads_its_csv_and_asks_for_the_range(http_server, session):
    http_server.serve(STOOQ_PATH, Reply(200, fmt.stooq_csv(ADJUSTED), "text/csv"))

    prices = stooq(http_server, session)

    pd.testing.assert_frame_equal(prices, ADJUSTED)
    assert http_server.requests[0].query == {"s": "aapl.us", "i": "d", "d1": "20200827", "d2": "20200901"}


def test_stooq_keeps_index_and_market_suffixes_and_sends_a_key(http_server, session):
    http_server.serve(STOOQ_PATH, Reply(200, fmt.stooq_csv(ADJUSTED), "text/csv"))

    stooq(http_server, session, ticker="^SPX", start=None, end=None, api_key=KEY)
    stooq(http_server, session, ticker="VOD.UK", start=None, end=None)

    assert [request.query for request in http_server.requests] == [
        {"s": "^spx", "i": "d", "apikey": KEY}, {"s": "vod.uk", "i": "d"}]


def test_stooq_multi_year_range(http_server, session):
    sample = sample_years()
    http_server.serve(STOOQ_PATH, Reply(200, fmt.stooq_csv(sample), "text/csv"))

    prices = download("stooq", session, http_server.url, "^SPX", "2013-01-01", "2018-12-31", adjusted=True,
                      today=TODAY)

    assert len(prices) == len(sample) == 1510
    pd.testing.assert_series_equal(prices["close"], sample["close"], check_exact=False)


def test_stooq_unknown_symbol_is_a_200_saying_no_data(http_server, session):
    http_server.serve(STOOQ_PATH, Reply(200, fmt.STOOQ_NO_DATA, "text/csv"))

    with pytest.raises(PipelineError, match=r"^stooq NOPE: Stooq has no data for 'nope.us' between "
                                            r"data.start=2020-08-27 and data.end=2020-09-01 \(unknown symbol"):
        stooq(http_server, session, ticker="NOPE")


def test_stooq_daily_limit_is_a_rate_limit(http_server, session):
    http_server.serve(STOOQ_PATH, Reply(200, fmt.STOOQ_LIMIT, "text/csv"))

    with pytest.raises(PipelineError, match=r"^stooq AAPL: rate limit hit \(Stooq: exceeded the daily hits limit\)"):
        stooq(http_server, session)


def test_stooq_html_page_hints_at_the_key(http_server, session):
    http_server.serve(STOOQ_PATH, Reply(200, fmt.HTML_ERROR_PAGE, "text/html"))

    with pytest.raises(PipelineError, match=r"^stooq AAPL: got an HTML page \(HTTP 200\) where CSV was expected; "
                                            r".*set STOOQ_API_KEY$"):
        stooq(http_server, session)


def test_stooq_truncated_csv(http_server, session):
    body = fmt.stooq_csv(ADJUSTED)
    http_server.serve(STOOQ_PATH, Reply(200, body[: body.rindex(",") - 2], "text/csv"))

    with pytest.raises(PipelineError, match=r"^stooq AAPL: truncated or malformed CSV \(row 5 has 5 fields, the "
                                            r"header 6\)$"):
        stooq(http_server, session)


def test_stooq_empty_body(http_server, session):
    http_server.serve(STOOQ_PATH, Reply(200, "", "text/csv"))

    with pytest.raises(PipelineError, match=r"^stooq AAPL: empty response body"):
        stooq(http_server, session)


def test_stooq_429_then_200_and_three_500s_then_200(http_server, session):
    error = Reply(500, "error", "text/plain")
    http_server.serve(STOOQ_PATH, Reply(429, "slow down", "text/plain", {"Retry-After": "0"}), error, error, error,
                      Reply(200, fmt.stooq_csv(ADJUSTED), "text/csv"))

    prices = stooq(http_server, make_session(retries=4, backoff_factor=0.001))

    assert len(http_server.requests) == 5 and len(prices) == 4


def test_stooq_key_echoed_in_a_non_csv_body_never_reaches_the_error(http_server, session):
    secret = "SEKRETst789"
    http_server.serve(STOOQ_PATH, Reply(200, f"Invalid key {secret} - get one at stooq.com", "text/csv"))

    with pytest.raises(PipelineError) as error:
        download("stooq", session, http_server.url, "AAPL", None, None, adjusted=True, today=TODAY, api_key=secret)

    assert secret not in str(error.value)
    assert str(error.value) == "stooq AAPL: not price CSV (starts with 'Invalid key *** - get one at stooq.com')"
    assert http_server.requests[0].query["apikey"] == secret


def test_stooq_has_no_raw_prices(http_server, session):
    with pytest.raises(PipelineError, match=r"^stooq AAPL: Stooq publishes adjusted prices only"):
        download("stooq", session, http_server.url, "AAPL", None, None, adjusted=False, today=TODAY)
    assert http_server.requests == []


# --- Alpha Vantage -----------------------------------------------------------------------------


def test_alphavantage_daily_is_as_traded(http_server, session):
    http_server.serve(AV_PATH, json_reply(fmt.alphavantage_daily(TRADED)))

    prices = alphavantage(http_server, session)

    pd.testing.assert_frame_equal(prices, TRADED)
    assert http_server.requests[0].query == {
        "function": "TIME_SERIES_DAILY", "symbol": "IBM", "outputsize": "full", "datatype": "json", "apikey": KEY}


def test_alphavantage_adjusted_series_gives_the_same_bars_as_yahoo(http_server, session):
    http_server.serve(AV_PATH, json_reply(fmt.alphavantage_daily_adjusted(TRADED, splits=SPLITS, dividends=DIVIDENDS)))

    prices = alphavantage(http_server, session, adjusted=True)

    pd.testing.assert_frame_equal(prices, ADJUSTED)
    assert http_server.requests[0].query["function"] == "TIME_SERIES_DAILY_ADJUSTED"


def test_alphavantage_multi_year_range(http_server, session):
    sample = sample_years()
    http_server.serve(AV_PATH, json_reply(fmt.alphavantage_daily(sample)))

    prices = download("alphavantage", session, http_server.url, "IBM", "2015-01-01", "2015-12-31", adjusted=False,
                      today=TODAY, api_key=KEY)

    assert len(prices) == 252
    assert str(prices["date"].iloc[0].date()) == "2015-01-02" and str(prices["date"].iloc[-1].date()) == "2015-12-31"


def test_alphavantage_unknown_symbol_is_a_200_with_error_message(http_server, session):
    http_server.serve(AV_PATH, json_reply(fmt.AV_INVALID))

    with pytest.raises(PipelineError, match=r"^alphavantage IBM: unknown symbol or invalid request \(Alpha Vantage: "
                                            r"Invalid API call\."):
        alphavantage(http_server, session)


@pytest.mark.parametrize("body", [fmt.AV_NOTE, fmt.AV_DAILY_LIMIT])
def test_alphavantage_rate_limit_is_a_200_with_a_note(http_server, session, body):
    http_server.serve(AV_PATH, json_reply(body))

    with pytest.raises(PipelineError, match=r"^alphavantage IBM: rate limit hit \(Alpha Vantage: Thank you"):
        alphavantage(http_server, session)


def test_alphavantage_premium_adjusted_series_says_how_to_get_raw_prices(http_server, session):
    http_server.serve(AV_PATH, json_reply(fmt.AV_PREMIUM))

    with pytest.raises(PipelineError, match=r"^alphavantage IBM: TIME_SERIES_DAILY_ADJUSTED with outputsize=full "
                                            r"needs a premium key .*; set data.adjusted: false"):
        alphavantage(http_server, session, adjusted=True)


def test_alphavantage_html_truncated_and_empty_bodies(http_server, session):
    body = fmt.alphavantage_daily(TRADED)
    http_server.serve(AV_PATH, Reply(200, fmt.HTML_ERROR_PAGE, "text/html"), json_reply(body[:-40]), json_reply(""))

    messages = []
    for _ in range(3):
        with pytest.raises(PipelineError) as error:
            alphavantage(http_server, session)
        messages.append(str(error.value))

    assert messages[0].startswith("alphavantage IBM: got an HTML page (HTTP 200)")
    assert messages[1].startswith("alphavantage IBM: malformed or truncated JSON")
    assert messages[2].startswith("alphavantage IBM: empty response body")


def test_alphavantage_missing_key_names_the_variable(http_server, session):
    with pytest.raises(PipelineError, match=r"^alphavantage IBM: no API key; set the environment variable "
                                            r"ALPHAVANTAGE_API_KEY"):
        alphavantage(http_server, session, api_key=None)
    assert http_server.requests == []


def test_alphavantage_429_then_200_and_three_500s_then_200(http_server, session):
    error = Reply(500, "error", "text/plain")
    daily = json_reply(fmt.alphavantage_daily(TRADED))
    http_server.serve(AV_PATH, Reply(429, "", "text/plain", {"Retry-After": "0"}), daily)
    assert len(alphavantage(http_server, session)) == 4
    http_server.serve(AV_PATH, error, error, error, daily)
    assert len(alphavantage(http_server, session)) == 4
    assert len(http_server.requests) == 6


def test_alphavantage_key_never_reaches_logs_or_errors(http_server, session, caplog):
    sentinel = "SENTINEL0KEY0123"
    echo = '{"Information": "The apikey SENTINEL0KEY0123 is invalid or missing."}'
    # A dropped connection and a 500 make urllib3 log the retried URL, key included.
    http_server.serve(AV_PATH, Reply(drop=True), Reply(500, "error", "text/plain"), json_reply(echo))
    caplog.set_level(logging.DEBUG)
    # A stage run in this process quiets urllib3 (run_stage); its retry lines are what this test reads.
    caplog.set_level(logging.DEBUG, logger="urllib3")

    with pytest.raises(PipelineError) as error:
        alphavantage(http_server, session, api_key=sentinel)

    assert "Retry" in caplog.text and "apikey=***" in caplog.text
    assert sentinel not in caplog.text
    assert sentinel not in str(error.value)
    assert str(error.value).startswith("alphavantage IBM: the key in ALPHAVANTAGE_API_KEY was refused")
    assert http_server.requests[-1].query["apikey"] == sentinel


# --- Every provider ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["alphavantage", "stooq"])
def test_a_key_is_never_sent_in_clear_to_another_machine(session, source):
    with pytest.raises(PipelineError, match=rf"^{source} AAPL: http://mirror\.example is not https, and the request "
                                            r"carries the api_?key from the environment, which would travel in clear"):
        download(source, session, "http://mirror.example", "AAPL", None, None, adjusted=True, today=TODAY, api_key=KEY)


@pytest.mark.parametrize("source", LIVE_SOURCES)
def test_download_host_with_an_empty_label_is_one_line_naming_the_url(session, source):
    # A proxy from the environment would take the request and hide the bad host name.
    session.trust_env = False

    with pytest.raises(PipelineError, match=rf"^{source} AAPL: invalid URL 'https://a\.\.b/[^' ]*' \(Failed to parse: "
                                            r"'a\.\.b', label empty or too long\)$") as error:
        download(source, session, "https://a..b", "AAPL", None, None, adjusted=True, today=TODAY, api_key=KEY)
    assert KEY not in str(error.value)


# --- Intraday bars -------------------------------------------------------------------------------


def recorded_chart(shared_data, name: str) -> dict:
    return json.loads((shared_data / "api" / "yahoo" / name).read_text())["response"]["bodyJson"]


WEEKEND_1M = "chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json"


def intraday_chart(shared_data, local_times: list[str], closes: list[float]) -> str:
    """Yahoo's recorded 1-minute answer (its meta, from a real request) with these bars filled in."""
    body = recorded_chart(shared_data, WEEKEND_1M)
    result = body["chart"]["result"][0]
    stamps = pd.DatetimeIndex(local_times).tz_localize("America/New_York").tz_convert("UTC")
    result["timestamp"] = [int(stamp.timestamp()) for stamp in stamps]
    result["indicators"] = {"quote": [{"open": closes, "high": closes, "low": closes, "close": closes,
                                       "volume": [1000] * len(closes)}]}
    return json.dumps(body)


def test_yahoo_intraday_bars_are_exchange_local_starts(http_server, session, shared_data):
    http_server.serve("/v8/finance/chart/AAPL", json_reply(intraday_chart(
        shared_data, ["2025-02-03 09:30", "2025-02-03 09:31", "2025-02-03 09:32"], [230.0, 230.5, 231.0])))
    prices = yahoo_prices(session, http_server.url, "AAPL", "2025-02-03", adjusted=True,
                          today=datetime.date(2025, 2, 4), interval="1m")
    assert prices["date"].tolist() == pd.to_datetime(["2025-02-03 09:30", "2025-02-03 09:31", "2025-02-03 09:32"]
                                                     ).tolist()
    assert prices["close"].tolist() == [230.0, 230.5, 231.0]
    query = http_server.requests[0].query
    assert query["interval"] == "1m" and query["includePrePost"] == "false"


def test_yahoo_intraday_start_is_moved_within_what_yahoo_keeps(http_server, session, shared_data, caplog):
    http_server.serve("/v8/finance/chart/AAPL", json_reply(intraday_chart(shared_data, ["2025-02-03 09:30"], [1.0])))
    with caplog.at_level(logging.INFO, logger="stockpipe.adapters.sources"):
        yahoo_prices(session, http_server.url, "AAPL", "2024-01-01", adjusted=True, today=datetime.date(2025, 2, 4),
                     interval="5m")
    earliest = datetime.date(2025, 2, 4) - datetime.timedelta(days=59)
    assert int(http_server.requests[0].query["period1"]) == int(
        datetime.datetime.combine(earliest, datetime.time(), datetime.UTC).timestamp())
    assert "Yahoo serves 5m bars for the last 60 days only: asking from 2024-12-07" in caplog.text


def test_yahoo_recorded_weekend_answer_without_bars_says_so(http_server, session, shared_data):
    http_server.serve("/v8/finance/chart/AAPL", json_reply(json.dumps(recorded_chart(shared_data, WEEKEND_1M))))
    with pytest.raises(PipelineError, match=r"^yahoo AAPL: Yahoo returned no 1m bars from 2025-02-01 to 2025-02-02 "
                                            r"\(no session in that range"):
        yahoo_prices(session, http_server.url, "AAPL", "2025-02-01", adjusted=True, today=datetime.date(2025, 2, 2),
                     interval="1m")


def test_stooq_refuses_an_intraday_interval(session):
    with pytest.raises(PipelineError, match=r"^stooq AAPL: Stooq serves daily bars only, not data.interval 5m"):
        download("stooq", session, None, "AAPL", None, None, adjusted=True, today=TODAY, interval="5m")


def test_alphavantage_intraday_pages_by_month(http_server, session):
    def month(stamp, close):
        return json_reply(json.dumps({"Meta Data": {"6. Time Zone": "US/Eastern"}, "Time Series (5min)": {
            stamp: {"1. open": close, "2. high": close, "3. low": close, "4. close": close, "5. volume": "10"}}}))

    http_server.serve("/query", month("2025-01-31 15:55:00", "1.5"), month("2025-02-03 09:30:00", "2.5"))
    prices = download("alphavantage", session, http_server.url, "IBM", "2025-01-30", None, adjusted=True,
                      today=datetime.date(2025, 2, 4), api_key=KEY, interval="5m")
    assert [request.query["month"] for request in http_server.requests] == ["2025-01", "2025-02"]
    assert http_server.requests[0].query["function"] == "TIME_SERIES_INTRADAY"
    assert http_server.requests[0].query["interval"] == "5min"
    assert prices["date"].tolist() == pd.to_datetime(["2025-01-31 15:55", "2025-02-03 09:30"]).tolist()
    assert prices["close"].tolist() == [1.5, 2.5]
