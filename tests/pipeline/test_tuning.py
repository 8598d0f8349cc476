"""Tuning through DVC's own queue: queue a tiny grid, run it, pick the best by validation skill."""

import json
import time

import pytest

pytestmark = pytest.mark.pipeline

METRICS = "metrics/evaluate/batch_0.json"
TICKER = "^GSPC"


def experiments(project) -> list[dict]:
    """Name, params and metrics of every experiment `dvc exp show --json` lists."""
    rows = []
    for revision in json.loads(project.dvc("exp", "show", "--json").stdout):
        for experiment in revision.get("experiments") or []:
            for run in experiment.get("revs", []):
                data = run.get("data") or {}
                rows.append({
                    "name": run.get("name"),
                    "params": data["params"]["params.yaml"]["data"],
                    # The default universe: one ticker, ^GSPC, in batch 0.
                    "metrics": data["metrics"][METRICS]["data"]["tickers"][TICKER],
                })
    return rows


def wait_for_queue(project, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = project.dvc("queue", "status").stdout
        if "Queued" not in status and "Running" not in status:
            return status
        time.sleep(2)
    raise AssertionError(f"the queue did not finish:\n{status}")


def test_a_queued_grid_runs_and_the_best_is_chosen_by_validation_skill(project):
    project.dvc("exp", "run", "--queue", "-S", "model.units=4,12")
    project.dvc("queue", "start", "-j", "1")

    status = wait_for_queue(project)

    assert status.count("Success") == 2, status
    runs = experiments(project)
    assert sorted(run["params"]["model"]["units"] for run in runs) == [4, 12]
    best = max(runs, key=lambda run: run["metrics"]["val_skill"])
    # The recipe in docs/model.md sorts by validation skill, the best first.
    table = project.dvc("exp", "show", "--no-pager", "--sort-by", f"{METRICS}:tickers.{TICKER}.val_skill",
                        "--sort-order", "desc", "--md").stdout
    worst = min(runs, key=lambda run: run["metrics"]["val_skill"])
    assert best["name"] in table and worst["name"] in table
    if best["metrics"]["val_skill"] > worst["metrics"]["val_skill"]:
        assert table.index(best["name"]) < table.index(worst["name"]), table
