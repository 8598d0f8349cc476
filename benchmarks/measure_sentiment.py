"""How each sentiment scorer does on real labelled text, and a sanity check on real headlines and returns.

1. Accuracy and macro-F1 of every scorer (plain VADER, vader_finance, the committed learned
   model) beside always-neutral, on a labelled CSV that the learned model never trained on:
   by default the validation split of the Twitter Financial News corpus in
   ../shared/data/sentiment/ (never copied into the project). A score >= 0.05 reads bullish,
   <= -0.05 bearish, as VADER's authors set; the same numbers train_sentiment writes to
   metrics/sentiment.json.
2. A sanity check, never a tuning target: the Benzinga headlines of ../shared/data/news whose
   ticker has prices in ../shared/data/prices/sp500_5yr, each on the session whose close it
   precedes (XNYS), against that session's close-to-close return. For each scorer: how many
   headlines it calls bullish or bearish, the share of those whose sign the day's return
   shares, and the mean return after each call. Headlines are written after much of the move
   they report, so agreement here says the scorer reads the news the way the market did, not
   that it forecasts anything.

    .venv/bin/python benchmarks/measure_sentiment.py               # a few seconds; needs ../shared/data
    .venv/bin/python benchmarks/measure_sentiment.py --valid data/sentiment/valid.csv   # any labelled CSV
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from stockpipe.calendar import session_of  # noqa: E402
from stockpipe.learned import MODEL_FILE, read_corpus  # noqa: E402
from stockpipe.lexicons import make_scorer  # noqa: E402
from stockpipe.sentiment import polarity, score_texts, scorer_agreement  # noqa: E402

SHARED = Path(os.environ.get("STOCKPIPE_SHARED_DATA", ROOT.parent / "shared" / "data"))
SCORERS = ("vader", "vader_finance", "learned")


def scores_of(name: str, texts: list[str]) -> np.ndarray:
    return np.asarray(score_texts(texts, make_scorer(name, ROOT / MODEL_FILE), workers=1))


def labelled(path: Path) -> None:
    corpus = read_corpus(path)
    texts, labels = corpus["text"].tolist(), corpus["label"].to_numpy()
    print(f"{path.name}: {len(corpus)} labelled texts")
    rows = scorer_agreement(texts, labels, {name: make_scorer(name, ROOT / MODEL_FILE) for name in SCORERS})
    for name, row in rows.items():
        print(f"  {name:<15} accuracy {row['accuracy']:6.1%}   macro-F1 {row['macro_f1']:.3f}")


def headlines_against_returns() -> None:
    path = SHARED / "news" / "benzinga_headlines_A-ACAT_2009_2020.csv"
    if not path.is_file():
        print(f"\nno sanity check on headlines: {path} not found (the shared data folder beside the project)")
        return
    news = pd.read_csv(path, usecols=["title", "date", "stock"])
    news = news.dropna()
    prices = {}
    for ticker in news["stock"].unique():
        path = SHARED / "prices" / "sp500_5yr" / f"{ticker}_data.csv"
        if path.is_file():
            table = pd.read_csv(path, usecols=["date", "close"], parse_dates=["date"])
            prices[ticker] = table.set_index("date")["close"].pct_change()
    news = news[news["stock"].isin(prices)].reset_index(drop=True)
    times = pd.to_datetime(news["date"], utc=True).dt.tz_convert("America/New_York")
    news["session"] = session_of(times, "XNYS").dt.tz_localize(None).dt.normalize()
    news["return"] = [prices[ticker].get(session, np.nan) for ticker, session in zip(news["stock"], news["session"],
                                                                                      strict=True)]
    news = news.dropna(subset=["return"]).reset_index(drop=True)
    print(f"\nBenzinga headlines with a same-session return in sp500_5yr: {len(news)} "
          f"({', '.join(sorted(news['stock'].unique()))})")
    for name in SCORERS:
        called = polarity(scores_of(name, news["title"].astype(str).tolist()))
        bull, bear = news["return"][called == "bullish"], news["return"][called == "bearish"]
        agree = (np.sum(bull > 0) + np.sum(bear < 0)) / max(len(bull) + len(bear), 1)
        print(f"  {name:<15} bullish {len(bull):4d} (mean return {bull.mean():+.2%}), bearish {len(bear):4d} "
              f"(mean return {bear.mean():+.2%}); the return's sign agrees on {agree:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--valid", type=Path, default=SHARED / "sentiment" / "twitter_financial_news_valid.csv",
                        help="a labelled CSV (text, label) the learned model did not train on")
    args = parser.parse_args()
    if not args.valid.is_file():
        sys.exit(f"{args.valid}: not found; pass a labelled CSV (text, label) with --valid")
    labelled(args.valid)
    headlines_against_returns()


if __name__ == "__main__":
    main()
