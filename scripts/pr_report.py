"""Print the pull-request report: verdict, params and metrics diffs against a base revision, live errors, forecast.

Run from the repository root after `dvc repro`, e.g.
`python scripts/pr_report.py --base origin/main --monitor metrics/monitor.json`.
"""

import argparse
import csv
import subprocess
import sys
from pathlib import Path

# The stockpipe package lives in src/ and is not installed (the pipeline runs from a clone), and
# `python scripts/pr_report.py` puts only scripts/ on sys.path, so src/ is added by hand.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from stockpipe.errors import PipelineError  # noqa: E402
from stockpipe.io import read_json_object, run_stage  # noqa: E402
from stockpipe.report import build_report  # noqa: E402


def dvc_diff(kind: str, base: str) -> str:
    """Markdown output of `dvc <kind> diff <base> --md` against the workspace."""
    # `python -m dvc` runs the dvc of this interpreter: CI calls .venv/bin/python without .venv/bin on PATH.
    command = [sys.executable, "-m", "dvc", kind, "diff", base, "--md"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = [line for line in result.stderr.splitlines() if line.strip()] or ["no error output"]
        raise PipelineError(f"`dvc {kind} diff {base} --md` exited {result.returncode}: {last[-1].strip()}")
    # Warnings (e.g. a metrics file the base revision lacks) still belong in the CI log.
    sys.stderr.write(result.stderr)
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="git revision to compare against, e.g. origin/main")
    parser.add_argument("--metrics", default="metrics/metrics.json")
    parser.add_argument("--forecast", default="metrics/forecast.csv")
    parser.add_argument("--summary", help="the summary stage's table of every ticker (metrics/summary.md); "
                                          "without it, no per-ticker section")
    parser.add_argument("--monitor", help="the monitor stage's JSON (metrics/monitor.json); without it, no "
                                          "live-forecast section")
    args = parser.parse_args()
    params_diff = dvc_diff("params", args.base)
    metrics_diff = dvc_diff("metrics", args.base)
    metrics = read_json_object(args.metrics)
    monitor = read_json_object(args.monitor) if args.monitor else None
    try:
        with open(args.forecast, newline="", encoding="utf-8") as handle:
            forecast = list(csv.DictReader(handle))
    except FileNotFoundError as error:
        raise PipelineError(f"{error.filename}: file not found (run `dvc repro` first)") from None
    try:
        tickers = Path(args.summary).read_text(encoding="utf-8") if args.summary else None
    except FileNotFoundError as error:
        raise PipelineError(f"{error.filename}: file not found (run `dvc repro` first)") from None
    try:
        report = build_report(args.base, params_diff, metrics_diff, metrics, forecast, monitor, tickers)
    except ValueError as error:
        files = " / ".join(filter(None, (args.metrics, args.forecast, args.monitor)))
        raise PipelineError(f"{files}: {error}") from None
    print(report, end="")


if __name__ == "__main__":
    run_stage(main)
