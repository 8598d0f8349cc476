"""The pipeline fanned out over several clones with DVC's run-cache as the hand-off, with real dvc.

scripts/slurm_fanout.sh runs each job of the fan-out (docs/fanout.md): here its `task` mode runs
them one after another, the two jobs of each array at the same time, as Slurm would after
`submit`, with a local folder standing in for the S3 or GCS remote. Each job is a fresh `git clone`
of one commit. The last job (collect) runs `dvc repro --pull`, trains nothing, and ends with the
same dvc.lock, metrics and models, byte for byte, as one `dvc repro` in a single clone.
"""

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from stockpipe.prices import sample_path
from stockpipe.universe import batch_of
from tests.pipeline.conftest import BIN, ROOT, TINY_PARAMS, Project, copy_project, stages_run

pytestmark = pytest.mark.pipeline

SCRIPT = ROOT / "scripts" / "slurm_fanout.sh"
# The packaged sample's two series as csv tickers under names that fall in different batches: with
# two batches, ^GSPC and ^IXIC both hash to batch 0 (with three, one batch would be empty).
TICKERS = {"SPX": "^GSPC", "COMP": "^IXIC"}
BATCHES = [0, 1]
UNIVERSE = {"download_prices", "download_news", "sentiment"}


def stages_restored(output: str) -> set[str]:
    """Stages dvc restored from the run-cache instead of running them."""
    return set(re.findall(r"Stage '([^']+)' is cached - skipping run", output))


def stages_pulled(output: str) -> set[str]:
    """Stages dvc found unchanged in dvc.lock and whose outputs it pulled from the remote."""
    return set(re.findall(r"Pulling data for stage: '([^']+)'", output))


def files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


class Jobs:
    """Runs `slurm_fanout.sh task ...` as a Slurm job would, the environment naming commit and remote."""

    def __init__(self, project: Project, shared: Path):
        self.shared = shared
        self.env = {**project.env, "FANOUT_DIR": str(shared), "FANOUT_REPO": str(project.path),
                    "FANOUT_COMMIT": project.run("git", "rev-parse", "HEAD").stdout.strip(),
                    "FANOUT_VENV": str(BIN.parent)}
        self.env.pop("SLURM_ARRAY_TASK_ID", None)

    def start(self, phase: str, task_id: int | None = None) -> subprocess.Popen:
        env = self.env if task_id is None else {**self.env, "SLURM_ARRAY_TASK_ID": str(task_id)}
        return subprocess.Popen(["bash", str(SCRIPT), "task", phase], env=env, cwd=self.shared,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def run(self, phase: str) -> str:
        return self.finish(self.start(phase), phase)

    def run_array(self, phase: str) -> list[str]:
        """One job per batch, all started before any ends (each takes seconds: dvc, TensorFlow)."""
        jobs = [self.start(phase, task_id) for task_id in range(len(BATCHES))]
        assert all(job.poll() is None for job in jobs), "the array's jobs did not overlap"
        return [self.finish(job, f"{phase}[{task_id}]") for task_id, job in enumerate(jobs)]

    @staticmethod
    def finish(job: subprocess.Popen, name: str) -> str:
        output, _ = job.communicate(timeout=900)
        assert job.returncode == 0, f"job {name} exited {job.returncode}:\n{output}"
        return output

    def work(self, name: str) -> Project:
        return Project(self.shared / "work" / name)


@pytest.fixture(scope="module")
def fanout(tmp_path_factory) -> SimpleNamespace:
    project = copy_project(tmp_path_factory.mktemp("origin"))
    for ticker, sample in TICKERS.items():
        with gzip.open(sample_path(sample)) as source, open(project.path / f"data/external/{ticker}.csv", "wb") as out:
            shutil.copyfileobj(source, out)
    data = {**TINY_PARAMS["data"], "source": "csv", "path": "data/external/{ticker}.csv",
            "date_format": "monthfirst", "tickers": "all", "batches": BATCHES}
    project.set_params({**TINY_PARAMS, "data": data})
    # Committed, as a team commits its S3 or GCS address: every clone finds it.
    project.dvc("remote", "add", "-d", "shared", str(tmp_path_factory.mktemp("remote")))
    project.run("git", "add", "--force", "data/external")  # data/external/* is git-ignored
    project.commit("two csv tickers in two batches, a shared remote")
    # An earlier run whose outputs are in the remote and whose dvc.lock is committed (the data
    # stages only: enough to matter), then new prices for one ticker, SPX (batch 1). prepare@1's
    # params and code are the lock's: only its input file inside data/raw/prices differs, which
    # `dvc repro --allow-missing` or `--single-item` would take for unchanged and answer with the
    # earlier outputs from the remote.
    project.dvc("repro", "prepare")
    project.dvc("push", "--run-cache", "download_prices", "download_news", "sentiment", "prepare")
    project.commit("prices up to 2018-12-31, pushed")
    spx = project.path / "data/external/SPX.csv"
    spx.write_text("".join(spx.read_text().splitlines(keepends=True)[:-5]))
    project.commit("SPX: the last five sessions withdrawn")

    # The reference: one clone, one `dvc repro`, nothing pushed.
    reference = tmp_path_factory.mktemp("single") / "clone"
    project.run("git", "clone", "-q", str(project.path), str(reference))
    reference = Project(reference)
    single = reference.dvc("repro").stdout

    jobs = Jobs(project, tmp_path_factory.mktemp("fanout"))
    setup = jobs.run("setup")
    train = jobs.run_array("train")
    global_ = jobs.run("global")
    evaluate = jobs.run_array("evaluate")
    collect = jobs.run("collect")
    return SimpleNamespace(project=project, reference=reference, single=single, jobs=jobs, setup=setup,
                           train=train, global_=global_, evaluate=evaluate, collect=collect)


def test_the_two_tickers_fall_in_different_batches():
    assert sorted(batch_of(ticker, len(BATCHES)) for ticker in TICKERS) == BATCHES


def test_each_job_runs_only_its_share(fanout):
    assert stages_run(fanout.single) >= UNIVERSE | {"train@0", "train@1", "train_global", "monitor"}
    # New prices: both downloads depend on data/external; the headlines (news.source none) are the
    # same, so sentiment is the committed run's, pulled.
    assert stages_run(fanout.setup) == {"download_prices", "download_news"}
    assert stages_pulled(fanout.setup) == {"sentiment"}
    # The universe stages are the setup job's (its dvc.lock came with the hand-off), pulled. COMP's
    # batch is the committed run's, pulled too; SPX's prepares again from the new prices.
    assert stages_pulled(fanout.train[0]) == UNIVERSE | {"prepare@0"}
    assert stages_run(fanout.train[0]) == {"train@0"}
    assert stages_pulled(fanout.train[1]) == UNIVERSE
    assert stages_run(fanout.train[1]) == {"prepare@1", "train@1"}
    # prepare@1 runs again: its record names a cache: false metric that `dvc push` does not send.
    assert stages_run(fanout.global_) == {"prepare@1", "train_global"}
    assert stages_pulled(fanout.global_) == UNIVERSE | {"prepare@0"}
    for batch, output in zip(BATCHES, fanout.evaluate, strict=True):
        assert stages_restored(output) == {f"train@{batch}"}
        assert stages_run(output) == {f"evaluate@{batch}", f"predict@{batch}"}


def test_collect_trains_nothing(fanout):
    ran = stages_run(fanout.collect)
    assert not {stage for stage in ran if stage.startswith(("train@", "train_global"))}, ran
    # Each batch's models come from the run-cache that its train job pushed, the pooled stage's
    # outputs and every upstream stage from the hand-off's dvc.lock and the remote.
    assert stages_restored(fanout.collect) == {"train@0", "train@1"}
    assert stages_pulled(fanout.collect) == UNIVERSE | {"prepare@0", "prepare@1", "train_global"}


@pytest.mark.xfail(strict=True, reason=(
    "dvc.yaml: evaluate@*'s metrics/evaluate/batch_*.csv and predict@*'s metrics/forecast/batch_*.csv are "
    "`cache: false` outputs that are neither metrics nor plots, so DVC records no run of those stages and "
    "collect runs them again (inference only, on the restored models)"))
def test_collect_restores_evaluate_and_predict(fanout):
    ran = stages_run(fanout.collect)
    assert not {stage for stage in ran if stage.startswith(("evaluate@", "predict@"))}, ran


def test_collect_commits_what_one_machine_would(fanout):
    collect = fanout.jobs.work("collect")
    assert (collect.path / "dvc.lock").read_text() == (fanout.reference.path / "dvc.lock").read_text()
    # Every metric, forecast and model file, monitor's history (persist, it always runs) included.
    for folder in ("metrics", "models"):
        assert files(collect.path / folder) == files(fanout.reference.path / folder), folder
    # Committed on top of the commit every job ran: dvc.lock and the metrics, nothing else.
    assert collect.run("git", "status", "--porcelain").stdout == ""
    assert collect.run("git", "rev-parse", "HEAD~1").stdout.strip() == fanout.jobs.env["FANOUT_COMMIT"]
    committed = set(collect.run("git", "diff", "--name-only", "HEAD~1").stdout.split())
    assert "dvc.lock" in committed and all(name == "dvc.lock" or name.startswith("metrics/") for name in committed)
    assert "up to date" in collect.dvc("status").stdout


def test_submit_chains_setup_arrays_and_collect_with_afterok(tmp_path):
    # A stand-in sbatch on PATH: records its arguments, answers job ids as `sbatch --parsable` does.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(
        '#!/usr/bin/env bash\necho "$*" >> "$SBATCH_LOG"\n'
        'n=$(wc -l < "$SBATCH_LOG"); echo "$((100 + n));cluster"\n')
    (bin_dir / "sbatch").chmod(0o755)
    log = tmp_path / "sbatch.log"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "SBATCH_LOG": str(log),
           "FANOUT_DIR": str(tmp_path / "shared"), "FANOUT_REPO": "https://example.com/stockpipe.git",
           "FANOUT_COMMIT": "0" * 40, "FANOUT_SBATCH": "--partition=cpu"}

    result = subprocess.run(["bash", str(SCRIPT), "submit", "--batches", "3", "--", "--time=01:00:00"],
                            env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert [re.search(r"--job-name=(\S+)", call).group(1) for call in calls] == [
        "stockpipe-setup", "stockpipe-train", "stockpipe-global", "stockpipe-evaluate", "stockpipe-collect"]
    assert [re.search(r"--dependency=(\S+)", call) and re.search(r"--dependency=(\S+)", call).group(1)
            for call in calls] == [None, "afterok:101", "afterok:102", "afterok:103", "afterok:104"]
    assert [re.search(r"--array=(\S+)", call) and re.search(r"--array=(\S+)", call).group(1)
            for call in calls] == [None, "0-2", None, "0-2", None]
    for call, phase in zip(calls, ("setup", "train", "global", "evaluate", "collect"), strict=True):
        assert call.endswith(f"slurm_fanout.sh task {phase}")
        assert "--kill-on-invalid-dep=yes" in call and "--partition=cpu" in call and "--time=01:00:00" in call
    assert "setup 101 -> train 102 (array 0-2) -> global 103 -> evaluate 104 -> collect 105" in result.stdout
