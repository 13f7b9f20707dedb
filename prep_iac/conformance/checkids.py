"""Stable check ids, and the set of every id the suites and the audit define (so a waiver
naming an unknown id is an error, not a no-op).

A suite check's id is written in its marker, never derived from its name, so renaming a test
function or its file never breaks a waiver or a report (as dev-sec's ``sshd-06``)::

    @pytest.mark.conv("CONV-II.c.1", id="hardware::memoria")
    def test_memoria(host, difusor): ...

Parametrized checks add their parameters: ``security::sshd_setting[permitrootlogin-sshd-06]``.
The ids are read from the suites' source (``ast``: no import, no collection). The audit's ids
are the keys of ``audit.registry.AUDIT_CHECKS``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

SUITES_DIR = Path(__file__).resolve().parent / "suites"

# ``<area>::<name>``: lower-case words; no brackets (those are the parameters').
ID_FORMAT = re.compile(r"[a-z][a-z0-9_]*::[a-z0-9][a-z0-9_]*")


@dataclass(frozen=True)
class SuiteCheck:
    """One test function of a suite, as its source declares it."""

    id: str  # the explicit id of its marker; the derived one when the marker has none
    suite: str  # the file's stem without ``test_`` (``hardware``)
    function: str  # ``test_memoria``
    requirements: frozenset[str]
    explicit: bool  # the marker names the id (``id=...``)
    where: str  # ``test_hardware.py:35``, for messages


def check_id(nodeid: str) -> str:
    """The id derived from a pytest node id, for a check whose marker names none (a suite
    being written): ``…/test_hardware.py::test_memoria[x]`` -> ``hardware::memoria[x]``."""
    path, _, name = nodeid.partition("::")
    stem = Path(path).stem.removeprefix("test_")
    name = name.split("::")[-1].removeprefix("test_")
    return f"{stem}::{name}"


def base_id(check: str) -> str:
    """The id without its parameters: ``security::puerto[22]`` -> ``security::puerto``."""
    return re.sub(r"\[.*\]$", "", check)


def marker_id(markers) -> str | None:
    """The explicit id among a check's ``conv`` markers (``item.iter_markers("conv")``)."""
    for mark in markers:
        value = mark.kwargs.get("id")
        if value:
            return str(value)
    return None


def suite_checks(suites_dir: Path = SUITES_DIR) -> list[SuiteCheck]:
    """Every test function of the suites, read from the source (no import, no collection)."""
    checks = []
    for path in sorted(suites_dir.glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, OSError):
            continue  # a suite being written right now; its ids come back once it parses
        suite = path.stem.removeprefix("test_")
        module_reqs = _pytestmark_ids(tree)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    or not node.name.startswith("test_"):
                continue
            reqs, explicit = set(module_reqs), None
            for deco in node.decorator_list:
                reqs |= _conv_ids(deco)
                explicit = explicit or _conv_check_id(deco)
            derived = f"{suite}::{node.name.removeprefix('test_')}"
            checks.append(SuiteCheck(explicit or derived, suite, node.name, frozenset(reqs),
                                     explicit is not None, f"{path.name}:{node.lineno}"))
    return checks


def suite_check_ids(suites_dir: Path = SUITES_DIR) -> set[str]:
    """Every check id of the suites (without parameters)."""
    return {c.id for c in suite_checks(suites_dir)}


def suite_requirements(suites_dir: Path = SUITES_DIR) -> dict[str, set[str]]:
    """requirement id -> check ids whose ``@pytest.mark.conv(...)`` names it (read statically)."""
    found: dict[str, set[str]] = {}
    for check in suite_checks(suites_dir):
        for req in check.requirements:
            found.setdefault(req, set()).add(check.id)
    return found


def id_problems(suites_dir: Path = SUITES_DIR, other_ids=()) -> list[str]:
    """What is wrong with the suites' ids: a check without an explicit id, an id not of the
    form ``area::name``, an id two checks share (or one of ``other_ids`` shares: the audit's
    and verify's), an id given to a whole module. Empty when all is well."""
    problems, seen = [], {i: "another part of the conformance" for i in other_ids}
    for check in suite_checks(suites_dir):
        if not check.explicit:
            problems.append(f"{check.where} {check.function}: its conv marker names no id "
                            f"(a string: id={check.id!r})")
            continue
        if not ID_FORMAT.fullmatch(check.id):
            problems.append(f"{check.where} {check.function}: id {check.id!r} is not "
                            "area::name in lower case")
        if check.id in seen:
            problems.append(f"{check.where} {check.function}: id {check.id!r} is already "
                            f"{seen[check.id]}'s")
        seen.setdefault(check.id, f"{check.where} {check.function}")
    for path in sorted(suites_dir.glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, OSError) as exc:
            problems.append(f"{path.name}: does not parse ({exc})")
            continue
        if _pytestmark_check_ids(tree):
            problems.append(f"{path.name}: pytestmark gives an id= to every check of the module")
    return problems


def _is_conv(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
        and node.func.attr == "conv"


def _conv_ids(node) -> set[str]:
    if _is_conv(node):
        return {a.value for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return set()


def _conv_check_id(node) -> str | None:
    if _is_conv(node):
        for kw in node.keywords:
            if kw.arg == "id" and isinstance(kw.value, ast.Constant) \
                    and isinstance(kw.value.value, str):
                return kw.value.value
    return None


def _pytestmark_values(tree) -> list:
    values = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values += node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) \
                else [node.value]
    return values


def _pytestmark_ids(tree) -> set[str]:
    ids = set()
    for value in _pytestmark_values(tree):
        ids |= _conv_ids(value)
    return ids


def _pytestmark_check_ids(tree) -> list[str]:
    return [i for i in map(_conv_check_id, _pytestmark_values(tree)) if i]
