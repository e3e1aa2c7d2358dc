"""Lines typed on stdin: a reader that makes whole lines, a timer that nudges."""

import io
import os
import subprocess
import sys

from hypothesis import given, settings, strategies as st

from coro.io.clock import FakeClock
from coro.reactor.loop import Reactor
from coro.stdin_handler import LineReader, PoemLookup


def feed(pieces, max_line=1024):
    """Write ``pieces`` one by one into a pipe read by a LineReader; return the events."""
    events = []
    read_end, write_end = os.pipe()
    with Reactor(clock=FakeClock()) as reactor:
        reader = LineReader(reactor, read_end, on_line=events.append,
                            on_eof=lambda: events.append("EOF"), max_line=max_line)
        try:
            for piece in pieces:
                os.write(write_end, piece)
                reactor.run_once(0)
            os.close(write_end)
            write_end = None
            while "EOF" not in events:
                reactor.run_once(0)
        finally:
            reactor.remove_reader(reader.fd)
            os.close(read_end)
            if write_end is not None:
                os.close(write_end)
    return events


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="ab静\n", max_size=12), max_size=6), st.data())
def test_any_split_of_the_input_gives_the_same_lines(lines, data):
    stream = "\n".join(lines).encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    expected = stream.decode().split("\n")
    if expected[-1] == "":
        expected.pop()
    assert feed([p for p in pieces if p]) == [*expected, "EOF"]


def test_a_line_too_long_is_cut_off_not_kept():
    events = feed([b"x" * 700, b"y" * 700, b"z" * 700 + b"\nshort\n"], max_line=1000)
    assert events == [None, "short", "EOF"]


def test_the_timer_nudges_only_while_nobody_types():
    clock = FakeClock()
    out = io.StringIO()
    with Reactor(clock=clock) as reactor:
        lookup = PoemLookup(reactor, nudge=10, out=out)
        clock.advance(10)
        reactor.run_once(0)  # quiet for 10s: a nudge
        clock.advance(9)
        lookup.on_line("tyger")  # typing puts the next nudge off
        clock.advance(9)
        reactor.run_once(0)
        lookup.on_eof()
        assert reactor.pending_timers() == 0
    assert out.getvalue().splitlines() == [
        "(still listening; type a poem's name, or Ctrl-D to stop)",
        "The Tyger, by William Blake: Tyger Tyger, burning bright,",
        "Bye.",
    ]


def test_the_command_answers_each_line_then_stops_at_the_end_of_input():
    result = subprocess.run([sys.executable, "-m", "coro.stdin_handler"],
                            input="ozymandias\nnothing\n", capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Type a poem's name (Ctrl-D to stop).",
        "Ozymandias, by Percy Bysshe Shelley: I met a traveller from an antique land,",
        "There is no poem called 'nothing' here.",
        "Bye.",
    ]
