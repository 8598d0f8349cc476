"""StockTwits and Reddit clients against a real HTTP server on 127.0.0.1 speaking each provider's format."""

import logging

import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.adapters import social_sources
from stockpipe.adapters.http import USER_AGENT, make_session
from stockpipe.adapters.social_sources import fetch_social, reddit, stocktwits, stocktwits_symbol
from stockpipe.errors import PipelineError
from stockpipe.social import daily_social
from tests.http_server import Reply
from tests.news_formats import HTML_PAGE
from tests.social_formats import (
    REDDIT_ATOM,
    STOCKTWITS_NOT_FOUND,
    shared_messages,
    stocktwits_message,
    stocktwits_page,
    stocktwits_pages,
)

STREAM = "/api/2/streams/symbol/AAPL.json"
TOKEN = "STTOKEN9876"


@pytest.fixture
def session():
    # Tiny backoff keeps the retry tests fast; the retry counts are the real defaults.
    return make_session(backoff_factor=0.001)


def utc(text):
    return pd.Timestamp(text, tz="UTC")


# StockTwits -----------------------------------------------------------------------------------

def test_stocktwits_pages_back_through_the_real_messages(http_server, session, shared_data):
    messages = shared_messages(shared_data, "AAPL")
    http_server.serve(STREAM, *stocktwits_pages(messages))

    posts, counts = stocktwits(session, http_server.url, "AAPL", pages=5)

    # Three pages of 30; each later one asks for the messages older than the last page's oldest.
    assert [request.query.get("max") for request in http_server.requests] == [
        None, str(messages[29]["id"]), str(messages[59]["id"])]
    assert counts == {"requests": 3, "items": 90, "items_dropped": 0, "more": False}
    assert posts[col.POST_ID].tolist() == [str(message["id"]) for message in messages]
    assert set(posts[col.FEED]) == {"stocktwits"} and set(posts[col.TICKER]) == {"AAPL"}
    # As shared/data/README.md counts them: 14 Bullish, 11 Bearish, 65 unlabelled.
    assert posts[col.LABEL].value_counts(dropna=False).to_dict() == {pd.NA: 65, "Bullish": 14, "Bearish": 11}
    assert posts[col.TIMESTAMP].iloc[0] == pd.Timestamp(messages[0]["created_at"])
    assert posts[col.LIKES].isna().all()  # the recorded messages carry no likes


def test_stocktwits_stops_at_the_page_limit_and_says_more_remain(http_server, session, shared_data):
    http_server.serve(STREAM, *stocktwits_pages(shared_messages(shared_data, "AAPL")))

    posts, counts = stocktwits(session, http_server.url, "AAPL", pages=2)

    assert len(posts) == 60 and counts["requests"] == 2 and counts["more"] is True


def test_stocktwits_bullish_share_by_hand_on_a_tiny_page(http_server, session):
    # Friday 2026-05-29 (New York close 20:00 UTC): three posts before the close, one after it,
    # which counts for Monday 2026-06-01.
    page = [stocktwits_message(4, "2026-05-29T21:00:00Z", "After the bell &amp; still long", "Bullish"),
            stocktwits_message(3, "2026-05-29T15:00:00Z", "$AAPL going down", "Bearish"),
            stocktwits_message(2, "2026-05-29T14:00:00Z", "$AAPL to the moon", "Bullish"),
            stocktwits_message(1, "2026-05-29T13:40:00Z", "$AAPL earnings soon", None)]
    http_server.serve(STREAM, Reply(200, stocktwits_page(page, more=False)))

    posts, _ = stocktwits(session, http_server.url, "AAPL", pages=5)
    daily = daily_social(posts, pd.Series([0.5, -0.5, 0.4, 0.0]), "XNYS")

    assert posts[col.TEXT].iloc[0] == "After the bell & still long"
    assert daily[col.SESSION].dt.strftime("%Y-%m-%d").tolist() == ["2026-05-29", "2026-06-01"]
    # Friday: 3 posts, 2 labelled (1 Bullish of them), mean (-0.5 + 0.4 + 0.0) / 3.
    assert daily[col.SOCIAL_COUNT].tolist() == [3, 1]
    assert daily[col.SOCIAL_LABELLED].tolist() == [2, 1]
    assert daily[col.SOCIAL_BULL_SHARE].tolist() == [0.5, 1.0]
    assert daily[col.SOCIAL_MEAN].tolist() == pytest.approx([-0.1 / 3, 0.5])


def test_stocktwits_429_then_200(http_server, session, shared_data):
    messages = shared_messages(shared_data, "AAPL")[:30]
    http_server.serve(STREAM, Reply(429, '{"response":{"status":429},"errors":[{"message":"Rate limit exceeded"}]}',
                                    "application/json", {"Retry-After": "0"}),
                      Reply(200, stocktwits_page(messages, more=False)))

    posts, counts = stocktwits(session, http_server.url, "AAPL", pages=5)

    assert len(posts) == 30 and counts["requests"] == 1 and len(http_server.requests) == 2


def test_stocktwits_429_that_persists_is_one_line(http_server, session):
    http_server.serve(STREAM, Reply(429, '{"response":{"status":429}}', "application/json", {"Retry-After": "0"}))

    with pytest.raises(PipelineError, match=r"^stocktwits AAPL: rate limit still hit after retries \(HTTP 429\)"):
        stocktwits(session, http_server.url, "AAPL", pages=5)


def test_stocktwits_unknown_symbol_is_one_line(http_server, session):
    http_server.serve("/api/2/streams/symbol/ZZZZQ.json", Reply(404, STOCKTWITS_NOT_FOUND, "application/json"))

    with pytest.raises(PipelineError) as error:
        stocktwits(session, http_server.url, "ZZZZQ", pages=5)

    assert str(error.value) == ("stocktwits ZZZZQ: StockTwits does not know the symbol ZZZZQ (HTTP 404: Symbol not "
                                "found)")


@pytest.mark.parametrize(("reply", "message"), [
    (Reply(200, HTML_PAGE, "text/html"), r"got an HTML page \(HTTP 200\) where JSON was expected"),
    (Reply(403, "<html><body><h1>403 Forbidden</h1> Cloudflare</body></html>", "text/html"),
     r"got an HTML page \(HTTP 403\) where JSON was expected"),
    (Reply(200, '{"response": {"status": 200}, "messages": [{"id": 1, "bo', "application/json"),
     r"malformed or truncated JSON"),
    (Reply(200, '{"response": {"status": 200}, "symbol": {}}', "application/json"),
     r"unexpected JSON \(no 'messages' list; got response, symbol\)"),
])
def test_stocktwits_failures_are_one_line(http_server, session, reply, message):
    http_server.serve(STREAM, reply)

    with pytest.raises(PipelineError, match=rf"^stocktwits AAPL: {message}") as error:
        stocktwits(session, http_server.url, "AAPL", pages=5)
    assert "\n" not in str(error.value)


def test_stocktwits_empty_stream_is_no_posts(http_server, session):
    http_server.serve(STREAM, Reply(200, stocktwits_page([], more=False)))

    posts, counts = stocktwits(session, http_server.url, "AAPL", pages=5)

    assert posts.empty and list(posts.columns) == col.POST_COLUMNS
    assert counts == {"requests": 1, "items": 0, "items_dropped": 0, "more": False}


def test_stocktwits_token_is_sent_but_never_reaches_errors_or_logs(http_server, session, caplog):
    # A server that keeps failing and echoes the request: the token must not survive in the message.
    body = f'{{"response": {{"status": 401}}, "errors": [{{"message": "bad token {TOKEN}"}}]}}'
    http_server.serve(STREAM, Reply(401, body, "application/json"))
    caplog.set_level(logging.DEBUG)
    # A stage run in this process quiets urllib3 (run_stage); its retry lines are what this test reads.
    caplog.set_level(logging.DEBUG, logger="urllib3")

    with pytest.raises(PipelineError) as error:
        stocktwits(session, http_server.url, "AAPL", pages=5, token=TOKEN)

    assert http_server.requests[0].query["access_token"] == TOKEN
    assert str(error.value).startswith("stocktwits AAPL: StockTwits refused the request (HTTP 401")
    assert TOKEN not in str(error.value) and "***" in str(error.value)
    assert TOKEN not in caplog.text


def test_stocktwits_token_in_retried_urls_is_redacted(http_server, session, caplog):
    http_server.serve(STREAM, Reply(503, "busy", "text/plain"))
    caplog.set_level(logging.DEBUG)
    # A stage run in this process quiets urllib3 (run_stage); its retry lines are what this test reads.
    caplog.set_level(logging.DEBUG, logger="urllib3")

    with pytest.raises(PipelineError, match=r"^stocktwits AAPL: provider error HTTP 503 after retries$") as error:
        stocktwits(session, http_server.url, "AAPL", pages=5, token=TOKEN)

    assert len(http_server.requests) == 4 and TOKEN not in str(error.value)
    assert "access_token=***" in caplog.text and TOKEN not in caplog.text


def test_stocktwits_symbol_spelling():
    assert [stocktwits_symbol(ticker) for ticker in ("AAPL", "brk-b", "^GSPC", "BTC.X")] == [
        "AAPL", "BRK.B", "GSPC", "BTC.X"]


# Reddit ---------------------------------------------------------------------------------------

def test_reddit_search_feed_with_html_entities(http_server, session):
    http_server.serve("/r/stocks/search.rss", Reply(200, REDDIT_ATOM, "application/atom+xml; charset=UTF-8"))
    http_server.serve("/r/investing/search.rss", Reply(200, REDDIT_ATOM.replace("t3_1abc0aa", "t3_1abc0bb"),
                                                       "application/atom+xml; charset=UTF-8"))

    posts, counts = reddit(session, http_server.url, "AAPL", "Apple Inc", ["stocks", "investing"], pause=0)

    request = http_server.requests[0]
    assert request.path == "/r/stocks/search.rss"
    assert request.query == {"q": 'AAPL OR "Apple Inc"', "restrict_sr": "on", "sort": "new"}
    assert request.headers["User-Agent"] == USER_AGENT
    # The same post (t3_1abc2de) found in two subreddits is one post.
    assert posts[col.POST_ID].tolist() == ["t3_1abc2de", "t3_1abc0aa", "t3_1abc0bb"]
    assert posts[col.CHANNEL].tolist() == ["stocks", "stocks", "investing"]
    assert posts[col.TEXT].iloc[0] == ('AAPL Q2 & the "AI" story: still a buy? Services margin keeps growing & '
                                       "buybacks continue. I'm adding on dips.")
    assert posts[col.TEXT].iloc[1] == "Apple <3 China? Not anymore Weak China sales."
    assert posts[col.TIMESTAMP].tolist()[:2] == [utc("2026-05-31 19:45:10"), utc("2026-05-29 13:10:00")]
    assert posts[col.LABEL].isna().all()
    assert counts == {"requests": 2, "items": 4, "items_dropped": 0}


@pytest.mark.parametrize(("reply", "message"), [
    (Reply(200, HTML_PAGE, "text/html"), r"got an HTML page \(HTTP 200\) where an Atom feed was expected"),
    (Reply(403, "<html><body>blocked</body></html>", "text/html"), r"HTTP 403 from Reddit \(blocked\)"),
    (Reply(200, REDDIT_ATOM[:900], "application/atom+xml"), r"malformed or truncated Atom feed"),
])
def test_reddit_failures_are_one_line(http_server, session, reply, message):
    http_server.serve("/r/stocks/search.rss", reply)

    with pytest.raises(PipelineError, match=rf"^reddit AAPL r/stocks: {message}"):
        reddit(session, http_server.url, "AAPL", None, ["stocks"], pause=0)


def test_reddit_429_then_200(http_server, session):
    http_server.serve("/r/stocks/search.rss", Reply(429, "Too Many Requests", "text/plain", {"Retry-After": "0"}),
                      Reply(200, REDDIT_ATOM, "application/atom+xml"))

    posts, _ = fetch_social("reddit", session, http_server.url, ticker="AAPL", query=None, subreddits=["stocks"],
                            pages=1, pause=0)

    assert len(posts) == 2 and len(http_server.requests) == 2


def test_reddit_spaces_its_requests_across_tickers_with_one_pacer(http_server, session, monkeypatch):
    for path in ("/r/stocks/search.rss", "/r/investing/search.rss"):
        http_server.serve(path, *[Reply(200, REDDIT_ATOM, "application/atom+xml")] * 2)
    waits = []
    monkeypatch.setattr(social_sources.time, "sleep", waits.append)
    # A clock that stands still: each wait is the whole pause, however long the local requests took.
    monkeypatch.setattr(social_sources.time, "monotonic", lambda: 100.0)
    pacer = social_sources.Pacer(6.0)

    for ticker in ("AAPL", "MSFT"):
        reddit(session, http_server.url, ticker, None, ["stocks", "investing"], pacer=pacer)

    # Four requests, three waits: the second ticker's first request waits for the first ticker's last.
    assert len(http_server.requests) == 4 and waits == [6.0, 6.0, 6.0]


def test_a_stocktwits_token_is_never_sent_in_clear_to_another_host(session):
    with pytest.raises(PipelineError, match=r"^stocktwits AAPL: http://mirror\.example is not https, and the request "
                                            r"carries the access_token from the environment"):
        stocktwits(session, "http://mirror.example", "AAPL", 1, token="secret-token")
