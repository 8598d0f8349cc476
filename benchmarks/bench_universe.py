"""How the pipeline scales with the number of tickers: cold time, per-ticker cost, no-op time, peak memory.

Reads the 505 real S&P 500 members in ../shared/data/prices/sp500_5yr/ (never copied into the
project). For each case a fresh copy of the working tree (tracked files, as bench_pipeline.py
copies them) gets the first N full-history tickers in data/external/, data.source csv,
data.batches [0 .. 7] and the default model and training params; `dvc repro` runs cold (empty
cache, no outputs) and is timed, wall clock, start-up of every stage included. Cases:

- 1, 10 and 50 tickers, model.scope ticker and global, taking turns;
- per ticker: the marginal cost (cold 50 - cold 10) / 40 (the two largest sizes), and the ratio
  ticker / global of it;
- no-op `dvc repro` at 50 tickers (best of 5), beside a fresh no-op of the same project
  at 1 ticker: the cost of the universe in DVC's own bookkeeping;
- peak resident memory: the largest of any process the cold run started (RUSAGE_CHILDREN of a
  wrapper process per case).

`--universe` adds one cold run of every ticker that data.tickers: all finds (505 files; of the 35
short histories, those too short for the default params, two, are skipped and listed) with
model.scope global, and its no-op time.
Targets (issue 21): marginal cost per ticker <= 2 s with the global model, 50 tickers cold
<= 5 minutes; the universe <= 20 minutes cold, no-op <= 5 s, peak RSS <= 4 GB on 2 cores.

    .venv/bin/python benchmarks/bench_universe.py             # about 15 minutes on 2 cores
    .venv/bin/python benchmarks/bench_universe.py --universe  # and the 505 tickers once
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import copy_tracked_files, git_init_and_commit, virtualenv_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
UNIVERSE = ROOT.parent / "shared" / "data" / "prices" / "sp500_5yr"
FULL_HISTORY_ROWS = 1259
BATCHES = list(range(8))
NOOP_RUNS = 5


def full_history_tickers() -> list[str]:
    """Tickers of the shared universe with every session of 2013-02-08 .. 2018-02-07, sorted."""
    tickers = []
    for path in sorted(UNIVERSE.glob("*_data.csv")):
        with path.open() as handle:
            if sum(1 for _ in handle) - 1 == FULL_HISTORY_ROWS:
                tickers.append(path.name.removesuffix("_data.csv"))
    return tickers


def make_project(tickers: list[str] | None, scope: str) -> Path:
    """A fresh copy of the working tree with ``tickers``' files (None: every file, tickers all) and ``scope``."""
    folder = Path(tempfile.mkdtemp(prefix=f"stockpipe-universe-{scope}-"))
    copy_tracked_files(ROOT, folder)
    for path in UNIVERSE.glob("*_data.csv"):
        if tickers is None or path.name.removesuffix("_data.csv") in tickers:
            shutil.copy(path, folder / "data" / "external" / path.name)
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["data"].update({"source": "csv", "path": "data/external/{ticker}_data.csv",
                           "tickers": "all" if tickers is None else tickers, "batches": BATCHES})
    params["model"]["scope"] = scope
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git_init_and_commit(folder)
    return folder


def cold_run(folder: Path, env: dict) -> dict:
    """Time a cold `dvc repro` in a wrapper process, which also reports its children's peak memory."""
    wrapper = ("import resource, subprocess, sys, time; started = time.perf_counter(); "
               "result = subprocess.run(['dvc', 'repro'], capture_output=True, text=True); "
               "print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
               "result.returncode); sys.stderr.write(result.stderr[-3000:] if result.returncode else '')")
    result = subprocess.run([sys.executable, "-c", wrapper], cwd=folder, env=env, capture_output=True, text=True)
    seconds, peak_kb, code = result.stdout.split()
    if code != "0":
        raise SystemExit(f"dvc repro failed in {folder}:\n{result.stderr}")
    summary = json.loads((folder / "metrics" / "summary.json").read_text())
    return {"seconds": float(seconds), "peak_gb": int(peak_kb) / 1024**2, "tickers": summary["count"],
            "skipped": summary["skipped_count"], "beat_naive": summary["beat_naive"],
            "median_skill": summary["median_skill"], "pooled_skill": summary["pooled_skill"]}


def noop_seconds(folder: Path, env: dict, runs: int = NOOP_RUNS) -> float:
    """Best wall clock of ``runs`` `dvc repro` calls that must run nothing."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(["dvc", "repro"], cwd=folder, env=env, capture_output=True, text=True, check=True)
        best = min(best, time.perf_counter() - started)
        if "Running stage" in result.stdout:
            raise SystemExit(f"a no-op dvc repro in {folder} ran a stage:\n{result.stdout}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--universe", action="store_true", help="also run every ticker once (model.scope global)")
    args = parser.parse_args()
    env = virtualenv_env("bench_universe.py")
    if not UNIVERSE.is_dir():
        sys.exit(f"{UNIVERSE}: not found (the shared data folder beside the project)")
    candidates = full_history_tickers()
    results: dict[tuple[int, str], dict] = {}
    noop: dict[int, float] = {}
    for size in args.sizes:
        # Every size-th ticker of the sorted list: the 10 and 50 spread over the alphabet, not AAL .. ADM.
        tickers = candidates[::max(1, len(candidates) // size)][:size]
        for scope in ("ticker", "global"):
            folder = make_project(tickers, scope)
            try:
                results[size, scope] = cold_run(folder, env)
                if size in (min(args.sizes), max(args.sizes)) and scope == "global":
                    noop[size] = noop_seconds(folder, env)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            row = results[size, scope]
            print(f"{size:>4} tickers, scope {scope:<6}: cold {row['seconds']:7.1f} s ({row['seconds'] / size:5.2f} s "
                  f"a ticker), peak RSS {row['peak_gb']:.2f} GB, {row['beat_naive']} of {row['tickers']} beat naive, "
                  f"median skill {row['median_skill']:+.4f}", flush=True)
    # The two largest sizes: the smallest runs pay each stage's start-up (8 batches) for one ticker.
    small, large = sorted(args.sizes)[-2:]
    print()
    marginal = {scope: (results[large, scope]["seconds"] - results[small, scope]["seconds"]) / (large - small)
                for scope in ("ticker", "global")}
    for scope, seconds in marginal.items():
        print(f"marginal cost per ticker ({small} -> {large}), scope {scope}: {seconds:.2f} s")
    print(f"ratio ticker / global of the marginal cost: {marginal['ticker'] / marginal['global']:.2f}")
    fewest = min(args.sizes)
    print(f"no-op dvc repro: {noop[large]:.2f} s at {large} tickers, {noop[fewest]:.2f} s at {fewest} "
          f"(ratio {noop[large] / noop[fewest]:.2f}); {len(BATCHES)} batches")
    if args.universe:
        folder = make_project(None, "global")
        try:
            row = cold_run(folder, env)
            quiet = noop_seconds(folder, env)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(f"\nuniverse: {row['tickers']} tickers evaluated, {row['skipped']} skipped, scope global: cold "
              f"{row['seconds'] / 60:.1f} min, no-op {quiet:.2f} s, peak RSS {row['peak_gb']:.2f} GB; "
              f"{row['beat_naive']} beat naive, median skill {row['median_skill']:+.4f}, pooled "
              f"{row['pooled_skill']:+.4f}")
    print(f"(ru_maxrss in KB on Linux; load average {Path('/proc/loadavg').read_text().split()[:3]})")


if __name__ == "__main__":
    main()
