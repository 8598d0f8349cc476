"""dvc.yaml lists, for every stage, its entry point and each stockpipe module it imports,
directly or through other modules, so that a code change reruns exactly the stages it can affect."""

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def imported_modules(path: Path) -> set[Path]:
    """The stockpipe module files ``path`` imports, including imports inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            module = ROOT / "src" / (name.replace(".", "/") + ".py")
            if name.startswith("stockpipe") and module.is_file():
                found.add(module.relative_to(ROOT))
    return found


def closure(entry: Path) -> set[Path]:
    seen, todo = set(), [entry]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(imported_modules(ROOT / path))
    return seen


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_list_exactly_the_code_it_runs(name):
    stage = STAGES[name].get("do", STAGES[name])
    entry = Path(re.search(r"python (src/\w+\.py)", stage["cmd"]).group(1))
    declared = {Path(dep) for dep in stage["deps"] if dep.endswith(".py")}

    assert declared == closure(entry)
