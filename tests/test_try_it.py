"""Every "Try it" block of the book, and every marked README example, run as a reader
would run them, bounded in time, and checked against what the page says they show.

The blocks and the runner are in docs/_ext/try_it.py. A block of chapter N carries the
``chNN`` marker, so ``make test CH=N`` runs its chapter's; README's run with chapter 1.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import try_it  # noqa: E402  (the docs' own extension, found on the path just added)


def _blocks():
    for page in sorted((ROOT / "docs").glob("ch*.rst")):
        chapter = page.stem
        for block in try_it.blocks_in_page(page):
            yield pytest.param(block, id=block.where, marks=getattr(pytest.mark, chapter))
    for block in try_it.blocks_in_readme(ROOT / "README.md"):
        yield pytest.param(block, id=block.where, marks=pytest.mark.ch01)


BLOCKS = list(_blocks())


@pytest.mark.parametrize("block", BLOCKS)
def test_the_commands_show_what_the_page_says(block):
    try_it.run_block(block)


def test_every_chapter_with_a_try_it_section_has_a_block_that_runs():
    """A "Try it" section with no block that runs unattended would go unchecked."""
    pages = {page.stem for page in (ROOT / "docs").glob("ch*.rst")
             if "\nTry it\n------" in page.read_text(encoding="utf-8")}
    with_blocks = {block.values[0].where.split(".rst")[0] for block in BLOCKS}
    assert pages and pages <= with_blocks, sorted(pages - with_blocks)


def test_the_readme_has_blocks_to_run():
    assert any(block.values[0].where.startswith("README") for block in BLOCKS)


def test_a_block_that_does_not_show_what_it_says_fails():
    block = try_it.TryIt(where="made-up", commands=["python -c 'print(1)'"],
                         expect=["^2$"])
    with pytest.raises(try_it.TryItFailed, match="nothing matched"):
        try_it.run_block(block)


def test_a_wrong_exit_status_fails():
    block = try_it.TryIt(where="made-up", commands=["python -c 'raise SystemExit(3)'"])
    with pytest.raises(try_it.TryItFailed, match="exited 3, not 0"):
        try_it.run_block(block)


def test_a_page_port_becomes_the_server_s_real_port(tmp_path):
    page = tmp_path / "ch99.rst"
    page.write_text(
        "Try it\n------\n\n.. try-it::\n   :expect: ^Task 1: got \\d+ bytes\n"
        "            ^Got 2 poems\n\n"
        "   python -m poetry_server --port 10001 --delay 0 --num-bytes 1000 tyger sera\n"
        "   python -m coro.blocking_client 10001 \\\n     10002\n", encoding="utf-8")
    [block] = try_it.blocks_in_page(page)
    assert block.commands[1] == "python -m coro.blocking_client 10001 10002"
    assert len(block.expect) == 2
    text = try_it.run_block(block)
    assert "10001" not in text.split("Serving tyger on ")[1].splitlines()[0]
