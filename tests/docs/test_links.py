"""The README and docs link only inside the repository, to files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)|<(https?://[^>]+)>")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_stay_in_the_repository_and_resolve(page: Path) -> None:
    for target, bare in LINK.findall(page.read_text()):
        link = target or bare
        assert "://" not in link and not link.startswith("//"), f"{page.name} links out: {link}"
        path = link.split("#", 1)[0]
        if path:
            assert (page.parent / path).exists(), f"{page.name} links to missing {link}"


def test_readme_links_the_docs_and_the_issues() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "](docs/api.md)" in readme
    assert "issues" in readme.lower()
