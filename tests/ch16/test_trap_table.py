"""The table of traps in chapter 16 is built from the kernel's own trap table: every
trap the kernel dispatches has a row, and every row is a trap the kernel dispatches."""

import pytest

from coro.kernel.loop import Kernel
from tests.docs_extensions import load

trap_table = load("trap_table")


def dispatched():
    with Kernel(handle_signals=False) as kernel:
        return {cls.__name__: handler.__qualname__ for cls, handler in kernel._traps.items()}


def first_column(table):
    body = next(iter(table.findall(lambda node: node.tagname == "tbody")))
    return [row.children[0].astext() for row in body.children]


def test_every_trap_the_kernel_dispatches_has_a_row_and_every_row_is_one():
    kernel = dispatched()
    table = trap_table.build_table(trap_table.rows())
    names = first_column(table)
    assert len(kernel) >= 9  # the kernel of chapter 16 has nine traps at least
    assert sorted(names) == sorted(kernel)
    assert len(names) == len(set(names))


def test_each_row_says_what_its_trap_asks_for_and_who_handles_it():
    kernel = dispatched()
    for row in trap_table.rows():
        assert row.asks.endswith("."), f"{row.name}'s docstring does not open with a sentence"
        assert row.handler == kernel[row.name]
        assert row.made_by, f"no function of coro.kernel.traps makes {row.name}"


def test_a_trap_with_no_docstring_is_refused():
    class Silent:
        __slots__ = ()

    with pytest.raises(ValueError, match="Silent has no docstring"):
        trap_table.rows({Silent: print})
