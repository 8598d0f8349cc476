"""scripts/carry_history.py, run for real: an open pull request's forecasts merged into the base's history."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "carry_history.py"
HEADER = "ticker,forecast_made_on,date,step,predicted_close,actual,naive\n"
# The base branch: the forecast made on the 3rd, its first step scored.
BASE = HEADER + (
    "^GSPC,2024-01-03,2024-01-04,1,103.000000,101.000000,102.000000\n"
    "^GSPC,2024-01-03,2024-01-05,2,104.000000,,102.000000\n"
)
# The open pull request's branch, a run later: the second step scored and a forecast made on the 4th.
BRANCH = HEADER + (
    "^GSPC,2024-01-03,2024-01-04,1,103.000000,101.000000,102.000000\n"
    "^GSPC,2024-01-03,2024-01-05,2,104.000000,104.000000,102.000000\n"
    "^GSPC,2024-01-04,2024-01-05,1,102.000000,104.000000,101.000000\n"
    "^GSPC,2024-01-04,2024-01-08,2,100.000000,,101.000000\n"
)


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=60)


def test_the_branch_rows_are_merged_in_and_merging_twice_changes_nothing(tmp_path):
    history, other = tmp_path / "history.csv", tmp_path / "other.csv"
    history.write_text(BASE)
    other.write_text(BRANCH)

    result = run(other, "--history", history)

    assert result.returncode == 0, result.stderr
    assert history.read_text() == BRANCH
    assert f"{history}: 4 rows (3 scored), 2 new from {other}" in result.stderr
    run(other, "--history", history)
    assert history.read_text() == BRANCH


def test_a_scored_row_of_the_base_is_kept_against_an_unscored_copy(tmp_path):
    history, other = tmp_path / "history.csv", tmp_path / "other.csv"
    history.write_text(BRANCH)
    other.write_text(BASE.replace("103.000000,101.000000", "103.000000,"))

    assert run(other, "--history", history).returncode == 0
    assert history.read_text() == BRANCH


def test_without_a_history_the_other_copy_becomes_it(tmp_path):
    history, other = tmp_path / "metrics" / "history.csv", tmp_path / "other.csv"
    other.write_text(BRANCH)

    assert run(other, "--history", history).returncode == 0
    assert history.read_text() == BRANCH


def test_a_file_that_is_not_a_history_fails_with_one_line(tmp_path):
    history, other = tmp_path / "history.csv", tmp_path / "other.csv"
    history.write_text(BASE)
    other.write_text("date,predicted_close\n2024-01-04,103.0\n")

    result = run(other, "--history", history)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {other}: expected the columns ticker, forecast_made_on, date, step, predicted_close, actual, naive, "
        "got date, predicted_close"]
    assert history.read_text() == BASE


def test_rows_of_another_ticker_on_the_same_days_are_merged_beside_and_never_replace(tmp_path):
    # The branch was switched to AAPL: its forecast made on the 3rd has the base's (forecast_made_on, date)
    # pairs, its first step scored against AAPL's close, and the branch has no ^GSPC rows at all.
    history, other = tmp_path / "history.csv", tmp_path / "other.csv"
    history.write_text(BASE)
    other.write_text(HEADER + (
        "AAPL,2024-01-03,2024-01-04,1,40.000000,41.000000,39.000000\n"
        "AAPL,2024-01-03,2024-01-05,2,41.000000,,39.000000\n"
    ))

    result = run(other, "--history", history)

    assert result.returncode == 0, result.stderr
    assert history.read_text() == HEADER + (
        "AAPL,2024-01-03,2024-01-04,1,40.000000,41.000000,39.000000\n"
        "AAPL,2024-01-03,2024-01-05,2,41.000000,,39.000000\n"
        "^GSPC,2024-01-03,2024-01-04,1,103.000000,101.000000,102.000000\n"
        "^GSPC,2024-01-03,2024-01-05,2,104.000000,,102.000000\n"
    )
    assert f"{history}: 4 rows (2 scored), 2 new from {other}" in result.stderr


@pytest.mark.parametrize("old", ["other", "history"])
def test_a_history_without_its_ticker_column_fails_with_one_line_and_merges_nothing(tmp_path, old):
    # Which ticker such rows were made for is not in the file: neither copy may take the other's.
    history, other = tmp_path / "history.csv", tmp_path / "other.csv"
    history.write_text(BASE)
    other.write_text(BRANCH)
    without = {"other": other, "history": history}[old]
    without.write_text("".join(line.split(",", 1)[1] + "\n" for line in without.read_text().splitlines()))
    before = history.read_text()

    result = run(other, "--history", history)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {without}: no ticker column (a history written before each forecast recorded its ticker): add "
        "ticker as the first column, each row holding the ticker its forecast was made for"]
    assert history.read_text() == before
