"""``.. five-models::``: every I/O model of the book, side by side, measured.

At build time the directive starts the tour's three slow poetry servers, runs each
client stage that exists so far against them, one after another, and renders one
table: how each model waits, which call blocks, who copies the data, and the CPU
time and wall time the run took. The io_uring row shows dashes where the building
machine has no io_uring. A stage that fails breaks the build, so the table can only
show runs that worked.

The table fits the page's column (``layout_check`` makes sure): each model's stage
goes under its name rather than in a column of its own, the measured times are the
last two columns, on the right, and a long name may break after its dots.
"""

import contextlib
import importlib
import io
import re

from docutils import nodes
from docutils.parsers.rst import Directive

from coro import cli, tour
from poetry_server import spawn

#: (model, stage module, stage options, how the process waits, the call that blocks,
#: who copies the data)
ROWS = (
    ("blocking", "coro.blocking_client", {},
     "for one socket at a time", "connect, recv",
     "the process, in recv"),
    ("blocking, a thread per socket", "coro.threaded_client", {},
     "each thread for its own socket", "connect, recv (in every thread)",
     "each thread, in recv"),
    ("non-blocking", "coro.busy_client", {},
     "it never waits: it asks every socket, again and again", "none",
     "the process, in recv"),
    ("multiplexing", "coro.select_client", {},
     "for any of its sockets to be ready", "epoll_wait (or select, poll)",
     "the process, in recv, once told a socket is ready"),
    ("signal-driven", "coro.signal_client", {},
     "for SIGIO: some socket is ready", "sigtimedwait",
     "the process, in recv, after the signal"),
    ("completion, io_uring", "coro.completion_client", {"proactor": "uring"},
     "for any operation to complete", "poll on the ring's descriptor",
     "the kernel, before it posts the completion"),
    ("completion, thread pool", "coro.completion_client", {"proactor": "threads"},
     "for a worker thread to finish its call", "concurrent.futures.wait (and recv in "
     "each worker)", "a worker thread, in recv"),
)
HEADER = ("model and stage", "how the process waits", "the call that blocks",
          "who copies the data", "CPU time", "wall time")
#: The relative widths of the columns, which the browser adjusts to what they hold.
WIDTHS = (20, 20, 17, 19, 8, 8)


def measure(module_name, options, addresses):
    """Run one stage against ``addresses``; return ``(cpu seconds, wall seconds)``,
    or None if the proactor it asks for is missing here."""
    stage = importlib.import_module(module_name)
    if options.get("proactor") == "uring":
        from coro.io.proactor import uring_unavailable

        if uring_unavailable() is not None:
            return None
    with contextlib.redirect_stderr(io.StringIO()):  # the line naming the proactor
        report, status = cli.run(stage.download_all, addresses, out=io.StringIO(),
                                 **options)
    if status != 0:
        raise RuntimeError(f"{module_name} failed: {report.errors}")
    return report.cpu_time, report.trace.duration()


def _breakable(text):
    """A paragraph of ``text`` that may break after each dot of a long dotted name
    (``concurrent.futures.wait``), which a browser would otherwise keep whole."""
    paragraph = nodes.paragraph()
    for n, piece in enumerate(re.split(r"(?<=\w\.)(?=\w)", text)):
        if n:
            paragraph += nodes.raw("", "<wbr>", format="html")
        paragraph += nodes.Text(piece)
    return paragraph


def _row(cells, numbers=0):
    """A row; its last ``numbers`` cells are figures, set to the right."""
    row = nodes.row()
    for n, cell in enumerate(cells):
        entry = nodes.entry(classes=["text-right"] if n >= len(cells) - numbers else [])
        if isinstance(cell, str):
            entry += _breakable(cell)
        else:
            entry += cell
        row += entry
    return row


def _table(rows, widths):
    group = nodes.tgroup(cols=len(widths))
    group += [nodes.colspec(colwidth=width) for width in widths]
    head, body = nodes.thead(), nodes.tbody()
    head += _row(HEADER, numbers=2)
    body += [_row(cells, numbers=2) for cells in rows]
    group += [head, body]
    table = nodes.table(classes=["five-models"])
    table += nodes.title(text=f"The same poems ({', '.join(tour.POEMS)}: {tour.NUM_BYTES} "
                              f"bytes every {tour.DELAY:g}s) downloaded by every model, "
                              "measured while this page was built")
    table += group
    return table


class FiveModels(Directive):
    has_content = False

    def run(self):
        rows = []
        with spawn(*tour.POEMS, delay=tour.DELAY, num_bytes=tour.NUM_BYTES) as addresses:
            for model, module_name, options, waits, blocks, copies in ROWS:
                try:
                    measured = measure(module_name, options, addresses)
                except RuntimeError as exc:
                    raise self.error(str(exc)) from exc
                stage = [nodes.paragraph("", "", nodes.literal(text=text)) for text in [
                    module_name, *(f"--{name} {value}" for name, value in options.items())]]
                times = (["–", "–"] if measured is None else  # (no break before "ms")
                         [f"{measured[0] * 1000:.0f}\u00a0ms", f"{measured[1]:.2f}s"])
                rows.append([[_breakable(model), *stage], waits, blocks, copies, *times])
        return [_table(rows, widths=WIDTHS)]


def setup(app):
    app.add_directive("five-models", FiveModels)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
