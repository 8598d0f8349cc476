"""Answers in the social providers' formats: StockTwits' symbol stream envelope and Reddit's Atom search feed.

The StockTwits messages themselves are the real ones in ../shared/data/social/stocktwits/ (read at
test time, never copied here); the API's envelope, which the recording did not keep, is added here.
"""

import json
from pathlib import Path

from tests.http_server import Reply

# What StockTwits answers for a symbol it does not know.
STOCKTWITS_NOT_FOUND = json.dumps({"response": {"status": 404}, "errors": [{"message": "Symbol not found"}]})
PAGE_SIZE = 30


def shared_messages(shared_data: Path, symbol: str) -> list[dict]:
    """The real messages of ``symbol`` as the stream returned them, newest first."""
    (path,) = sorted((shared_data / "social" / "stocktwits").glob(f"{symbol}_messages_*.jsonl"))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def stocktwits_page(messages: list[dict], more: bool, symbol: str = "AAPL") -> str:
    """One page of ``api/2/streams/symbol/<SYM>.json``: the response, symbol, cursor and messages."""
    ids = [message["id"] for message in messages]
    return json.dumps({
        "response": {"status": 200},
        "symbol": {"id": 686, "symbol": symbol, "title": f"{symbol} Inc.", "aliases": [], "is_following": False,
                   "watchlist_count": 1000},
        "cursor": {"more": more, "since": max(ids, default=None), "max": min(ids, default=None)},
        "messages": messages,
    })


def stocktwits_pages(messages: list[dict], symbol: str = "AAPL", size: int = PAGE_SIZE) -> list[Reply]:
    """The stream of ``messages`` (newest first) as pages of ``size``, in the order a client asks for them."""
    chunks = [messages[start:start + size] for start in range(0, len(messages), size)] or [[]]
    return [Reply(200, stocktwits_page(chunk, more=index < len(chunks) - 1, symbol=symbol))
            for index, chunk in enumerate(chunks)]


def stocktwits_message(message_id: int, created_at: str, body: str, label: str | None) -> dict:
    """A message with the fields the client reads, shaped as the stream writes them."""
    return {"id": message_id, "body": body, "created_at": created_at,
            "user": {"id": 1, "username": "trader", "name": "Trader"},
            "source": {"id": 1, "title": "StockTwits Web", "url": "https://stocktwits.com"},
            "symbols": [{"id": 686, "symbol": "AAPL", "title": "Apple Inc."}],
            "entities": {"sentiment": {"basic": label} if label else None}}


REDDIT_ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
<category term="stocks" label="r/stocks"/>
<updated>2026-05-31T20:01:02+00:00</updated>
<icon>https://www.redditstatic.com/icon.png/</icon>
<id>/r/stocks/search.rss?q=AAPL&amp;restrict_sr=on&amp;sort=new</id>
<link rel="self" href="https://www.reddit.com/r/stocks/search.rss?q=AAPL&amp;restrict_sr=on&amp;sort=new"
 type="application/atom+xml" />
<link rel="alternate" href="https://www.reddit.com/r/stocks/search?q=AAPL&amp;restrict_sr=on&amp;sort=new"
 type="text/html" />
<subtitle>Almost any post related to stocks is welcome on /r/stocks.</subtitle>
<title>stocks: search results - AAPL</title>
<entry>
<author><name>/u/value_hunter</name><uri>https://www.reddit.com/user/value_hunter</uri></author>
<category term="stocks" label="r/stocks"/>
<content type="html">&lt;!-- SC_OFF --&gt;&lt;div class="md"&gt;&lt;p&gt;Services margin keeps growing
 &amp;amp; buybacks continue. I&amp;#39;m adding on dips.&lt;/p&gt; &lt;/div&gt;&lt;!-- SC_ON --&gt;
 &amp;#32; submitted by &amp;#32;
 &lt;a href="https://www.reddit.com/user/value_hunter"&gt; /u/value_hunter &lt;/a&gt; &lt;br/&gt;
 &lt;span&gt;&lt;a href="https://www.reddit.com/r/stocks/comments/1abc2de/"&gt;[link]&lt;/a&gt;&lt;/span&gt;
 &amp;#32; &lt;span&gt;&lt;a href="https://www.reddit.com/r/stocks/comments/1abc2de/"&gt;[comments]&lt;/a&gt;&lt;/span&gt;</content>
<id>t3_1abc2de</id>
<link href="https://www.reddit.com/r/stocks/comments/1abc2de/aapl_q2/" />
<updated>2026-05-31T19:45:10+00:00</updated>
<published>2026-05-31T19:45:10+00:00</published>
<title>AAPL Q2 &amp;amp; the &amp;quot;AI&amp;quot; story: still a buy?</title>
</entry>
<entry>
<author><name>/u/bear_case</name><uri>https://www.reddit.com/user/bear_case</uri></author>
<category term="stocks" label="r/stocks"/>
<content type="html">&lt;!-- SC_OFF --&gt;&lt;div class="md"&gt;&lt;p&gt;Weak China sales.&lt;/p&gt;
&lt;/div&gt;</content>
<id>t3_1abc0aa</id>
<link href="https://www.reddit.com/r/stocks/comments/1abc0aa/apple_china/" />
<updated>2026-05-29T13:10:00+00:00</updated>
<published>2026-05-29T13:10:00+00:00</published>
<title>Apple &lt;3 China? Not anymore</title>
</entry>
</feed>
"""
