"""Where a no-op `dvc repro` spends its time: the pipeline against DVC's floor, declaration by declaration.

bench_pipeline.py compares a no-op `dvc repro` of the pipeline with one of a two-stage toy project
(target: at most 1.3x). This script shows where the difference comes from. It makes copies of the
working tree, each with less declared in dvc.yaml, and runs `dvc repro` with nothing to do in each:

- pipeline: the working tree as it is;
- without foreach: the `foreach` templates removed (`refresh`, `ticker_data`, `ticker_model`: with
  the default params they make no stage, but DVC still resolves their `${...}`, importing pyparsing);
- and without module deps: the `src/stockpipe/` module entries removed from every stage's deps;
- and without params: every stage's params removed;
- eleven trivial stages: a chain of eleven one-line stages, DVC's cost for the stage count alone;
- toy: bench_pipeline.py's two-stage project.

Each copy's dvc.lock is re-recorded with `dvc commit -f`; every copy and both trivial projects get
this project's .dvc/config. Each run is counted twice: its instructions, under valgrind's callgrind
(the same count to within 0.2% from run to run, whatever else the machine is doing), and its wall
clock, the variants taking turns, best of ROUNDS. Nothing asserts a time.

Run it after `dvc repro` (a copy in which a stage would run is refused), with the project's
virtualenv; valgrind must be installed (Debian: apt-get install valgrind). About 2.5 minutes:

    .venv/bin/python benchmarks/noop_breakdown.py
"""

import re
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from bench_pipeline import ROOT, TARGET_NOOP_VS_TOY, load_average, noop_seconds, timed, toy_project, virtualenv_env

ROUNDS = 11
N_CHAIN = 11


def without_foreach(stages: dict) -> dict:
    return {name: stage for name, stage in stages.items() if "foreach" not in stage}


def without_module_deps(stages: dict) -> dict:
    return {name: {**stage, "deps": [dep for dep in stage["deps"] if not dep.startswith("src/stockpipe/")]}
            for name, stage in without_foreach(stages).items()}


def without_params(stages: dict) -> dict:
    return {name: {key: value for key, value in stage.items() if key != "params"}
            for name, stage in without_module_deps(stages).items()}


CUTS = {"without foreach": without_foreach, "and without module deps": without_module_deps,
        "and without params": without_params}


def chain_yaml(n_stages: int) -> str:
    """dvc.yaml of ``n_stages`` one-line stages, each reading the previous one's output."""
    stages = {}
    for index in range(1, n_stages + 1):
        stage = {"cmd": f"python -c \"open('{index}.txt', 'w').write('{index}')\"", "outs": [f"{index}.txt"]}
        if index > 1:
            stage["deps"] = [f"{index - 1}.txt"]
        stages[f"stage{index}"] = stage
    return yaml.safe_dump({"stages": stages}, sort_keys=False)


def pipeline_copy(folder: Path, cut, env: dict) -> Path:
    """The working tree (outputs and DVC cache included) in ``folder``, dvc.yaml cut by ``cut``."""
    # Not .dvc/tmp: its lock files belong to the runs in ROOT.
    shutil.copytree(ROOT, folder, symlinks=True, ignore=shutil.ignore_patterns(".venv", "tmp"))
    if cut is not None:
        document = yaml.safe_load((folder / "dvc.yaml").read_text())
        document["stages"] = cut(document["stages"])
        (folder / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        timed(["dvc", "commit", "--force", "--quiet"], folder, env)
    _, process = timed(["dvc", "repro"], folder, env)  # untimed: fills DVC's hash cache for this path
    if "Running stage" in process.stdout:
        sys.exit(f"a stage ran in the copy {folder}: run `dvc repro` in {ROOT} first")
    return folder


def instructions(folder: Path, env: dict) -> int:
    """Instructions executed by a no-op `dvc repro` in ``folder``, counted by callgrind."""
    _, process = timed(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                        sys.executable, "-m", "dvc", "repro"], folder, env)
    return int(re.search(r"Collected : (\d+)", process.stderr).group(1))


def declared(stages: dict, key: str, keep=lambda entry: True) -> int:
    return sum(1 for stage in stages.values() for entry in stage.get(key, []) if keep(entry))


def main() -> None:
    env = virtualenv_env("noop_breakdown.py")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind not found: it counts the instructions (Debian: apt-get install valgrind)")

    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    active = without_foreach(stages)
    n_modules = declared(active, "deps", lambda dep: dep.startswith("src/stockpipe/"))
    n_params = declared(active, "params")
    # Each row: the project, its label, and what it lacks against the row above.
    rows = [("pipeline", "pipeline", None),
            ("without foreach", "  without foreach templates", "foreach templates"),
            ("and without module deps", f"  and without {n_modules} module deps", "module deps"),
            ("and without params", f"  and without {n_params} params entries", "params"),
            ("chain", f"{N_CHAIN} trivial stages", "data deps, outs, metrics and plots"),
            ("toy", "2 trivial stages (toy)", f"{N_CHAIN - 2} trivial stages")]

    scratch = Path(tempfile.mkdtemp(prefix="stockpipe-noop-"))
    try:
        # Side by side, not nested: DVC looks through the whole workspace for dvc.yaml files.
        folders = {"pipeline": pipeline_copy(scratch / "pipeline", None, env)}
        for index, (name, cut) in enumerate(CUTS.items()):
            folders[name] = pipeline_copy(scratch / f"cut{index}", cut, env)
        for name in ("chain", "toy"):
            (scratch / name).mkdir()
        folders["chain"] = toy_project(scratch / "chain", env, chain_yaml(N_CHAIN))
        folders["toy"] = toy_project(scratch / "toy", env)

        load = load_average()
        print(f"counting instructions (callgrind) in {len(folders)} projects ...", flush=True)
        counts = {name: instructions(folder, env) for name, folder in folders.items()}
        print(f"wall clock, {ROUNDS} rounds in turns ...", flush=True)
        walls = dict(zip(folders, map(min, noop_seconds(list(folders.values()), env, ROUNDS)), strict=True))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    width = max(len(text) for _, label, part in rows for text in (label, part or ""))
    print(f"\nno-op dvc repro (load {load} at the start; wall clock best of {ROUNDS})")
    print(f"{'':<{width}}  {'instructions':>12}  {'x toy':>6}  {'wall (s)':>8}  {'x toy':>6}")
    for name, label, _ in rows:
        print(f"{label:<{width}}  {counts[name] / 1e6:>10,.0f} M  {counts[name] / counts['toy']:>6.2f}  "
              f"{walls[name]:>8.3f}  {walls[name] / walls['toy']:>6.2f}")

    print("\nwhat each part costs")
    for (before, _, _), (after, _, part) in zip(rows, rows[1:], strict=False):
        print(f"  {part:<{width}}  {(counts[before] - counts[after]) / 1e6:>10,.0f} M  "
              f"{(walls[before] - walls[after]) * 1000:>+8.0f} ms")
    needed = counts["pipeline"] - TARGET_NOOP_VS_TOY * counts["toy"]
    print(f"\n{TARGET_NOOP_VS_TOY:g}x the toy in instructions would take {needed / 1e6:,.0f} M "
          f"({needed / counts['pipeline']:.0%}) off the pipeline's count")


if __name__ == "__main__":
    main()
