"""Stable check ids: ``<suite>::<check>`` from a pytest node id, and the set of every id the
suites and the audit define (so a waiver naming an unknown id is an error, not a no-op)."""

import ast
import re
from pathlib import Path

SUITES_DIR = Path(__file__).resolve().parent / "suites"


def check_id(nodeid: str) -> str:
    """``…/test_hardware.py::test_memoria[x]`` -> ``hardware::memoria[x]``."""
    path, _, name = nodeid.partition("::")
    stem = Path(path).stem.removeprefix("test_")
    name = name.split("::")[-1].removeprefix("test_")
    return f"{stem}::{name}"


def base_id(check: str) -> str:
    """The id without its parameters: ``security::puerto[22]`` -> ``security::puerto``."""
    return re.sub(r"\[.*\]$", "", check)


def suite_check_ids(suites_dir: Path = SUITES_DIR) -> set[str]:
    """Every test function of the suites, read from the source (no import, no collection)."""
    ids = set()
    for path in sorted(suites_dir.glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, OSError):
            continue  # a suite being written right now; its ids come back once it parses
        stem = path.stem.removeprefix("test_")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and node.name.startswith("test_"):
                ids.add(f"{stem}::{node.name.removeprefix('test_')}")
    return ids


def suite_requirements(suites_dir: Path = SUITES_DIR) -> dict[str, set[str]]:
    """requirement id -> check ids whose ``@pytest.mark.conv(...)`` names it (read statically)."""
    found: dict[str, set[str]] = {}
    for path in sorted(suites_dir.glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, OSError):
            continue
        stem = path.stem.removeprefix("test_")
        module_reqs = _pytestmark_ids(tree)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    or not node.name.startswith("test_"):
                continue
            reqs = set(module_reqs)
            for deco in node.decorator_list:
                reqs |= _conv_ids(deco)
            for req in reqs:
                found.setdefault(req, set()).add(f"{stem}::{node.name.removeprefix('test_')}")
    return found


def _conv_ids(node) -> set[str]:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "conv":
        return {a.value for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return set()


def _pytestmark_ids(tree) -> set[str]:
    ids = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) \
                else [node.value]
            for value in values:
                ids |= _conv_ids(value)
    return ids
