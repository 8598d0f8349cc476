"""Speed and accuracy of the DVC pipeline against the single-script textbook LSTM.

Run from anywhere, with the project's virtualenv (its bin/ must hold dvc):

    .venv/bin/python benchmarks/bench_pipeline.py           # the temporary copy is removed at the end
    .venv/bin/python benchmarks/bench_pipeline.py --keep    # keep it and the toy project, to look at them
    .venv/bin/python benchmarks/bench_pipeline.py --quick   # skip the 5k/20k/80k-row runs

What it measures, in one run:

1. Cold pipeline. The repository's tracked files (`git ls-files`, as they are in the working tree,
   so uncommitted edits count) are copied into a temporary directory, which gets `git init` and one
   commit (dvclive needs a commit). There `dvc repro --force` runs all ten stages with the default
   params.yaml, an empty DVC cache and no earlier outputs; the wall clock covers everything, each
   stage's Python and TensorFlow start-up included. `--force` makes sure no stage is skipped because
   the copied dvc.lock happens to match an output.
2. Textbook LSTM. benchmarks/textbook_lstm.py runs as a subprocess on the cleaned prices of that same
   run (data/raw/prices/batch_0.parquet) and is scored on exactly its test dates (metrics/evaluate/batch_0.csv);
   its wall clock likewise includes Python and TensorFlow start-up.
   Targets: pipeline / textbook wall clock below 1 and at most 0.5, and pipeline skill not below the
   textbook's, where skill = 1 - rmse / naive_rmse and the naive forecast is the previous close.
3. No-op repro. `dvc repro` again with nothing changed (the time a user waits to learn that nothing
   needs to run), beside the same for a two-stage toy DVC project made in a folder of its own: DVC's
   own floor. The toy gets this project's .dvc/config, so both run with the same DVC settings (a
   fresh `dvc init` leaves DVC's usage analytics on, which this project turns off: its report added
   about 70 ms to each toy run). The two take turns, best of 5 each. Targets: under 1.5 s, and at
   most 1.3x the toy's.
4. Training throughput. benchmarks/train_throughput.py fits the textbook's windows and layer sizes
   with the textbook's model.fit and with the train stage's code path (FusedLSTM, params' batch
   size), each in a process of its own, one timed epoch each in turns; it names the device and the
   recurrent kernels each side's training step ran (cuDNN on a GPU). Target: at least 4x.
5. Peak memory. Each stage's command runs once more in the cold run's folder and its peak resident
   set size is read from the kernel (os.wait4). Target: train at most 1.5 GB.
6. Growth with data (skipped with --quick). Cold `dvc repro` on 5k, 20k and 80k daily rows. No market
   has 80k sessions, so these rows are real daily bars of the packaged S&P 500 sample concatenated
   end to end (each copy rescaled to continue from the previous close) on the 24/7 calendar; the
   output says so. Target: time grows no faster than linearly in rows.
7. Rows per second through the whole pipeline: the cold run's daily rows over its wall clock, beside
   a cold `dvc repro --force` on real intraday bars, the SPY 5-minute file in ../shared/data/intraday/
   (or $STOCKPIPE_SHARED_DATA) with data.interval 5m and otherwise the default params.
8. Headline scoring. benchmarks/bench_sentiment.py: headlines/s of the sentiment stage's scorer
   against single-process NLTK VADER on the real headlines in ../shared/data. Target: at least 4x.

All times are wall clock (time.perf_counter) with the virtualenv's bin/ first on PATH, so `python`
in dvc.yaml is the project's interpreter. They depend on the machine and its load: the 1-minute
load average is printed beside them. Nothing here asserts a time; the targets are reported as met
or not.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
TEXTBOOK = ROOT / "benchmarks" / "textbook_lstm.py"
# The default params' stages: download_prices, download_news, sentiment, prepare@0, train@0,
# train_global, evaluate@0, predict@0, summary and monitor (one batch; refresh@ exists only with data.refresh).
N_STAGES = 10
NOOP_RUNS = 5
TARGET_RATIO = 1.0
TARGET_COLD_RATIO = 0.5
TARGET_NOOP_SECONDS = 1.5
TARGET_NOOP_VS_TOY = 1.3
TARGET_TRAIN_THROUGHPUT = 4.0
SENTIMENT = ROOT / "benchmarks" / "bench_sentiment.py"
TARGET_TRAIN_RSS_GB = 1.5
THROUGHPUT = ROOT / "benchmarks" / "train_throughput.py"
SCALING_ROWS = (5_000, 20_000, 80_000)
INTRADAY_FILE = "SPY_5min_2025_2026_eastern.csv"
TOY_DVC_YAML = """stages:
  first:
    cmd: python -c "open('a.txt', 'w').write('a')"
    outs: [a.txt]
  second:
    cmd: python -c "open('b.txt', 'w').write(open('a.txt').read())"
    deps: [a.txt]
    outs: [b.txt]
"""


def copy_tracked_files(source: Path, destination: Path) -> int:
    """Copy the working-tree version of every file git tracks in ``source``; return how many."""
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=source, check=True, capture_output=True, text=True)
    count = 0
    for name in filter(None, listing.stdout.split("\0")):
        # A tracked file deleted in the working tree is left out, as a commit of the tree would.
        if (source / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, destination / name)
            count += 1
    return count


def git_init_and_commit(folder: Path) -> None:
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false"]
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", *identity, "commit", "-q", "-m", "Benchmark copy"]):
        subprocess.run(command, cwd=folder, check=True, capture_output=True)


def timed(command: list[str], folder: Path, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``command`` in ``folder``; return its wall-clock seconds and the finished process.

    A failing command ends the benchmark with its output, since its time would mean nothing.
    """
    start = time.perf_counter()
    process = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed with status {process.returncode}:\n"
                 f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}")
    return seconds, process


def virtualenv_env(script: str) -> dict:
    """This environment with the virtualenv's bin/ first on PATH, so `dvc` and dvc.yaml's `python` are its own."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "dvc").is_file():
        sys.exit(f"no dvc beside {sys.executable}: run this with the project's virtualenv, "
                 f"e.g. .venv/bin/python benchmarks/{script}")
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def noop_seconds(folders: list[Path], env: dict, runs: int = NOOP_RUNS) -> list[list[float]]:
    """Wall clock of ``runs`` `dvc repro` calls in each folder, taking turns; each must run nothing."""
    times = [[] for _ in folders]
    for _ in range(runs):
        for folder, folder_times in zip(folders, times, strict=True):
            seconds, process = timed(["dvc", "repro"], folder, env)
            if "Running stage" in process.stdout:
                sys.exit(f"the no-op dvc repro in {folder} ran a stage:\n{process.stdout[-3000:]}")
            folder_times.append(seconds)
    return times


def toy_project(toy: Path, env: dict, dvc_yaml: str = TOY_DVC_YAML) -> Path:
    """A DVC project of trivial stages (two by default) with this project's DVC config, reproduced once."""
    (toy / "dvc.yaml").write_text(dvc_yaml)
    git_init_and_commit(toy)
    timed(["dvc", "init", "-q"], toy, env)
    shutil.copy(ROOT / ".dvc" / "config", toy / ".dvc" / "config")
    timed(["dvc", "repro"], toy, env)
    return toy


def stage_peak_memory(folder: Path, env: dict) -> dict[str, float]:
    """Peak resident memory (GB) of each stage's command, run once more where the cold run left it."""
    stages = yaml.safe_load((folder / "dvc.yaml").read_text())["stages"]
    peaks = {}
    for name, stage in stages.items():
        if stage.get("frozen"):  # train_sentiment: refitted only on purpose, from a corpus a clone lacks
            continue
        if "foreach" in stage:
            if stage["foreach"] != "${data.batches}":  # refresh: no stage without data.refresh
                continue
            # The default params' one batch, 0.
            name, stage = f"{name}@0", {"cmd": stage["do"]["cmd"].replace("${item}", "0")}
        process = subprocess.Popen(["bash", "-c", " ".join(stage["cmd"].split())], cwd=folder, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        if status != 0:
            sys.exit(f"stage {name} failed when rerun for its memory")
        peaks[name] = usage.ru_maxrss / 1024**2  # Linux reports KiB
    return peaks


def stitched_prices(n_rows: int) -> pd.DataFrame:
    """``n_rows`` real daily bars: the packaged sample repeated, each copy continuing the last close."""
    sys.path.insert(0, str(ROOT / "src"))
    from stockpipe.prices import load_sample

    sample = load_sample()
    bars, scale = [], 1.0
    while sum(len(part) for part in bars) < n_rows:
        part = sample[["open", "high", "low", "close", "volume"]].copy()
        part[["open", "high", "low", "close"]] *= scale
        bars.append(part)
        scale = part["close"].iloc[-1] / sample["close"].iloc[0]
    prices = pd.concat(bars, ignore_index=True).iloc[:n_rows]
    prices.insert(0, "date", pd.date_range(end="2025-12-31", periods=n_rows, freq="D").strftime("%Y-%m-%d"))
    return prices


def scaling_run(n_rows: int, env: dict) -> dict:
    """Cold `dvc repro` of a fresh copy on ``n_rows`` stitched rows with the 24/7 calendar."""
    folder = Path(tempfile.mkdtemp(prefix=f"stockpipe-scale-{n_rows}-"))
    try:
        copy_tracked_files(ROOT, folder)
        stitched_prices(n_rows).to_csv(folder / "data" / "external" / "stitched.csv", index=False)
        params = yaml.safe_load((folder / "params.yaml").read_text())
        params["data"].update({"source": "csv", "path": "data/external/stitched.csv", "exchange": "24/7"})
        (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        git_init_and_commit(folder)
        seconds, _ = timed(["dvc", "repro", "--force"], folder, env)
        history = json.loads((folder / "models/tickers/batch_0/^GSPC/history.json").read_text())
        epochs = len(history["fold1_seed42"]["loss"])
        return {"rows": n_rows, "seconds": seconds, "epochs": epochs}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def shared_data() -> Path:
    return Path(os.environ.get("STOCKPIPE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def rows_in(folder: Path) -> int:
    """Price rows that the prepare stage read, every ticker of batch 0."""
    report = json.loads((folder / "metrics/prepare/batch_0.json").read_text())
    return sum(ticker["data_quality"]["rows_in"] for ticker in report["tickers"].values())


def intraday_run(env: dict) -> dict:
    """Cold `dvc repro --force` of a fresh copy on the SPY 5-minute bars (data.interval 5m)."""
    folder = Path(tempfile.mkdtemp(prefix="stockpipe-intraday-"))
    try:
        copy_tracked_files(ROOT, folder)
        params = yaml.safe_load((folder / "params.yaml").read_text())
        params["data"].update({"source": "csv", "path": str(shared_data() / "intraday" / INTRADAY_FILE),
                               "tickers": ["SPY"], "interval": "5m"})
        (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        git_init_and_commit(folder)
        seconds, _ = timed(["dvc", "repro", "--force"], folder, env)
        return {"rows": rows_in(folder), "seconds": seconds}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def print_report(cold: float, textbook: float, noop: list[float], pipeline: dict, textbook_result: dict,
                 pipeline_epochs: int, loads: dict, toy_noop: list[float], throughput: dict, peaks: dict,
                 scaling: list[dict], daily: dict, intraday: dict) -> None:
    rows = [
        ("wall clock, cold (s)", f"{cold:.1f}", f"{textbook:.1f}"),
        ("test rmse", f"{pipeline['rmse']:.3f}", f"{textbook_result['rmse']:.3f}"),
        ("naive rmse (same dates)", f"{pipeline['naive_rmse']:.3f}", f"{textbook_result['naive_rmse']:.3f}"),
        ("skill (1 - rmse/naive)", f"{pipeline['skill']:+.4f}", f"{textbook_result['skill']:+.4f}"),
        ("test days", str(pipeline["n_test"]), str(textbook_result["test_windows"])),
        ("epochs run", str(pipeline_epochs), str(textbook_result["epochs"])),
        ("load average at start", loads["cold"], loads["textbook"]),
    ]
    width = len("no-op, two-stage toy DVC project (s)")
    print(f"\n{'':<{width}}  {'pipeline':>10}  {'textbook':>10}")
    for label, left, right in rows:
        print(f"{label:<{width}}  {left:>10}  {right:>10}")
    print(f"{'no-op dvc repro (s)':<{width}}  {min(noop):>10.2f}  (best of {len(noop)}: "
          f"{', '.join(f'{seconds:.2f}' for seconds in noop)}; load {loads['noop']})")
    print(f"{'no-op, two-stage toy DVC project (s)':<{width}}  {min(toy_noop):>10.2f}  (best of {len(toy_noop)}: "
          f"{', '.join(f'{seconds:.2f}' for seconds in toy_noop)}; in turns with the pipeline's)")
    print(f"\ntraining throughput on the textbook's {throughput['windows']} windows and layer sizes "
          f"(2 x LSTM(50), 60 steps), {throughput['epochs']} timed epochs each, in turns, on "
          f"{throughput['device']}; medians:")
    for side, label in (("textbook", "textbook model.fit"), ("pipeline", "train stage's path")):
        kernels = ", ".join(throughput[f"{side}_kernels"]) or "no recurrent kernel"
        print(f"  {label}, batch {throughput[f'{side}_batch_size']}: "
              f"{throughput[f'{side}_windows_per_second']:>7} windows/s ({kernels})")
    print("\npeak resident memory by stage (GB): "
          + ", ".join(f"{name} {gigabytes:.2f}" for name, gigabytes in peaks.items()))
    print("\nrows per second through the whole pipeline (cold dvc repro --force)")
    for label, run in (("daily, ^GSPC sample (1d)", daily), (f"intraday, {INTRADAY_FILE} (5m)", intraday)):
        print(f"  {label:<45} {run['rows']:>6} rows in {run['seconds']:6.1f} s: {run['rows'] / run['seconds']:7.0f} "
              "rows/s")
    if scaling:
        print("\ncold dvc repro by rows (real daily S&P 500 bars concatenated end to end, 24/7 calendar):")
        for run in scaling:
            print(f"  {run['rows']:>6} rows: {run['seconds']:6.1f} s, {run['epochs']:>2} epochs, "
                  f"{1000 * run['seconds'] / run['rows']:.2f} ms per row")

    ratio = cold / textbook
    targets = [
        (f"pipeline / textbook wall clock < {TARGET_RATIO:g}", f"{ratio:.2f}", ratio < TARGET_RATIO),
        (f"pipeline / textbook wall clock <= {TARGET_COLD_RATIO:g}", f"{ratio:.2f}", ratio <= TARGET_COLD_RATIO),
        ("pipeline skill >= textbook skill", f"{pipeline['skill']:+.4f} vs {textbook_result['skill']:+.4f}",
         pipeline["skill"] >= textbook_result["skill"]),
        (f"no-op dvc repro < {TARGET_NOOP_SECONDS:g} s", f"{min(noop):.2f} s", min(noop) < TARGET_NOOP_SECONDS),
        (f"no-op / toy DVC project no-op <= {TARGET_NOOP_VS_TOY:g}", f"{min(noop) / min(toy_noop):.2f}",
         min(noop) / min(toy_noop) <= TARGET_NOOP_VS_TOY),
        (f"train-stage / textbook training throughput >= {TARGET_TRAIN_THROUGHPUT:g}", f"{throughput['ratio']:.2f}",
         throughput["ratio"] >= TARGET_TRAIN_THROUGHPUT),
        (f"train stage peak memory <= {TARGET_TRAIN_RSS_GB:g} GB", f"{peaks['train@0']:.2f} GB",
         peaks["train@0"] <= TARGET_TRAIN_RSS_GB),
    ]
    if len(scaling) > 1:
        # Linear growth: seconds per row no larger at the biggest size than at the smallest.
        growth = (scaling[-1]["seconds"] / scaling[-1]["rows"]) / (scaling[0]["seconds"] / scaling[0]["rows"])
        targets.append((f"seconds per row, {scaling[-1]['rows']} vs {scaling[0]['rows']} rows <= 1",
                        f"{growth:.2f}", growth <= 1))
    width = max(len(label) for label, _, _ in targets)
    value_width = max(len(value) for _, value, _ in targets)
    print("\ntargets")
    for label, value, met in targets:
        print(f"  {label:<{width}}  {value:>{value_width}}  {'met' if met else 'NOT MET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the copy and the toy project; print their paths")
    parser.add_argument("--quick", action="store_true", help="skip the growth-with-data runs (minutes)")
    args = parser.parse_args()

    env = virtualenv_env("bench_pipeline.py")

    folder = Path(tempfile.mkdtemp(prefix="stockpipe-bench-"))
    # Beside the copy, not in it: DVC looks through the whole workspace for dvc.yaml files.
    toy = Path(tempfile.mkdtemp(prefix="stockpipe-bench-toy-"))
    try:
        n_files = copy_tracked_files(ROOT, folder)
        git_init_and_commit(folder)
        print(f"copied {n_files} tracked files to {folder}; {os.cpu_count()} CPUs")

        loads = {"cold": load_average()}
        print("cold dvc repro --force ...", flush=True)
        cold, process = timed(["dvc", "repro", "--force"], folder, env)
        ran = process.stdout.count("Running stage")
        if ran != N_STAGES:
            sys.exit(f"the cold repro ran {ran} stages, expected {N_STAGES}:\n{process.stdout[-3000:]}")
        pipeline = json.loads((folder / "metrics/evaluate/batch_0.json").read_text())["tickers"]["^GSPC"]
        history = json.loads((folder / "models/tickers/batch_0/^GSPC/history.json").read_text())
        pipeline_epochs = len(history["fold1_seed42"]["loss"])

        loads["textbook"] = load_average()
        print("textbook LSTM ...", flush=True)
        textbook, process = timed([sys.executable, str(TEXTBOOK), "data/raw/prices/batch_0.parquet",
                                   "metrics/evaluate/batch_0.csv"], folder, env)
        textbook_result = json.loads(process.stdout.strip().splitlines()[-1])

        loads["noop"] = load_average()
        noop, toy_noop = noop_seconds([folder, toy_project(toy, env)], env)

        print("training throughput ...", flush=True)
        _, process = timed([sys.executable, str(THROUGHPUT), "data/raw/prices/batch_0.parquet",
                            "metrics/evaluate/batch_0.csv"], folder, env)
        throughput = json.loads(process.stdout.strip().splitlines()[-1])
        print("peak memory by stage ...", flush=True)
        peaks = stage_peak_memory(folder, env)
        scaling = []
        for n_rows in () if args.quick else SCALING_ROWS:
            print(f"cold dvc repro on {n_rows} rows ...", flush=True)
            scaling.append(scaling_run(n_rows, env))

        print(f"cold dvc repro on {INTRADAY_FILE} ...", flush=True)
        intraday = intraday_run(env)

        print_report(cold, textbook, noop, pipeline, textbook_result, pipeline_epochs, loads, toy_noop,
                     throughput, peaks, scaling, {"rows": rows_in(folder), "seconds": cold}, intraday)
        # Prints its own table; the machine is idle again once the runs above have finished.
        subprocess.run([sys.executable, str(SENTIMENT)], check=True)
    finally:
        if args.keep:
            print(f"\nkept {folder} and the toy project, {toy}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(toy, ignore_errors=True)


if __name__ == "__main__":
    main()
