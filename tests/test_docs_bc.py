"""The BC reference in ``docs/bc/`` covers every section the code cites.

Code and tests cite BC behaviour as "API-FACTS §N.M" or "docs/bc §N.M" (the numbering is the
same). Each top-level §N must have its page ``docs/bc/N-*.md``, each §N.M a ``## N.M``
heading on that page, and every page must point at Microsoft's documents.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "bc"
#: "docs/bc/6-webhooks.md §6.4", "docs/bc §6.4" or "docs/bc/6-webhooks.md §6.4".
CITATION = re.compile(r"(?:API-FACTS|docs/bc(?:/[\w.-]+)?) §(\d+)(?:\.(\d+))?")


def _pages() -> dict[str, Path]:
    return {p.name.split("-", 1)[0]: p for p in DOCS.glob("*-*.md")}


def _citations() -> set[tuple[str, str | None]]:
    found: set[tuple[str, str | None]] = set()
    for folder in ("src", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for major, minor in CITATION.findall(path.read_text(encoding="utf-8")):
                found.add((major, minor or None))
    return found


def test_the_code_cites_sections() -> None:
    assert len(_citations()) > 10


@pytest.mark.parametrize(("major", "minor"), sorted(_citations(), key=lambda c: (int(c[0]), int(c[1] or 0))))
def test_every_cited_section_has_its_page(major: str, minor: str | None) -> None:
    pages = _pages()
    assert major in pages, f"§{major} is cited but docs/bc/{major}-*.md does not exist"
    if minor is not None:
        text = pages[major].read_text(encoding="utf-8")
        heading = re.search(rf"^## {major}\.{minor} ", text, re.M)
        assert heading, f"§{major}.{minor} has no heading in {pages[major].name}"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*-*.md")))
def test_pages_are_indexed_and_sourced(page: str) -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    assert f"]({page})" in index, f"{page} is missing from docs/bc/README.md"
    text = (DOCS / page).read_text(encoding="utf-8")
    assert "https://learn.microsoft.com/" in text, f"{page} links no Microsoft document"


def test_the_entity_catalogue_link_resolves() -> None:
    text = (DOCS / "7-entities.md").read_text(encoding="utf-8")
    target = re.search(r"^\[entities-json\]: (\S+)$", text, re.M)
    assert target is not None
    assert (DOCS / target.group(1)).resolve().is_file()
