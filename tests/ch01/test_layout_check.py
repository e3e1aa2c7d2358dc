"""The layout check of the HTML book fails on what is too wide, and only on that.

The docs build runs docs/_ext/layout_check.py on every page it writes; these pages are
made small on purpose, one too wide and one that fits, to show that the check can fail.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSS = (ROOT / "docs" / "_static" / "coro.css").read_text(encoding="utf-8")


def _load():
    spec = importlib.util.spec_from_file_location(
        "layout_check", ROOT / "docs" / "_ext" / "layout_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


layout_check = _load()
SIZES = layout_check.sizes_from_css(CSS)


def page(body):
    return f"<html><body><nav>{'x' * 500}</nav><article>{body}</article></body></html>"


def table(*rows):
    cells = "".join("<tr>" + "".join(f"<td><p>{cell}</p></td>" for cell in row) + "</tr>"
                    for row in rows)
    return f'<table class="docutils"><tbody>{cells}</tbody></table>'


def code(text, language="python"):
    return f'<div class="highlight-{language} notranslate"><div class="highlight"><pre>' \
           f"{text}</pre></div></div>"


def literal(name):
    return f'<code class="docutils literal notranslate"><span class="pre">{name}</span></code>'


def test_the_sizes_come_from_the_css_the_pages_load():
    assert SIZES.code == 0.725 and SIZES.table == 0.875
    assert {"highlight-console", "highlight-pycon", "doctest"} <= SIZES.wrapping
    assert layout_check.pre_limit(0, SIZES) == 101  # coro.css's comment says so
    assert layout_check.pre_limit(2.0, SIZES) == 96  # in a dd, as in the reference


def test_a_table_of_short_words_fits_and_one_of_long_names_does_not():
    fits = table(["model", "how the process waits, in a sentence that is long and wraps " * 3],
                 ["blocking", literal("coro.blocking_client")])
    assert layout_check.check_page(page(fits), SIZES) == []

    names = [literal(f"coro.a_long_module_name_{n}.with_a_long_function") for n in range(4)]
    too_wide = table(["a", "b", "c", "d"], names)
    problems = layout_check.check_page(page(too_wide), SIZES)
    assert len(problems) == 1
    assert "a table needs" in problems[0] and "46rem fit" in problems[0]
    assert "coro.a_long_module_name_0.with_a_long_function" in problems[0]


def test_a_table_may_break_where_a_browser_breaks():
    # The same long name fits once it may break at spaces, after a hyphen or at <wbr>.
    for breakable in ("word " * 40, "-".join(["abcdefgh"] * 40),
                      "<wbr>".join(["abcdefgh"] * 40)):
        assert layout_check.check_page(page(table([breakable] * 4)), SIZES) == []
    assert layout_check.check_page(page(table(["abcdefgh" * 40] * 4)), SIZES) != []


def test_a_code_block_must_fit_its_longest_line():
    assert layout_check.check_page(page(code("x = 1\n" + "#" * 101)), SIZES) == []
    problems = layout_check.check_page(page(code("x = 1\n" + "#" * 102)), SIZES)
    assert problems == [f"a code block has a line of 102 characters, where 101 fit: "
                        f"{'#' * 70!r}"]
    # Inside a dd (the reference's docstrings), 2rem less.
    inside = f"<dl><dt>f</dt><dd>{code('#' * 100)}</dd></dl>"
    assert layout_check.check_page(page(inside), SIZES) != []
    # A character of 静夜思 takes two columns.
    assert layout_check.check_page(page(code("静" * 51)), SIZES) != []


def test_a_terminal_wraps_a_sentence_but_not_a_line_in_columns():
    error = "$ python -m coro.blocking_client 1\n" + "error: " + "word " * 50
    assert layout_check.check_page(page(code(error, "console")), SIZES) == []
    timeline = "  ".join(["|####   "] * 14)
    problems = layout_check.check_page(page(code(timeline, "console")), SIZES)
    assert len(problems) == 1 and "laid out in columns" in problems[0]
    # Columns that all end before the edge are fine: only the last one wraps.
    listing = "  client  python -m coro.inline_client " + "[--option VALUE] " * 10
    assert layout_check.check_page(page(code(listing, "console")), SIZES) == []


def test_only_the_article_is_checked():
    assert layout_check.check_page(f"<pre>{'#' * 300}</pre>", SIZES) == []


@pytest.mark.parametrize("css", ["body { --coro-table-font-size: 87.5%; }",
                                 "body { --code-font-size: 72.5%; }"])
def test_a_css_without_the_sizes_is_an_error(css):
    with pytest.raises(ValueError, match="sets no"):
        layout_check.sizes_from_css(css)
