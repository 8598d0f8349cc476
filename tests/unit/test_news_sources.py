"""Live news providers against a real HTTP server on 127.0.0.1 speaking each provider's format."""

import datetime
import json
import logging

import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.adapters import news_sources
from stockpipe.adapters.http import make_session
from stockpipe.adapters.news_sources import (
    alphavantage,
    api_key,
    date_window,
    fetch_feed,
    finnhub,
    gdelt,
    gdelt_query,
    google_news,
    search_terms,
    split_publisher,
    yahoo_finance,
)
from stockpipe.errors import PipelineError
from tests.http_server import Reply
from tests.news_formats import GOOGLE_RSS, HTML_PAGE, YAHOO_RSS, article, av_item, finnhub_item

KEY = "TESTKEY123"
JUNE_1, JUNE_10 = datetime.date(2020, 6, 1), datetime.date(2020, 6, 10)


@pytest.fixture
def session():
    # Tiny backoff keeps the retry tests fast; the retry counts are the real defaults.
    return make_session(backoff_factor=0.001)


def json_reply(body, status=200, **headers):
    return Reply(status, body if isinstance(body, str) else json.dumps(body), "application/json", headers)


def rss_reply(body, status=200):
    return Reply(status, body, "application/rss+xml; charset=utf-8")


def utc(text):
    return pd.Timestamp(text, tz="UTC")


# RSS ------------------------------------------------------------------------------------------

def test_google_news_titles_publishers_and_times(http_server, session):
    http_server.serve("/rss/search", rss_reply(GOOGLE_RSS))

    news, counts = google_news(session, http_server.url, "AAPL", "Apple Inc")

    assert news[col.HEADLINE].tolist() == ["Apple shares rise after iPhone sales beat estimates",
                                           "Apple & Google team up on tracing", "Why Apple stock is a buy"]
    # The third item has no <source>: Google's " - Publisher" suffix is recognised all the same.
    assert news[col.PUBLISHER].tolist() == ["Reuters", "The Wall Street Journal", "Motley Fool"]
    assert news[col.TIMESTAMP].tolist() == [utc("2020-06-05 14:30"), utc("2020-06-05 21:05"), utc("2020-06-06 09:00")]
    assert (news[col.SOURCE] == "google_news").all() and (news[col.TICKER] == "AAPL").all()
    assert counts == {"requests": 1, "items": 4, "items_dropped": 1}


def test_google_news_query_is_encoded_not_spliced(http_server, session):
    http_server.serve("/rss/search", rss_reply(GOOGLE_RSS))

    google_news(session, http_server.url, "^GSPC", "S&P 500")

    # "&" inside the query stays inside q: it cannot start a parameter of its own.
    assert http_server.requests[0].query == {"q": 'GSPC OR "S&P 500"', "hl": "en-US", "gl": "US", "ceid": "US:en"}


def test_yahoo_finance_headlines_for_an_index(http_server, session):
    http_server.serve("/rss/2.0/headline", rss_reply(YAHOO_RSS))

    news, counts = yahoo_finance(session, http_server.url, "^GSPC")

    assert http_server.requests[0].query == {"s": "^GSPC", "region": "US", "lang": "en-US"}
    assert news[col.HEADLINE].tolist() == ["Stocks rally as payrolls surprise"]
    assert news[col.PUBLISHER].isna().all()
    assert news[col.TIMESTAMP].tolist() == [utc("2020-06-05 20:30")]
    assert counts["items"] == 1


@pytest.mark.parametrize(("reply", "message"), [
    (Reply(200, HTML_PAGE, "text/html"), r"got an HTML page \(HTTP 200\) where RSS was expected"),
    (rss_reply(""), r"empty response body \(HTTP 200\) where RSS was expected"),
    (Reply(404, "<html><body>Not Found</body></html>", "text/html"), r"HTTP 404 \(Not Found\)"),
    (rss_reply(YAHOO_RSS[:400]), r"malformed or truncated RSS \("),
    (rss_reply('{"not": "rss"}'), r"malformed or truncated RSS"),
    (Reply(200, YAHOO_RSS, "application/rss+xml", cut=300), r"the answer was cut off"),
])
def test_rss_failures_are_one_line(http_server, session, reply, message):
    http_server.serve("/rss/2.0/headline", reply)

    with pytest.raises(PipelineError, match=rf"^yahoo_finance AAPL: {message}"):
        yahoo_finance(session, http_server.url, "AAPL")


def test_rss_429_then_200(http_server, session):
    http_server.serve("/rss/search", Reply(429, "Too Many Requests", "text/plain", {"Retry-After": "0"}),
                      rss_reply(GOOGLE_RSS))

    news, _ = google_news(session, http_server.url, "AAPL", None)

    assert len(http_server.requests) == 2 and len(news) == 3


@pytest.mark.parametrize(("title", "publisher", "guess", "expected"), [
    ("Apple rises - Reuters", "Reuters", False, ("Apple rises", "Reuters")),
    ("Apple rises - reuters.com", "Reuters", False, ("Apple rises - reuters.com", "Reuters")),
    ("Apple rises – Barron's", None, True, ("Apple rises", "Barron's")),
    ("Apple rises - a look at why it matters now", None, True, ("Apple rises - a look at why it matters now", None)),
    ("Apple rises - Reuters", None, False, ("Apple rises - Reuters", None)),
])
def test_split_publisher(title, publisher, guess, expected):
    assert split_publisher(title, publisher, guess) == expected


# GDELT ----------------------------------------------------------------------------------------

def test_gdelt_asks_week_long_chunks_of_the_window(http_server, session):
    http_server.serve("/api/v2/doc/doc",
                      json_reply({"articles": [article("Apple shares rise", "20200605T143000Z")]}),
                      json_reply({"articles": [article("Apple &amp; Google team up", "20200609T090000Z"),
                                               article("", "20200609T100000Z"),
                                               article("Bad date", "2020-06-09")]}))

    news, counts = gdelt(session, http_server.url, "AAPL", "Apple Inc", JUNE_1, JUNE_10, pause=0)

    windows = [(request.query["startdatetime"], request.query["enddatetime"]) for request in http_server.requests]
    assert windows == [("20200601000000", "20200607235959"), ("20200608000000", "20200610235959")]
    assert {key: http_server.requests[0].query[key] for key in ("query", "mode", "format", "maxrecords")} == {
        "query": '(AAPL OR "Apple Inc") sourcelang:english', "mode": "artlist", "format": "json", "maxrecords": "250"}
    assert news[col.HEADLINE].tolist() == ["Apple shares rise", "Apple & Google team up"]
    assert news[col.TIMESTAMP].tolist() == [utc("2020-06-05 14:30"), utc("2020-06-09 09:00")]
    assert news[col.PUBLISHER].tolist() == ["reuters.com", "reuters.com"]
    assert counts == {"requests": 2, "items": 4, "items_dropped": 2, "full_chunks": 0}


def test_gdelt_splits_a_full_chunk_in_two(http_server, session, monkeypatch):
    monkeypatch.setattr(news_sources, "GDELT_MAX_RECORDS", 2)
    full = json_reply({"articles": [article("a", "20200601T080000Z"), article("b", "20200601T200000Z")]})
    http_server.serve("/api/v2/doc/doc", full, json_reply({"articles": [article("a", "20200601T080000Z")]}),
                      json_reply({"articles": [article("b", "20200601T200000Z")]}))

    news, counts = gdelt(session, http_server.url, "AAPL", None, JUNE_1, JUNE_1, pause=0)

    windows = [(request.query["startdatetime"], request.query["enddatetime"]) for request in http_server.requests]
    assert windows == [("20200601000000", "20200601235959"), ("20200601000000", "20200601115959"),
                       ("20200601120000", "20200601235959")]
    assert news[col.HEADLINE].tolist() == ["a", "b"]
    assert counts["full_chunks"] == 0


def test_gdelt_keeps_a_chunk_still_full_at_the_shortest_span(http_server, session, monkeypatch):
    monkeypatch.setattr(news_sources, "GDELT_MAX_RECORDS", 1)
    monkeypatch.setattr(news_sources, "GDELT_MIN_CHUNK", datetime.timedelta(hours=12))
    http_server.serve("/api/v2/doc/doc", json_reply({"articles": [article("a", "20200601T080000Z")]}))

    news, counts = gdelt(session, http_server.url, "AAPL", None, JUNE_1, JUNE_1, pause=0)

    assert counts["requests"] == 3 and counts["full_chunks"] == 2
    assert len(news) == 2


def test_gdelt_empty_answer_is_no_articles(http_server, session):
    http_server.serve("/api/v2/doc/doc", json_reply("{}"))

    news, counts = gdelt(session, http_server.url, "AAPL", None, JUNE_1, JUNE_1, pause=0)

    assert news.empty and counts["items"] == 0


@pytest.mark.parametrize(("reply", "message"), [
    (Reply(200, "The specified phrase is too short.", "text/html"),
     r"GDELT refused the request: The specified phrase is too short\.$"),
    (Reply(200, HTML_PAGE, "text/html"), r"got an HTML page \(HTTP 200\) where JSON was expected"),
    (json_reply('{"articles": [{"url": "https://x", "title": "Ap'), r"malformed or truncated JSON"),
    # Cut off after an invalid escape: repairing the escape leaves it truncated all the same.
    (json_reply('{"articles": [{"url": "https://x", "title": "Apple\\\'s'), r"malformed or truncated JSON"),
    (json_reply(""), r"empty response body"),
    (json_reply({"articles": "none"}), r"unexpected JSON \('articles' is a str, not a list\)"),
    (Reply(404, "<html>Not Found</html>", "text/html"), r"HTTP 404 from GDELT"),
])
def test_gdelt_failures_are_one_line(http_server, session, reply, message):
    http_server.serve("/api/v2/doc/doc", reply)

    with pytest.raises(PipelineError, match=rf"^gdelt AAPL: {message}"):
        gdelt(session, http_server.url, "AAPL", None, JUNE_1, JUNE_1, pause=0)


def test_gdelt_429_then_200(http_server, session):
    http_server.serve("/api/v2/doc/doc", Reply(429, "Too Many Requests", "text/plain", {"Retry-After": "0"}),
                      json_reply({"articles": [article("a", "20200601T080000Z")]}))

    news, _ = gdelt(session, http_server.url, "AAPL", None, JUNE_1, JUNE_1, pause=0)

    assert len(news) == 1 and len(http_server.requests) == 2


THROTTLE = "Please limit requests to one every 5 seconds or contact kalev.leetaru5@gmail.com for larger queries."


def test_gdelt_invalid_escapes_are_repaired(http_server, session):
    # GDELT writes \' for an apostrophe, which JSON does not allow; \\ and \u00e9 are valid and kept.
    body = json.dumps({"articles": [article("Apple's shares rise", "20200601T080000Z"),
                                    article("Caf\u00e9 \\ Apple", "20200601T090000Z")]}, ensure_ascii=True)
    body = body.replace("Apple's", "Apple\\'s")
    assert "Apple\\'s" in body
    http_server.serve("/api/v2/doc/doc", json_reply(body))

    news, _ = gdelt(session, http_server.url, "AAPL", None, JUNE_1, JUNE_1, pause=0)

    assert news[col.HEADLINE].tolist() == ["Apple's shares rise", "Caf\u00e9 \\ Apple"]


def test_gdelt_throttle_notice_with_200_is_retried(http_server, session):
    http_server.serve("/api/v2/doc/doc", Reply(200, THROTTLE, "text/html"),
                      json_reply({"articles": [article("a", "20200601T080000Z")]}))

    news, counts = gdelt(session, http_server.url, "AAPL", None, JUNE_1, JUNE_1, pause=0)

    assert len(news) == 1 and counts["requests"] == 2
    assert http_server.requests[0].query == http_server.requests[1].query


def test_gdelt_throttle_notice_that_persists_fails_in_one_line(http_server, session, monkeypatch):
    monkeypatch.setattr(news_sources, "GDELT_THROTTLE_RETRIES", 2)
    http_server.serve("/api/v2/doc/doc", Reply(200, THROTTLE, "text/html"))

    with pytest.raises(PipelineError, match=r"^gdelt AAPL: GDELT still asks for fewer requests after 2 retries "
                                            r"\(Please limit requests to one every 5 seconds.*\); wait and run again$"):
        gdelt(session, http_server.url, "AAPL", None, JUNE_1, JUNE_1, pause=0)
    assert len(http_server.requests) == 3


def test_gdelt_query_needs_three_characters():
    assert gdelt_query("AAPL", None) == "AAPL sourcelang:english"
    assert gdelt_query("^GSPC", "S&P 500") == '(GSPC OR "S&P 500") sourcelang:english'
    assert gdelt_query("A", "Agilent") == "Agilent sourcelang:english"
    with pytest.raises(PipelineError, match=r"^gdelt A: the ticker is too short .* set news\.query"):
        gdelt_query("A", None)


# Alpha Vantage --------------------------------------------------------------------------------

def av_page(*items):
    return json_reply({"items": str(len(items)), "sentiment_score_definition": "x", "relevance_score_definition": "y",
                       "feed": list(items)})


def test_alphavantage_pages_forward_in_time(http_server, session, monkeypatch):
    monkeypatch.setattr(news_sources, "ALPHAVANTAGE_PAGE", 2)
    first, second, third = (av_item("Apple rises", "20200605T143000"), av_item("Apple falls", "20200605T150000"),
                            av_item("Apple flat", "20200606T090000"))
    http_server.serve("/query", av_page(first, second), av_page(second, third), av_page(third))

    news, counts = alphavantage(session, http_server.url, "AAPL", JUNE_1, JUNE_10, key=KEY, pause=0)

    assert [request.query["time_from"] for request in http_server.requests] == [
        "20200601T0000", "20200605T1500", "20200606T0900"]
    assert {key: http_server.requests[0].query[key] for key in ("function", "tickers", "time_to", "sort", "limit",
                                                                "apikey")} == {
        "function": "NEWS_SENTIMENT", "tickers": "AAPL", "time_to": "20200610T2359", "sort": "EARLIEST",
        "limit": "2", "apikey": KEY}
    assert news[col.HEADLINE].tolist() == ["Apple rises", "Apple falls", "Apple flat"]
    assert news[col.TIMESTAMP].tolist() == [utc("2020-06-05 14:30"), utc("2020-06-05 15:00"), utc("2020-06-06 09:00")]
    assert news[col.PUBLISHER].tolist() == ["Benzinga"] * 3
    assert counts == {"requests": 3, "items": 3, "items_dropped": 0}


def test_alphavantage_a_full_minute_moves_on(http_server, session, monkeypatch):
    monkeypatch.setattr(news_sources, "ALPHAVANTAGE_PAGE", 2)
    same = [av_item(f"news {n}", "20200601T000000", url=f"https://x/{n}") for n in range(2)]
    http_server.serve("/query", av_page(*same), av_page())

    alphavantage(session, http_server.url, "AAPL", JUNE_1, JUNE_10, key=KEY, pause=0)

    assert [request.query["time_from"] for request in http_server.requests] == ["20200601T0000", "20200601T0001"]


def test_alphavantage_pauses_between_pages(http_server, session, monkeypatch):
    monkeypatch.setattr(news_sources, "ALPHAVANTAGE_PAGE", 1)
    http_server.serve("/query", av_page(av_item("a", "20200605T143000")), av_page(av_item("b", "20200606T090000")),
                      av_page())

    pauses = []
    monkeypatch.setattr(news_sources.time, "sleep", pauses.append)
    alphavantage(session, http_server.url, "AAPL", JUNE_1, JUNE_10, key=KEY, pause=0.2)

    # Three pages, two pauses; free keys are refused more than one request a second.
    assert len(http_server.requests) == 3 and pauses == [0.2, 0.2]
    assert news_sources.ALPHAVANTAGE_PAUSE_SECONDS >= 1


@pytest.mark.parametrize(("body", "message"), [
    ({"Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day."},
     r"rate limit hit \(Alpha Vantage: Thank you"),
    ({"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute."},
     r"rate limit hit"),
    ({"Information": "The **demo** API key is for demo purposes only. Please claim your free API key."},
     r"the key in ALPHAVANTAGE_API_KEY was refused"),
    ({"Error Message": "Invalid API call. Please retry or visit the documentation."},
     r"unknown symbol or invalid request"),
    ({"Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on "
                       "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."},
     r"the key in ALPHAVANTAGE_API_KEY was refused \(Alpha Vantage: the parameter apikey is invalid"),
    ({"items": "0"}, r"no 'feed' list in the answer \(keys: items\)"),
    ([], r"unexpected JSON \(a list, not an object\)"),
])
def test_alphavantage_notices_are_one_line(http_server, session, body, message):
    http_server.serve("/query", json_reply(body))

    with pytest.raises(PipelineError, match=rf"^alphavantage AAPL: {message}"):
        alphavantage(session, http_server.url, "AAPL", JUNE_1, JUNE_10, key=KEY)


def test_alphavantage_without_key(http_server, session):
    with pytest.raises(PipelineError, match=r"^alphavantage AAPL: no API key; set the environment variable "
                                            r"ALPHAVANTAGE_API_KEY$"):
        alphavantage(session, http_server.url, "AAPL", JUNE_1, JUNE_10, key=None)
    assert http_server.requests == []


def test_alphavantage_key_never_reaches_errors(http_server, session):
    http_server.serve("/query", json_reply({"Information": f"the apikey {KEY} is invalid"}))

    with pytest.raises(PipelineError) as error:
        alphavantage(session, http_server.url, "AAPL", JUNE_1, JUNE_10, key=KEY)

    assert KEY not in str(error.value) and "***" in str(error.value)


# Finnhub --------------------------------------------------------------------------------------

def test_finnhub_asks_a_week_at_a_time(http_server, session):
    # 1591367400 is 2020-06-05 14:30 UTC; 1591693200 is 2020-06-09 09:00 UTC.
    http_server.serve("/api/v1/company-news",
                      json_reply([finnhub_item(1, "Apple shares rise", 1591367400), finnhub_item(2, "No time", 0)]),
                      json_reply([finnhub_item(1, "Apple shares rise", 1591367400),
                                  finnhub_item(3, "Apple falls", 1591693200)]))

    news, counts = finnhub(session, http_server.url, "AAPL", JUNE_1, JUNE_10, key=KEY)

    assert [(request.query["from"], request.query["to"]) for request in http_server.requests] == [
        ("2020-06-01", "2020-06-07"), ("2020-06-08", "2020-06-10")]
    assert http_server.requests[0].query["symbol"] == "AAPL" and http_server.requests[0].query["token"] == KEY
    assert news[col.HEADLINE].tolist() == ["Apple shares rise", "Apple falls"]
    assert news[col.TIMESTAMP].tolist() == [utc("2020-06-05 14:30"), utc("2020-06-09 09:00")]
    assert counts == {"requests": 2, "items": 3, "items_dropped": 1}


@pytest.mark.parametrize(("reply", "message"), [
    (json_reply({"error": "Invalid API key."}, status=401),
     r"the key in FINNHUB_API_KEY was refused \(HTTP 401, Finnhub: Invalid API key\.\)"),
    (json_reply({"error": "You don't have access to this resource."}, status=403),
     r"this key has no access to company-news for that range \(HTTP 403"),
    (json_reply('[{"category": "company", "datetime": 15913'), r"malformed or truncated JSON"),
    (Reply(200, HTML_PAGE, "text/html"), r"got an HTML page \(HTTP 200\)"),
    (json_reply({"s": "no_data"}), r"unexpected JSON \(a dict, not a list of news\)"),
])
def test_finnhub_failures_are_one_line(http_server, session, reply, message):
    http_server.serve("/api/v1/company-news", reply)

    with pytest.raises(PipelineError, match=rf"^finnhub AAPL: {message}") as error:
        finnhub(session, http_server.url, "AAPL", JUNE_1, JUNE_1, key=KEY)
    assert KEY not in str(error.value)


def test_finnhub_429_then_200_and_the_token_never_reaches_logs(http_server, session, caplog):
    http_server.serve("/api/v1/company-news", Reply(drop=True),
                      Reply(429, "Too Many Requests", "text/plain", {"Retry-After": "0"}),
                      json_reply([finnhub_item(1, "Apple shares rise", 1591367400)]))
    caplog.set_level(logging.DEBUG)
    # A stage run in this process quiets urllib3 (run_stage); its retry lines are what this test reads.
    caplog.set_level(logging.DEBUG, logger="urllib3")

    news, _ = finnhub(session, http_server.url, "AAPL", JUNE_1, JUNE_1, key=KEY)

    assert len(news) == 1 and len(http_server.requests) == 3
    assert "token=***" in caplog.text
    assert KEY not in caplog.text


def test_finnhub_without_key(http_server, session):
    with pytest.raises(PipelineError, match=r"^finnhub AAPL: no API key; set the environment variable FINNHUB_API_KEY"):
        finnhub(session, http_server.url, "AAPL", JUNE_1, JUNE_1, key=None)


# Shared ---------------------------------------------------------------------------------------

def test_api_key_comes_from_the_environment_only():
    assert api_key("finnhub", {"FINNHUB_API_KEY": " abc "}) == "abc"
    with pytest.raises(PipelineError, match=r"^alphavantage: no API key; set the environment variable "
                                            r"ALPHAVANTAGE_API_KEY \(keys are read from the environment only"):
        api_key("alphavantage", {"ALPHAVANTAGE_API_KEY": "  "})


def test_date_window_defaults_to_what_each_provider_serves():
    today = datetime.date(2020, 6, 10)

    assert date_window("gdelt", None, None, today) == (datetime.date(2020, 3, 12), today)
    assert date_window("finnhub", None, None, today) == (datetime.date(2019, 6, 11), today)
    assert date_window("alphavantage", "2020-01-01", "2020-02-01", today) == (datetime.date(2020, 1, 1),
                                                                              datetime.date(2020, 2, 1))
    assert date_window("google_news", "2020-01-01", None, today) is None
    with pytest.raises(PipelineError, match=r"^gdelt: news\.start 2020-07-01 is after the end of the window"):
        date_window("gdelt", "2020-07-01", None, today)


def test_search_terms():
    assert search_terms("AAPL", None) == ["AAPL"]
    assert search_terms("^GSPC", "S&P 500") == ["GSPC", '"S&P 500"']
    assert search_terms("BRK.B", "Berkshire") == ["BRKB", "Berkshire"]
    assert search_terms("A", "Agilent", min_symbol=2) == ["Agilent"]


def test_fetch_feed_uses_the_provider_address_unless_given_one(http_server, session):
    http_server.serve("/rss/2.0/headline", rss_reply(YAHOO_RSS))

    news, _ = fetch_feed("yahoo_finance", session, http_server.url + "/", ticker="^GSPC", query=None, window=None)

    assert len(news) == 1
    assert news_sources.DEFAULT_BASE_URLS["gdelt"] == "https://api.gdeltproject.org"
