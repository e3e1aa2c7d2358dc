"""Chapter 12's exercises: a server with a ``title`` transform, and a client that tries
its transformation servers in turn."""

import contextlib
import signal
import socket
import subprocess
import sys
import types

import pytest

from coro import cli
from coro.netstring import encode
from exercises import ch12_fallback, ch12_pipeline
from exercises.ch12_title_server import TITLED, title
from poetry_server import spawn
from poetry_server.transform import TRANSFORMS, NotText
from tests.ch12.test_transform_server import blocking_exchange, spawn_transform_server
from tests.ch12.test_transform_client import scripted
from tests.client_checks import (after_the_header,
                                 check_ctrl_c_closes_everything_and_exits_cleanly)
from tests.support import TASK_LINE, catalogue_bytes, refused_address, run_module


@contextlib.contextmanager
def service(module, *args):
    """Run ``python -m module --port 0 args...``, a server that prints one line ending in
    `` on HOST:PORT``; yield an object whose ``address`` is that address and whose
    ``stderr`` holds what the server said there, once it has been stopped with Ctrl-C,
    which it must end with exit status 0."""
    child = subprocess.Popen([sys.executable, "-m", module, "--port", "0", *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True)
    with child:
        try:
            line = child.stdout.readline()
            assert " on " in line, line + child.stderr.read()
            host, _, port = line.rsplit(" ", 1)[1].strip().rpartition(":")
            running = types.SimpleNamespace(address=(host, int(port)), line=line.strip(),
                                            stderr=None)
            yield running
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=10)
    running.stderr = err
    assert child.returncode == 0, err


# -- 1. A title transform --------------------------------------------------------------

def test_title_capitalises_each_word_and_keeps_the_lines():
    poem = "tyger tyger, burning bright,\nin the forests of the night;\ni'll say 静夜思\n"
    assert title(poem.encode()).decode() == (
        "Tyger Tyger, Burning Bright,\nIn The Forests Of The Night;\nI'll Say 静夜思\n")


def test_title_refuses_a_poem_that_is_not_text():
    with pytest.raises(NotText, match="not UTF-8"):
        title(b"\xff tyger")


def test_the_title_server_serves_title_and_the_stages_transforms():
    with service("exercises.ch12_title_server") as server:
        assert blocking_exchange(server.address, encode(b"title.tyger tyger, burning")) \
            == encode(b"ok.Tyger Tyger, Burning")
        assert blocking_exchange(server.address, encode(b"upper.tyger tyger")) \
            == encode(b"ok.TYGER TYGER")
        assert blocking_exchange(server.address, encode(b"x.y")) == encode(
            b"error.unknown transform 'x'; known transforms: cummingsify, reverse, upper, "
            b"title")
    assert server.line.startswith(f"Serving transforms {', '.join(TITLED)} on 127.0.0.1:")


def test_the_stages_client_asks_the_title_server_for_title(tmp_path):
    with service("exercises.ch12_title_server") as server, \
            spawn("tyger", "lorelei", delay=0, num_bytes=200) as addresses:
        result = run_module("coro.transform_client", "--transform", "title",
                            "--transform-server", server.address[1], "--save", tmp_path,
                            *[port for _, port in addresses])
    assert result.returncode == 0, result.stderr
    assert [(tmp_path / f"poem-{n}.txt").read_bytes() for n in (1, 2)] \
        == [title(catalogue_bytes(name)) for name in ("tyger", "lorelei")]


# -- 2. A chain of transformation servers ----------------------------------------------

def run_fallback(servers, names, capsys, name="upper"):
    """Run the exercise's client in-process on ``names``; return the report, its lines."""
    with spawn(*names, delay=0, num_bytes=200) as addresses:
        report, status = cli.run(ch12_fallback.download_all, addresses, timeout=10,
                                 transform_servers=servers, transform_name=name)
    assert status == 0
    return report, capsys.readouterr().out.splitlines()


def where(address):
    return f"{address[0]}:{address[1]}"


def test_a_refused_server_hands_the_poem_to_the_next(capsys):
    with refused_address() as refused, spawn_transform_server() as good:
        report, lines = run_fallback([refused, good], ["tyger", "jingyesi"], capsys)
    assert report.poems == {n: catalogue_bytes(name).decode().upper().encode()
                            for n, name in [(1, "tyger"), (2, "jingyesi")]}
    for task in (1, 2):  # the tasks' lines may come in any order, each after its warning
        warning = lines.index(f"Task {task}: transform failed (connection refused by "
                              f"{where(refused)}); trying {where(good)}")
        [got] = [n for n, line in enumerate(lines)
                 if TASK_LINE.match(line) and line.startswith(f"Task {task}: got ")]
        assert warning < got
    assert len(lines) == 5


def test_each_server_is_tried_in_turn_and_the_poem_kept_when_all_fail(capsys):
    # An error reply, a reply cut short, then a refused connection: three failures.
    with spawn_transform_server() as unknown, scripted(b"9999:ok.") as cut, \
            refused_address() as refused:
        report, lines = run_fallback([unknown, cut.address, refused], ["tyger"], capsys,
                                     name="frob")
    assert report.poems == {1: catalogue_bytes("tyger")}
    assert lines[:3] == [
        f"Task 1: transform failed ({where(unknown)} replied: unknown transform 'frob'; "
        f"known transforms: cummingsify, reverse, upper); trying {where(cut.address)}",
        "Task 1: transform failed (the reply was cut short: the connection closed after 8 "
        f"bytes of it ({where(cut.address)})); trying {where(refused)}",
        f"Task 1: transform failed (connection refused by {where(refused)}); kept the poem "
        f"as it was",
    ]
    assert TASK_LINE.match(lines[3]) and lines[4].startswith("Got 1 poem in")


@contextlib.contextmanager
def never_asked():
    """A listener that nobody must connect to; yields its address, and checks at the end
    that no connection is waiting to be accepted (a connection closed since still is)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_the_servers_after_one_that_succeeds_are_never_asked(capsys):
    with spawn_transform_server() as good, never_asked() as never:
        report, lines = run_fallback([good, never], ["jingyesi"], capsys)
    assert report.poems == {1: catalogue_bytes("jingyesi")}  # upper() leaves it as it is
    assert len(lines) == 2


def test_a_failed_download_is_never_transformed(capsys):
    with refused_address() as dead, never_asked() as never:
        report, status = cli.run(ch12_fallback.download_all, [dead], timeout=10,
                                 transform_servers=[never], transform_name="upper")
    assert status == 1
    assert capsys.readouterr().out.splitlines()[0] \
        == f"Task 1: failed: connection refused by {where(dead)}"


def test_the_command_line_takes_the_servers_in_the_order_given():
    with refused_address() as refused, service("exercises.ch12_title_server") as titles, \
            spawn("tyger", delay=0, num_bytes=200) as [poetry]:
        result = run_module("exercises.ch12_fallback", "--transform", "title",
                            "--transform-server", refused[1],
                            "--transform-server", titles.address[1], poetry[1])
    assert result.returncode == 0, result.stderr
    lines = after_the_header(result.stdout.splitlines(), finishing_order=True)
    assert lines[0] == (f"Task 1: transform failed (connection refused by {where(refused)}); "
                        f"trying {where(titles.address)}")
    assert TASK_LINE.match(lines[1]).group(2) == str(len(title(catalogue_bytes("tyger"))))


def test_ctrl_c_closes_everything_and_exits_cleanly():
    check_ctrl_c_closes_everything_and_exits_cleanly(
        "exercises.ch12_fallback", 3, options=["--transform-server", "1"])


# -- 3. A pipeline of transforms -------------------------------------------------------

def test_the_transforms_are_applied_in_turn(capsys):
    cases = [(["upper", "reverse"], ["upper", "reverse"]),
             (["reverse", "upper", "reverse"], ["reverse", "upper", "reverse"]),
             (None, ["cummingsify"])]  # none named: the stage's default
    with spawn_transform_server() as service, \
            spawn("tyger", "lorelei", delay=0, num_bytes=200) as addresses:
        for names, steps in cases:
            report, status = cli.run(ch12_pipeline.download_all, addresses, timeout=10,
                                     transform_servers=[service], transform_name=names)
            assert status == 0
            for task, name in [(1, "tyger"), (2, "lorelei")]:
                expected = catalogue_bytes(name)
                for step in steps:
                    expected = TRANSFORMS[step](expected)
                assert report.poems[task] == expected, (names, task)
            assert len(capsys.readouterr().out.splitlines()) == 3  # no warning


def test_a_step_that_fails_hands_on_the_poem_as_it_was_before_it(capsys):
    with spawn_transform_server() as service, \
            spawn("tyger", delay=0, num_bytes=200) as addresses:
        report, status = cli.run(ch12_pipeline.download_all, addresses, timeout=10,
                                 transform_servers=[service],
                                 transform_name=["upper", "frob", "reverse"])
    assert report.poems == {1: TRANSFORMS["reverse"](TRANSFORMS["upper"](
        catalogue_bytes("tyger")))}
    assert capsys.readouterr().out.splitlines()[0] == (
        f"Task 1: transform failed ({where(service)} replied: unknown transform 'frob'; "
        f"known transforms: cummingsify, reverse, upper); kept the poem as it was")


def test_the_pipeline_command_line(tmp_path):
    with spawn_transform_server() as service, \
            spawn("tyger", delay=0, num_bytes=200) as [poetry]:
        result = run_module("exercises.ch12_pipeline", "--transform-server", service[1],
                            "--transform", "upper", "--transform", "reverse",
                            "--save", tmp_path, poetry[1])
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "poem-1.txt").read_bytes() \
        == TRANSFORMS["reverse"](catalogue_bytes("tyger").upper())
