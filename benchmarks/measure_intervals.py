"""How the intervals and verdicts hold on real stocks: coverage, width and Diebold-Mariano verdicts per series.

Runs the pipeline, as `dvc repro` in a fresh copy of the working tree (tracked files, as
bench_pipeline.py copies them), on real prices read from ../shared/data/prices (never copied into
the project):

- the universe: every one of the 505 S&P 500 members in sp500_5yr/ that data.tickers: all finds,
  model.scope global (one model; per-ticker models for 505 tickers take hours on 2 cores),
  data.batches [0 .. 7];
- the long series: GSPC_2000_2022, AAPL_1980_2024 and DJIA_2008_2016_dmy, model.scope ticker.

Each project runs with predict.interval_method adaptive, then split (only evaluate, predict and
summary rerun: same models, same point forecasts), then, with --seeds N, adaptive with train.seeds N
(the headline forecast is the seeds' mean). For each run it prints how many series miss each bound of
issue 22 (the summary stage's counts: coverage outside 88-92%, under 85% on the most volatile third of
days, a worst rolling 250-day coverage under 80%, mean width over 1.1x the GARCH-t interval's) beside
how many a perfectly calibrated interval would put outside 88-92% by chance alone (binomial, each
series' own number of test days); the coverage and width distributions and the Winkler score against
GARCH-t's; and how many series the model beats or loses to significantly (DM p < 0.05). For the
universe it prints the same for the half that benchmarks/tune_intervals.py never looked at.

    .venv/bin/python benchmarks/measure_intervals.py              # about 15 minutes on 2 cores
    .venv/bin/python benchmarks/measure_intervals.py --seeds 3    # and the 3-seed ensemble: about 20 in all
    .venv/bin/python benchmarks/measure_intervals.py --keep DIR   # keep the projects under DIR to look into
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import copy_tracked_files, git_init_and_commit, virtualenv_env  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from stockpipe.summary import COVERAGE_TOLERANCE, WIDTH_VS_GARCH_T, interval_summary, summary_row  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PRICES = ROOT.parent / "shared" / "data" / "prices"
LONG_SERIES = {"GSPC": "GSPC_2000_2022.csv", "AAPL": "AAPL_1980_2024.csv", "DJIA": "DJIA_2008_2016_dmy.csv"}
TARGET = 0.9


def make_project(name: str, keep: Path | None) -> Path:
    """A fresh copy of the working tree for ``name`` (universe or long), its price files and params."""
    folder = Path(tempfile.mkdtemp(prefix=f"stockpipe-intervals-{name}-", dir=keep))
    copy_tracked_files(ROOT, folder)
    external = folder / "data" / "external"
    params = yaml.safe_load((folder / "params.yaml").read_text())
    if name == "universe":
        for path in (PRICES / "sp500_5yr").glob("*_data.csv"):
            shutil.copy(path, external / path.name)
        params["data"].update({"source": "csv", "path": "data/external/{ticker}_data.csv", "tickers": "all",
                               "batches": list(range(8))})
        params["model"]["scope"] = "global"
    else:
        for ticker, file in LONG_SERIES.items():
            shutil.copy(PRICES / file, external / f"{ticker}.csv")
        params["data"].update({"source": "csv", "path": "data/external/{ticker}.csv", "tickers": list(LONG_SERIES),
                               "batches": [0]})
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git_init_and_commit(folder)
    return folder


def repro(folder: Path, env: dict, **changes: dict) -> None:
    """Set the params sections in ``changes`` and run `dvc repro`."""
    params = yaml.safe_load((folder / "params.yaml").read_text())
    for section, values in changes.items():
        params[section].update(values)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = subprocess.run(["dvc", "repro"], cwd=folder, env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"dvc repro failed in {folder}:\n{result.stderr[-3000:]}")


def chance_outside(n_tests: list[int], tolerance: float = COVERAGE_TOLERANCE) -> float:
    """Expected number of series outside TARGET +- tolerance if every interval held exactly TARGET (binomial)."""
    expected = 0.0
    for n in n_tests:
        inside = stats.binom.cdf(np.floor((TARGET + tolerance) * n + 1e-9), n, TARGET) - stats.binom.cdf(
            np.ceil((TARGET - tolerance) * n - 1e-9) - 1, n, TARGET)
        expected += 1.0 - inside
    return expected


def held_out(ticker: str) -> bool:
    """The half of the universe that tune_intervals.py did not look at: an even CRC-32."""
    return zlib.crc32(ticker.encode()) % 2 == 0


def report(label: str, folder: Path, universe: bool) -> dict:
    """Print and return one run's figures: the summary stage's interval counts, beside chance, and the verdicts.

    For the universe, also for the held-out half alone (``held_out``).
    """
    metrics = {}
    for path in sorted((folder / "metrics" / "evaluate").glob("batch_*.json")):
        metrics.update(json.loads(path.read_text())["tickers"])
    groups = {"all": sorted(metrics)}
    if universe:
        groups["held-out half"] = [ticker for ticker in sorted(metrics) if held_out(ticker)]
    figures = {}
    for group, tickers in groups.items():
        rows = {ticker: summary_row(metrics[ticker]) for ticker in tickers}
        counts = interval_summary(rows, TARGET)
        width = np.array([row["interval_width_vs_garch_t"] for row in rows.values()])
        winkler = [metrics[ticker]["intervals"]["winkler"] / metrics[ticker]["intervals_garch_t"]["winkler"]
                   for ticker in tickers]
        wide = [ticker for ticker in tickers if rows[ticker]["interval_width_vs_garch_t"] > WIDTH_VS_GARCH_T]
        worse = sum(row["significant"] and row["skill"] < 0 for row in rows.values())
        figures[group] = {
            **counts, "series": len(rows), "test_days": [min(row["n_test"] for row in rows.values()),
                                                         max(row["n_test"] for row in rows.values())],
            "outside_tolerance_by_chance": round(chance_outside([row["n_test"] for row in rows.values()]), 1),
            # The first 12 (ticker: test days, coverage), enough to see whether they are the short series.
            "outside_tolerance_series": dict(list({
                ticker: [row["n_test"], round(row["interval_coverage"], 4)] for ticker, row in rows.items()
                if abs(row["interval_coverage"] - TARGET) > COVERAGE_TOLERANCE + 1e-12}.items())[:12]),
            "coverage_quantiles": [round(float(value), 4) for value in
                                   np.quantile([row["interval_coverage"] for row in rows.values()], [0, 0.5, 1])],
            "width_vs_garch_t_quantiles": [round(float(value), 3) for value in np.quantile(width, [0.5, 0.9, 1])],
            "median_winkler_vs_garch_t": round(float(np.median(winkler)), 4),
            "garch_t_coverage_where_wider": round(float(np.median(
                [metrics[ticker]["intervals_garch_t"]["coverage"] for ticker in wide])), 4) if wide else None,
            "beat_naive": sum(row["beats_naive"] for row in rows.values()),
            "significantly_better": sum(row["significant"] and row["skill"] > 0 for row in rows.values()),
            "significantly_worse": worse, "significantly_worse_share": round(worse / len(rows), 4),
            "median_skill": statistics.median(row["skill"] for row in rows.values()),
            "median_first_seed_skill": statistics.median(row["first_seed_skill"] for row in rows.values()),
        }
        print(f"{label}, {group}: {json.dumps(figures[group])}", flush=True)
    if not universe:
        for ticker, row in ((ticker, summary_row(metrics[ticker])) for ticker in sorted(metrics)):
            print(f"  {ticker}: {row['n_test']} test days, coverage {row['interval_coverage']:.1%} (volatile third "
                  f"{row['interval_coverage_high_volatility']:.1%}, worst 250 days "
                  f"{row['interval_worst_rolling_coverage']:.1%}), width {row['interval_width_vs_garch_t']:.2f}x "
                  f"GARCH-t, Winkler {metrics[ticker]['intervals']['winkler']:.2f} vs "
                  f"{metrics[ticker]['intervals_garch_t']['winkler']:.2f}; skill {row['skill']:+.4f}, {row['verdict']}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=0, help="also run the seed ensemble of this many seeds")
    parser.add_argument("--only", choices=["universe", "long"], help="run one of the two projects")
    parser.add_argument("--keep", type=Path, help="make the projects under this folder and keep them")
    args = parser.parse_args()
    env = virtualenv_env("measure_intervals.py")
    if not PRICES.is_dir():
        sys.exit(f"{PRICES}: not found (the shared data folder beside the project)")
    results = {}
    for name in [args.only] if args.only else ["long", "universe"]:
        folder = make_project(name, args.keep)
        try:
            universe = name == "universe"
            repro(folder, env)
            results[f"{name} adaptive"] = report(f"{name} adaptive", folder, universe)
            repro(folder, env, predict={"interval_method": "split"})
            results[f"{name} split"] = report(f"{name} split", folder, universe)
            if args.seeds > 1:
                repro(folder, env, predict={"interval_method": "adaptive"}, train={"seeds": args.seeds})
                results[f"{name} adaptive, {args.seeds} seeds"] = report(f"{name} adaptive, {args.seeds} seeds",
                                                                         folder, universe)
        finally:
            if args.keep is None:
                shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
