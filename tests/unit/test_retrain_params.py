"""scripts/retrain_params.py, run for real on small params files: live sources go to the latest session."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "retrain_params.py"

PINNED_YAHOO = """\
seed: 42

data:
  source: yahoo         # the provider
  tickers: [AAPL, MSFT]
  end: 2024-12-31       # pinned: downloaded once
  adjusted: true

model:
  units: 32             # not touched
"""


def run(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, path], capture_output=True, text=True, timeout=60)


def test_a_pinned_live_source_is_moved_to_the_latest_session_keeping_comments(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(PINNED_YAHOO, encoding="utf-8")

    result = run(path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "live=true\n"
    assert path.read_text(encoding="utf-8") == PINNED_YAHOO.replace(
        "  end: 2024-12-31       # pinned: downloaded once\n  adjusted: true\n",
        "  end: null             # pinned: downloaded once\n  refresh: [prices]\n  adjusted: true\n")
    assert ("data.end 2024-12-31 -> null, data.refresh -> [prices]: yahoo AAPL, MSFT up to the latest session"
            in result.stderr)


def test_a_live_source_already_refreshing_is_left_byte_for_byte(tmp_path):
    path = tmp_path / "params.yaml"
    text = PINNED_YAHOO.replace("end: 2024-12-31", "end: null      ").replace("  adjusted: true\n",
                                                                            "  refresh: [prices]\n")
    path.write_text(text, encoding="utf-8")

    result = run(path)

    assert (result.returncode, result.stdout) == (0, "live=true\n")
    assert path.read_text(encoding="utf-8") == text


def test_the_project_params_file_is_offline_and_left_alone(tmp_path):
    path = tmp_path / "params.yaml"
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")

    result = run(path)

    assert (result.returncode, result.stdout) == (0, "live=false\n")
    assert "data.source is 'sample': no newer prices to fetch" in result.stderr
    assert path.read_text(encoding="utf-8") == text


def test_the_rewritten_project_file_differs_only_in_the_data_source_lines(tmp_path):
    path = tmp_path / "params.yaml"
    original = (ROOT / "params.yaml").read_text(encoding="utf-8")
    live = original.replace("  source: sample ", "  source: yahoo  ").replace("  end: null  ", "  end: 2024-12-31")
    path.write_text(live, encoding="utf-8")

    assert run(path).stdout == "live=true\n"

    changed = [(before, after) for before, after in zip(live.splitlines(), path.read_text().splitlines(), strict=True)
               if before != after]
    assert [after.split("#")[0].strip() for _, after in changed] == ["end: null", "refresh: [prices]"]
    data = yaml.safe_load(path.read_text())["data"]
    assert (data["source"], data["end"], data["refresh"]) == ("yahoo", None, ["prices"])


def test_invalid_params_fail_with_one_line_and_change_nothing(tmp_path):
    path = tmp_path / "params.yaml"
    text = PINNED_YAHOO.replace("units: 32", "units: 0")
    path.write_text(text, encoding="utf-8")

    result = run(path)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: model.units: Input should be greater than or equal to 1 (got 0)"]
    assert result.stdout == ""
    assert path.read_text(encoding="utf-8") == text
