"""Answer bodies in each news provider's documented format, for the unit and pipeline tests.

Google News RSS search and Yahoo Finance's headline RSS (RSS 2.0), GDELT DOC 2.0 article lists,
Alpha Vantage NEWS_SENTIMENT feed items and Finnhub company-news items.
"""

HTML_PAGE = "<!DOCTYPE html>\n<html><head><title>Before you continue</title></head><body>consent</body></html>\n"

GOOGLE_RSS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>
<generator>NFE/5.0</generator><title>"AAPL" - Google News</title>
<link>https://news.google.com/search?q=AAPL&amp;hl=en-US&amp;gl=US&amp;ceid=US:en</link>
<language>en-US</language><description>Google News</description>
<item>
<title>Apple shares rise after iPhone sales beat estimates - Reuters</title>
<link>https://news.google.com/rss/articles/CBMiAAA?oc=5</link>
<guid isPermaLink="false">CBMiAAA</guid>
<pubDate>Fri, 05 Jun 2020 14:30:00 GMT</pubDate>
<description>&lt;a href="https://www.reuters.com/x"&gt;Apple shares rise&lt;/a&gt;</description>
<source url="https://www.reuters.com">Reuters</source>
</item>
<item>
<title>Apple &amp;amp; Google &lt;b&gt;team up&lt;/b&gt; on tracing - The Wall Street Journal</title>
<link>https://news.google.com/rss/articles/CBMiBBB?oc=5</link>
<guid isPermaLink="false">CBMiBBB</guid>
<pubDate>Fri, 05 Jun 2020 21:05:00 GMT</pubDate>
<source url="https://www.wsj.com">The Wall Street Journal</source>
</item>
<item>
<title>Why Apple stock is a buy - Motley Fool</title>
<link>https://news.google.com/rss/articles/CBMiCCC?oc=5</link>
<guid isPermaLink="false">CBMiCCC</guid>
<pubDate>Sat, 06 Jun 2020 09:00:00 GMT</pubDate>
</item>
<item>
<title>An item without a date - Reuters</title>
<link>https://news.google.com/rss/articles/CBMiDDD?oc=5</link>
</item>
</channel></rss>
"""

YAHOO_RSS = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<rss version="2.0"><channel>
<copyright>Copyright (c) 2020 Yahoo! Inc. All rights reserved.</copyright>
<description>Latest Financial News for ^GSPC</description>
<language>en-US</language><lastBuildDate>Fri, 05 Jun 2020 22:00:00 +0000</lastBuildDate>
<link>http://finance.yahoo.com/q/h?s=^GSPC</link><title>Yahoo! Finance: ^GSPC News</title>
<item>
<description>Stocks rallied on Friday after a surprise gain in payrolls.</description>
<guid isPermaLink="false">b6d0f1a0-1111</guid>
<link>https://finance.yahoo.com/news/stocks-rally-120000000.html?.tsrc=rss</link>
<pubDate>Fri, 05 Jun 2020 20:30:00 +0000</pubDate>
<title>Stocks &lt;b&gt;rally&lt;/b&gt; as payrolls surprise</title>
</item>
</channel></rss>
"""


def article(title, seendate, url=None, domain="reuters.com"):
    return {"url": url or f"https://{domain}/{seendate}/{title[:8]}", "url_mobile": "", "title": title,
            "seendate": seendate, "socialimage": "", "domain": domain, "language": "English",
            "sourcecountry": "United States"}


def av_item(title, published, url=None):
    return {"title": title, "url": url or f"https://example.com/{published}", "time_published": published,
            "authors": [], "summary": "", "source": "Benzinga", "category_within_source": "News",
            "source_domain": "www.benzinga.com", "topics": [], "overall_sentiment_score": 0.1,
            "overall_sentiment_label": "Neutral", "ticker_sentiment": []}


def finnhub_item(item_id, headline, epoch, source="Reuters"):
    return {"category": "company", "datetime": epoch, "headline": headline, "id": item_id, "image": "",
            "related": "AAPL", "source": source, "summary": "", "url": f"https://example.com/{item_id}"}
