"""The built book fits its page: no table and no code block is wider than furo's column.

A table or a ``<pre>`` wider than the column gets a scrollbar, and a reader who does
not scroll never sees what it hides. Once the HTML is written (``build-finished``),
this check reads every page and warns, which fails a ``-W`` build, about:

- a code block with a line longer than the column holds, in characters;
- a table whose columns cannot be narrowed enough to fit: a browser wraps the text of a
  cell at spaces, but never inside a word or a ``literal``, so each column is at least
  as wide as the longest unbreakable piece in it, and the sum of those must fit.

How wide the column is, in rem (the root font size; furo raises it to 110% on wide
screens, which scales everything below alike, so the counts hold in any window from
48rem, 768px, wide up, where the column keeps its width):

- furo's ``.content`` is 46rem wide; inside it, ``dd`` indents by 2rem, a list by
  1.2rem, an admonition by 1.2rem (padding and border), a block quote by 2.25rem;
- a code block has 0.875rem of padding on each side, and its font is
  ``--code-font-size`` of the text's (``docs/_static/coro.css``, read here); a
  monospace character is 0.602 of its font size wide (DejaVu Sans Mono and Menlo
  0.602, Liberation Mono 0.600, Consolas 0.55), and an East Asian wide one counts as
  two. So a block holds ``(46 - 1.75) / (0.602 x size)`` characters: 101 at 72.5%;
- a table cell has 0.25rem of padding and its paragraph 0.25rem of margin on each
  side, and a 1px border: 1.0625rem a column. Its text is ``--coro-table-font-size``
  of the prose's (coro.css). A word is measured with Helvetica's character widths
  (Arial and Liberation Sans have the same ones; Segoe UI and San Francisco run up to
  5% wider, so every width is taken 5% wider), bold ones 10% wider, and a ``literal``
  as monospace at 81.25% (furo's inline code) plus 0.45em of padding and border.

Terminal sessions (the blocks that coro.css gives ``white-space: pre-wrap``, read from
there too) wrap a long line as a terminal does, so a long line of an error message is
no fault there. A line laid out in columns, like a timeline, must still fit: a wrapped
line may carry past the edge only text without a run of two spaces in it.
"""

import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

CONTENT_WIDTH = 46.0  # rem: furo's .content
#: How much narrower a block is inside each kind of container, in rem.
INDENTS = {"dd": 2.0, "ul": 1.2, "ol": 1.2, "blockquote": 2.25, "admonition": 1.2,
           "topic": 1.2}
PRE_PADDING = 2 * 0.875
MONO_ADVANCE = 0.602  # em per character
INLINE_CODE_SIZE = 0.8125  # furo's code.literal, of the text around it
INLINE_CODE_EXTRA = 0.45  # em of its own size: padding .2em on each side, and a border
CELL_EXTRA = 1.0625  # rem per column: padding, margin, border
SANS_MARGIN = 1.05
BOLD = 1.10
#: Helvetica's widths, in thousandths of an em, of the characters from " " to "~".
HELVETICA = [int(width) for width in """
    278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556
    556 556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278
    500 667 556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469
    556 333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500
    278 556 500 722 500 500 500 334 260 334 584""".split()]
OTHER_SANS = 0.6  # em: a character outside that range that is not East Asian wide
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}
BREAKS = " \t\n\r\u200b"  # U+00A0, the no-break space, is not one of them


@dataclass(frozen=True)
class Sizes:
    """Font sizes from coro.css, as fractions of the text's size."""

    code: float
    table: float
    wrapping: frozenset  # classes of the blocks whose lines wrap


def sizes_from_css(css):
    """Read the sizes the check depends on from the text of coro.css."""
    def percent(name):
        found = re.search(rf"{name}:\s*([\d.]+)%", css)
        if not found:
            raise ValueError(f"coro.css sets no {name} in per cent")
        return float(found[1]) / 100

    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    wrapping = set()
    for selectors in re.findall(r"([^{}]+)\{[^}]*white-space:\s*pre-wrap", css):
        for selector in selectors.split(","):
            wrapping.update(re.findall(r"\.([\w-]+)", selector.split()[0]))
    return Sizes(percent("--code-font-size"), percent("--coro-table-font-size"),
                 frozenset(wrapping))


def columns(text):
    """How many monospace columns ``text`` takes."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pre_limit(indent, sizes):
    """How many characters a line of a code block holds, ``indent`` rem in."""
    return int((CONTENT_WIDTH - indent - PRE_PADDING) / (MONO_ADVANCE * sizes.code))


def sans_width(char):
    """The width of a character of proportional text, in em."""
    if " " <= char <= "~":
        return HELVETICA[ord(char) - 32] / 1000 * SANS_MARGIN
    if unicodedata.east_asian_width(char) in "WF":
        return 1.0
    return OTHER_SANS


class _Cell:
    """A table cell, read piece by piece: ``widest`` is the width in rem of its longest
    piece that cannot be broken, ``widest_text`` that piece; ``run`` and ``text`` are
    the piece being read."""

    def __init__(self, colspan):
        self.colspan = colspan
        self.run, self.text = 0.0, ""
        self.widest, self.widest_text = 0.0, ""

    def add(self, width, char=""):
        self.run += width
        self.text += char
        if self.run > self.widest:
            self.widest, self.widest_text = self.run, self.text

    def end_run(self):
        self.run, self.text = 0.0, ""


class _Table:
    def __init__(self, indent):
        self.indent = indent
        self.rows = []
        self.caption = ""

    def widths(self):
        """The least width of each column, in rem, and its widest piece."""
        count = max((sum(cell.colspan for cell in row) for row in self.rows), default=0)
        least = [(0.0, "")] * count
        for row in self.rows:
            column = 0
            for cell in row:
                share = cell.widest / cell.colspan
                for n in range(column, column + cell.colspan):
                    if share > least[n][0]:
                        least[n] = (share, cell.widest_text)
                column += cell.colspan
        return least


class _PageChecker(HTMLParser):
    """Walks one page's article; collects what does not fit into ``problems``."""

    def __init__(self, sizes):
        super().__init__(convert_charrefs=True)
        self.sizes = sizes
        self.stack = []  # (tag, classes) of every open element
        self.in_article = False
        self.pre = None  # the text of the open <pre>
        self.tables = []
        self.cell = None
        self.problems = []

    # The structure of the page.

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            if tag in ("br", "wbr") and self.cell:
                self.cell.end_run()
            return
        classes = (dict(attrs).get("class") or "").split()
        self.stack.append((tag, classes))
        if tag == "article":
            self.in_article = True
        if not self.in_article:
            return
        if tag == "pre":
            self.pre = []
        elif tag == "table":
            self.tables.append(_Table(self.indent()))
        elif tag == "tr" and self.tables:
            self.tables[-1].rows.append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1].rows:
            self.cell = _Cell(int(dict(attrs).get("colspan") or 1))
            self.tables[-1].rows[-1].append(self.cell)
        elif tag == "code" and self.cell:
            self.cell.add(INLINE_CODE_EXTRA / 2 * INLINE_CODE_SIZE * self.sizes.table)
        elif tag in ("p", "div", "li") and self.cell:
            self.cell.end_run()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.stack:
            open_tag, _ = self.stack.pop()
            self.closed(open_tag)
            if open_tag == tag:
                break

    def closed(self, tag):
        if tag == "article":
            self.in_article = False
        elif tag == "pre" and self.pre is not None:
            self.check_pre("".join(self.pre))
            self.pre = None
        elif tag == "code" and self.cell:
            self.cell.add(INLINE_CODE_EXTRA / 2 * INLINE_CODE_SIZE * self.sizes.table)
        elif tag in ("td", "th"):
            self.cell = None
        elif tag == "table" and self.tables:
            self.check_table(self.tables.pop())

    def handle_data(self, data):
        if self.pre is not None:
            self.pre.append(data)
        elif self.cell is not None:
            self.cell_text(data)
        elif self.tables and self.inside("caption") and not self.inside("a"):
            self.tables[-1].caption += data

    # Measuring.

    def inside(self, tag, cls=None):
        return any(t == tag and (cls is None or cls in c) for t, c in self.stack)

    def indent(self):
        total = 0.0
        for tag, classes in self.stack:
            total += INDENTS.get(tag, 0.0)
            total += max((INDENTS.get(c, 0.0) for c in classes if tag == "div"), default=0.0)
        return total

    def cell_text(self, data):
        cell, size = self.cell, self.sizes.table
        nowrap = self.inside("span", "pre")
        mono = self.inside("code") or self.inside("kbd") or self.inside("tt")
        bold = self.inside("th") or self.inside("strong") or self.inside("b")
        for n, char in enumerate(data):
            if char in BREAKS and not nowrap:
                cell.end_run()
                continue
            if mono:
                width = columns(char) * MONO_ADVANCE * INLINE_CODE_SIZE
            else:
                width = sans_width(char) * (BOLD if bold else 1.0)
            cell.add(width * size, char)
            after, before = data[n + 1:n + 2], data[n - 1:n] if n else ""
            if char == "-" and not nowrap and before.isalpha() and after.isalpha():
                cell.end_run()  # a browser may break a word after its hyphen

    def check_pre(self, text):
        wraps = any(cls in self.sizes.wrapping for _, classes in self.stack for cls in classes)
        limit = pre_limit(self.indent(), self.sizes)
        for line in text.expandtabs(8).split("\n"):
            if columns(line) <= limit:
                continue
            if wraps and not re.search(r"\S {2,}\S", line[limit:]):
                continue  # it wraps like the text of a terminal, and nothing lines up past it
            how = (f"a line laid out in columns that would wrap at column {limit}, and "
                   "what is past it would no longer line up" if wraps else
                   f"a line of {columns(line)} characters, where {limit} fit")
            self.problems.append(f"a code block has {how}: {line.strip()[:70]!r}")

    def check_table(self, table):
        least = table.widths()
        needed = sum(width for width, _ in least) + CELL_EXTRA * len(least)
        room = CONTENT_WIDTH - table.indent
        if needed <= room:
            return
        widest = sorted(least, key=lambda column: -column[0])[:3]
        pieces = ", ".join(f"{text!r} ({width:.1f}rem)" for width, text in widest)
        caption = table.caption.strip()
        name = f"the table {caption[:50]!r}" if caption else "a table"
        self.problems.append(
            f"{name} needs {needed:.1f}rem for {len(least)} columns, and {room:g}rem "
            f"fit: its columns cannot be narrower than their longest words; the widest "
            f"are {pieces}")


def check_page(text, sizes):
    """Everything on one HTML page that is wider than the column, described."""
    checker = _PageChecker(sizes)
    checker.feed(text)
    checker.close()
    return checker.problems


def check_html_tree(outdir, css_path):
    """``(page, problem)`` for every page under ``outdir``."""
    sizes = sizes_from_css(Path(css_path).read_text(encoding="utf-8"))
    found = []
    for page in sorted(Path(outdir).rglob("*.html")):
        if any(part.startswith("_") for part in page.relative_to(outdir).parts):
            continue  # _static, _sources, _modules: not the book's pages
        for problem in check_page(page.read_text(encoding="utf-8"), sizes):
            found.append((page, problem))
    return found


def _check_build(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    css = Path(app.outdir) / "_static" / "coro.css"  # as the pages load it
    for page, problem in check_html_tree(app.outdir, css):
        logger.warning(problem, location=str(page.relative_to(app.outdir)),
                       type="coro", subtype="layout")


def setup(app):
    app.connect("build-finished", _check_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
