"""A temporary copy of the project, as a git repository, for running real dvc commands."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Small enough that a full `dvc repro` takes seconds of training, real enough to exercise
# every stage: six years of the packaged S&P 500 sample and a tiny LSTM.
TINY_PARAMS = {
    "data": {"start": "2013-01-01"},
    "model": {"window": 10, "units": 8},
    "train": {"epochs": 3, "batch_size": 128, "patience": 2},
}


class Project:
    """A git + DVC working copy of this repository in a temporary folder."""

    def __init__(self, path: Path):
        self.path = path
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DVC_NO_ANALYTICS": "1",
            "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=self.path, env=self.env, capture_output=True, text=True, timeout=900)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(str(BIN / "dvc"), *args, check=check)

    def set_params(self, changes: dict) -> None:
        path = self.path / "params.yaml"
        params = yaml.safe_load(path.read_text())
        _merge(params, changes)
        path.write_text(yaml.safe_dump(params, sort_keys=False))

    def commit(self, message: str) -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message)

    def reset(self) -> None:
        """Back to the last commit: tracked files from git, DVC outputs from the cache."""
        self.run("git", "reset", "-q", "--hard")
        self.dvc("checkout", "--force")


def _merge(target: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def stages_run(output: str) -> set[str]:
    """Names of the stages dvc says it ran, from `dvc repro` / `dvc exp run` output."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def copy_project(destination: Path) -> Project:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    project = Project(destination)
    project.run("git", "init", "-q", "-b", "main")
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    """The project with tiny params, reproduced once and committed."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    project.set_params(TINY_PARAMS)
    project.commit("tiny params")
    project.dvc("repro")
    project.commit("first run")
    return project
