"""The shared HTTP helpers; the downloaders' tests exercise them against a local server."""

import json
import socket

import pytest

from stockpipe.adapters.http import alphavantage_answer, fetch, hiding_key, make_session
from stockpipe.errors import PipelineError
from tests.http_server import Reply


def test_hiding_key_replaces_the_key_as_written_and_as_sent_in_a_query_string():
    echo = "stooq AAPL: key ab+c/d refused (/q/d/l/?apikey=ab%2Bc%2Fd)"

    with pytest.raises(PipelineError) as hidden, hiding_key("ab+c/d"):
        raise PipelineError(echo)
    with pytest.raises(PipelineError) as kept, hiding_key(None):
        raise PipelineError(echo)

    assert str(hidden.value) == "stooq AAPL: key *** refused (/q/d/l/?apikey=***)"
    assert kept.value.args == (echo,)


@pytest.mark.parametrize(("error_message", "expected"), [
    ("the parameter apikey is invalid or missing. Please claim your free API key on "
     "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds.",
     r"^alphavantage AAPL: the key in ALPHAVANTAGE_API_KEY was refused \(Alpha Vantage: the parameter apikey is "
     r"invalid or missing\. .*\)$"),
    ("Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for "
     "TIME_SERIES_DAILY.", r"^alphavantage AAPL: unknown symbol or invalid request \(Alpha Vantage: Invalid API"),
])
def test_alphavantage_error_message_names_a_refused_key(http_server, error_message, expected):
    http_server.serve("/query", Reply(200, json.dumps({"Error Message": error_message})))
    response = fetch(make_session(), f"{http_server.url}/query", {"apikey": "SECRET42"}, "alphavantage AAPL")

    with pytest.raises(PipelineError, match=expected) as error:
        alphavantage_answer(response, "alphavantage AAPL")
    assert "SECRET42" not in str(error.value) and "\n" not in str(error.value)


def closed_port() -> int:
    """A port on this machine that nothing listens on: bound, then closed."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


@pytest.mark.parametrize(("url", "problem"), [
    (f"http://127.0.0.1:{closed_port()}/prices", r"cannot connect to 127\.0\.0\.1 \(connection refused: nothing "
                                                 r"listens at that address and port\)"),
    ("http://no-such-host.invalid/prices", r"cannot connect to no-such-host\.invalid \(the name does not resolve: no "
                                           r"network, or a mistyped address\)"),
])
def test_a_connection_that_fails_says_why_in_words(url, problem, monkeypatch):
    def unknown_name(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # Whatever this machine's resolver does with .invalid, the name does not resolve.
    monkeypatch.setattr(socket, "getaddrinfo", unknown_name if "invalid" in url else socket.getaddrinfo)
    session = make_session()
    session.trust_env = False  # a proxy from the environment would answer instead
    for adapter in session.adapters.values():
        adapter.max_retries.backoff_factor = 0

    with pytest.raises(PipelineError, match=rf"^stocktwits AAPL: {problem}$"):
        fetch(session, url, {}, "stocktwits AAPL")
