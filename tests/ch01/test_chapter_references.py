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
    r"\b(?:[Cc]hapters?|[Cc]h\.)\s+(\d+[a-z]?)((?:\s*(?:,|and|or|to|-|–)\s*\d+[a-z]?\b)*)")


def written_chapters():
    """The chapters the table of contents lists, in its order, as the book numbers
    them: ``"1"``, ..., ``"16"``, ``"16b"``."""
    index = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")
    return [f"{int(number)}{part}"
            for number, part in re.findall(r"^\s+ch(\d\d)([a-z]?)$", index, re.M)]


def references(text):
    """Every chapter a text cites: "chapters 2 to 7" cites 2 and 7, "chapter 16b" 16b."""
    for match in REFERENCE.finditer(text):
        yield match[1], match[0]
        for more in re.findall(r"\d+[a-z]?\b", match[2]):
            yield more, match[0]


def texts():
    yield ROOT / "README.md"
    yield from sorted((ROOT / "docs").rglob("*.rst"))
    for folder in ("coro", "poetry_server", "exercises", "benchmarks"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_the_table_of_contents_lists_chapters_one_by_one():
    """1, 2, ..., 16, then 16b (a second part sits right after its chapter), 17, ..."""
    chapters = written_chapters()
    numbers = [int(label.rstrip("b")) for label in chapters if not label.endswith("b")]
    assert numbers == list(range(1, len(numbers) + 1))
    for at, label in enumerate(chapters):
        if label.endswith("b"):
            assert chapters[at - 1] == label[:-1], f"chapter {label} is not after its chapter"
    assert [chapter.label for chapter in CHAPTERS] == chapters


@pytest.mark.parametrize("label", written_chapters())
def test_each_chapter_title_starts_with_its_number(label):
    number, part = int(label.rstrip("b")), "b" if label.endswith("b") else ""
    page = ROOT / "docs" / f"ch{number:02d}{part}.rst"
    title = page.read_text(encoding="utf-8").split("\n")[0]
    assert title.startswith(f"{label}. "), title


def test_no_text_cites_a_chapter_that_is_not_written():
    written = set(written_chapters())
    wrong = [f"{path.relative_to(ROOT)}: {words!r}"
             for path in texts()
             for number, words in references(path.read_text(encoding="utf-8"))
             if number not in written]
    assert not wrong, "\n".join(wrong)


def test_the_check_finds_a_chapter_that_is_not_written():
    cited = [number for number, _ in references(
        "as chapter 19 measures, and chapters 2 to 21 show; ch. 30 too; chapter 12b, "
        "chapters 16 and 16b")]
    assert cited == ["19", "2", "21", "30", "12b", "16", "16b"]


def test_the_index_says_which_chapters_are_written():
    index = " ".join((ROOT / "docs" / "index.rst").read_text(encoding="utf-8").split())
    last = written_chapters()[-1]
    assert f"Chapters 1 to {last.rstrip('b')}" in index
    if last.endswith("b"):
        assert f"and {last}, are written" in index
    else:
        assert f"Chapters 1 to {last} are written" in index
