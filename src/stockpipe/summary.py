"""The universe at a glance: each ticker's test errors beside naive, pooled figures, and the table."""

from __future__ import annotations

import math
import statistics

SUMMARY_KEYS = ("n_test", "rmse", "naive_rmse", "skill", "beats_naive", "mase", "interval_coverage")
POOLED_UNITS = ("each ticker's errors divided by its mean absolute daily change on its training slice "
                "(the MASE scale), so that large prices do not dominate")


def summary_row(metrics: dict) -> dict:
    """One ticker's line of the summary: its test errors beside naive, and their spread over folds and seeds."""
    folds = metrics["folds"]["per_fold"].values()
    return {
        "first": min(fold["first"] for fold in folds), "last": max(fold["last"] for fold in folds),
        **{key: metrics[key] for key in SUMMARY_KEYS},
        "folds": metrics["folds"]["count"], "fold_skill_std": metrics["folds"]["skill"]["std"],
        "seeds": metrics["seeds"]["count"], "seed_skill_std": metrics["seeds"]["skill"]["std"],
    }


def pooled_skill(metrics: dict[str, dict]) -> float | None:
    """1 - sqrt(sum of model squared errors / sum of naive squared errors) over every ticker's test days.

    Errors are in each ticker's scaled units (``POOLED_UNITS``): the scale is mae / mase, the
    mean absolute daily change of the ticker's training closes. A ticker whose training closes
    never moved has no scale and is left out; None when no ticker has one.
    """
    model = naive = 0.0
    for row in metrics.values():
        if not (row["mase"] and math.isfinite(row["mase"]) and row["mae"] > 0):
            continue
        scale = row["mae"] / row["mase"]
        model += row["n_test"] * (row["rmse"] / scale) ** 2
        naive += row["n_test"] * (row["naive_rmse"] / scale) ** 2
    return 1.0 - math.sqrt(model / naive) if naive > 0 else None


def summary(metrics: dict[str, dict], skipped: dict[str, str], scope: str) -> dict:
    """Pooled figures first, then every ticker's row (sorted by ticker) and the tickers left out, with why."""
    rows = {ticker: summary_row(metrics[ticker]) for ticker in sorted(metrics)}
    skills = [row["skill"] for row in rows.values()]
    beat = sum(row["beats_naive"] for row in rows.values())
    return {
        "scope": scope, "count": len(rows), "beat_naive": beat,
        "share_beat_naive": beat / len(rows) if rows else None,
        "median_skill": statistics.median(skills) if skills else None,
        "mean_skill": statistics.fmean(skills) if skills else None,
        "pooled_skill": pooled_skill(metrics),
        "skipped_count": len(skipped), "skipped": dict(sorted(skipped.items())), "tickers": rows,
    }


def markdown_table(table: dict) -> str:
    """The summary as markdown for the pull-request comment: pooled line first, tickers by skill, best first."""
    if not table["count"]:
        lines = ["No ticker was evaluated."]
    else:
        lines = [
            f"**{table['beat_naive']} of {table['count']} tickers ({table['share_beat_naive']:.1%}) beat the naive "
            f"forecast**; median skill {table['median_skill']:+.4f}, pooled skill {_signed(table['pooled_skill'])} "
            f"(model.scope {table['scope']}; pooled over every test day in scaled units: {POOLED_UNITS}).",
            "",
            "| ticker | test days | RMSE | naive RMSE | skill | verdict | MASE | interval coverage "
            "| skill sd (folds / seeds) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
    for ticker, row in sorted(table["tickers"].items(), key=lambda item: (-item[1]["skill"], item[0])):
        verdict = "beats naive" if row["beats_naive"] else "**loses to naive**"
        spread = f"{_sd(row['fold_skill_std'])} ({row['folds']}) / {_sd(row['seed_skill_std'])} ({row['seeds']})"
        lines.append(f"| {ticker} | {row['first']} .. {row['last']} ({row['n_test']}) | {row['rmse']:.2f} | "
                     f"{row['naive_rmse']:.2f} | {row['skill']:+.4f} | {verdict} | {row['mase']:.2f} | "
                     f"{row['interval_coverage']:.1%} | {spread} |")
    if table["skipped"]:
        count = table["skipped_count"]
        lines += ["", f"{count} ticker{'' if count == 1 else 's'} skipped:", ""]
        lines += [f"- {ticker}: {reason}" for ticker, reason in table["skipped"].items()]
    return "\n".join(lines) + "\n"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _sd(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.4f}"
