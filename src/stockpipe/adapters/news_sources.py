"""Headlines from live providers: Google News and Yahoo Finance RSS, GDELT, Alpha Vantage, Finnhub.

Each fetcher takes the HTTP session (``http.make_session``) and the provider's base URL, so
tests point it at a local server, and returns the news table of ``news.news_frame`` plus
counts of what it asked and dropped. Every failure is one PipelineError line that starts
with the feed and the ticker. What each provider serves for free is short:

- Google News RSS and Yahoo Finance's headline RSS: the latest items only (about 100 and
  20), no dates can be asked for.
- GDELT DOC 2.0: articles seen in roughly the last three months, at most 250 per request.
- Alpha Vantage NEWS_SENTIMENT: from 2022-03 on, at most 1000 items per request, 25
  requests a day with a free key.
- Finnhub company-news: the last year with a free key.
"""

from __future__ import annotations

import calendar
import datetime
import io
import logging
import re
import time
from xml.sax import SAXException

import feedparser
import pandas as pd
import requests
from tqdm import tqdm

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
from stockpipe.news import clean_headline, empty_news, news_frame

log = logging.getLogger(__name__)

DEFAULT_BASE_URLS = {
    "google_news": "https://news.google.com",
    "yahoo_finance": "https://feeds.finance.yahoo.com",
    "gdelt": "https://api.gdeltproject.org",
    "alphavantage": "https://www.alphavantage.co",
    "finnhub": "https://finnhub.io",
}
FEEDS = tuple(DEFAULT_BASE_URLS)
# news.source names and the feeds each one reads.
SOURCE_FEEDS = {"rss": ("google_news", "yahoo_finance"), "gdelt": ("gdelt",), "alphavantage": ("alphavantage",),
                "finnhub": ("finnhub",)}
# Environment variables holding API keys: keys never go into params, dvc.lock or logs.
API_KEY_VARIABLES = {"alphavantage": ALPHAVANTAGE_KEY_VARIABLE, "finnhub": "FINNHUB_API_KEY"}
# Days asked for when news.start is null: about what each provider serves for free.
DEFAULT_LOOKBACK_DAYS = {"gdelt": 90, "alphavantage": 365, "finnhub": 365}

GDELT_MAX_RECORDS = 250
GDELT_CHUNK = datetime.timedelta(days=7)
# A GDELT chunk still full at this span is kept as it is (its count is reported).
GDELT_MIN_CHUNK = datetime.timedelta(hours=1)
# GDELT asks for one request every 5 seconds.
GDELT_PAUSE_SECONDS = 5.0
# GDELT sometimes answers its "Please limit requests" notice with HTTP 200 rather than 429;
# the chunk is asked again this many times, a pause apart, before the fetch fails.
GDELT_THROTTLE_RETRIES = 3
ALPHAVANTAGE_PAGE = 1000
# Free Alpha Vantage keys are refused more than one request a second.
ALPHAVANTAGE_PAUSE_SECONDS = 1.0
FINNHUB_CHUNK_DAYS = 7

_GDELT_TIME = "%Y%m%dT%H%M%SZ"
_ALPHAVANTAGE_TIME = "%Y%m%dT%H%M%S"


def api_key(feed: str, environ) -> str:
    """The feed's API key from the environment, or one line saying which variable to set."""
    variable = API_KEY_VARIABLES[feed]
    key = (environ.get(variable) or "").strip()
    if not key:
        raise PipelineError(f"{feed}: no API key; set the environment variable {variable} (keys are read from the "
                            "environment only, never from params.yaml)")
    return key


def date_window(feed: str, start: str | None, end: str | None,
                today: datetime.date) -> tuple[datetime.date, datetime.date] | None:
    """The dates to ask a dated feed for: news.start/news.end, else the feed's free window.

    None for the RSS feeds, which serve their latest items and take no dates.
    """
    if feed not in DEFAULT_LOOKBACK_DAYS:
        return None
    last = datetime.date.fromisoformat(end) if end else today
    first = datetime.date.fromisoformat(start) if start else last - datetime.timedelta(days=DEFAULT_LOOKBACK_DAYS[feed])
    if first > last:
        raise PipelineError(f"{feed}: news.start {first} is after the end of the window {last}")
    return first, last


def search_terms(ticker: str, query: str | None, min_symbol: int = 1) -> list[str]:
    """Search terms for a ticker: its letters and digits ("^GSPC" -> "GSPC"), and news.query.

    Both are validated upstream (params) to letters, digits and a few punctuation marks, so
    neither can close a quote or add a search operator; requests encodes them into the URL.
    """
    symbol = re.sub(r"[^A-Za-z0-9]", "", ticker.split("=")[0])
    terms = [symbol] if len(symbol) >= min_symbol else []
    if query:
        terms.append(f'"{query}"' if " " in query else query)
    return terms


def fetch_feed(feed: str, session: requests.Session, base_url: str | None, *, ticker: str, query: str | None,
               window: tuple[datetime.date, datetime.date] | None, key: str | None = None,
               pause: float = GDELT_PAUSE_SECONDS) -> tuple[pd.DataFrame, dict]:
    """Headlines of one feed for ``ticker``.

    Args:
        base_url: A mirror or proxy of the provider; None for its public address.
        window: First and last date for the dated feeds (gdelt, alphavantage, finnhub).
        key: The API key, for alphavantage and finnhub.
        pause: Seconds between GDELT requests.

    Returns:
        The news table (timestamps in UTC), and counts: requests made, items read, items
        dropped for a missing title or date, and chunks GDELT left full.
    """
    base = (base_url or DEFAULT_BASE_URLS[feed]).rstrip("/")
    if feed == "google_news":
        return google_news(session, base, ticker, query)
    if feed == "yahoo_finance":
        return yahoo_finance(session, base, ticker)
    if feed == "gdelt":
        return gdelt(session, base, ticker, query, *window, pause=pause)
    if feed == "alphavantage":
        return alphavantage(session, base, ticker, *window, key=key)
    if feed == "finnhub":
        return finnhub(session, base, ticker, *window, key=key)
    raise PipelineError(f"news: unknown feed {feed!r} (one of {', '.join(FEEDS)})")


# RSS ------------------------------------------------------------------------------------------

def google_news(session: requests.Session, base_url: str, ticker: str, query: str | None) -> tuple[pd.DataFrame, dict]:
    """Google News' RSS search for the ticker and news.query, US English edition."""
    what = f"google_news {ticker}"
    terms = search_terms(ticker, query, min_symbol=2)
    if not terms:
        raise PipelineError(f"{what}: nothing to search for; set news.query (e.g. the company's name)")
    params = {"q": " OR ".join(terms), "hl": "en-US", "gl": "US", "ceid": "US:en"}
    response = fetch(session, f"{base_url}/rss/search", params, what)
    return parse_rss(response.content, "google_news", ticker, what, status=response.status_code)


def yahoo_finance(session: requests.Session, base_url: str, ticker: str) -> tuple[pd.DataFrame, dict]:
    """Yahoo Finance's headline RSS for the ticker."""
    what = f"yahoo_finance {ticker}"
    params = {"s": ticker, "region": "US", "lang": "en-US"}
    response = fetch(session, f"{base_url}/rss/2.0/headline", params, what)
    return parse_rss(response.content, "yahoo_finance", ticker, what, status=response.status_code)


def parse_rss(body: bytes, feed: str, ticker: str, what: str, status: int = 200) -> tuple[pd.DataFrame, dict]:
    """Items of an RSS or Atom feed: title (HTML stripped, " - Publisher" split off) and time.

    Google News ends each title with " - " and the outlet and names it in <source>; the
    suffix is split off into the publisher column when it matches <source>, or, on Google
    News, when <source> is missing and the last " - " part is short like a name.
    """
    text = body.decode("utf-8", errors="replace")
    if status != 200:
        raise PipelineError(f"{what}: HTTP {status} ({excerpt(_TAG_TEXT.sub(' ', text), 120) or 'no body'})")
    if not text.strip():
        raise PipelineError(f"{what}: empty response body (HTTP 200) where RSS was expected")
    if looks_like_html(text):
        raise PipelineError(f"{what}: got an HTML page (HTTP 200) where RSS was expected (a consent or error page?)")
    # A file object, never bytes: feedparser would take bytes that look like a URL or a path
    # as one and fetch or open it.
    parsed = feedparser.parse(io.BytesIO(body))
    problem = parsed.get("bozo_exception")
    if isinstance(problem, SAXException) or not parsed.get("version"):
        reason = f" ({excerpt(str(problem), 80)})" if problem else ""
        raise PipelineError(f"{what}: malformed or truncated RSS{reason}")
    stamps, titles, publishers = [], [], []
    dropped = 0
    for entry in parsed.entries:
        moment = entry.get("published_parsed") or entry.get("updated_parsed")
        title = clean_headline(entry.get("title"))
        if moment is None or not title:
            dropped += 1
            continue
        publisher = clean_headline((entry.get("source") or {}).get("title")) or None
        title, publisher = split_publisher(title, publisher, guess=feed == "google_news")
        stamps.append(pd.Timestamp(calendar.timegm(moment), unit="s", tz="UTC"))
        titles.append(title)
        publishers.append(publisher)
    counts = {"requests": 1, "items": len(parsed.entries), "items_dropped": dropped}
    return news_frame(stamps, titles, ticker, feed, publishers), counts


_TAG_TEXT = re.compile(r"<[^>]*>")
# A trailing " - Reuters", " - The Wall Street Journal": at most five words, no sentence marks.
_PUBLISHER_SUFFIX = re.compile(r"^(?P<title>.{8,}?)\s+[-\u2013\u2014|]\s+(?P<publisher>[^-\u2013\u2014|.!?:]{2,40})$")


def split_publisher(title: str, publisher: str | None, guess: bool = False) -> tuple[str, str | None]:
    """Split " - Publisher" off a title: when it names ``publisher``, or (``guess``) looks like a name."""
    if publisher:
        for dash in (" - ", " \u2013 ", " \u2014 ", " | "):
            suffix = f"{dash}{publisher}"
            if title.lower().endswith(suffix.lower()) and len(title) > len(suffix):
                return title[: -len(suffix)].rstrip(), publisher
        return title, publisher
    if guess:
        match = _PUBLISHER_SUFFIX.match(title)
        if match and len(match.group("publisher").split()) <= 5:
            return match.group("title"), match.group("publisher").strip()
    return title, None


# GDELT ----------------------------------------------------------------------------------------

def gdelt_query(ticker: str, query: str | None) -> str:
    """GDELT's query: ticker and news.query ORed, English sources only.

    GDELT refuses keywords shorter than three characters, so a short ticker ("A") needs
    news.query.
    """
    terms = search_terms(ticker, query, min_symbol=3)
    if not terms:
        raise PipelineError(f"gdelt {ticker}: the ticker is too short for GDELT's search (3 characters at least); "
                            "set news.query (e.g. the company's name)")
    joined = terms[0] if len(terms) == 1 else f"({' OR '.join(terms)})"
    return f"{joined} sourcelang:english"


def gdelt(session: requests.Session, base_url: str, ticker: str, query: str | None, first: datetime.date,
          last: datetime.date, *, pause: float = GDELT_PAUSE_SECONDS) -> tuple[pd.DataFrame, dict]:
    """GDELT DOC 2.0 article list for ``first`` .. ``last`` (UTC days), in chunks.

    GDELT answers at most 250 articles per request, so the window is asked for in
    week-long chunks, and a chunk that comes back full is split in two and asked again,
    down to an hour; one still full then is kept and counted in ``full_chunks``.
    """
    what = f"gdelt {ticker}"
    search = gdelt_query(ticker, query)
    start = datetime.datetime.combine(first, datetime.time(), tzinfo=datetime.UTC)
    stop = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC)
    pending = []
    moment = start
    while moment < stop:
        pending.append((moment, min(moment + GDELT_CHUNK, stop)))
        moment += GDELT_CHUNK
    pending.reverse()
    articles: list[dict] = []
    counts = {"requests": 0, "items": 0, "items_dropped": 0, "full_chunks": 0}
    with tqdm(total=(stop - start).days, desc="gdelt", unit=" days", disable=None, leave=False) as progress:
        while pending:
            chunk_start, chunk_stop = pending.pop()
            params = {"query": search, "mode": "artlist", "format": "json", "maxrecords": GDELT_MAX_RECORDS,
                      "sort": "datedesc", "startdatetime": chunk_start.strftime("%Y%m%d%H%M%S"),
                      # GDELT's end is inclusive; the next chunk starts one second later.
                      "enddatetime": (chunk_stop - datetime.timedelta(seconds=1)).strftime("%Y%m%d%H%M%S")}
            for _ in range(GDELT_THROTTLE_RETRIES + 1):
                if counts["requests"]:
                    time.sleep(pause)
                response = fetch(session, f"{base_url}/api/v2/doc/doc", params, what)
                counts["requests"] += 1
                if not _gdelt_throttled(response):
                    break
            else:
                raise PipelineError(f"{what}: GDELT still asks for fewer requests after {GDELT_THROTTLE_RETRIES} "
                                    f"retries ({excerpt(response.text, 120)}); wait and run again")
            found = _gdelt_articles(response, what)
            if len(found) >= GDELT_MAX_RECORDS and chunk_stop - chunk_start > GDELT_MIN_CHUNK:
                middle = chunk_start + (chunk_stop - chunk_start) / 2
                pending += [(middle, chunk_stop), (chunk_start, middle)]
                continue
            if len(found) >= GDELT_MAX_RECORDS:
                counts["full_chunks"] += 1
            articles += found
            progress.update((chunk_stop - chunk_start) / datetime.timedelta(days=1))
    if counts["full_chunks"]:
        log.warning("%s: %d hour-long chunks held %d+ articles each; later ones were not returned", what,
                    counts["full_chunks"], GDELT_MAX_RECORDS)
    frame, items, dropped = _articles_frame(articles, "gdelt", ticker, "title", "seendate", _GDELT_TIME, "domain")
    counts["items"], counts["items_dropped"] = items, dropped
    return frame, counts


def _gdelt_throttled(response: requests.Response) -> bool:
    """Whether GDELT answered its "Please limit requests to one every 5 seconds" notice with HTTP 200."""
    return response.status_code == 200 and response.text.lstrip().lower().startswith("please limit requests")


def _gdelt_articles(response: requests.Response, what: str) -> list[dict]:
    """The ``articles`` of one GDELT answer; GDELT explains a bad query in plain text."""
    text = response.text.strip()
    if response.status_code != 200:
        page = excerpt(_TAG_TEXT.sub(" ", text), 120)
        raise PipelineError(f"{what}: HTTP {response.status_code} from GDELT ({page})")
    if text and not looks_like_html(text) and text[0] not in "{[":
        raise PipelineError(f"{what}: GDELT refused the request: {excerpt(text, 160)}")
    # GDELT writes invalid escapes such as \' in titles now and then.
    body = parse_json(response, what, repair_escapes=True)
    if not isinstance(body, dict):
        raise PipelineError(f"{what}: unexpected JSON (a {type(body).__name__}, not an object)")
    # GDELT answers {} when nothing matched.
    articles = body.get("articles", [])
    if not isinstance(articles, list):
        raise PipelineError(f"{what}: unexpected JSON ('articles' is a {type(articles).__name__}, not a list)")
    return articles


# Alpha Vantage --------------------------------------------------------------------------------

def alphavantage(session: requests.Session, base_url: str, ticker: str, first: datetime.date, last: datetime.date,
                 *, key: str | None, pause: float = ALPHAVANTAGE_PAUSE_SECONDS) -> tuple[pd.DataFrame, dict]:
    """Alpha Vantage NEWS_SENTIMENT for the ticker, oldest first, paged by time.

    Each request asks for the 1000 earliest items from ``time_from``; when it comes back
    full, the next one starts at the minute of the last item, ``pause`` seconds later, and
    items seen twice are dropped by URL. Alpha Vantage writes times without a zone; they
    are read as UTC.
    """
    return _with_key("alphavantage", key, lambda what: _alphavantage(session, base_url, ticker, first, last, key,
                                                                     what, pause), ticker)


def _alphavantage(session, base_url, ticker, first, last, key, what, pause) -> tuple[pd.DataFrame, dict]:
    time_from = first.strftime("%Y%m%dT0000")
    time_to = last.strftime("%Y%m%dT2359")
    articles: list[dict] = []
    counts = {"requests": 0, "items": 0, "items_dropped": 0}
    while True:
        if counts["requests"]:
            time.sleep(pause)
        params = {"function": "NEWS_SENTIMENT", "tickers": ticker, "time_from": time_from, "time_to": time_to,
                  "sort": "EARLIEST", "limit": ALPHAVANTAGE_PAGE, "apikey": key}
        response = fetch(session, f"{base_url}/query", params, what)
        counts["requests"] += 1
        page = _alphavantage_feed(response, what)
        articles += page
        if len(page) < ALPHAVANTAGE_PAGE:
            break
        latest = max(str(item.get("time_published", "")) for item in page)[:13]
        if not re.fullmatch(r"\d{8}T\d{4}", latest):
            raise PipelineError(f"{what}: malformed time_published {latest!r}; cannot page further")
        if latest <= time_from:
            # A thousand items in one minute: move on a minute rather than ask the same page again.
            latest = (datetime.datetime.strptime(time_from, "%Y%m%dT%H%M") + datetime.timedelta(minutes=1)
                      ).strftime("%Y%m%dT%H%M")
        time_from = latest
        if time_from > time_to:
            break
    unique = list({str(item.get("url") or id(item)): item for item in articles}.values())
    frame, items, dropped = _articles_frame(unique, "alphavantage", ticker, "title", "time_published",
                                            _ALPHAVANTAGE_TIME, "source")
    counts["items"], counts["items_dropped"] = items, dropped
    return frame, counts


def _alphavantage_feed(response: requests.Response, what: str) -> list[dict]:
    body = alphavantage_answer(response, what)
    notice = body.get("Note") or body.get("Information")
    if notice:
        lowered = str(notice).lower()
        quoted = f"(Alpha Vantage: {excerpt(notice)})"
        if "rate limit" in lowered or "call frequency" in lowered or "requests per day" in lowered:
            raise PipelineError(f"{what}: rate limit hit {quoted}; wait and run again")
        refused = alphavantage_key_refused(str(notice), what)
        if refused:
            raise PipelineError(refused)
        raise PipelineError(f"{what}: Alpha Vantage answered with a notice instead of news {quoted}")
    feed = body.get("feed")
    if not isinstance(feed, list):
        raise PipelineError(f"{what}: no 'feed' list in the answer (keys: {', '.join(map(str, body)) or 'none'})")
    return feed


# Finnhub --------------------------------------------------------------------------------------

def finnhub(session: requests.Session, base_url: str, ticker: str, first: datetime.date, last: datetime.date,
            *, key: str | None) -> tuple[pd.DataFrame, dict]:
    """Finnhub company-news for the ticker, asked for a week at a time.

    Finnhub caps how much one call returns and serves a free key about a year, so long
    windows are split; items seen twice are dropped by id.
    """
    return _with_key("finnhub", key, lambda what: _finnhub(session, base_url, ticker, first, last, key, what),
                     ticker)


def _with_key(provider: str, key: str | None, request, ticker: str):
    """Run ``request(what)`` for a keyed provider: a missing key and any echo of the key fail cleanly."""
    what = f"{provider} {ticker}"
    if not key:
        raise PipelineError(f"{what}: no API key; set the environment variable {API_KEY_VARIABLES[provider]}")
    with hiding_key(key):
        return request(what)


def _finnhub(session, base_url, ticker, first, last, key, what) -> tuple[pd.DataFrame, dict]:
    items: dict[str, dict] = {}
    counts = {"requests": 0, "items": 0, "items_dropped": 0}
    day = first
    chunks = []
    while day <= last:
        chunks.append((day, min(day + datetime.timedelta(days=FINNHUB_CHUNK_DAYS - 1), last)))
        day += datetime.timedelta(days=FINNHUB_CHUNK_DAYS)
    for chunk_first, chunk_last in tqdm(chunks, desc="finnhub", unit=" weeks", disable=None, leave=False):
        params = {"symbol": ticker, "from": chunk_first.isoformat(), "to": chunk_last.isoformat(), "token": key}
        response = fetch(session, f"{base_url}/api/v1/company-news", params, what)
        counts["requests"] += 1
        for item in _finnhub_items(response, what):
            items[str(item.get("id") or item.get("url") or id(item))] = item
    frame, found, dropped = _articles_frame(list(items.values()), "finnhub", ticker, "headline", "datetime", None,
                                            "source")
    counts["items"], counts["items_dropped"] = found, dropped
    return frame, counts


def _finnhub_items(response: requests.Response, what: str) -> list[dict]:
    body = parse_json(response, what)
    message = body.get("error") if isinstance(body, dict) else None
    if response.status_code in (401, 403):
        hint = f"the key in {API_KEY_VARIABLES['finnhub']} was refused" if response.status_code == 401 else \
            "this key has no access to company-news for that range"
        raise PipelineError(f"{what}: {hint} (HTTP {response.status_code}, Finnhub: {excerpt(message or '')})")
    if response.status_code != 200 or message:
        raise PipelineError(f"{what}: HTTP {response.status_code} from Finnhub ({excerpt(message or str(body))})")
    if not isinstance(body, list):
        raise PipelineError(f"{what}: unexpected JSON (a {type(body).__name__}, not a list of news)")
    return body


# Shared ---------------------------------------------------------------------------------------

def _articles_frame(articles: list, feed: str, ticker: str, title_field: str, time_field: str, time_format: str | None,
                    publisher_field: str) -> tuple[pd.DataFrame, int, int]:
    """The news table of JSON items; items without a title or a readable time are dropped.

    Returns:
        The table, the number of items read and the number dropped.
    """
    stamps, titles, publishers = [], [], []
    for item in articles:
        if not isinstance(item, dict):
            continue
        title = clean_headline(item.get(title_field))
        moment = _moment(item.get(time_field), time_format)
        if not title or moment is None:
            continue
        stamps.append(moment)
        titles.append(title)
        publishers.append(clean_headline(item.get(publisher_field)) or None)
    if not stamps:
        return empty_news(), len(articles), len(articles)
    frame = news_frame(stamps, titles, ticker, feed, publishers)
    return frame.sort_values(col.TIMESTAMP, kind="stable").reset_index(drop=True), len(articles), \
        len(articles) - len(frame)


def _moment(value, time_format: str | None) -> pd.Timestamp | None:
    """A UTC time from epoch seconds (``time_format`` None) or a string in ``time_format``."""
    try:
        if time_format is None:
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                return None
            return pd.Timestamp(int(value), unit="s", tz="UTC")
        return pd.Timestamp(datetime.datetime.strptime(str(value), time_format).replace(tzinfo=datetime.UTC))
    except (ValueError, OverflowError):
        return None

