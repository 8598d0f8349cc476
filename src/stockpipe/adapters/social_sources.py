"""Posts from live social feeds: StockTwits' symbol stream and Reddit's Atom search feeds.

Each fetcher takes the HTTP session (``http.make_session``: retries, 429 back-off honouring
Retry-After, timeouts) and the provider's base URL, so tests point it at a local server, and
returns the posts table of ``social.posts_frame`` plus counts. Every failure is one
PipelineError line that starts with the feed and the ticker. Both feeds serve recent posts
only (see docs/social.md for building a history):

- StockTwits ``api/2/streams/symbol/<SYM>.json``: about 30 messages a page, newest first,
  paged backwards with ``max=``; no key for reads, roughly 200 requests an hour per address.
- Reddit ``/r/<sub>/search.rss``: the newest matches of a subreddit (about 25); Reddit's
  JSON API needs OAuth and approval and is not used.
"""

from __future__ import annotations

import calendar
import html
import io
import re
import time
from xml.sax import SAXException

import feedparser
import pandas as pd
import requests

from stockpipe.adapters.http import excerpt, fetch, hiding_key, looks_like_html, parse_json
from stockpipe.adapters.news_sources import search_terms
from stockpipe.errors import PipelineError
from stockpipe.news import clean_headline
from stockpipe.social import BEARISH, BULLISH, empty_posts, posts_frame

DEFAULT_BASE_URLS = {"stocktwits": "https://api.stocktwits.com", "reddit": "https://www.reddit.com"}
# An optional StockTwits access token (reads need none); read from the environment only.
STOCKTWITS_TOKEN_VARIABLE = "STOCKTWITS_ACCESS_TOKEN"
# Reddit allows an unauthenticated client about ten requests a minute.
REDDIT_PAUSE_SECONDS = 6.0

_TAG = re.compile(r"<[^>]*>")
# Reddit's Atom content ends with "submitted by /u/name [link] [comments]": not the author's words.
_REDDIT_FOOTER = re.compile(r"submitted by\s+/u/\S+|\[link\]|\[comments\]")


class Pacer:
    """Keeps one provider's requests at least ``seconds`` apart, across every ticker of a run."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.last: float | None = None

    def wait(self) -> None:
        if self.last is not None:
            time.sleep(max(0.0, self.last + self.seconds - time.monotonic()))
        self.last = time.monotonic()


def stocktwits_symbol(ticker: str) -> str:
    """The ticker as StockTwits spells symbols: letters, digits and a dot (BRK-B -> BRK.B, ^GSPC -> GSPC)."""
    return re.sub(r"[^A-Za-z0-9.]", "", ticker.replace("-", ".")).upper()


def stocktwits(session: requests.Session, base_url: str, ticker: str, pages: int,
               token: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The newest ``pages`` pages of the ticker's StockTwits stream.

    Args:
        base_url: The API's address (``DEFAULT_BASE_URLS['stocktwits']`` or a mirror).
        pages: Pages to ask at most (news.social_pages); a stream with more posts says so in the
            counts (``more``) rather than in a failure.
        token: An access token from the environment, sent as ``access_token`` and kept out of
            every message.

    Returns:
        The posts (one row per message, its label Bullish, Bearish or empty), and counts:
        requests, items read, items dropped (no id, time or text) and whether older posts remain.
    """
    what = f"stocktwits {ticker}"
    symbol = stocktwits_symbol(ticker)
    if not symbol:
        raise PipelineError(f"{what}: no StockTwits symbol can be made of the ticker")
    url = f"{base_url}/api/2/streams/symbol/{symbol}.json"
    params = {"access_token": token} if token else {}
    counts = {"requests": 0, "items": 0, "items_dropped": 0, "more": False}
    messages: list[dict] = []
    with hiding_key(token):
        while counts["requests"] < pages:
            response = fetch(session, url, params, what)
            counts["requests"] += 1
            body = _stocktwits_body(response, what, symbol)
            page = body["messages"]
            messages += page
            cursor = body.get("cursor") or {}
            counts["more"] = bool(cursor.get("more")) and bool(page)
            if not counts["more"]:
                break
            if cursor.get("max") is None:
                raise PipelineError(f"{what}: the answer says there are more posts but gives no cursor.max")
            params = {**params, "max": cursor["max"]}
    stamps, ids, labels, likes, texts = [], [], [], [], []
    for message in messages:
        moment = pd.to_datetime(message.get("created_at"), utc=True, errors="coerce") \
            if isinstance(message, dict) else pd.NaT
        text = " ".join(html.unescape(str(message.get("body") or "")).split()) if isinstance(message, dict) else ""
        if pd.isna(moment) or not text or message.get("id") is None:
            counts["items_dropped"] += 1
            continue
        label = ((message.get("entities") or {}).get("sentiment") or {}).get("basic")
        total = (message.get("likes") or {}).get("total")
        stamps.append(moment)
        ids.append(message["id"])
        labels.append(label if label in (BULLISH, BEARISH) else None)
        likes.append(int(total) if isinstance(total, int) and not isinstance(total, bool) else None)
        texts.append(text)
    counts["items"] = len(messages)
    if not stamps:
        return empty_posts(), counts
    frame = posts_frame(stamps, ["stocktwits"] * len(stamps), ticker, ids, labels, likes, [None] * len(stamps), texts)
    return frame, counts


def _stocktwits_body(response: requests.Response, what: str, symbol: str) -> dict:
    """One page of the stream, or one line for StockTwits' error answers."""
    body = parse_json(response, what)
    errors = body.get("errors") if isinstance(body, dict) else None
    message = "; ".join(str(error.get("message", error)) if isinstance(error, dict) else str(error)
                        for error in errors) if isinstance(errors, list) else ""
    status = response.status_code
    if status == 404:
        raise PipelineError(f"{what}: StockTwits does not know the symbol {symbol} (HTTP 404: "
                            f"{excerpt(message or 'not found', 120)})")
    if status in (401, 403):
        raise PipelineError(f"{what}: StockTwits refused the request (HTTP {status}: {excerpt(message, 120)}); "
                            f"check {STOCKTWITS_TOKEN_VARIABLE} if it is set")
    if status != 200 or message:
        raise PipelineError(f"{what}: HTTP {status} from StockTwits ({excerpt(message or str(body), 120)})")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        shape = ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__
        raise PipelineError(f"{what}: unexpected JSON (no 'messages' list; got {shape or 'nothing'})")
    return body


def reddit(session: requests.Session, base_url: str, ticker: str, query: str | None, subreddits: list[str],
           pause: float = REDDIT_PAUSE_SECONDS, pacer: Pacer | None = None) -> tuple[pd.DataFrame, dict]:
    """The newest posts of each subreddit that match the ticker's symbol or news.query.

    The search is Reddit's keyless Atom feed, newest first, restricted to the subreddit;
    a post's text is its title and its body, HTML stripped and entities decoded. Requests are
    ``pause`` seconds apart, or as ``pacer`` spaces them (one pacer for a run's every ticker).

    Returns:
        The posts (channel = the subreddit), and counts: requests, items read and dropped.
    """
    what = f"reddit {ticker}"
    terms = search_terms(ticker, query, min_symbol=2)
    if not terms:
        raise PipelineError(f"{what}: nothing to search for; set news.query (e.g. the company's name)")
    counts = {"requests": 0, "items": 0, "items_dropped": 0}
    frames = []
    pacer = pacer or Pacer(pause)
    for subreddit in subreddits:
        pacer.wait()
        where = f"{what} r/{subreddit}"
        params = {"q": " OR ".join(terms), "restrict_sr": "on", "sort": "new"}
        response = fetch(session, f"{base_url}/r/{subreddit}/search.rss", params, where)
        counts["requests"] += 1
        frame, items, dropped = parse_reddit_atom(response, where, ticker, subreddit)
        counts["items"] += items
        counts["items_dropped"] += dropped
        frames.append(frame)
    posts = pd.concat(frames, ignore_index=True)
    # Reddit's ids (t3_...) are site-wide, so a post found twice is one post.
    return posts[~posts.duplicated("id")].reset_index(drop=True), counts


def parse_reddit_atom(response: requests.Response, what: str, ticker: str,
                      subreddit: str) -> tuple[pd.DataFrame, int, int]:
    """The entries of one Reddit Atom search feed: id, time, title and content as plain text.

    Returns:
        The posts, the number of entries read and the number dropped (no id, time or text).
    """
    text = response.content.decode("utf-8", errors="replace")
    if response.status_code != 200:
        raise PipelineError(f"{what}: HTTP {response.status_code} from Reddit "
                            f"({excerpt(_TAG.sub(' ', text), 120) or 'no body'})")
    if not text.strip():
        raise PipelineError(f"{what}: empty response body (HTTP 200) where an Atom feed was expected")
    if looks_like_html(text):
        raise PipelineError(f"{what}: got an HTML page (HTTP 200) where an Atom feed was expected (a block or "
                            "consent page?)")
    # A file object, never bytes: feedparser takes bytes that look like a URL or a path for one.
    parsed = feedparser.parse(io.BytesIO(response.content))
    problem = parsed.get("bozo_exception")
    if isinstance(problem, SAXException) or not parsed.get("version"):
        reason = f" ({excerpt(str(problem), 80)})" if problem else ""
        raise PipelineError(f"{what}: malformed or truncated Atom feed{reason}")
    stamps, ids, texts = [], [], []
    for entry in parsed.entries:
        moment = entry.get("updated_parsed") or entry.get("published_parsed")
        content = " ".join(part.get("value", "") for part in entry.get("content") or [])
        words = " ".join(filter(None, (clean_headline(entry.get("title")),
                                       " ".join(_REDDIT_FOOTER.sub(" ", clean_headline(content)).split()))))
        if moment is None or not words or not entry.get("id"):
            continue
        stamps.append(pd.Timestamp(calendar.timegm(moment), unit="s", tz="UTC"))
        ids.append(entry["id"])
        texts.append(words)
    frame = posts_frame(stamps, ["reddit"] * len(ids), ticker, ids, [None] * len(ids), [None] * len(ids),
                        [subreddit] * len(ids), texts)
    return frame, len(parsed.entries), len(parsed.entries) - len(ids)


def fetch_social(feed: str, session: requests.Session, base_url: str | None, *, ticker: str, query: str | None,
                 subreddits: list[str], pages: int, token: str | None = None,
                 pause: float = REDDIT_PAUSE_SECONDS, pacer: Pacer | None = None) -> tuple[pd.DataFrame, dict]:
    """Posts of one social feed (stocktwits or reddit) for ``ticker``; see ``stocktwits`` and ``reddit``."""
    base = (base_url or DEFAULT_BASE_URLS[feed]).rstrip("/")
    if feed == "stocktwits":
        return stocktwits(session, base, ticker, pages, token=token)
    if feed == "reddit":
        return reddit(session, base, ticker, query, subreddits, pause=pause, pacer=pacer)
    raise PipelineError(f"news: unknown social feed {feed!r} (one of {', '.join(DEFAULT_BASE_URLS)})")
