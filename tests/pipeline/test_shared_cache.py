"""Two machines sharing one DVC remote, a local folder standing in for S3 or GCS, with real dvc.

The first clone reproduces and pushes its cache and run-cache; a second clone reuses that work
instead of repeating it, whether its dvc.lock describes the run (a teammate's clone) or not (a CI
runner on a branch whose lock was never committed).
"""

import re
from pathlib import Path

import pytest
import yaml

from tests.pipeline.conftest import TINY_PARAMS, Project, copy_project, stages_run

pytestmark = pytest.mark.pipeline

ALL_STAGES = {"download_prices", "download_news", "sentiment", "prepare@0", "train@0", "train_global",
              "evaluate@0", "predict@0", "monitor", "summary"}
TRAINING = {"train@0", "train_global"}
# DVC-cached outputs: not in git, so a clone has them only from the remote or by running the stage.
CACHED_OUTPUTS = (
    "data/raw/prices/batch_0.parquet",
    "data/raw/news.parquet",
    "data/interim/sentiment/batch_0.parquet",
    "data/interim/sentiment_scores.parquet",
    "data/processed/batch_0.parquet",
    "models/tickers/batch_0/trained.json",
    "models/tickers/batch_0/^GSPC/model.keras",
    "models/tickers/batch_0/^GSPC/scaler.json",
    "models/tickers/batch_0/^GSPC/history.json",
    "models/global/trained.json",
)


def stages_restored(output: str) -> set[str]:
    """Names of the stages dvc says it restored from the run-cache instead of running them."""
    return set(re.findall(r"Stage '([^']+)' is cached - skipping run", output))


def recorded_stages(cache: Path) -> set[str]:
    """Stages with a run-cache entry under `cache` (a remote or a `.dvc/cache`), named by entry point."""
    entries = (yaml.safe_load(path.read_text()) for path in (cache / "runs").rglob("*") if path.is_file())
    return {re.search(r"src/(\w+)\.py", entry["cmd"]).group(1) for entry in entries}


def clone(project: Project, destination: Path) -> Project:
    """A `git clone` of `project`: its committed files, but no DVC cache and no DVC outputs."""
    project.run("git", "clone", "-q", str(project.path), str(destination))
    return Project(destination)


def assert_same_outputs(copy: Project, original: Project) -> None:
    for name in CACHED_OUTPUTS:
        assert (copy.path / name).read_bytes() == (original.path / name).read_bytes(), name


def lock_stages(project: Project) -> dict:
    return yaml.safe_load((project.path / "dvc.lock").read_text())["stages"]


def lock_md5(project: Project, stage: str, path: str) -> str:
    return next(out["md5"] for out in lock_stages(project)[stage]["outs"] if out["path"] == path)


def stage_names(project: Project) -> set[str]:
    """The stages dvc.yaml defines, foreach items expanded."""
    return set(project.dvc("stage", "list", "--name-only").stdout.split())


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> tuple[Project, Path]:
    """Clone A: tiny params, a local folder as default remote, reproduced, committed and pushed."""
    remote = tmp_path_factory.mktemp("remote")
    project = copy_project(tmp_path_factory.mktemp("first"))
    project.set_params(TINY_PARAMS)
    # Committed in .dvc/config, as a team commits its S3 or GCS address: every clone finds it.
    project.dvc("remote", "add", "-d", "shared", str(remote))
    project.commit("tiny params, shared remote")
    assert stages_run(project.dvc("repro").stdout) == ALL_STAGES
    project.commit("first run")
    project.dvc("push", "--run-cache")
    return project, remote


def test_clone_pulls_and_reproduces_nothing(first, tmp_path):
    original, _ = first
    second = clone(original, tmp_path / "second")
    assert not (second.path / ".dvc/cache").exists()
    assert not (second.path / "models/tickers").exists()

    second.dvc("pull")
    result = second.dvc("repro")

    assert stages_run(result.stdout) == set()
    assert stages_restored(result.stdout) == set()
    assert "up to date" in second.dvc("status").stdout
    assert second.run("git", "status", "--porcelain").stdout == ""
    assert_same_outputs(second, original)


def test_clone_repro_pull_alone_reproduces_nothing(first, tmp_path):
    # What pr.yml runs: one command pulls the outputs of the stages whose lock entries still hold.
    original, _ = first
    runner = clone(original, tmp_path / "runner")

    result = runner.dvc("repro", "--pull")

    assert stages_run(result.stdout) == set()
    assert stages_restored(result.stdout) == set()
    assert runner.run("git", "status", "--porcelain").stdout == ""
    assert_same_outputs(runner, original)


def test_runner_without_lock_restores_train_from_the_run_cache(first, tmp_path):
    original, remote = first
    runner = clone(original, tmp_path / "runner")
    # pr.yml never commits dvc.lock, so a runner's lock need not describe its params and code; with
    # none at all, only the run-cache can tell it that a stage has been run before.
    (runner.path / "dvc.lock").unlink()

    # DVC records a run only for stages whose outputs it can put back. download_prices, download_news
    # (the post archive), sentiment and monitor have a `persist: true` output, which DVC never records,
    # and evaluate, predict and summary write metrics/evaluate/batch_0.csv, metrics/forecast/batch_0.csv
    # and metrics/summary.md with `cache: false` without them being a metric or plot, which DVC does not
    # record either; a `cache: false` metric (prepare) is recorded, its bytes copied into the local cache.
    assert recorded_stages(remote) == {"prepare", "train", "train_global"}

    # `dvc fetch --run-cache` (and `dvc pull --run-cache`) copies the run records, but fetches only the
    # outputs dvc.lock names: here none, so a plain `dvc repro` would find no recorded outputs and
    # run every stage again. `dvc repro --pull` fetches each recorded stage's outputs as it restores it.
    runner.dvc("fetch", "--run-cache")
    assert recorded_stages(runner.path / ".dvc/cache") == recorded_stages(remote)
    model_md5 = lock_md5(original, "train@0", "models/tickers/batch_0")
    assert not (runner.path / ".dvc/cache/files/md5" / model_md5[:2] / model_md5[2:]).exists()

    result = runner.dvc("repro", "--pull")

    # Only the training stages come back from the run-cache. The recorded metrics of prepare are kept
    # in git, not in the DVC cache, so `dvc push` never sent them to the remote: on another machine
    # those records are incomplete and the stage runs (a few seconds). The persist
    # stages, evaluate, predict and summary have no record and run too. Training, the costly stage,
    # is skipped.
    assert stages_restored(result.stdout) == TRAINING
    assert stages_run(result.stdout) == ALL_STAGES - TRAINING
    assert "up to date" in runner.dvc("status").stdout
    # The rebuilt dvc.lock describes every stage exactly as the first clone's does, and every output in
    # git (metrics, forecast, history) is the first clone's. DVC writes lock entries only for the stages
    # it runs, so the rebuilt lock lacks any entry the committed one keeps for a stage dvc.yaml no longer
    # has: that, and only that, may differ (test_committed_lock_describes_only_the_stages_of_dvc_yaml).
    names = stage_names(runner)
    assert set(lock_stages(runner)) == names
    assert lock_stages(runner) == {name: lock_stages(original)[name] for name in names}
    stale = set(lock_stages(original)) - names
    assert runner.run("git", "status", "--porcelain").stdout == (" M dvc.lock\n" if stale else "")
    assert_same_outputs(runner, original)


def test_committed_lock_describes_only_the_stages_of_dvc_yaml(first):
    # DVC never removes an entry from dvc.lock: a stage renamed or removed in dvc.yaml keeps its old
    # entry until someone deletes it, and a runner that rebuilds the lock then differs from it.
    original, _ = first
    stale = sorted(set(lock_stages(original)) - stage_names(original))
    assert not stale, f"dvc.lock has entries for stages that dvc.yaml no longer defines: {', '.join(stale)}"
