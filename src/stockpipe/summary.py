"""The universe at a glance: each ticker's test errors beside naive, pooled figures, and the table."""

from __future__ import annotations

import math
import statistics

from stockpipe.metrics import verdict_words

SUMMARY_KEYS = ("n_test", "rmse", "naive_rmse", "skill", "beats_naive", "dm_p_value", "significance", "significant",
                "mase", "interval_coverage", "interval_width_vs_garch_t")
# Bounds a series' 90% intervals should keep (issue 22), as distances from the target coverage: overall within
# 2 points, at least 5 points short at most on the most volatile third of days, 10 on the worst 250 days.
COVERAGE_TOLERANCE, HIGH_VOLATILITY_SHORTFALL, ROLLING_SHORTFALL, WIDTH_VS_GARCH_T = 0.02, 0.05, 0.10, 1.1
POOLED_UNITS = ("each ticker's errors divided by its mean absolute daily change on its training slice "
                "(the MASE scale), so that large prices do not dominate")


def summary_row(metrics: dict) -> dict:
    """One ticker's line of the summary: its test errors beside naive, and their spread over folds and seeds."""
    folds = metrics["folds"]["per_fold"].values()
    first_seed = next(iter(metrics["seeds"]["per_seed"].values()))
    return {
        "first": min(fold["first"] for fold in folds), "last": max(fold["last"] for fold in folds),
        **{key: metrics[key] for key in SUMMARY_KEYS},
        "verdict": verdict_words(metrics),
        "interval_coverage_high_volatility": metrics["intervals"]["coverage_by_volatility"]["high"],
        "interval_worst_rolling_coverage": metrics["intervals"]["worst_rolling_coverage"],
        "folds": metrics["folds"]["count"], "fold_skill_std": metrics["folds"]["skill"]["std"],
        "seeds": metrics["seeds"]["count"], "seed_skill_std": metrics["seeds"]["skill"]["std"],
        "first_seed_skill": first_seed["skill"],
    }


def interval_summary(rows: dict[str, dict], target: float) -> dict:
    """How the universe's intervals did: medians, and how many series miss each bound (``COVERAGE_TOLERANCE`` ...).

    A series' worst rolling coverage spans 250 test days, or all of them when it has fewer.
    """
    def median(key: str) -> float | None:
        values = [row[key] for row in rows.values() if row[key] is not None]
        return statistics.median(values) if values else None

    def count(test) -> int:
        return sum(bool(test(row)) for row in rows.values())

    return {
        "target": target, "median_coverage": median("interval_coverage"),
        "outside_tolerance": count(lambda row: abs(row["interval_coverage"] - target) > COVERAGE_TOLERANCE + 1e-12),
        "median_coverage_high_volatility": median("interval_coverage_high_volatility"),
        "high_volatility_short": count(lambda row: row["interval_coverage_high_volatility"] is not None
                                       and row["interval_coverage_high_volatility"]
                                       < target - HIGH_VOLATILITY_SHORTFALL - 1e-12),
        "median_worst_rolling_coverage": median("interval_worst_rolling_coverage"),
        "worst_rolling_short": count(lambda row: row["interval_worst_rolling_coverage"]
                                     < target - ROLLING_SHORTFALL - 1e-12),
        "median_width_vs_garch_t": median("interval_width_vs_garch_t"),
        "wider_than_garch_t": count(lambda row: row["interval_width_vs_garch_t"] > WIDTH_VS_GARCH_T),
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


def summary(metrics: dict[str, dict], skipped: dict[str, str], scope: str, coverage: float = 0.9,
            significance: float = 0.05) -> dict:
    """Pooled figures first, then every ticker's row (sorted by ticker) and the tickers left out, with why.

    With several seeds a ticker's skill is its seed ensemble's; ``median_first_seed_skill`` is
    the single model's beside it.
    """
    rows = {ticker: summary_row(metrics[ticker]) for ticker in sorted(metrics)}
    skills = [row["skill"] for row in rows.values()]
    beat = sum(row["beats_naive"] for row in rows.values())
    first_seed = [row["first_seed_skill"] for row in rows.values()]
    return {
        "scope": scope, "count": len(rows), "beat_naive": beat,
        "share_beat_naive": beat / len(rows) if rows else None,
        "significance": significance,
        "significantly_better": sum(row["significant"] and row["skill"] > 0 for row in rows.values()),
        "significantly_worse": sum(row["significant"] and row["skill"] < 0 for row in rows.values()),
        "median_skill": statistics.median(skills) if skills else None,
        "mean_skill": statistics.fmean(skills) if skills else None,
        "median_first_seed_skill": statistics.median(first_seed) if first_seed else None,
        "pooled_skill": pooled_skill(metrics),
        "intervals": interval_summary(rows, coverage) if rows else None,
        "skipped_count": len(skipped), "skipped": dict(sorted(skipped.items())), "tickers": rows,
    }


def markdown_table(table: dict) -> str:
    """The summary as markdown for the pull-request comment: pooled line first, tickers by skill, best first."""
    if not table["count"]:
        lines = ["No ticker was evaluated."]
    else:
        intervals = table["intervals"]
        lines = [
            f"**{table['beat_naive']} of {table['count']} tickers ({table['share_beat_naive']:.1%}) beat the naive "
            f"forecast**, {table['significantly_better']} significantly; {table['significantly_worse']} lose to it "
            f"significantly (Diebold-Mariano p < {table['significance']:g}). Median skill "
            f"{table['median_skill']:+.4f}, pooled skill {_signed(table['pooled_skill'])} (model.scope "
            f"{table['scope']}; pooled over every test day in scaled units: {POOLED_UNITS}).",
            "",
            f"{intervals['target']:.0%} intervals: median coverage {intervals['median_coverage']:.1%}, "
            f"{intervals['outside_tolerance']} of {table['count']} series more than "
            f"{100 * COVERAGE_TOLERANCE:.0f} points from {intervals['target']:.0%}; on the most volatile third of days "
            f"median {_share(intervals['median_coverage_high_volatility'])}; median width "
            f"{_ratio(intervals['median_width_vs_garch_t'])} the GARCH-t interval's.",
            "",
            "| ticker | test days | RMSE | naive RMSE | skill | verdict | MASE | interval coverage (volatile days) "
            "| skill sd (folds / seeds) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
    for ticker, row in sorted(table["tickers"].items(), key=lambda item: (-item[1]["skill"], item[0])):
        verdict = row["verdict"] if row["skill"] >= 0 else f"**{row['verdict']}**"
        spread = f"{_sd(row['fold_skill_std'])} ({row['folds']}) / {_sd(row['seed_skill_std'])} ({row['seeds']})"
        lines.append(f"| {ticker} | {row['first']} .. {row['last']} ({row['n_test']}) | {row['rmse']:.2f} | "
                     f"{row['naive_rmse']:.2f} | {row['skill']:+.4f} | {verdict} | {row['mase']:.2f} | "
                     f"{row['interval_coverage']:.1%} ({_share(row['interval_coverage_high_volatility'])}) | "
                     f"{spread} |")
    if table["skipped"]:
        count = table["skipped_count"]
        lines += ["", f"{count} ticker{'' if count == 1 else 's'} skipped:", ""]
        lines += [f"- {ticker}: {reason}" for ticker, reason in table["skipped"].items()]
    return "\n".join(lines) + "\n"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _sd(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.4f}"
