"""The multiplexer backends: the same answers from select, poll and epoll."""

import contextlib
import os
import resource
import socket

import pytest

from coro.io import multiplexer
from coro.io.multiplexer import READ, WRITE, TooManyDescriptors

BACKENDS = list(multiplexer.BACKENDS)


@contextlib.contextmanager
def descriptor_limit(needed):
    """Raise the soft limit on open descriptors to ``needed``, for this test only."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} descriptors; the hard limit here is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture(params=BACKENDS)
def mux(request):
    with multiplexer.create(request.param) as mux:
        yield mux


def test_the_best_backend_here_is_epoll():
    assert multiplexer.best_backend() == "epoll"


def test_readable_writable_and_level_triggered(mux):
    left, right = socket.socketpair()
    with left, right:
        mux.register(left, READ | WRITE)
        assert mux.poll(0) == [(left.fileno(), WRITE)]  # room to send, nothing to read
        right.send(b"x")
        assert mux.poll(0) == [(left.fileno(), READ | WRITE)]
        mux.modify(left, READ)
        assert mux.poll(0) == [(left.fileno(), READ)]
        assert mux.poll(0) == [(left.fileno(), READ)]  # still unread: reported again
        assert left.recv(1) == b"x"
        assert mux.poll(0) == []
        mux.unregister(left)
        assert left not in mux and len(mux) == 0


def test_a_peer_that_goes_away_wakes_a_reader(mux):
    left, right = socket.socketpair()
    with left:
        mux.register(left, READ)
        right.close()
        assert mux.poll(0) == [(left.fileno(), READ)]
        assert left.recv(1) == b""


def test_registering_twice_or_modifying_a_stranger_fails(mux):
    left, right = socket.socketpair()
    with left, right:
        mux.register(left, READ)
        with pytest.raises(ValueError, match="already watched"):
            mux.register(left, WRITE)
        with pytest.raises(KeyError):
            mux.modify(right, READ)
        with pytest.raises(ValueError, match="interest must be"):
            mux.modify(left, 0)


def test_waiting_for_nothing_is_an_error(mux):
    with pytest.raises(ValueError, match="nothing to wait for"):
        mux.poll(0)


def test_an_unknown_backend_is_named():
    with pytest.raises(ValueError, match="no backend 'kqueue'; this system has select, poll"):
        multiplexer.create("kqueue")


def test_select_refuses_a_descriptor_past_fd_setsize_and_names_the_way_out():
    with descriptor_limit(1600), socket.socket() as sock:
        high = os.dup2(sock.fileno(), 1500)
        try:
            with multiplexer.create("select") as mux, \
                    pytest.raises(TooManyDescriptors) as failure:
                mux.register(high, READ)
        finally:
            os.close(high)
    message = str(failure.value)
    assert "descriptor 1500" in message and "FD_SETSIZE (1024)" in message
    assert "poll" in message and "epoll" in message


@pytest.mark.parametrize("backend", ["poll", "epoll"])
def test_poll_and_epoll_watch_two_thousand_descriptors(backend):
    with descriptor_limit(2200), contextlib.ExitStack() as stack:
        pairs = [socket.socketpair() for _ in range(1000)]
        for left, right in pairs:
            stack.enter_context(left)
            stack.enter_context(right)
        mux = stack.enter_context(multiplexer.create(backend))
        for left, right in pairs:
            mux.register(left, READ)
            mux.register(right, READ)
        assert len(mux) == 2000 and max(s.fileno() for p in pairs for s in p) >= 2000
        chosen = pairs[::97]
        for left, right in chosen:
            right.send(b"!")
        ready = sorted(mux.poll(0))
        assert ready == sorted((left.fileno(), READ) for left, _ in chosen)
