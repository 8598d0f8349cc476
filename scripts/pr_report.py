"""Print the pull-request report: verdict, params and metrics diffs against a base revision, live errors, forecast.

Run from the repository root after `dvc repro`, e.g.
`python scripts/pr_report.py --base origin/main --monitor metrics/monitor.json`.
"""

import argparse
import csv
import logging
import subprocess
import sys
from pathlib import Path

import yaml

# The stockpipe package lives in src/ and is not installed (the pipeline runs from a clone), and
# `python scripts/pr_report.py` puts only scripts/ on sys.path, so src/ is added by hand.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from stockpipe.adapters.io import batch_files, read_json_object, run_stage  # noqa: E402
from stockpipe.errors import PipelineError  # noqa: E402
from stockpipe.report import build_report, pictures_section  # noqa: E402

log = logging.getLogger("pr_report")

# A universe's metrics diff has a row per ticker and metric; a PR comment keeps the first rows.
MAX_DIFF_ROWS = 60


def dvc_diff(kind: str, base: str, *targets: str) -> str:
    """Markdown output of `dvc <kind> diff <base> --md [targets]` against the workspace, cut to MAX_DIFF_ROWS rows."""
    # `python -m dvc` runs the dvc of this interpreter: CI calls .venv/bin/python without .venv/bin on PATH.
    command = [sys.executable, "-m", "dvc", kind, "diff", base, "--md", *(["--targets", *targets] if targets else [])]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = [line for line in result.stderr.splitlines() if line.strip()] or ["no error output"]
        raise PipelineError(f"`dvc {kind} diff {base} --md` exited {result.returncode}: {last[-1].strip()}")
    # Warnings (e.g. a metrics file the base revision lacks) still belong in the CI log.
    sys.stderr.write(result.stderr)
    lines = result.stdout.splitlines()
    if len(lines) > MAX_DIFF_ROWS + 2:
        more = len(lines) - MAX_DIFF_ROWS - 2
        lines = [*lines[:MAX_DIFF_ROWS + 2], "", f"({more} more rows: run `dvc {kind} diff {base}`.)"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="git revision to compare against, e.g. origin/main")
    parser.add_argument("--metrics", default="metrics/summary.json", help="the summary stage's JSON")
    parser.add_argument("--forecast", default="metrics/forecast", help="the predict stages' folder of forecast CSVs")
    parser.add_argument("--max-forecast-rows", type=int, default=50, help="forecast rows shown at most")
    parser.add_argument("--summary", help="the summary stage's table of every ticker (metrics/summary.md); "
                                          "without it, no per-ticker section")
    parser.add_argument("--monitor", help="the monitor stage's JSON (metrics/monitor.json); without it, no "
                                          "live-forecast section")
    parser.add_argument("--pictures-url", help="where the pull request's files are served raw, e.g. "
                                               "https://github.com/OWNER/REPO/raw/HEAD_SHA; without it, no pictures")
    parser.add_argument("--pictures", default="metrics/plots", help="the pictures' folder in the repository")
    parser.add_argument("--artifact-url", help="where this run's own pictures can be downloaded (the CI run)")
    args = parser.parse_args()
    params_diff = dvc_diff("params", args.base)
    # The summary holds the pooled figures and every ticker's row; per-batch files repeat them in detail.
    metrics_diff = dvc_diff("metrics", args.base, args.metrics)
    metrics = read_json_object(args.metrics)
    monitor = read_json_object(args.monitor) if args.monitor else None
    forecast = []
    # Only which batch files to read comes from params.yaml, so the report needs no full validation of it.
    data = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8")).get("data") or {}
    for path in batch_files(args.forecast, data.get("batches", [0]), ".csv"):
        with open(path, newline="", encoding="utf-8") as handle:
            forecast.extend(csv.DictReader(handle))
    if len(forecast) > args.max_forecast_rows:
        log.info("forecast: the first %d of %d rows shown", args.max_forecast_rows, len(forecast))
        forecast = forecast[:args.max_forecast_rows]
    try:
        tickers = Path(args.summary).read_text(encoding="utf-8") if args.summary else None
    except FileNotFoundError as error:
        raise PipelineError(f"{error.filename}: file not found (run `dvc repro` first)") from None
    pictures = None
    if args.pictures_url:
        # This run's pictures against the committed ones: a pull request whose author did not commit
        # what `dvc repro` wrote shows stale pictures, and the report says so.
        status = subprocess.run(["git", "status", "--porcelain", "--", args.pictures], capture_output=True, text=True)
        differ = bool(status.stdout.strip()) if status.returncode == 0 else None
        pictures = pictures_section(args.pictures_url, args.pictures, differ, args.artifact_url)
    try:
        report = build_report(args.base, params_diff, metrics_diff, metrics, forecast, monitor, tickers, pictures)
    except ValueError as error:
        files = " / ".join(filter(None, (args.metrics, args.forecast, args.monitor)))
        raise PipelineError(f"{files}: {error}") from None
    print(report, end="")


if __name__ == "__main__":
    run_stage(main)
