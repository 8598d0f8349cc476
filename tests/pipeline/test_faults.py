"""Faults and repeatability with real dvc: a killed train stage, reruns, and test-set isolation."""

import os
import signal
import subprocess
import time

import numpy as np
import pytest

from stockpipe.inference import load_forecaster
from stockpipe.io import read_parquet
from tests.pipeline.conftest import BIN, stages_run

pytestmark = pytest.mark.pipeline

# Enough epochs that the kill lands mid-training; patience so large that all of them run.
LONG_TRAINING = {"train": {"epochs": 40, "patience": 40}}
OUTPUTS = ("metrics/metrics.json", "metrics/forecast.csv", "metrics/predictions.csv")


@pytest.fixture(scope="module")
def baseline(project):
    project.set_params(LONG_TRAINING)
    project.dvc("repro")
    project.commit("long training")
    return {name: (project.path / name).read_bytes() for name in OUTPUTS}


def epochs_logged(project) -> int:
    losses = project.path / "metrics/train/plots/metrics/train/loss.tsv"
    try:
        return max(len(losses.read_text().splitlines()) - 1, 0)
    except FileNotFoundError:
        return 0


def test_sigkill_in_train_then_repro_gives_the_uninterrupted_result(project, baseline):
    # The last run's loss file would read as progress; the new run writes its own.
    (project.path / "metrics/train/plots/metrics/train/loss.tsv").unlink()
    process = subprocess.Popen([str(BIN / "dvc"), "repro", "--force", "train"], cwd=project.path, env=project.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    # dvclive rewrites the loss file each epoch; three epochs in, training is well under way.
    while epochs_logged(project) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "train finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert epochs_logged(project) < LONG_TRAINING["train"]["epochs"]

    result = project.dvc("repro")

    # DVC either reruns train or, having run it with these inputs before, restores every
    # output of that run from its run-cache; either way nothing of the killed run survives.
    assert "train" in stages_run(result.stdout) or "Stage 'train' is cached" in result.stdout
    assert epochs_logged(project) == LONG_TRAINING["train"]["epochs"]
    for name, content in baseline.items():
        assert (project.path / name).read_bytes() == content, name
    assert "up to date" in project.dvc("status").stdout


def test_forced_rerun_of_everything_reproduces_the_outputs_byte_for_byte(project, baseline):
    project.dvc("repro", "--force")
    for name, content in baseline.items():
        assert (project.path / name).read_bytes() == content, name


def test_changing_the_test_set_changes_nothing_the_train_stage_learns(project, baseline, tmp_path):
    split = tmp_path / "split"
    split.mkdir()
    for part in ("train", "val", "test"):
        frame = read_parquet(project.path / f"data/processed/split/{part}.parquet")
        if part == "test":
            frame[["open", "high", "low", "close", "log_return"]] *= 3.0
        frame.to_parquet(split / f"{part}.parquet")
    subprocess.run(["python", "src/train.py", str(split), str(tmp_path / "models"), "--live-dir",
                    str(tmp_path / "live")], cwd=project.path, env=project.env, check=True, capture_output=True)

    original = load_forecaster(project.path / "models/model.keras")
    retrained = load_forecaster(tmp_path / "models/model.keras")
    for before, after in zip(original.layers, retrained.layers, strict=True):
        for name in ("kernel", "bias"):
            np.testing.assert_array_equal(getattr(before, name), getattr(after, name))
    assert (tmp_path / "models/scaler.json").read_text() == (project.path / "models/scaler.json").read_text()
