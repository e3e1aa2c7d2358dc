"""Every "chapter N" in the book, the README and the stages names a chapter that exists.

The chapters that exist are the pages the table of contents (docs/index.rst) lists,
and each page's title starts with its number, so a reader counting the sidebar and a
reader following "chapter 12's lesson" land on the same page.
"""

import re
from pathlib import Path

import pytest

from coro.chapters import CHAPTERS

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(
    r"\b(?:[Cc]hapters?|[Cc]h\.)\s+(\d+)((?:\s*(?:,|and|or|to|-|–)\s*\d+)*)")


def written_chapters():
    index = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")
    return sorted(int(n) for n in re.findall(r"^\s+ch(\d\d)$", index, re.M))


def references(text):
    """Every chapter number a text cites: "chapters 2 to 7" cites 2 and 7."""
    for match in REFERENCE.finditer(text):
        yield int(match[1]), match[0]
        for more in re.findall(r"\d+", match[2]):
            yield int(more), match[0]


def texts():
    yield ROOT / "README.md"
    yield from sorted((ROOT / "docs").rglob("*.rst"))
    for folder in ("coro", "poetry_server", "exercises", "benchmarks"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_the_table_of_contents_lists_chapters_one_by_one():
    chapters = written_chapters()
    assert chapters == list(range(1, len(chapters) + 1))
    assert [chapter.number for chapter in CHAPTERS] == chapters


@pytest.mark.parametrize("number", written_chapters())
def test_each_chapter_title_starts_with_its_number(number):
    title = (ROOT / "docs" / f"ch{number:02d}.rst").read_text(encoding="utf-8").split("\n")[0]
    assert title.startswith(f"{number}. "), title


def test_no_text_cites_a_chapter_that_is_not_written():
    written = set(written_chapters())
    wrong = [f"{path.relative_to(ROOT)}: {words!r}"
             for path in texts()
             for number, words in references(path.read_text(encoding="utf-8"))
             if number not in written]
    assert not wrong, "\n".join(wrong)


def test_the_check_finds_a_chapter_that_is_not_written():
    cited = [number for number, _ in references(
        "as chapter 19 measures, and chapters 2 to 21 show; ch. 30 too")]
    assert cited == [19, 2, 21, 30]


def test_the_index_says_which_chapters_are_written():
    index = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")
    assert f"Chapters 1 to {written_chapters()[-1]} are written" in index
