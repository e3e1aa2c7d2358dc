"""The pytest plugin: fixtures for the reactor, the kernel and the fake clock, tests that
are asynchronous, and the checks that a test left nothing behind.

Installing the package is enough: pytest finds this module through the ``pytest11`` entry
point ``coro`` (``-p no:coro`` turns it off). Nothing else in coro imports pytest.

Fixtures:

- ``clock``: a :class:`~coro.io.clock.FakeClock` at 0, moved only by the test (or a kernel).
- ``errors``: the :class:`~coro.testing.errors.ReportedErrors` the loops below report to.
  A test claims those it expected with ``errors.take()``; any left fail it.
- ``reactor``: a :class:`~coro.reactor.loop.Reactor` on this system's best multiplexer and
  the real clock, without signal handlers, closed after the test.
- ``fake_reactor``: the same on the ``clock`` fixture; its time moves when the test says so.
- ``kernel``: a :class:`~coro.testing.limits.WatchedKernel` on the ``clock`` fixture; its
  sleeps and timeouts take no time (it jumps to its next timer when nothing else can
  happen). No signal handlers; closed after the test.
- ``unhandled_failures``: the :class:`~coro.testing.errors.UnhandledFailures` of the
  test's Deferreds; ``take()`` claims them.

After the test, ``reactor``, ``fake_reactor`` and ``kernel`` fail it if a timer is still
set (naming the function it would call, or the task that sleeps) or a kernel task still
runs (its repr says on what it waits).

How a test runs:
    - one that returns a :class:`~coro.deferred.deferred.Deferred` is waited for: its
      ``reactor`` runs until it fires, and a failure fails the test with the original
      exception;
    - a generator function runs through :func:`~coro.deferred.inline.inline_callbacks`, an
      ``async def`` through :func:`~coro.deferred.inline.ensure_deferred`, on its
      ``reactor``; but one that asks for ``kernel`` runs as that kernel's main task, and
      must leave no other task running when it ends;
    - an asynchronous test with neither fixture runs on a reactor made for it, whose
      errors and timers are checked as the fixture's are.

pytest itself refuses a generator function as a test; this plugin collects it.

Time limit: each such test fails after 10 seconds of real time (a kernel on a fake clock
included: its simulated time is free), naming what it still waited on. The ini option
``coro_timeout`` sets the default, the marker ``@pytest.mark.coro_timeout(seconds)`` one
test's; 0 means no limit.

Checks: a test that leaves a descriptor open (named as ``/proc/self/fd`` names it; not
checked where there is no ``/proc``), or drops a Deferred whose failure nobody handled
(its traceback shown), fails, if it uses one of the fixtures above or is run by the
plugin as asynchronous (a generator or ``async def``). With the ini option
``coro_check_all = true`` these two checks apply to every test.
"""

import contextlib
import functools
import inspect
import warnings

import pytest

from coro.deferred.deferred import Deferred
from coro.deferred.inline import ensure_deferred, inline_callbacks
from coro.io import multiplexer
from coro.io.clock import FakeClock
from coro.reactor.loop import Reactor
from coro.testing.errors import ReportedErrors, collecting_unhandled_failures
from coro.testing.leftovers import open_descriptors, opened_since, pending_timers, running_tasks
from coro.testing.limits import Hung, LeftBehind, WatchedKernel, run_until_fired

#: The default time limit of an asynchronous test, in seconds of real time.
DEFAULT_TIMEOUT = 10.0
#: A test that uses one of these (or a fixture that does) gets the checks.
FIXTURES = frozenset({"clock", "errors", "reactor", "fake_reactor", "kernel",
                      "unhandled_failures"})
#: Markers of other plugins that run ``async def`` tests: their tests are theirs.
OTHER_RUNNERS = ("asyncio", "anyio", "trio")


class WrongTimeLimit(ValueError):
    """A ``coro_timeout`` that is not a number of seconds."""


def pytest_addoption(parser):
    parser.addini("coro_timeout", default=str(DEFAULT_TIMEOUT),
                  help="coro: the time limit of an asynchronous test, in seconds of real time "
                       f"(default {DEFAULT_TIMEOUT:g}; 0 for none)")
    parser.addini("coro_check_all", type="bool", default=False,
                  help="coro: check every test, not only those using coro's fixtures, for "
                       "descriptors left open and Deferreds dropped with unhandled failures")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "coro_timeout(seconds): coro's time limit for this asynchronous test, "
                   "in seconds of real time (0 for none)")
    try:
        _seconds(config.getini("coro_timeout"), "the ini option coro_timeout")
    except WrongTimeLimit as wrong:
        raise pytest.UsageError(str(wrong)) from None


# -- collecting --------------------------------------------------------------------

@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    """Collect a generator function named as a test as a test."""
    if not (inspect.isgeneratorfunction(obj) and collector.istestfunction(obj, name)):
        return None
    # pytest fails the whole module on a generator test function (it once ran "yield
    # tests", which pytest 4 removed). So pytest is handed a plain function in its
    # place, with the same signature and marks, and makes the items as for any function
    # (parametrized, with their fixtures); each item calls the original, looked up by
    # its name, and pytest_pyfunc_call below runs the generator it returns.
    @functools.wraps(obj)
    def stand_in(*args, **kwargs):
        return obj(*args, **kwargs)

    return collector.ihook.pytest_pycollect_makeitem(collector=collector, name=name,
                                                     obj=stand_in)


# -- running -----------------------------------------------------------------------

@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Call the test; wait for the Deferred it returns, or run the generator or coroutine."""
    test = pyfuncitem.obj
    if inspect.isasyncgenfunction(test) or any(
            pyfuncitem.get_closest_marker(name) for name in OTHER_RUNNERS):
        return None  # pytest or another plugin says what to do with it
    __tracebackhide__ = True  # a failure's report starts in the test, not here
    with _failing_plainly():
        seconds = _seconds(*_time_limit(pyfuncitem))
    funcargs = pyfuncitem.funcargs
    outcome = test(**{name: funcargs[name] for name in pyfuncitem._fixtureinfo.argnames})
    body = outcome if inspect.isgenerator(outcome) or inspect.iscoroutine(outcome) else None
    with _failing_plainly():
        if body is not None and "kernel" in funcargs:
            _run_on(funcargs["kernel"], body, seconds)
        elif body is not None or isinstance(outcome, Deferred):
            with _test_reactor(pyfuncitem) as reactor:
                deferred = outcome if body is None else _start(body)
                run_until_fired(reactor, deferred, seconds=seconds, body=body)
        elif outcome is not None:
            warnings.warn(pytest.PytestReturnNotNoneWarning(
                f"{pyfuncitem.nodeid} returned {outcome!r}; a test returns None, a Deferred, "
                f"or is a generator function or an 'async def'"))
    return True


def _run_on(kernel, body, seconds):
    if not isinstance(kernel, WatchedKernel):
        body.close()
        pytest.fail(f"an asynchronous test runs on a coro.testing.limits.WatchedKernel, which "
                    f"can time it out, and this test's kernel is a {type(kernel).__name__}: "
                    f"make the kernel fixture a WatchedKernel", pytrace=False)
    kernel.run_test(body, seconds=seconds)


def _start(body):
    """The Deferred of a test's generator (yielding Deferreds) or coroutine (awaiting them)."""
    if inspect.iscoroutine(body):
        return ensure_deferred(body)
    return inline_callbacks(_delegate)(body)


def _delegate(body):
    return (yield from body)


@contextlib.contextmanager
def _test_reactor(item):
    """The test's ``reactor``, or else one made for it, its errors and timers checked."""
    if "reactor" in item.funcargs:
        yield item.funcargs["reactor"]
        return
    errors = item.funcargs.get("errors")  # checked by the fixture, if the test has it
    own = errors is None
    if own:
        errors = ReportedErrors()
    with Reactor(report_error=errors.report, handle_signals=False) as reactor:
        yield reactor
        assert_nothing_left_on(reactor)
    if own and errors:
        _fail_with_errors(errors)


def _time_limit(item):
    marker = item.get_closest_marker("coro_timeout")
    if marker is None:
        return item.config.getini("coro_timeout"), "the ini option coro_timeout"
    value = marker.args[0] if marker.args else marker.kwargs.get("seconds")
    return value, f"the marker coro_timeout({value!r})"


def _seconds(value, where):
    """``value`` as a number of seconds, or None for 0 (no limit).

    Raises:
        WrongTimeLimit: saying what is wrong, and ``where``.
    """
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise WrongTimeLimit(f"{where} must be a number of seconds (0 for no limit), "
                             f"not {value!r}")
    return seconds or None


@contextlib.contextmanager
def _failing_plainly():
    """A test that hangs or leaves tasks running, or a wrong time limit, fails with the
    message alone: the traceback would be the plugin's and the loop's, not the test's."""
    try:
        yield
    except (Hung, LeftBehind, WrongTimeLimit) as problem:
        message = str(problem)
    else:
        return
    raise pytest.fail.Exception(message, pytrace=False) from None  # not "during handling"


# -- fixtures ----------------------------------------------------------------------

@pytest.fixture
def clock():
    """A FakeClock at 0: time moves only when the test (or a kernel) moves it."""
    return FakeClock()


@pytest.fixture
def errors():
    """The errors the test's reactor or kernel reported; any the test did not take fail it."""
    found = ReportedErrors()
    yield found
    if found:
        _fail_with_errors(found)


@pytest.fixture
def reactor(errors):
    """A reactor on the best multiplexer and the real clock, closed after the test."""
    with Reactor(multiplexer.create(), report_error=errors.report, handle_signals=False) as loop:
        yield loop
        assert_nothing_left_on(loop)


@pytest.fixture
def fake_reactor(clock, errors):
    """A reactor whose time only moves when the test says so."""
    with Reactor(clock=clock, report_error=errors.report, handle_signals=False) as loop:
        yield loop
        assert_nothing_left_on(loop)


@pytest.fixture
def kernel(clock, errors):
    """A kernel on the ``clock`` fixture's FakeClock: its sleeps and timeouts take no time."""
    with WatchedKernel(clock=clock, report_error=errors.report) as loop:
        yield loop
        assert_nothing_left_on(loop)


@pytest.fixture
def unhandled_failures():
    """The failures of the test's Deferreds that nobody handled; any not taken fail it."""
    with collecting_unhandled_failures() as found:
        yield found
    if found:
        pytest.fail(f"Deferreds were dropped with failures nobody handled:\n{found.describe()}",
                    pytrace=False)


@pytest.fixture(autouse=True)
def no_failure_left_unhandled(request):
    """The ``unhandled_failures`` check, for each test that :func:`checked`."""
    if checked(request.node):
        request.getfixturevalue("unhandled_failures")


@pytest.fixture(autouse=True)
def no_descriptor_left_open(request):
    """Fail a test that :func:`checked` if it leaves open a descriptor it opened."""
    before = open_descriptors() if checked(request.node) else None
    yield
    leaked = opened_since(before)
    if leaked:
        pytest.fail(f"descriptors left open: {leaked}", pytrace=False)


def checked(item):
    """Whether ``item`` gets the descriptor and unhandled-failure checks."""
    return (item.config.getini("coro_check_all")
            or not FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
            or inspect.isgeneratorfunction(getattr(item, "obj", None))
            or inspect.iscoroutinefunction(getattr(item, "obj", None)))


def assert_nothing_left_on(loop):
    """Fail the test if ``loop`` (a reactor or a kernel) has a timer set, or a task running.

    A fixture that makes its own loop calls it after the test, before closing the loop.
    """
    left = pending_timers(loop)
    if not isinstance(loop, Reactor):
        left += [f"{task!r}, still running" for task in running_tasks(loop)]
    if left:
        pytest.fail(f"the test left behind: {'; '.join(left)}", pytrace=False)


def _fail_with_errors(errors):
    pytest.fail(f"errors were reported that the test did not take (with errors.take()):\n"
                f"{errors.describe(tracebacks=True)}", pytrace=False)
