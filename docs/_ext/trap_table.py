"""``.. trap-table::``: the requests a task can make, from the kernel's own table.

The kernel (:class:`coro.kernel.loop.Kernel`) looks each trap a task yields up in a
dictionary of trap classes to handlers. The directive takes that dictionary from a
real Kernel and renders one row per trap class, in the dictionary's order: its fields
(the ``__slots__`` of the class and its bases), what it asks the kernel for (the first
line of its docstring), the functions of :mod:`coro.kernel.traps` that make it, and the
kernel's method that handles it. A trap added to the kernel is in the table the next
time the book is built, and one without a docstring fails the build.
"""

import inspect
import re
from dataclasses import dataclass

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from coro.kernel import traps
from coro.kernel.loop import Kernel

HEADER = ("trap", "fields", "what it asks the kernel for", "made by", "handled by")
WIDTHS = (15, 10, 42, 15, 18)  # per cent of the page's width


@dataclass(frozen=True)
class TrapRow:
    """One trap class: its name, fields, docstring's first line, the functions of
    :mod:`coro.kernel.traps` that make it, and the qualified name of its handler."""

    name: str
    fields: tuple
    asks: str
    made_by: tuple
    handler: str


def kernel_traps():
    """The kernel's own table, ``{trap class: handler}``, from a Kernel made for it."""
    with Kernel(handle_signals=False) as kernel:
        return dict(kernel._traps)


def rows(table=None):
    """A :class:`TrapRow` per trap class of ``table`` (the kernel's, by default).

    Raises:
        ValueError: if a trap class has no docstring of its own.
    """
    makers = [function for _, function in inspect.getmembers(traps, inspect.isfunction)
              if function.__module__ == traps.__name__ and not function.__name__.startswith("_")]
    makers.sort(key=lambda function: function.__code__.co_firstlineno)
    result = []
    for cls, handler in (kernel_traps() if table is None else table).items():
        if not cls.__doc__:
            raise ValueError(f"the trap {cls.__name__} has no docstring to say what it asks for")
        made = re.compile(rf"\b{cls.__name__}\(")
        result.append(TrapRow(
            name=cls.__name__,
            fields=tuple(name for base in reversed(cls.__mro__)
                         for name in getattr(base, "__slots__", ())),
            asks=inspect.getdoc(cls).splitlines()[0],
            made_by=tuple(function.__name__ for function in makers
                          if made.search(inspect.getsource(function))),
            handler=handler.__qualname__))
    return result


def _literals(names):
    paragraph, names = nodes.paragraph(), list(names)
    if not names:
        paragraph += nodes.Text("\u2014")  # a dash: none
    for i, name in enumerate(names):
        if i:
            paragraph += nodes.Text(", ")
        paragraph += nodes.literal(text=name)
    return paragraph


def build_table(trap_rows, inline=None):
    """The table of ``trap_rows``, as docutils nodes.

    Args:
        trap_rows: :class:`TrapRow` objects, from :func:`rows`.
        inline: ``inline(text)`` returns the nodes of a docstring's line, its roles
            resolved; by default the line is plain text.
    """
    inline = inline or (lambda text: [nodes.Text(text)])
    group = nodes.tgroup(cols=len(HEADER))
    group += [nodes.colspec(colwidth=width) for width in WIDTHS]
    head, body = nodes.thead(), nodes.tbody()
    head += _row([nodes.paragraph(text=text) for text in HEADER])
    for row in trap_rows:
        asks = nodes.paragraph()
        asks += inline(row.asks)
        body += _row([_literals([row.name]), _literals(row.fields), asks,
                      _literals(f"{name}()" for name in row.made_by),
                      _literals([row.handler])])
    group += [head, body]
    table = nodes.table(classes=["trap-table", "colwidths-given"])
    table += nodes.title(text="The traps of the kernel's table, as this page was built")
    table += group
    return table


def _row(cells):
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += cell
        row += entry
    return row


class TrapTable(SphinxDirective):
    """``.. trap-table::`` renders :func:`build_table` of the kernel's traps."""

    has_content = False

    def run(self):
        try:
            trap_rows = rows()
        except ValueError as exc:
            raise self.error(str(exc)) from exc
        messages = []

        def inline(text):
            parsed, problems = self.state.inline_text(text, self.lineno)
            messages.extend(problems)
            return parsed

        return [build_table(trap_rows, inline), *messages]


def setup(app):
    app.add_directive("trap-table", TrapTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
