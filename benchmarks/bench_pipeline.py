"""Speed and accuracy of the DVC pipeline against the single-script textbook LSTM.

Run from anywhere, with the project's virtualenv (its bin/ must hold dvc):

    .venv/bin/python benchmarks/bench_pipeline.py           # the temporary copy is removed at the end
    .venv/bin/python benchmarks/bench_pipeline.py --keep    # keep it, to look at its outputs

What it measures, in one run:

1. Cold pipeline. The repository's tracked files (`git ls-files`, as they are in the working tree,
   so uncommitted edits count) are copied into a temporary directory, which gets `git init` and one
   commit (dvclive needs a commit). There `dvc repro --force` runs all nine stages with the default
   params.yaml, an empty DVC cache and no earlier outputs; the wall clock covers everything, each
   stage's Python and TensorFlow start-up included. `--force` makes sure no stage is skipped because
   the copied dvc.lock happens to match an output.
2. Textbook LSTM. benchmarks/textbook_lstm.py runs as a subprocess on the cleaned prices of that same
   run (data/interim/prices.parquet) and is scored on exactly its test dates (metrics/predictions.csv);
   its wall clock likewise includes Python and TensorFlow start-up.
   Target: pipeline / textbook wall clock below 1, and pipeline skill not below the textbook's, where
   skill = 1 - rmse / naive_rmse and the naive forecast is the previous close.
3. No-op repro. `dvc repro` again with nothing changed, best of 3 (the time a user waits to learn that
   nothing needs to run). Target: under 1.5 s.

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

ROOT = Path(__file__).resolve().parents[1]
TEXTBOOK = ROOT / "benchmarks" / "textbook_lstm.py"
N_STAGES = 9
NOOP_RUNS = 3
TARGET_RATIO = 1.0
TARGET_NOOP_SECONDS = 1.5


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


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def print_report(cold: float, textbook: float, noop: list[float], pipeline: dict, textbook_result: dict,
                 pipeline_epochs: int, loads: dict) -> None:
    rows = [
        ("wall clock, cold (s)", f"{cold:.1f}", f"{textbook:.1f}"),
        ("test rmse", f"{pipeline['rmse']:.3f}", f"{textbook_result['rmse']:.3f}"),
        ("naive rmse (same dates)", f"{pipeline['naive_rmse']:.3f}", f"{textbook_result['naive_rmse']:.3f}"),
        ("skill (1 - rmse/naive)", f"{pipeline['skill']:+.4f}", f"{textbook_result['skill']:+.4f}"),
        ("test days", str(pipeline["n_test"]), str(textbook_result["test_windows"])),
        ("epochs run", str(pipeline_epochs), str(textbook_result["epochs"])),
        ("load average at start", loads["cold"], loads["textbook"]),
    ]
    width = max(len(label) for label, _, _ in rows)
    print(f"\n{'':<{width}}  {'pipeline':>10}  {'textbook':>10}")
    for label, left, right in rows:
        print(f"{label:<{width}}  {left:>10}  {right:>10}")
    print(f"{'no-op dvc repro (s)':<{width}}  {min(noop):>10.2f}  (best of {len(noop)}: "
          f"{', '.join(f'{seconds:.2f}' for seconds in noop)}; load {loads['noop']})")
    print(f"textbook training throughput: {textbook_result['train_windows_per_second']:.0f} windows/s "
          f"({textbook_result['train_windows']} windows x {textbook_result['epochs']} epochs "
          f"in {textbook_result['fit_seconds']:.1f} s of model.fit)")

    ratio = cold / textbook
    targets = [
        (f"pipeline / textbook wall clock < {TARGET_RATIO:g}", f"{ratio:.2f}", ratio < TARGET_RATIO),
        ("pipeline skill >= textbook skill", f"{pipeline['skill']:+.4f} vs {textbook_result['skill']:+.4f}",
         pipeline["skill"] >= textbook_result["skill"]),
        (f"no-op dvc repro < {TARGET_NOOP_SECONDS:g} s", f"{min(noop):.2f} s", min(noop) < TARGET_NOOP_SECONDS),
    ]
    width = max(len(label) for label, _, _ in targets)
    value_width = max(len(value) for _, value, _ in targets)
    print("\ntargets")
    for label, value, met in targets:
        print(f"  {label:<{width}}  {value:>{value_width}}  {'met' if met else 'NOT MET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy and print its path")
    args = parser.parse_args()

    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "dvc").is_file():
        sys.exit(f"no dvc beside {sys.executable}: run this with the project's virtualenv, "
                 "e.g. .venv/bin/python benchmarks/bench_pipeline.py")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}

    folder = Path(tempfile.mkdtemp(prefix="stockpipe-bench-"))
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
        pipeline = json.loads((folder / "metrics" / "metrics.json").read_text())
        # dvclive's step counts from 0, so the last step + 1 is the number of epochs run.
        pipeline_epochs = json.loads((folder / "metrics" / "train" / "metrics.json").read_text())["step"] + 1

        loads["textbook"] = load_average()
        print("textbook LSTM ...", flush=True)
        textbook, process = timed([sys.executable, str(TEXTBOOK), "data/interim/prices.parquet",
                                   "metrics/predictions.csv"], folder, env)
        textbook_result = json.loads(process.stdout.strip().splitlines()[-1])

        loads["noop"] = load_average()
        noop = []
        for _ in range(NOOP_RUNS):
            seconds, process = timed(["dvc", "repro"], folder, env)
            if "Running stage" in process.stdout:
                sys.exit(f"the no-op dvc repro ran a stage:\n{process.stdout[-3000:]}")
            noop.append(seconds)

        print_report(cold, textbook, noop, pipeline, textbook_result, pipeline_epochs, loads)
    finally:
        if args.keep:
            print(f"\nkept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
