"""The pull-request comment: a verdict, the params and metrics diffs against the base, live errors, the forecast."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from stockpipe import columns as col
from stockpipe.metrics import significance_words


def verdict(metrics: Mapping) -> str:
    """One line in plain words: does the model beat the naive "tomorrow = today" forecast?

    Raises:
        ValueError: if ``skill``, ``rmse`` or ``naive_rmse`` is missing or not a finite number.
    """
    skill, rmse, naive_rmse = (_finite(metrics, key) for key in ("skill", "rmse", "naive_rmse"))
    errors = f"(test RMSE {rmse:.2f} vs {naive_rmse:.2f} for the naive forecast)"
    how = significance_words(metrics)
    how = f", {how}" if how else ""
    if skill > 0:
        return f"The model beats the naive forecast{how}: skill {skill:+.3f} {errors}"
    if skill < 0:
        return f"The model LOSES to the naive 'tomorrow = today' forecast{how}: skill {skill:+.3f} {errors}"
    return f"The model only ties with the naive 'tomorrow = today' forecast: skill {skill:+.3f} {errors}"


def universe_verdict(summary: Mapping) -> str:
    """One line for a universe (``metrics/summary.json``): how many tickers beat naive, median and pooled skill.

    With one ticker it is that ticker's ``verdict``.
    """
    tickers = summary.get("tickers") or {}
    if len(tickers) == 1:
        (ticker, row), = tickers.items()
        return f"{ticker}: {verdict(row)}"
    count, beat = int(_finite(summary, "count")), int(_finite(summary, "beat_naive"))
    if not count:
        return "No ticker was evaluated."
    pooled = summary.get("pooled_skill")
    pooled_text = "n/a" if pooled is None else f"{_finite(summary, 'pooled_skill'):+.4f}"
    significant = ""
    if "significantly_worse" in summary:
        significant = (f" ({int(_finite(summary, 'significantly_better'))} significantly, DM p < "
                       f"{_finite(summary, 'significance'):g}; {int(_finite(summary, 'significantly_worse'))} lose "
                       "significantly)")
    return (f"{beat} of {count} tickers beat the naive 'tomorrow = today' forecast{significant}: median skill "
            f"{_finite(summary, 'median_skill'):+.4f}, pooled skill {pooled_text}")


def forecast_table(rows: Sequence[Mapping]) -> str:
    """Markdown table of the forecast rows (``date``, ``predicted_close``), closes to two decimals.

    Raises:
        ValueError: if a row lacks a column or its close is not a number.
    """
    if not rows:
        return "No forecast rows."
    if col.TICKER in rows[0]:
        lines = ["| Ticker | Date | Predicted close |", "|---|------|----------------:|"]
    else:
        lines = ["| Date | Predicted close |", "|------|----------------:|"]
    for number, row in enumerate(rows, start=1):
        missing = [name for name in (col.DATE, col.PREDICTED_CLOSE) if name not in row]
        if missing:
            raise ValueError(f"forecast row {number} has no {missing[0]!r} column (has {sorted(row)})")
        try:
            close = float(row[col.PREDICTED_CLOSE])
        except (TypeError, ValueError):
            raise ValueError(
                f"forecast row {number}: {col.PREDICTED_CLOSE} {row[col.PREDICTED_CLOSE]!r} is not a number"
            ) from None
        ticker = f"| {row.get(col.TICKER, '')} " if col.TICKER in rows[0] else ""
        lines.append(f"{ticker}| {row[col.DATE]} | {close:.2f} |")
    return "\n".join(lines)


def monitor_summary(monitor: Mapping) -> str:
    """Markdown on the live forecasts from ``metrics/monitor.json``: errors beside the test set's, and drift.

    Raises:
        ValueError: if a number the summary needs is missing or not a finite number.
    """
    first = monitor.get("first_step")
    if not isinstance(first, Mapping):
        raise ValueError(f"monitor: 'first_step' must be a mapping, got {first!r}")
    forecasts = int(_finite(monitor, "forecasts"))
    if not first.get("n"):
        return (f"No live forecast has been scored yet ({forecasts} recorded, the latest made on "
                f"{monitor.get('last_forecast_made_on')}): a forecast is scored once the prices reach its dates.")
    rmse, mae, naive_rmse, naive_mae = (_finite(first, key) for key in ("rmse", "mae", "naive_rmse", "naive_mae"))
    test_rmse, test_naive_rmse = (_finite(monitor, key) for key in ("test_rmse", "test_naive_rmse"))
    lines = [
        f"First steps of the last {int(first['n'])} scored forecasts (of {forecasts} recorded, scored up to "
        f"{monitor.get('last_scored_date')}):",
        "",
        "| | RMSE | MAE |",
        "|---|---:|---:|",
        f"| live forecasts | {rmse:.2f} | {mae:.2f} |",
        f"| naive, same days | {naive_rmse:.2f} | {naive_mae:.2f} |",
        f"| test set (naive {test_naive_rmse:.2f}) | {test_rmse:.2f} | |",
        "",
    ]
    ratio, drift = monitor.get("ratio"), monitor.get("drift")
    threshold = _finite(monitor, "drift_ratio")
    if ratio is None or drift is None:
        lines.append(f"Drift is not judged yet: too few scored forecasts (drift above {threshold:g}).")
    else:
        measured = (f"live RMSE / naive RMSE is {_finite(monitor, 'ratio'):.2f} times the test set's "
                    f"(drift above {threshold:g})")
        lines.append(f"**DRIFT: {measured}.**" if drift is True else f"No drift: {measured}.")
    return "\n".join(lines)


def universe_monitor(monitor: Mapping, most: int = 10) -> str:
    """``monitor_summary`` of each ticker of a universe's ``metrics/monitor.json`` (the first ``most``), drift first."""
    reports = monitor.get("tickers")
    if not isinstance(reports, Mapping):
        return monitor_summary(monitor)
    drifting = list(monitor.get("drifting", []))
    order = drifting + [ticker for ticker in reports if ticker not in drifting]
    lines = [f"{len(reports)} tickers monitored, {len(drifting)} drifting"
             + (f": {', '.join(drifting)}." if drifting else ".")]
    for ticker in order[:most]:
        lines += ["", f"#### {ticker}", monitor_summary(reports[ticker])]
    if len(order) > most:
        lines += ["", f"({len(order) - most} more tickers in metrics/monitor.json.)"]
    return "\n".join(lines)


# The PNGs of metrics/plots/ and the question each answers (docs/plots.md).
PICTURES = (("fan.png", "What happens next"), ("calibration.png", "Can I trust the band?"),
            ("gain_loss.png", "Where does the model gain or lose against naive?"),
            ("universe.png", "Every ticker's skill and coverage"))


def pictures_section(base_url: str, folder: str, differ: bool | None, artifact_url: str | None = None) -> str:
    """The pictures committed with the pull request, embedded from ``base_url`` (e.g. the head commit's raw files),
    and whether this run drew the same ones (``differ``: its metrics/plots/ changed the committed files; None:
    that could not be checked)."""
    lines = [f"![{caption}]({base_url.rstrip('/')}/{folder.strip('/')}/{name})" for name, caption in PICTURES]
    where = f" ([this run's pictures]({artifact_url}))" if artifact_url else ""
    if differ is None:
        note = f"The pictures committed with the pull request; whether this run drew the same was not checked{where}."
    elif differ:
        note = (f"These are the pictures committed with the pull request; this run drew different ones{where}: "
                "commit what `dvc repro` writes to metrics/.")
    else:
        note = f"The pictures committed with the pull request, the same as this run drew{where}."
    return "\n\n".join([note, *lines])


def build_report(base: str, params_diff: str, metrics_diff: str, metrics: Mapping, forecast: Sequence[Mapping],
                 monitor: Mapping | None = None, tickers: str | None = None, pictures: str | None = None) -> str:
    """The markdown PR comment.

    Args:
        base: the git revision the diffs compare against, e.g. ``origin/main``.
        params_diff: output of ``dvc params diff <base> --md``.
        metrics_diff: output of ``dvc metrics diff <base> --md``.
        metrics: one ticker's metrics, or a universe's ``metrics/summary.json`` (it has ``tickers``).
        forecast: the forecast rows (``metrics/forecast/*.csv``; with a ticker column for a universe).
        monitor: the new contents of ``metrics/monitor.json``, or None to leave the live-forecast section out.
        tickers: the summary table of every ticker (``metrics/summary.md``), or None to leave it out.
        pictures: ``pictures_section``'s markdown, or None to leave it out.
    """
    sections = [
        f"## Stock LSTM: pipeline report against `{base}`",
        f"**{universe_verdict(metrics) if 'tickers' in metrics else verdict(metrics)}**",
        "### Params changed",
        _diff_or(params_diff, "No params changed."),
        "### Metrics changed",
        _diff_or(metrics_diff, "No metric changed."),
    ]
    if tickers is not None:
        sections += ["### Every ticker", tickers.strip()]
    if monitor is not None:
        sections += ["### Live forecasts", universe_monitor(monitor)]
    sections += [f"### Forecast ({len(forecast)} sessions)", forecast_table(forecast)]
    if pictures is not None:
        sections += ["### Pictures", pictures]
    return "\n\n".join(sections) + "\n"


def _finite(metrics: Mapping, key: str) -> float:
    value = metrics.get(key)
    # bool is a subclass of int, and a True skill would otherwise read as +1.000.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"metrics: {key!r} must be a finite number, got {value!r}")
    return float(value)


def _diff_or(table: str, nothing: str) -> str:
    # With nothing changed dvc still prints the header and separator rows of the table.
    rows = [line for line in table.strip().splitlines() if line.startswith("|")]
    return table.strip() if len(rows) > 2 else nothing
