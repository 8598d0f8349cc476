"""Bad input through real `dvc repro`: one error line, a non-zero exit, no traceback, and the outputs
of the last good run left as they were (DVC removes the failing stage's own outputs before it runs,
except the persisted downloads; `dvc checkout` and git bring them back). A repaired file's counts
reach the data-quality part of metrics/prepare/batch_0.json.

The universe is the default one ticker (^GSPC) in one batch, and data.on_error auto stops at a
failing ticker of a list: the error line names the ticker, then says what the single-series
pipeline said."""

import hashlib
import json
import re

import pytest

from stockpipe.adapters.io import read_parquet
from stockpipe.prices import load_sample
from tests.pipeline.conftest import TINY_PARAMS, copy_project

pytestmark = pytest.mark.pipeline

# What the stages write; anything else appearing here after a failed run would be a partial file.
OUTPUT_DIRS = ("data/raw", "data/interim", "data/processed", "models", "metrics")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The project with tiny params, reproduced up to both training stages and committed.

    train_global too, although model.scope is ticker: its output is DVC-cached, so without it in the
    cache `dvc checkout` (Project.reset) could not restore the committed dvc.lock's models/global.
    """
    project = copy_project(tmp_path_factory.mktemp("bad_inputs"))
    project.set_params(TINY_PARAMS)
    project.commit("tiny params")
    project.dvc("repro", "train@0", "train_global")
    project.commit("good run")
    return project


def snapshot(project) -> dict[str, str]:
    return {str(path.relative_to(project.path)): hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in OUTPUT_DIRS for path in sorted((project.path / folder).rglob("*")) if path.is_file()}


def fail_and_check(project, target: str, failing_outs: set[str]) -> str:
    """Run `dvc repro target`, expecting one error line; check the outputs; return the line."""
    before = snapshot(project)
    result = project.dvc("repro", target, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    after = snapshot(project)
    assert set(after) <= set(before), f"new files after a failed run: {set(after) - set(before)}"
    changed = {path for path in before if after.get(path) != before[path]}
    # Only the failing stage's own outputs may be gone (DVC removed them); none is half-written.
    assert changed <= failing_outs and not (changed & set(after)), changed
    # Cached outputs come back from DVC's cache, metrics files (cache: false) from git.
    project.reset()
    assert snapshot(project) == before
    return errors[0]


def test_bad_price_csv_stops_download_prices(trained):
    # A spreadsheet export (semicolons, cp1252) with a mistyped year in its third data row.
    (trained.path / "data/external").mkdir(exist_ok=True)
    rows = ["Date;Open;High;Low;Close;Volume;Note", "2018-12-24;10;11;9;10;100;S\u00e4ule",
            "2018-12-26;10;11;9;10.5;100;", "2108-12-27;10;11;9;10.2;100;", "2018-12-28;10;11;9;10.4;100;"]
    (trained.path / "data/external/prices.csv").write_bytes("\n".join(rows).encode("cp1252"))
    try:
        trained.set_params({"data": {"source": "csv", "path": "data/external/prices.csv", "start": None}})
        line = fail_and_check(trained, "prepare@0", {"data/raw/prices/batch_0.parquet"})
        assert re.fullmatch(r"error: ticker \^GSPC: data/external/prices\.csv: row 4: date '2108-12-27' is after today "
                            r"\(\d{4}-\d\d-\d\d; 1 such rows\); expected past sessions only \(a mistyped year\?\)",
                            line), line
    finally:
        (trained.path / "data/external/prices.csv").unlink(missing_ok=True)
        trained.reset()


def test_unknown_param_key_stops_the_first_stage_that_reads_it(trained):
    try:
        trained.set_params({"clean": {"ffill_limt": 2}})
        line = fail_and_check(trained, "train@0", {"data/processed/batch_0.parquet",
                                                   "metrics/prepare/batch_0.json"})
        assert line == "error: params.yaml: unknown key 'clean.ffill_limt' (did you mean 'clean.ffill_limit'?)"
    finally:
        (trained.path / "data/external/prices.csv").unlink(missing_ok=True)
        trained.reset()


def test_window_longer_than_the_training_slice_stops_train(trained):
    features = read_parquet(trained.path / "data/processed/batch_0.parquet")
    train_rows = int((features["part"] == "train").sum())
    train_outs = {path for path in snapshot(trained) if path.startswith("models/tickers/batch_0/")}
    try:
        trained.set_params({"model": {"window": 5000}})
        line = fail_and_check(trained, "train@0", train_outs)
        assert line == (f"error: ticker ^GSPC: params.yaml: model.window=5000 needs at least 5002 training rows, "
                        f"but the training slice has {train_rows}; use a model.window of at most {train_rows - 2} "
                        "or more price history (an earlier data.start)")
    finally:
        (trained.path / "data/external/prices.csv").unlink(missing_ok=True)
        trained.reset()


def test_repaired_price_csv_is_counted_in_data_quality(trained):
    # Excel's "CSV UTF-8" (a byte-order mark) with semicolons, one date twice with different closes
    # and a high below the low: read and repaired, each repair counted. The prepare stage also builds
    # the features, whose warm-up takes about 50 rows, so the file holds the sample's last 120 sessions.
    sessions = load_sample().tail(120).reset_index(drop=True)
    rows = ["Date;Open;High;Low;Close;Volume"]
    for index, day in sessions.iterrows():
        high, low = (day["low"], day["high"]) if index == len(sessions) - 1 else (day["high"], day["low"])
        rows.append(f"{day['date']:%Y-%m-%d};{day['open']:.2f};{high:.2f};{low:.2f};{day['close']:.2f};"
                    f"{day['volume']:.0f}")
        if index == 60:
            # The same date again, with another close: the later row is kept.
            rows.append(f"{day['date']:%Y-%m-%d};{day['open']:.2f};{day['high']:.2f};{day['low']:.2f};"
                        f"{day['close'] + 0.01:.2f};{day['volume']:.0f}")
    (trained.path / "data/external").mkdir(exist_ok=True)
    (trained.path / "data/external/prices.csv").write_text("\n".join(rows), encoding="utf-8-sig")
    try:
        trained.set_params({"data": {"source": "csv", "path": "data/external/prices.csv", "start": None}})
        trained.dvc("repro", "prepare@0")
        report = json.loads((trained.path / "metrics/prepare/batch_0.json").read_text())
        assert report["skipped"] == {}
        quality = report["tickers"]["^GSPC"]["data_quality"]
        assert (quality["source"], quality["encoding"], quality["delimiter"]) == ("csv", "utf-8-sig", ";")
        assert (quality["duplicate_dates"], quality["duplicate_dates_conflicting"]) == (1, 1)
        assert (quality["high_low_swapped"], quality["rows_in"], quality["rows_out"]) == (1, 121, 120)
        assert report["tickers"]["^GSPC"]["features"]["rows_in"] == 120
    finally:
        (trained.path / "data/external/prices.csv").unlink(missing_ok=True)
        trained.reset()
