"""Framed slow poetry, fetched: a download that can tell a whole poem from a cut one.

Plain slow poetry ends the poem with the connection, so a server stopped half-way,
which closes in good order, hands its client half a poem that looks whole (chapter 12).
A server run with ``--framed`` sends the poem as one netstring, length first; this is
the client side of that (chapter 13's proxy fetches with it): the length, bounded
before any of the poem is held, says when the poem is whole, and a connection that
ends before then fails the download, however cleanly it ends.
"""

import errno

from coro.cli import format_address
from coro.deferred_client import DeferredClientFactory
from coro.netstring import NetstringDecoder, NetstringError
from coro.reactor import tcp
from coro.reactor.protocol import ConnectionDone, Protocol


class BadPoem(Exception):
    """What the upstream server sent is not a poem that can be shown to be whole."""


class FramedPoemProtocol(Protocol):
    """Receives one framed poem: a netstring, whose length, bounded before any of the
    poem is held, says when the poem is whole.

    ``outcome`` is None until the poem, or the reason there is none, is known; the
    factory hears it exactly once, when the connection is lost.
    """

    def __init__(self):
        self.decoder = None
        self.outcome = None
        self.timer = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self.decoder = NetstringDecoder(max_length=self.factory.max_bytes)
        self.restart_timer()

    def data_received(self, data):
        if self.outcome is not None:
            return  # decided already; the connection is closing
        self.restart_timer()
        try:
            poems = self.decoder.feed(data)
        except NetstringError as exc:
            self.finish(self.refused(exc))
            return
        if poems:  # whole, if nothing came after it
            self.finish(poems[0] if len(poems) == 1 and not self.decoder.buffered else
                        BadPoem(f"refused what {self.factory.where} sent: more after the poem"))

    def refused(self, exc):
        """Why bytes the decoder refused fail the fetch, and a hint if it was the first."""
        if not exc.messages and not self.decoder.buffered:
            return BadPoem(f"{self.factory.where} sent no framed poem ({exc}): the upstream "
                           f"must be a slow poetry server run with --framed")
        return BadPoem(f"refused what {self.factory.where} sent: {exc}")

    def finish(self, outcome):
        """Decide how the fetch ends, and stop reading: the poem is whole, or refused."""
        self.outcome = outcome
        self.timer.cancel()
        if isinstance(outcome, BaseException):
            self.transport.abort_connection()
        else:
            self.transport.lose_connection()

    def connection_lost(self, reason):
        self.timer.cancel()
        if self.outcome is None and isinstance(reason, ConnectionDone):
            self.outcome = self.cut_short()  # a clean end, but before the poem's end
        elif self.outcome is None:
            self.outcome = reason
        self.factory.fire(self.outcome)

    def cut_short(self):
        """Why a connection that closed cleanly before the end of the poem failed."""
        got = self.decoder.buffered
        if not got:
            return BadPoem(f"{self.factory.where} closed the connection without sending "
                           f"a poem")
        return BadPoem(f"the poem was cut short: {self.factory.where} closed the connection "
                       f"after {got} bytes of it, before the end its length announced")

    def restart_timer(self):
        """Give up if the server sends nothing for ``timeout`` seconds from now."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.factory.reactor.call_later(self.factory.timeout, self.time_out)

    def time_out(self):
        self.finish(TimeoutError(errno.ETIMEDOUT, "timed out"))


class FramedPoemFactory(DeferredClientFactory):
    """Makes the protocol of one upstream download; ``deferred`` fires with the poem."""

    protocol = FramedPoemProtocol

    def __init__(self, reactor, address, *, timeout, max_bytes):
        super().__init__()
        self.reactor = reactor
        self.where = format_address(address)
        self.timeout = timeout
        self.max_bytes = max_bytes


def get_framed_poem(reactor, host, port, *, timeout, max_bytes):
    """Download the framed poem at ``host:port``: chapter 11's ``get_poetry``, but the
    poem must come as one netstring of at most ``max_bytes`` bytes.

    Returns:
        A Deferred of the poem's bytes. It fails with the reason there is none (a
        :exc:`BadPoem` when the poem was cut short, not framed or too long; a refused
        or reset connection; :exc:`TimeoutError`), and cancelling it closes the
        connection.
    """
    factory = FramedPoemFactory(reactor, (host, port), timeout=timeout, max_bytes=max_bytes)
    factory.connector = tcp.connect(reactor, host, port, factory, timeout=timeout)
    return factory.deferred
