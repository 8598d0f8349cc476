"""Column names used across stages, defined once, and how a date column is written as text."""

import pandas as pd

DATE = "date"
OPEN = "open"
HIGH = "high"
LOW = "low"
CLOSE = "close"
VOLUME = "volume"
OHLC = [OPEN, HIGH, LOW, CLOSE]
OHLCV = [*OHLC, VOLUME]

# News and sentiment.
TIMESTAMP = "timestamp"
HEADLINE = "headline"
TICKER = "ticker"
SOURCE = "source"  # the feed a headline came from: csv, google_news, yahoo_finance, gdelt, ...
PUBLISHER = "publisher"  # the outlet, where the feed names it ("Reuters")
NEWS_COLUMNS = [TIMESTAMP, HEADLINE, TICKER, SOURCE, PUBLISHER]
SESSION = "session"
COMPOUND = "compound"
NEWS_COUNT = "news_count"
SENTIMENT_MEAN = "sentiment_mean"
SENTIMENT_POS_SHARE = "sentiment_pos_share"
SENTIMENT_NEG_SHARE = "sentiment_neg_share"
SENTIMENT_DECAYED = "sentiment_decayed"
SENTIMENT_COLUMNS = [NEWS_COUNT, SENTIMENT_MEAN, SENTIMENT_POS_SHARE, SENTIMENT_NEG_SHARE, SENTIMENT_DECAYED]
# Social-media posts (stocktwits, reddit): the archive of posts and their daily columns, kept
# apart from the news columns so that an experiment shows which of the two helped.
FEED = "feed"  # stocktwits or reddit
POST_ID = "id"  # the provider's id of the post, unique within its feed
TEXT = "text"  # the post as plain text (HTML stripped, entities decoded)
LABEL = "label"  # the author's own Bullish or Bearish tag (StockTwits), else empty
LIKES = "likes"
CHANNEL = "channel"  # the subreddit (reddit); empty for stocktwits
POST_COLUMNS = [TIMESTAMP, FEED, TICKER, POST_ID, LABEL, LIKES, CHANNEL, TEXT]
SOCIAL_COUNT = "social_count"
SOCIAL_MEAN = "social_mean"
SOCIAL_BULL_SHARE = "social_bull_share"  # of the self-labelled posts, the share labelled Bullish
SOCIAL_LABELLED = "social_labelled"
SOCIAL_COLUMNS = [SOCIAL_COUNT, SOCIAL_MEAN, SOCIAL_BULL_SHARE, SOCIAL_LABELLED]
# The cache of scored headlines (sentiment stage).
LEXICON = "lexicon"
TEXT_KEY = "text_key"

# Features and evaluation.
LOG_RETURN = "log_return"
ACTUAL = "actual"
PREDICTED = "predicted"
NAIVE = "naive"
PART = "part"  # train, val or test: the chronological split a feature row belongs to
FOLD = "fold"  # the walk-forward fold whose model made a test prediction
PREDICTED_CLOSE = "predicted_close"
LOWER = "lower"
UPPER = "upper"
# The forecast's 50% band, inside the predict.coverage one (lower, upper): the fan chart's inner band.
INNER_COVERAGE = 0.5
LOWER_50 = "lower_50"
UPPER_50 = "upper_50"

# The live-forecast history (monitor stage): one row per forecast step.
FORECAST_MADE_ON = "forecast_made_on"  # the last data date, whose close the forecast starts from
STEP = "step"  # 1 for the first session after forecast_made_on
# The ticker comes first: a forecast is only ever scored and summed up with its own ticker's rows.
HISTORY_COLUMNS = [TICKER, FORECAST_MADE_ON, DATE, STEP, PREDICTED_CLOSE, ACTUAL, NAIVE]


def time_text(values) -> pd.Index:
    """Dates as files hold them: YYYY-MM-DD for a midnight (a daily row), YYYY-MM-DD HH:MM for any other time
    (an intraday bar's exchange-local start)."""
    times = pd.DatetimeIndex(values)
    return pd.Index(times.strftime("%Y-%m-%d %H:%M")).where(times != times.normalize(), times.strftime("%Y-%m-%d"))


def parse_time_text(text: pd.Series) -> pd.Series:
    """``time_text``'s values read back (NaT where a value is neither shape)."""
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    return parsed.fillna(pd.to_datetime(text, format="%Y-%m-%d %H:%M", errors="coerce")).astype("datetime64[ns]")
