"""docs/requisitos.md is what `python -m prep_iac.conformance.catalogue` writes from the code
(requirements, the suites' markers, the audit's registry), so every requirement and check id
it names exists; the repository's docs link to it, never to a file outside the repository,
and every relative link in them resolves."""

import re
from pathlib import Path

from prep_iac.conformance import catalogue
from prep_iac.conformance.checkids import suite_requirements
from prep_iac.conformance.known import known_ids
from prep_iac.conformance.requirements import BY_ID, REQUIREMENTS

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_docs_requisitos_is_up_to_date():
    assert catalogue.CATALOGUE == REPO / "docs" / "requisitos.md"
    assert catalogue.CATALOGUE.read_text(encoding="utf-8") == catalogue.render(), (
        "docs/requisitos.md is out of date with the requirements or the checks: run "
        ".venv/bin/python -m prep_iac.conformance.catalogue and commit the result")


def test_check_mode(tmp_path, capsys):
    out = tmp_path / "requisitos.md"
    assert catalogue.main(["--check", "--out", str(out)]) == 1
    assert catalogue.main(["--out", str(out)]) == 0
    assert catalogue.main(["--check", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == catalogue.render()


def test_one_section_per_requirement_and_only_known_check_ids():
    text = catalogue.render()
    headings = re.findall(r"^## (\S+)$", text, re.MULTILINE)
    assert headings == [r.id for r in REQUIREMENTS]
    anchors = [catalogue.anchor(r.id) for r in REQUIREMENTS]
    assert len(set(anchors)) == len(anchors), "two requirements share an anchor"
    known = known_ids()
    named = set(re.findall(r"^- `([a-z][a-z0-9_]*::[a-z0-9_]+)`", text, re.MULTILINE))
    assert named and named <= known, sorted(named - known)


def test_every_check_of_a_requirement_is_listed_under_it():
    text = catalogue.render()
    sections = dict(re.findall(r"^## (\S+)\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL))
    for req, checks in suite_requirements().items():
        for check in checks:
            assert f"`{check}`" in sections[req], (req, check)
    from prep_iac.conformance.audit.registry import AUDIT_CHECKS

    for check, (reqs, _) in AUDIT_CHECKS.items():
        for req in reqs:
            assert f"`{check}`" in sections[req], (req, check)
    for req in BY_ID.values():
        assert req.convocatoria in sections[req.id]
        kind = "obligatorio" if req.mandatory else (
            "informativo" if req.id.startswith("INF-") else "opcional")
        assert kind in sections[req.id]


def _anchors(path: Path) -> set[str]:
    """The anchors of a page's headings (not of `#` lines inside fenced code)."""
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"),
                  flags=re.MULTILINE | re.DOTALL)
    return {catalogue.anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def test_relative_links_in_the_docs_resolve():
    broken = []
    for doc in DOCS:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not this test's business
            path, _, fragment = target.partition("#")
            dest = (doc.parent / path).resolve() if path else doc
            if not dest.exists():
                broken.append(f"{doc.relative_to(REPO)}: {target} (no such file)")
            elif REPO not in dest.parents:
                broken.append(f"{doc.relative_to(REPO)}: {target} (outside the repository)")
            elif fragment and dest.suffix == ".md" and fragment not in _anchors(dest):
                broken.append(f"{doc.relative_to(REPO)}: {target} (no such heading)")
    assert broken == []


def test_docs_name_no_file_outside_the_repository():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        assert "REQUIREMENTS.md" not in text, f"{doc.name}: link docs/requisitos.md instead"
        assert "../shared" not in text and "shared/seed" not in text, doc.name
