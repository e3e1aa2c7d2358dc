"""Protocols and factories: what a connection does, apart from how bytes move.

A *transport* (:mod:`coro.reactor.tcp`) owns a socket and knows how to move bytes: it sends
what it can, buffers the rest, and reads when the reactor says so. A *protocol* owns
none of that. It is told what happens, through four methods the transport calls,
and answers by calling the transport's ``write`` and ``lose_connection``. It never
touches a socket, so the same protocol runs over TCP, over a pipe, or over an
in-memory transport in a test.

A *factory* makes one protocol per connection, and holds what the connections share
(the poem to serve, the place to report results).

The names are Twisted's, in PEP 8 spelling: ``connection_made`` is
``connectionMade``, ``data_received`` is ``dataReceived``, and so on.
"""


class ConnectionDone(Exception):
    """The connection was closed cleanly: the reason given to ``connection_lost``
    when nothing went wrong."""

    def __init__(self, message="the connection was closed cleanly"):
        super().__init__(message)


class Protocol:
    """The events of one connection; subclass it and override what you need.

    The transport calls ``connection_made`` first, then ``data_received`` any number
    of times and ``eof_received`` at most once, and ``connection_lost`` exactly once,
    last.
    """

    transport = None

    def connection_made(self, transport):
        """The connection is up; ``transport`` is how to write to it."""
        self.transport = transport

    def data_received(self, data):
        """Bytes arrived. They are whatever the network delivered: part of a message,
        or several messages, never a unit of meaning by themselves."""

    def eof_received(self):
        """The peer will send nothing more (it closed, or half-closed).

        Returns:
            True to keep the connection open for writing (a half-close); anything
            else closes it once what was written has been sent.
        """
        return False

    def connection_lost(self, reason):
        """The connection is closed. ``reason`` is
        :exc:`~coro.reactor.protocol.ConnectionDone` for a clean close, or the error that
        ended it (a reset, say)."""


class Producer:
    """The interface of something that writes to a transport at its own pace.

    A transport whose out-buffer passes its high-water mark calls ``pause_producing``
    on its registered producer; once the buffer drains below the low-water mark it
    calls ``resume_producing``. That is how a peer that never reads costs a bounded
    amount of memory. ``stop_producing`` means the connection is gone.
    """

    def pause_producing(self):
        """Stop writing until ``resume_producing`` is called."""

    def resume_producing(self):
        """Writing is welcome again."""

    def stop_producing(self):
        """Stop for good: the connection was lost."""


class Factory:
    """Makes the protocol of each new connection: ``protocol(*args)`` by default.

    Args:
        protocol: A callable that returns a :class:`Protocol`, usually its class.
        args: Passed to ``protocol`` for each connection.
    """

    def __init__(self, protocol=None, *args):
        if protocol is not None:
            self.protocol = protocol
        self._args = args

    def build_protocol(self, address):
        """Return the protocol for a connection with ``address``, or None to refuse it.

        A refused connection is closed, and the refusal reported like an exception
        raised here: a ``build_protocol`` that forgot its ``return`` would otherwise
        drop every connection without a word. A client factory also hears
        ``client_connection_failed``.
        """
        protocol = self.protocol(*self._args)
        protocol.factory = self
        return protocol


class ClientFactory(Factory):
    """A factory for outgoing connections, which also hears when one cannot be made."""

    def client_connection_failed(self, connector, reason):
        """The connection could not be made: ``reason`` says why (refused, timed out,
        or ``build_protocol`` raised it or returned None)."""
