"""Faults and repeatability with real dvc: a killed training stage, reruns, and test-set isolation.

The module trains the pooled model (model.scope global): its stage, train_global, is the one whose
dvclive curves grow epoch by epoch, so a test can see that training is under way and kill it.
"""

import os
import signal
import subprocess
import time

import numpy as np
import pytest
import yaml

from stockpipe.adapters.inference import load_forecaster
from stockpipe.adapters.io import read_parquet, write_parquet
from tests.pipeline.conftest import BIN, stages_run

pytestmark = pytest.mark.pipeline

# Enough epochs that the kill lands mid-training; patience so large that all of them run.
LONG_TRAINING = {"train": {"epochs": 40, "patience": 40}, "model": {"scope": "global"}}
OUTPUTS = ("metrics/evaluate/batch_0.json", "metrics/forecast/batch_0.csv", "metrics/evaluate/batch_0.csv",
           "metrics/summary.json")
CURVE = "live/plots/metrics/train/loss.tsv"
PRICE_COLUMNS = ["open", "high", "low", "close", "log_return"]


@pytest.fixture(scope="module")
def baseline(project):
    project.set_params(LONG_TRAINING)
    project.dvc("repro")
    project.commit("long training")
    return {name: (project.path / name).read_bytes() for name in OUTPUTS}


def lines_logged(path) -> int:
    try:
        return max(len(path.read_text().splitlines()) - 1, 0)
    except FileNotFoundError:
        return 0


def epochs_logged_while_training(project) -> int:
    # train_global writes into a temporary folder beside models/global and moves it into place at the end.
    return max((lines_logged(path) for path in (project.path / "models").glob(f".global.*.tmp/{CURVE}")), default=0)


def test_sigkill_in_train_then_repro_gives_the_uninterrupted_result(project, baseline):
    process = subprocess.Popen([str(BIN / "dvc"), "repro", "--force", "train_global"], cwd=project.path,
                               env=project.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 300
    # dvclive rewrites the loss file each epoch; three epochs in, training is well under way.
    while epochs_logged_while_training(project) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "train_global finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert epochs_logged_while_training(project) < LONG_TRAINING["train"]["epochs"]

    result = project.dvc("repro")

    # DVC either reruns train_global or, having run it with these inputs before, restores every
    # output of that run from its run-cache; either way nothing of the killed run survives.
    assert "train_global" in stages_run(result.stdout) or "Stage 'train_global' is cached" in result.stdout
    assert lines_logged(project.path / "models/global" / CURVE) == LONG_TRAINING["train"]["epochs"]
    for name, content in baseline.items():
        assert (project.path / name).read_bytes() == content, name
    assert "up to date" in project.dvc("status").stdout


def test_forced_rerun_of_everything_reproduces_the_outputs_byte_for_byte(project, baseline):
    project.dvc("repro", "--force")
    for name, content in baseline.items():
        assert (project.path / name).read_bytes() == content, name


def with_test_prices_tripled(project, folder):
    """data/processed/batch_0.parquet into ``folder``, its test rows' prices and returns times 3."""
    table = read_parquet(project.path / "data/processed/batch_0.parquet")
    test = table["part"] == "test"
    assert test.sum() > 100
    table.loc[test, PRICE_COLUMNS] *= 3.0
    folder.mkdir()
    write_parquet(table, folder / "batch_0.parquet")
    return folder / "batch_0.parquet"


def assert_same_model(before, after) -> None:
    for layer_before, layer_after in zip(load_forecaster(before).layers, load_forecaster(after).layers, strict=True):
        for name in ("kernel", "bias"):
            np.testing.assert_array_equal(getattr(layer_before, name), getattr(layer_after, name))


def test_changing_the_test_set_changes_nothing_the_global_model_learns(project, baseline, tmp_path):
    changed = with_test_prices_tripled(project, tmp_path / "processed")
    subprocess.run(["python", "src/train_global.py", str(changed.parent), str(tmp_path / "models")],
                   cwd=project.path, env=project.env, check=True, capture_output=True)

    assert_same_model(project.path / "models/global/model.keras", tmp_path / "models/model.keras")
    spec = "specs/^GSPC/scaler.json"
    assert (tmp_path / "models" / spec).read_text() == (project.path / "models/global" / spec).read_text()


def test_changing_the_test_set_changes_nothing_a_ticker_model_learns(project, baseline, tmp_path):
    # The same check with model.scope ticker, through the train stage's script and a params file of its own.
    params = yaml.safe_load((project.path / "params.yaml").read_text())
    params["model"]["scope"] = "ticker"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**project.env, "STOCKPIPE_PARAMS": str(tmp_path / "params.yaml")}
    changed = with_test_prices_tripled(project, tmp_path / "processed")
    for features, out in ((project.path / "data/processed/batch_0.parquet", tmp_path / "original"),
                          (changed, tmp_path / "changed")):
        subprocess.run(["python", "src/train.py", str(features), str(out)], cwd=project.path, env=env, check=True,
                       capture_output=True)

    original, retrained = tmp_path / "original/^GSPC", tmp_path / "changed/^GSPC"
    assert_same_model(original / "model.keras", retrained / "model.keras")
    for name in ("scaler.json", "history.json"):
        assert (original / name).read_text() == (retrained / name).read_text(), name
