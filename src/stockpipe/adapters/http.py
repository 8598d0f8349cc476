"""One HTTP session for every provider: urllib3 retries, timeouts, clear errors, no leaked keys."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import urllib.parse
from collections.abc import Iterator
from urllib.parse import quote_plus

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import LocationValueError
from urllib3.util.retry import Retry

from stockpipe.errors import PipelineError

USER_AGENT = "stockpipe/1.0 (+https://github.com/; research pipeline)"
# Seconds to wait for a connection, then for each read.
TIMEOUT = (10, 60)
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Longest Retry-After we honour; a provider asking for more fails with a clear error instead.
MAX_RETRY_AFTER = 60.0
# The environment variable holding the Alpha Vantage key, named when the key is refused.
ALPHAVANTAGE_KEY_VARIABLE = "ALPHAVANTAGE_API_KEY"

_URLLIB3_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.poolmanager", "urllib3.connection",
                    "urllib3.response", "urllib3.util.retry")
_SECRET_PARAM = re.compile(r"((?:api_?key|apikey|token)=)[^&\s'\"]+", re.IGNORECASE)


# Where plain http is fine for a key: a test server or a proxy on this machine.
_THIS_MACHINE = ("127.0.0.1", "localhost", "::1")


def redact(text: str) -> str:
    """Replace API keys in URLs and messages with ***."""
    return _SECRET_PARAM.sub(r"\1***", text)


@contextlib.contextmanager
def hiding_key(key: str | None) -> Iterator[None]:
    """Raise a PipelineError from the block again with ``key`` replaced by ***, whatever a provider echoed.

    ``redact`` only finds keys written as ``apikey=...``; a provider may echo the key in any
    words, so a keyed request runs inside this.
    """
    try:
        yield
    except PipelineError as error:
        message = str(error)
        if key:
            # The key as sent in a query string too, should a provider echo the request's URL.
            message = message.replace(key, "***").replace(quote_plus(key), "***")
        if message == str(error):
            raise
        raise PipelineError(message) from None


class _RedactingFilter(logging.Filter):
    """urllib3 logs retried URLs, query string and key included; scrub them first."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        return True


class _CappedRetry(Retry):
    """urllib3's Retry, with Retry-After capped so a misbehaving server cannot stall a run for hours."""

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


def make_session(retries: int = 3, backoff_factor: float = 0.5) -> requests.Session:
    """A session retrying GETs on connection errors, 429 and 5xx with exponential backoff.

    Retry-After is honoured (up to ``MAX_RETRY_AFTER`` seconds). After the last retry the
    final response is returned rather than raised, so the caller can name the cause.
    """
    retry = _CappedRetry(
        total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff_factor,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}), respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # A logger's filter does not apply to records of its child loggers, so each urllib3 module
    # that logs URLs gets its own.
    for name in _URLLIB3_LOGGERS:
        urllib3_log = logging.getLogger(name)
        if not any(isinstance(existing, _RedactingFilter) for existing in urllib3_log.filters):
            urllib3_log.addFilter(_RedactingFilter())
    return session


def fetch(session: requests.Session, url: str, params: dict, what: str) -> requests.Response:
    """GET ``url`` and return a 200 response, or raise one clear line naming ``what``.

    Args:
        what: Who and what was asked for, e.g. "yahoo AAPL": it starts every error message.

    Raises:
        PipelineError: Also before any request, when ``params`` carry a key or token and ``url`` is plain
            http to another machine (a mirror in a base_url param): the key would travel in clear.
    """
    address = urllib.parse.urlsplit(url)
    secret = [name for name, value in params.items() if value and _SECRET_PARAM.search(f"{name}=x")]
    if secret and address.scheme != "https" and address.hostname not in _THIS_MACHINE:
        raise PipelineError(f"{what}: {address.scheme}://{address.hostname} is not https, and the request carries "
                            f"the {secret[0]} from the environment, which would travel in clear; use an https address")
    try:
        response = session.get(url, params=params, timeout=TIMEOUT)
    except requests.exceptions.RetryError as error:
        raise PipelineError(f"{what}: still failing after retries ({redact(str(error.args[0])[:200])})") from None
    except requests.exceptions.Timeout:
        raise PipelineError(f"{what}: no answer within {TIMEOUT[1]} s (after retries)") from None
    except requests.exceptions.ChunkedEncodingError:
        raise PipelineError(f"{what}: the answer was cut off (the connection closed mid-body)") from None
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
            LocationValueError) as error:
        # urllib3 checks some host names (an empty label, as in a..b) only when it connects, and
        # raises its own error there rather than one of requests'.
        raise PipelineError(f"{what}: invalid URL {redact(url)!r} ({redact(_root_cause(error))})") from None
    except requests.exceptions.ConnectionError as error:
        raise PipelineError(f"{what}: cannot connect to {urllib.parse.urlsplit(url).hostname} "
                            f"({redact(_connection_problem(error))})") from None
    except requests.exceptions.RequestException as error:
        raise PipelineError(f"{what}: request failed ({redact(_root_cause(error))})") from None
    if response.status_code == 429:
        raise PipelineError(f"{what}: rate limit still hit after retries (HTTP 429); wait and run again")
    if response.status_code >= 500:
        raise PipelineError(f"{what}: provider error HTTP {response.status_code} after retries")
    return response


def parse_json(response: requests.Response, what: str, repair_escapes: bool = False) -> dict:
    """The JSON body of ``response``, or one clear line when it is HTML, empty or truncated.

    Args:
        repair_escapes: Drop backslashes that start no valid JSON escape (``\\'``) when the
            body does not parse as it is; GDELT writes such escapes.
    """
    body = response.text
    if not body.strip():
        raise PipelineError(f"{what}: empty response body (HTTP {response.status_code}) where JSON was expected")
    if looks_like_html(body):
        raise PipelineError(f"{what}: got an HTML page (HTTP {response.status_code}) where JSON was expected")
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        problem = error
    if repair_escapes and problem.msg.startswith("Invalid \\escape"):
        try:
            return json.loads(_INVALID_ESCAPE.sub(_keep_valid_escape, body))
        except json.JSONDecodeError as error:
            problem = error
    raise PipelineError(f"{what}: malformed or truncated JSON ({problem.msg} at character {problem.pos})")


# Valid escapes are matched whole, so in "\\n" (an escaped backslash, then n) the second backslash is
# not taken for the start of an escape.
_INVALID_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9A-Fa-f]{4})?')


def _keep_valid_escape(match: re.Match) -> str:
    return match.group(0) if match.group(1) else ""


def excerpt(text, limit: int = 300) -> str:
    """A provider's message on one line, keys redacted, cut to ``limit`` characters."""
    flat = " ".join(redact(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def alphavantage_answer(response: requests.Response, what: str) -> dict:
    """The JSON object Alpha Vantage answered, or one line for its error shapes.

    Alpha Vantage answers errors with status 200 and an ``Error Message`` field; its
    ``Note``/``Information`` notices (rate limits, premium endpoints) are left to the
    caller, whose request decides what they mean.
    """
    body = parse_json(response, what)
    if response.status_code != 200:
        raise PipelineError(f"{what}: HTTP {response.status_code} from Alpha Vantage")
    if not isinstance(body, dict):
        raise PipelineError(f"{what}: unexpected JSON (a {type(body).__name__}, not an object)")
    if "Error Message" in body:
        refused = alphavantage_key_refused(str(body["Error Message"]), what)
        if refused:
            raise PipelineError(refused)
        raise PipelineError(
            f"{what}: unknown symbol or invalid request (Alpha Vantage: {excerpt(body['Error Message'])})"
        )
    return body


def alphavantage_key_refused(text: str, what: str) -> str | None:
    """The one line for an Alpha Vantage answer ``text`` that names the API key, else None.

    Callers test for rate-limit notices first: those name the key too ("with your API key").
    """
    lowered = text.lower()
    if "apikey" in lowered or "api key" in lowered:
        return f"{what}: the key in {ALPHAVANTAGE_KEY_VARIABLE} was refused (Alpha Vantage: {excerpt(text)})"
    return None


def looks_like_html(body: str) -> bool:
    return body.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))


def _connection_problem(error: Exception) -> str:
    """Why a connection failed, in words: a name that does not resolve (no network, most often) or a refusal."""
    text = str(error)
    if any(sign in text for sign in ("NameResolutionError", "Failed to resolve", "Name or service not known",
                                     "Temporary failure in name resolution", "nodename nor servname")):
        return "the name does not resolve: no network, or a mistyped address"
    if "Connection refused" in text:
        return "connection refused: nothing listens at that address and port"
    return _root_cause(error)


def _root_cause(error: Exception) -> str:
    text = str(error)
    reason = re.search(r"(Caused by .*)", text)
    return (reason.group(1) if reason else text)[:200]
