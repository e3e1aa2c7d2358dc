"""Chapter 17's pytest plugin, from outside: pytest runs small test files in a folder of
their own, in a process of its own, and the outcome of each test and the report are
checked. The plugin is loaded the way a user's project loads it, by its entry point.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The summary line of each test's outcome, with ``-rA``.
OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR) test_it\.py::(\S+)", re.M)


class Run:
    """One run of pytest: its exit code, its report, and each test's outcomes."""

    def __init__(self, done):
        self.code, self.report = done.returncode, done.stdout + done.stderr
        self.outcomes = {}
        for outcome, test in OUTCOME.findall(done.stdout):
            self.outcomes.setdefault(test, set()).add(outcome)

    def __repr__(self):
        return self.report  # what pytest shows when an assertion about a run fails


def run_pytest(folder, source, *options, ini="[pytest]\n"):
    """Run pytest on ``source``, as test_it.py in ``folder`` with ``ini`` as its pytest.ini."""
    if ini is not None:
        (folder / "pytest.ini").write_text(ini)
    (folder / "test_it.py").write_text(textwrap.dedent(source))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
         "-rA", "--strict-markers", *options],
        cwd=folder, capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"})
    return Run(done)


def test_a_test_that_returns_a_deferred_is_waited_for(tmp_path):
    run = run_pytest(tmp_path, """
        import pytest
        from coro.deferred import Deferred

        def test_fires(reactor):
            d = Deferred()
            reactor.call_later(0.01, d.callback, "Tyger Tyger")
            return d.add_callback(lambda poem: poem.split())

        def test_fails(reactor):
            d = Deferred()
            reactor.call_later(0.01, d.errback, ValueError("the poem was lost"))
            return d

        def test_never_fires(reactor):
            return Deferred()

        @pytest.mark.coro_timeout(0.3)
        def test_never_fires_with_its_own_limit(reactor):
            return Deferred()
        """, ini="[pytest]\ncoro_timeout = 0.2\n")
    assert run.outcomes == {"test_fires": {"PASSED"}, "test_fails": {"FAILED"},
                            "test_never_fires": {"FAILED"},
                            "test_never_fires_with_its_own_limit": {"FAILED"}}, run
    assert "E   ValueError: the poem was lost" in run.report
    assert re.search(r"the Deferred the test returned did not fire within 0\.2s: "
                     r"<Deferred at 0x[0-9a-f]+ not fired>", run.report), run
    assert "did not fire within 0.3s" in run.report


def test_generators_and_coroutines_run_on_the_reactor(tmp_path):
    run = run_pytest(tmp_path, """
        import pytest
        from coro.deferred import Deferred, succeed

        def later(reactor, result):
            d = Deferred()
            reactor.call_later(0.01, d.callback, result)
            return d

        async def test_awaits(reactor):
            assert await later(reactor, "Ozymandias") == "Ozymandias"

        def test_yields(reactor):
            poem = yield later(reactor, "The Raven")
            assert poem == "The Raven"

        @pytest.mark.parametrize("title", ["Ozymandias", "Lorelei"])
        def test_yields_parametrized(reactor, title):
            assert (yield succeed(title)) == title

        class TestInAClass:
            def test_yields_in_a_class(self, reactor):
                assert (yield later(reactor, 1)) == 1

        async def test_with_no_reactor_of_its_own():
            assert await succeed("The Tyger") == "The Tyger"

        async def test_fails(reactor):
            poem = await later(reactor, "The Lamb")
            assert poem == "The Tyger"

        @pytest.mark.coro_timeout(0.2)
        async def test_hangs(reactor):
            await Deferred()
        """)
    assert run.outcomes == {
        "test_awaits": {"PASSED"}, "test_yields": {"PASSED"},
        "test_yields_parametrized[Ozymandias]": {"PASSED"},
        "test_yields_parametrized[Lorelei]": {"PASSED"},
        "TestInAClass::test_yields_in_a_class": {"PASSED"},
        "test_with_no_reactor_of_its_own": {"PASSED"},
        "test_fails": {"FAILED"}, "test_hangs": {"FAILED"}}, run
    assert "AssertionError: assert 'The Lamb' == 'The Tyger'" in run.report
    assert re.search(r"test_hangs did not end within 0\.2s; it waits at \S+test_it\.py:\d+: "
                     r"await Deferred\(\), on <Deferred at 0x[0-9a-f]+ not fired>",
                     run.report), run


def test_a_test_that_asks_for_the_kernel_runs_as_its_main_task(tmp_path):
    run = run_pytest(tmp_path, """
        import socket
        import pytest
        from coro.kernel import Queue, TaskCancelled, sleep, spawn, wait_readable

        async def test_sleeps_in_simulated_time(kernel, clock):
            await sleep(600)
            assert clock.now() == 600

        def test_yields_from_a_sleep(kernel, clock):
            yield from sleep(600)
            assert clock.now() == 600

        async def test_deadlocks(kernel):
            await Queue(1).get()

        @pytest.mark.coro_timeout(0.2)
        async def test_ticks_for_ever(kernel):
            async def tick():
                while True:
                    await sleep(1)

            await spawn(tick())
            await Queue(1).get()

        @pytest.mark.coro_timeout(0.2)
        async def test_reads_a_silent_socket(kernel):
            ours, theirs = socket.socketpair()
            with ours, theirs:
                await wait_readable(ours)

        @pytest.mark.coro_timeout(0.2)
        async def test_will_not_be_cancelled(kernel):
            async def stubborn():
                while True:
                    try:
                        await sleep(1)
                    except TaskCancelled:
                        pass

            await spawn(stubborn())
            await Queue(1).get()
        """)
    assert run.outcomes == {
        "test_sleeps_in_simulated_time": {"PASSED"}, "test_yields_from_a_sleep": {"PASSED"},
        "test_deadlocks": {"FAILED"}, "test_ticks_for_ever": {"FAILED"},
        "test_reads_a_silent_socket": {"FAILED"},
        "test_will_not_be_cancelled": {"FAILED", "ERROR"}}, run
    assert re.search(r"test_deadlocks can never end: every task waits on another and nothing "
                     r"can wake them: \[<Task \d+ test_deadlocks waiting in Queue.get>\]",
                     run.report), run
    # On the fake clock, the ticker made simulated time run on: the limit is in real time.
    assert re.search(r"test_ticks_for_ever did not end within 0\.2s, while the kernel's clock "
                     r"moved [\d.e+]+s; still running then: <Task \d+ test_ticks_for_ever "
                     r"waiting in Queue.get>, <Task \d+ test_ticks_for_ever.<locals>.tick "
                     r"waiting for its sleep to end>", run.report), run
    assert re.search(r"test_reads_a_silent_socket did not end within 0\.2s, .* still running "
                     r"then: <Task \d+ test_reads_a_silent_socket waiting to read descriptor "
                     r"\d+>", run.report), run
    # The time limit stopped it as Ctrl-C would, cancelling its tasks; one refused to stop.
    assert re.search(r"the test's tasks did not end within 0\.2s, and their cleanup did not end "
                     r"in as long again: <Task \d+ test_will_not_be_cancelled.<locals>.stubborn "
                     r"waiting for its sleep to end>", run.report), run


def test_a_test_that_leaves_something_behind_fails_and_names_it(tmp_path):
    run = run_pytest(tmp_path, """
        import socket
        from coro.deferred import Deferred
        from coro.kernel import sleep, spawn

        def test_clean(reactor, kernel):
            reactor.call_later(1, print).cancel()

        def test_a_timer_left_pending(reactor):
            def ring():
                pass

            reactor.call_later(100, ring)

        def test_a_socket_left_open(reactor):
            global left
            left = socket.socket()

        def test_a_deferred_dropped_with_its_failure(reactor):
            Deferred().errback(KeyError("dropped"))

        async def test_a_task_left_running(kernel):
            async def forever():
                await sleep(10**6)

            await spawn(forever())
            await sleep(0)

        def test_an_error_reported_and_not_taken(reactor):
            def crash():
                raise RuntimeError("callback crashed")

            reactor.call_soon(crash)
            reactor.call_soon(reactor.stop)
            reactor.run()

        def test_an_error_reported_and_taken(reactor, errors):
            reactor.call_soon(int, "x")
            reactor.call_soon(reactor.stop)
            reactor.run()
            [(error, context)] = errors.take()
            assert isinstance(error, ValueError)
        """)
    assert run.outcomes == {
        "test_clean": {"PASSED"}, "test_an_error_reported_and_taken": {"PASSED"},
        "test_a_timer_left_pending": {"PASSED", "ERROR"},
        "test_a_socket_left_open": {"PASSED", "ERROR"},
        "test_a_deferred_dropped_with_its_failure": {"PASSED", "ERROR"},
        "test_a_task_left_running": {"FAILED"},
        "test_an_error_reported_and_not_taken": {"PASSED", "ERROR"}}, run
    assert re.search(r"the test left behind: <Timer test_a_timer_left_pending.<locals>.ring>, "
                     r"due in \d+(\.\d+)?s", run.report), run
    assert re.search(r"descriptors left open: \{\d+: 'socket:\[\d+\]'\}", run.report), run
    assert ("Deferreds were dropped with failures nobody handled:\nKeyError: 'dropped'"
            in run.report), run
    assert re.search(r"test_a_task_left_running ended with tasks still running \(cancelled "
                     r"now\): <Task \d+ test_a_task_left_running.<locals>.forever waiting for "
                     r"its sleep to end>", run.report), run
    assert re.search(r"errors were reported that the test did not take \(with errors.take\(\)\):"
                     r"\nRuntimeError\('callback crashed'\) in callback "
                     r"test_an_error_reported_and_not_taken.<locals>.crash", run.report), run


LEAKY = """
    import os
    from coro.deferred import Deferred

    def test_leaves_a_file_open():
        global left
        left = os.open(os.devnull, os.O_RDONLY)

    def test_drops_a_failure():
        Deferred().errback(KeyError("dropped"))
    """


def test_a_test_without_coro_fixtures_is_checked_only_when_asked(tmp_path):
    assert run_pytest(tmp_path, LEAKY).outcomes == {"test_leaves_a_file_open": {"PASSED"},
                                                    "test_drops_a_failure": {"PASSED"}}
    run = run_pytest(tmp_path, LEAKY, ini="[pytest]\ncoro_check_all = true\n")
    assert run.outcomes == {"test_leaves_a_file_open": {"PASSED", "ERROR"},
                            "test_drops_a_failure": {"PASSED", "ERROR"}}, run
    assert re.search(r"descriptors left open: \{\d+: '/dev/null'\}", run.report), run


def test_a_wrong_time_limit_is_refused(tmp_path):
    run = run_pytest(tmp_path, "def test_nothing(): pass\n", ini="[pytest]\ncoro_timeout = soon\n")
    assert run.code == 4, run  # a usage error
    assert "the ini option coro_timeout must be a number of seconds (0 for no limit), not 'soon'" \
        in run.report


def test_another_project_gets_the_plugin_from_the_installed_package(tmp_path):
    # Outside this project, with no conftest.py and no configuration file: only the entry
    # point of the installed package can bring the fixtures.
    assert not tmp_path.is_relative_to(ROOT)
    run = run_pytest(tmp_path, """
        from coro.deferred import Deferred
        from coro.kernel import sleep

        def test_reactor(reactor):
            d = Deferred()
            reactor.call_later(0.01, d.callback, None)
            return d

        async def test_kernel(kernel):
            await sleep(60)
        """, "--trace-config", "--rootdir", str(tmp_path), "-c", os.devnull, ini=None)
    assert sorted(tmp_path.iterdir()) == [tmp_path / "test_it.py"]
    assert run.outcomes == {"test_reactor": {"PASSED"}, "test_kernel": {"PASSED"}}, run
    assert (f"PLUGIN registered: <module 'coro.testing.plugin' from "
            f"'{ROOT / 'coro' / 'testing' / 'plugin.py'}'>") in run.report
