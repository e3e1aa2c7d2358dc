"""The table of contents: each chapter written so far and the stages you can run.

``python -m coro --list`` prints it. A test runs every command listed here with
``--help``, so the table cannot name a stage that does not exist.
"""

import re
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """A runnable piece of a chapter: its role (client, server, demo) and command."""

    role: str
    command: str


@dataclass(frozen=True)
class Chapter:
    """A chapter; ``part`` is ``"b"`` for a second part that sits after its chapter."""

    number: int
    title: str
    stages: tuple
    part: str = ""

    @property
    def label(self):
        """How the book numbers it: ``"16"``, ``"16b"``."""
        return f"{self.number}{self.part}"

    @property
    def tag(self):
        """Its page, test folder and test marker: ``"ch05"``, ``"ch16b"``."""
        return f"ch{self.number:02d}{self.part}"


CHAPTERS = (
    Chapter(1, "Models: synchronous, threaded and asynchronous; the tour", (
        Stage("demo", "python -m coro"),
    )),
    Chapter(2, "Slow poetry and the blocking client", (
        Stage("server", "python -m poetry_server.blocking POEM"),
        Stage("client", "python -m coro.blocking_client [HOST:]PORT ..."),
    )),
    Chapter(3, "Threads: the multi-threaded synchronous model", (
        Stage("server", "python -m poetry_server.threaded POEM ..."),
        Stage("server", "python -m poetry_server POEM ..."),
        Stage("client", "python -m coro.threaded_client [HOST:]PORT ..."),
        Stage("demo", "python -m coro.thread_cost [--threads N] [--switches N]"),
    )),
    Chapter(4, "Non-blocking sockets and busy waiting", (
        Stage("client", "python -m coro.busy_client [HOST:]PORT ..."),
    )),
    Chapter(5, "I/O multiplexing: select, poll and epoll", (
        Stage("client", "python -m coro.select_client [--backend select|poll|epoll] "
                        "[HOST:]PORT ..."),
        Stage("demo", "python -m coro.select_cost"),
    )),
    Chapter(6, "Signal-driven I/O", (
        Stage("client", "python -m coro.signal_client [HOST:]PORT ..."),
    )),
    Chapter(7, "Asynchronous I/O: completions instead of readiness", (
        Stage("client", "python -m coro.completion_client [--proactor auto|uring|threads] "
                        "[HOST:]PORT ..."),
    )),
    Chapter(8, "The reactor and event-driven programming", (
        Stage("demo", "python -m coro.countdown [--interval SECONDS] [N ...]"),
        Stage("demo", "python -m coro.stdin_handler"),
        Stage("server", "python -m poetry_server.reactor_server POEM ..."),
        Stage("server", "python -m poetry_server POEM ..."),
    )),
    Chapter(9, "Transports, protocols and factories", (
        Stage("client", "python -m coro.protocol_client [--backend select|poll|epoll] "
                        "[HOST:]PORT ..."),
        Stage("server", "python -m poetry_server.protocol_server POEM ..."),
    )),
    Chapter(10, "Callbacks and errbacks", (
        Stage("client", "python -m coro.callback_client [HOST:]PORT ..."),
    )),
    Chapter(11, "Deferreds", (
        Stage("client", "python -m coro.deferred_client [HOST:]PORT ..."),
        Stage("demo", "python -m coro.chain_simulator [--fire callback|errback] "
                      "CALLBACK/ERRBACK ..."),
        Stage("demo", "python -m coro.blocking_deferred [--timeout SECONDS] [HOST:]PORT"),
    )),
    Chapter(12, "A poetry transformation service", (
        Stage("server", "python -m poetry_server.transform_server [--idle-timeout SECONDS] "
                        "[--max-length BYTES]"),
        Stage("client", "python -m coro.transform_client --transform-server [HOST:]PORT "
                        "[--transform NAME] [HOST:]PORT ..."),
    )),
    Chapter(13, "Deferreds en masse", (
        Stage("client", "python -m coro.gather_client [--deadline SECONDS] [HOST:]PORT ..."),
        Stage("server", "python -m poetry_server.proxy [--idle-timeout SECONDS] [HOST:]PORT"),
    )),
    Chapter(14, "Generators", (
        Stage("demo", "python -m coro.generators [--list] [DEMO ...]"),
        Stage("demo", "python -m coro.round_robin [--lines N] [POEM ...]"),
    )),
    Chapter(15, "Inline callbacks, and await on Deferreds", (
        Stage("client", "python -m coro.inline_client --transform-server [HOST:]PORT "
                        "[--transform NAME] [--async] [--deadline SECONDS] [HOST:]PORT ..."),
    )),
    Chapter(16, "A kernel of coroutines", (
        Stage("client", "python -m coro.kernel_client [--backend select|poll|epoll] "
                        "[--deadline SECONDS] [HOST:]PORT ..."),
        Stage("server", "python -m poetry_server.kernel_server [--idle-timeout SECONDS] "
                        "[--slow-task SECONDS] POEM ..."),
    )),
    Chapter(16, "The kernel's missing pieces: events, queues, locks, threads", (
        Stage("client", "python -m coro.pipeline_client [--max-concurrent N] [--writers N] "
                        "[--queue-size N] [HOST:]PORT ..."),
    ), part="b"),
    Chapter(17, "Testing asynchronous code", (
        Stage("demo", "python -m poetry_server.simulation --seed N [--clients N] "
                      "[--faults none|some|many]"),
    )),
)


#: ``--list`` fits an 80-column terminal: a long command goes on over indented lines.
WIDTH = 80


def table_of_contents():
    """The text ``python -m coro --list`` prints."""
    lines = []
    for chapter in CHAPTERS:
        lines.append(f"{chapter.tag:<5} {chapter.title}")
        for stage in chapter.stages:
            # An option in brackets is one word: "[--deadline SECONDS]" never splits.
            words = re.sub(r"\[[^]]*\]", lambda m: m[0].replace(" ", "\0"), stage.command)
            lines.extend(line.replace("\0", " ") for line in textwrap.wrap(
                words, WIDTH, initial_indent=f"  {stage.role:<6}  ",
                subsequent_indent=" " * 14, break_on_hyphens=False, break_long_words=False))
    return "\n".join(lines)
