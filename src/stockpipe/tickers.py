"""Many tickers: each extra ticker's chain of stage scripts, its params, and the summary table."""

from __future__ import annotations

import copy
import math

from stockpipe.params import path_with_ticker

# The stage scripts each ticker stage runs, in order, as (script, arguments). {data} is the
# ticker's data folder, {out} the folder being written; paths match the main pipeline's.
CHAINS = {
    "data": [
        ("download_prices", ["{out}/prices.parquet"]),
        ("download_news", ["{out}/news.parquet", "--coverage", "{out}/news_coverage.json"]),
        ("sentiment", ["{out}/news.parquet", "{out}/sentiment.parquet", "--cache", "{out}/sentiment_scores.parquet"]),
        ("clean", ["{out}/prices.parquet", "{out}/prices_clean.parquet", "--report", "{out}/data_quality.json"]),
        ("features", ["{out}/prices_clean.parquet", "{out}/sentiment.parquet", "{out}/features.parquet",
                      "--report", "{out}/features.json"]),
    ],
    "model": [
        ("split", ["{data}/features.parquet", "{out}/split"]),
        ("train", ["{out}/split", "{out}/models", "--live-dir", "{out}/train"]),
        ("evaluate", ["{out}/split", "{out}/models", "--metrics", "{out}/metrics.json", "--predictions",
                      "{out}/predictions.csv", "--plot", "{out}/predictions.png"]),
        ("predict", ["{data}/features.parquet", "{out}/models", "{out}/forecast.csv"]),
    ],
}


def ticker_params(raw: dict, ticker: str) -> dict:
    """The params as written in params.yaml, made for one ticker.

    data.ticker becomes ``ticker``, data.tickers is emptied and {ticker} in data.path is
    filled in; everything else (model, features, ...) is shared by all tickers.
    """
    params = copy.deepcopy(raw)
    data = params.setdefault("data", {})
    data["ticker"] = ticker
    data["tickers"] = []
    if data.get("path"):
        data["path"] = path_with_ticker(data["path"], ticker)
    return params


SUMMARY_KEYS = ("n_test", "rmse", "naive_rmse", "skill", "beats_naive", "mase", "interval_coverage")


def summary_row(metrics: dict) -> dict:
    """One ticker's line of the summary: its test errors beside naive, and their spread over folds and seeds."""
    folds = metrics["folds"]["per_fold"].values()
    return {
        "first": min(fold["first"] for fold in folds), "last": max(fold["last"] for fold in folds),
        **{key: metrics[key] for key in SUMMARY_KEYS},
        "folds": metrics["folds"]["count"], "fold_skill_std": metrics["folds"]["skill"]["std"],
        "seeds": metrics["seeds"]["count"], "seed_skill_std": metrics["seeds"]["skill"]["std"],
    }


def summary(rows: dict[str, dict]) -> dict:
    """Every ticker's row, and how many beat the naive forecast."""
    skills = [row["skill"] for row in rows.values()]
    return {"count": len(rows), "beat_naive": sum(row["beats_naive"] for row in rows.values()),
            "mean_skill": sum(skills) / len(skills), "tickers": rows}


def markdown_table(table: dict) -> str:
    """The summary as a markdown table for the pull-request comment."""
    lines = [
        f"{table['beat_naive']} of {table['count']} tickers beat the naive forecast "
        f"(mean skill {table['mean_skill']:+.4f}).",
        "",
        "| ticker | test days | RMSE | naive RMSE | skill | verdict | MASE | interval coverage "
        "| skill sd (folds / seeds) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ticker, row in table["tickers"].items():
        verdict = "beats naive" if row["beats_naive"] else "**loses to naive**"
        spread = f"{_sd(row['fold_skill_std'])} ({row['folds']}) / {_sd(row['seed_skill_std'])} ({row['seeds']})"
        lines.append(f"| {ticker} | {row['first']} .. {row['last']} ({row['n_test']}) | {row['rmse']:.2f} | "
                     f"{row['naive_rmse']:.2f} | {row['skill']:+.4f} | {verdict} | {row['mase']:.2f} | "
                     f"{row['interval_coverage']:.1%} | {spread} |")
    return "\n".join(lines) + "\n"


def _sd(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.4f}"
