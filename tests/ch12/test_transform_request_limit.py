"""A request has a maximum too: a poem too long to send is kept as it was, without asking
the transform server, as when the transform fails any other way."""

import errno

import pytest

from coro.trace import Trace
from coro.transform_client import MAX_REQUEST, get_transformed_poem, transform
from poetry_server import spawn
# ``transformer`` is a fixture: a transform server on the test's reactor.
from tests.ch12.test_transform_client import outcome_of, transformer
from tests.reactor_fixtures import run_until
from tests.support import ScriptedServer


def no_request_expected(socks):
    socks[0].close()  # only reached if the client connected: the test then fails


def assert_never_connected(service):
    service.listener.settimeout(0)
    with pytest.raises(BlockingIOError):
        service.listener.accept()  # no connection is waiting


def test_a_request_over_the_limit_fails_at_once_and_is_never_sent(reactor):
    # "upper." and ten bytes make a request of 16 bytes, one over the limit.
    with ScriptedServer(no_request_expected) as service:
        trace = outcome_of(transform(reactor, *service.address, "upper", b"x" * 10,
                                     max_request=15))
        assert_never_connected(service)
    assert trace == [(OSError, f"[Errno {errno.EMSGSIZE}] the poem is too long to send: a "
                               f"request of 16 bytes, over the limit of 15")]


def test_a_request_at_the_limit_is_sent(reactor, transformer):
    trace = outcome_of(transform(reactor, *transformer, "upper", b"x" * 10, max_request=16))
    run_until(reactor, lambda: trace)
    assert trace == [("poem", b"X" * 10)]


def test_a_poem_too_long_to_send_is_kept_as_it_was(reactor, tmp_path):
    # With "upper.", a poem of MAX_REQUEST bytes makes a request just over the limit.
    path = tmp_path / "long.txt"
    path.write_bytes(b"x" * MAX_REQUEST)
    warnings = []
    with spawn(str(path), delay=0, num_bytes=2**20) as [address], \
            ScriptedServer(no_request_expected) as service:
        d = get_transformed_poem(reactor, address, service.address, "upper", timeout=10,
                                 trace=Trace(), task=1,
                                 warn=lambda task, error: warnings.append((task, error)))
        trace = outcome_of(d)
        run_until(reactor, lambda: trace)
        assert_never_connected(service)
    assert trace == [("poem", path.read_bytes())]
    [(task, error)] = warnings
    assert task == 1 and error.errno == errno.EMSGSIZE
