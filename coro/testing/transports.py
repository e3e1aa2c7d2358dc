"""Two protocols joined in memory: a connected pair of transports, and a pump.

Chapter 9's :class:`~coro.reactor.memory_transport.MemoryTransport` has one side, and the
test plays the peer. Here a client and a server protocol each get a transport, and what
one writes the other receives, when the test calls :meth:`Connection.pump`. So the test
decides when bytes arrive, in what pieces (``chunk_size``), how late (``latency``, on a
:class:`~coro.io.clock.FakeClock`), and breaks the network in between: it stalls a
direction (:meth:`Connection.pause`) or resets the connection (:meth:`Connection.reset`).
Twisted's ``twisted.test.iosim`` (``connect``, ``IOPump.pump``) plays the same part.

The model has no kernel between the ends: what one end writes stays in its out-buffer
until the other has received it. So ``buffer_size`` counts what the peer has not read,
and a peer that does not read pauses the writer's producer above the high-water mark.
The rest follows the real transport (:mod:`coro.reactor.transport`) step by step. An end
that closes puts an end of file (FIN) after its bytes; the peer hears ``eof_received``
once it has read them. ``reset_connection`` sends a reset (RST) instead: what was not
delivered is lost, and the peer ends with ``ConnectionResetError``, as does a writer whose
bytes reach an end already closed. ``connection_lost`` comes exactly once, last, at a pump
(the real one waits for the next tick). ``write`` after ``lose_connection`` raises, as the
real one's does, however quickly the close went. An exception in a protocol ends its connection
and is reported; with no ``report_error``, it is raised out of the pump.
"""

import collections
import enum
import errno
import math

from coro.reactor.protocol import ConnectionDone
from coro.reactor.transport import Ending, Transport


class Direction(enum.Enum):
    """Which way bytes travel."""

    CLIENT_TO_SERVER = "client->server"
    SERVER_TO_CLIENT = "server->client"


class _Signal(enum.Enum):
    FIN = "fin"  # after an end's last byte: nothing more will come
    RST = "rst"  # the connection is reset


class PairedTransport:
    """One end of a :class:`Connection`: the transport its protocol is given.

    Invariants: the out-buffer holds, in order, what the protocol wrote and the peer has
    not received yet, each write with the time it may arrive; ``_sent`` bytes of the
    first have arrived, and ``_buffered`` counts the rest. After the bytes, at most one
    signal waits (a FIN or a RST). ``connection_lost`` is called exactly once, last.
    """

    high_water = Transport.high_water
    low_water = Transport.low_water

    def __init__(self, connection, protocol, address):
        self._connection, self.protocol, self._address = connection, protocol, address
        self.peer = None  # the other end; connect() joins them
        self._buffer = collections.deque()  # [arrival time, bytes]
        self._sent = self._buffered = 0
        self._signal = None  # or (arrival time, _Signal)
        self._shut = False  # a FIN or a RST has been put on the wire
        self._producer, self._producer_paused = None, False
        self._reading = self._eof_received = self.disconnected = False
        self._ending, self._ending_at = None, 0.0  # an Ending, once the protocol asks

    def start(self):
        """Tell the protocol the connection is made, and deliver to it; connect() calls it."""
        self._reading = True  # first: the protocol may pause reading in connection_made
        self._call_protocol(self.protocol.connection_made, self)

    # -- writing --------------------------------------------------------------

    @property
    def buffer_size(self):
        """Bytes written and not yet received by the peer."""
        return self._buffered

    def write(self, data):
        """Send ``data``; the peer receives it at a pump.

        Raises:
            TypeError: if ``data`` is not bytes-like.
            RuntimeError: if the protocol already asked to close the connection.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        if self._ending:
            raise RuntimeError(f"write() after {self._ending.value}()")
        if self.disconnected or not data:
            return
        data = bytes(data)  # a mutable buffer is copied: its owner may change it at once
        self._buffer.append([self._connection._arrival(), data])
        self._buffered += len(data)
        if self._producer and not self._producer_paused and self._buffered > self.high_water:
            self._producer_paused = True
            self._producer.pause_producing()

    def writelines(self, chunks):
        for chunk in chunks:
            self.write(chunk)

    # -- closing --------------------------------------------------------------

    def lose_connection(self):
        """Close the connection once the peer has received everything written."""
        if self.disconnected or self._ending is Ending.LOSE_CONNECTION:
            return
        if self._ending is None:
            self._ending_at = self._connection._now()
        self._ending = Ending.LOSE_CONNECTION
        self.pause_producing()
        if not self._buffer:
            self._finish_ending()

    def write_eof(self):
        """Half-close: after what is written, the peer hears that nothing more will come."""
        if self.disconnected or self._ending:
            return
        self._ending, self._ending_at = Ending.WRITE_EOF, self._connection._now()
        if not self._buffer:
            self._finish_ending()

    def abort_connection(self):
        """Close the connection now, throwing away what the peer has not received."""
        self._lost(ConnectionAbortedError(errno.ECONNABORTED, "connection aborted"))

    def reset_connection(self):
        """Close the connection now with a reset, so that the peer sees an error."""
        self._lost(ConnectionResetError(errno.ECONNRESET, "connection reset"), _Signal.RST)

    def _finish_ending(self):
        if self._ending is Ending.LOSE_CONNECTION or self._eof_received:
            self._lost(ConnectionDone())
        else:
            self._put_signal(_Signal.FIN, self._ending_at)

    def _put_signal(self, signal, since):
        if signal is _Signal.FIN and self._shut:
            return  # a close after a half-close sends nothing more
        self._shut = True
        self._signal = (self._connection._arrival(since), signal)

    def _lost(self, reason, signal=_Signal.FIN):
        """End this side: drop what is unsent, tell the peer with ``signal`` (a FIN,
        a RST, or None when the peer is gone already), and call ``connection_lost`` later."""
        if self.disconnected:
            return
        self.disconnected, self._reading = True, False
        self._buffer.clear()
        self._sent = self._buffered = 0
        if signal is not None:
            self._put_signal(signal, self._ending_at if self._ending else None)
        later = self._connection._call_later
        if self._producer is not None:
            producer, self._producer = self._producer, None
            later(producer.stop_producing)
        later(self._call_protocol, self.protocol.connection_lost, reason)

    # -- delivering to the peer -----------------------------------------------

    def _step(self, now, chunk_size):
        """Move up to ``chunk_size`` bytes to the peer, else the signal; return how many
        bytes moved (0 for a signal), or None if nothing could move."""
        peer = self.peer
        if self._buffer:
            if self._buffer[0][0] > now:
                return None
            if peer.disconnected:  # bytes reach a closed socket: its kernel resets
                self._lost(ConnectionResetError(errno.ECONNRESET, "connection reset by peer"),
                           None)
                return 0
            if not peer._reading:
                return None
            data = self._take(now, chunk_size)
            self._drained()  # first the sender's send, then the receiver's read
            peer._call_protocol(peer.protocol.data_received, data)
            return len(data)
        if self._signal is None or self._signal[0] > now:
            return None
        signal = self._signal[1]
        if signal is _Signal.FIN and not peer.disconnected and not peer._reading:
            return None  # an end of file is read, as bytes are
        self._signal = None
        if signal is _Signal.RST:  # heard at once, even by a protocol that paused reading
            peer._lost(ConnectionResetError(errno.ECONNRESET, "connection reset by peer"), None)
        elif not peer.disconnected:  # a FIN to a closed socket tells nobody
            peer._receive_eof()
        return 0

    def _take(self, now, chunk_size):
        """Up to ``chunk_size`` due bytes: one read may bring several writes, or a part."""
        parts, size = [], 0
        while self._buffer and size < chunk_size and self._buffer[0][0] <= now:
            data = self._buffer[0][1]
            part = data[self._sent:self._sent + chunk_size - size]
            parts.append(part)
            size += len(part)
            if self._sent + len(part) < len(data):
                self._sent += len(part)
            else:
                self._buffer.popleft()
                self._sent = 0
        self._buffered -= size
        return b"".join(parts)

    def _drained(self):
        """After a send: resume the producer below the low-water mark; end if asked to."""
        if self._buffer:
            if self._producer_paused and self._buffered <= self.low_water:
                self._resume_producer()
        elif self._ending:
            self._finish_ending()
        elif self._producer_paused:
            self._resume_producer()

    def _resume_producer(self):
        if self._ending:
            return  # its next write would raise: it hears stop_producing when lost
        self._producer_paused = False
        self._producer.resume_producing()

    def _receive_eof(self):
        self._eof_received = True
        self.pause_producing()
        keep_open = self._call_protocol(self.protocol.eof_received)
        if self._ending is Ending.WRITE_EOF and not self._buffer:
            self._lost(ConnectionDone())  # both sides have said they are done
        elif keep_open is not True and keep_open is not _FAILED:
            self.lose_connection()

    # -- reading, and the transport as a producer -----------------------------

    def pause_producing(self):
        """Stop delivering to the protocol (the peer's writes then back up)."""
        self._reading = False

    def resume_producing(self):
        if not self.disconnected and not self._eof_received:
            self._reading = True

    def stop_producing(self):
        self.lose_connection()

    def register_producer(self, producer):
        """Have ``producer`` paused and resumed as the out-buffer fills and drains."""
        if self._producer is not None:
            raise RuntimeError("a producer is already registered; unregister it first")
        self._producer = producer
        if self.disconnected:
            self._producer = None
            self._connection._call_later(producer.stop_producing)
        elif self._buffered > self.high_water:
            self._producer_paused = True
            producer.pause_producing()

    def unregister_producer(self):
        self._producer, self._producer_paused = None, False

    # -- the rest -------------------------------------------------------------

    def get_peer(self):
        return self._if_connected(self.peer._address)

    def get_host(self):
        return self._if_connected(self._address)

    def __repr__(self):
        return f"<{type(self).__name__} of {type(self.protocol).__name__} at {self._address}>"

    def _if_connected(self, address):
        if self.disconnected:
            raise OSError(errno.ENOTCONN, "the connection is closed")
        return address

    def _call_protocol(self, method, *args):
        """Call the protocol; if it raises, drop the connection and report it."""
        try:
            return method(*args)
        except Exception as exc:  # reported, never swallowed
            self._lost(exc)
            self._connection._report(exc, f"{type(self.protocol).__name__}.{method.__name__}")
            return _FAILED


_FAILED = object()  # what _call_protocol returns when the protocol raised


class Connection:
    """A client and a server protocol joined by two :class:`PairedTransport`: ``client``
    and ``server``. Bytes, ends of file and closes reach the protocols only in
    :meth:`pump` (and ``connection_made`` in :func:`connect`).

    Invariant: a paused direction moves nothing, not even a FIN or a RST.
    """

    def __init__(self, *, clock, chunk_size, latency, report_error):
        self.clock, self.chunk_size, self.latency = clock, chunk_size, latency
        self._report_error = report_error
        self._later = collections.deque()  # (fn, args): the pump's "next tick"
        self._paused = set()
        self.client = self.server = None

    def pump(self):
        """Deliver what can move, both ways, until nothing more can (a reply to what
        arrives comes in the same pump); return how many bytes were delivered. What
        waits for its latency, or in a paused direction, stays where it is; two protocols
        that answer each other for ever keep it going for ever, as they would a loop."""
        moved, progress = 0, True
        while progress:
            progress = bool(self._later)
            for _ in range(len(self._later)):
                fn, args = self._later.popleft()
                self._call(fn, *args)
            for direction, sender in ((Direction.CLIENT_TO_SERVER, self.client),
                                      (Direction.SERVER_TO_CLIENT, self.server)):
                if direction in self._paused:
                    continue
                step = sender._step(self._now(), self.chunk_size)
                if step is not None:
                    moved, progress = moved + step, True
        return moved

    def pause(self, direction):
        """Stall ``direction`` (a :class:`Direction` or its value): nothing moves that way."""
        self._paused.add(Direction(direction))

    def resume(self, direction):
        """Let ``direction`` move again."""
        self._paused.discard(Direction(direction))

    def reset(self):
        """The network resets the connection: what is undelivered is lost, and both
        protocols hear ``ConnectionResetError`` at the next pump."""
        for end in (self.client, self.server):
            end._lost(ConnectionResetError(errno.ECONNRESET, "connection reset by the network"),
                      None)

    def _now(self):
        return 0.0 if self.clock is None else self.clock.now()

    def _arrival(self, since=None):
        """When something sent at ``since`` (by default now) arrives."""
        return (self._now() if since is None else since) + self.latency

    def _call_later(self, fn, *args):  # at the start of the pump's next round
        self._later.append((fn, args))

    def _report(self, exc, context):
        if self._report_error is None:
            raise exc
        self._report_error(exc, context)

    def _call(self, fn, *args):
        try:
            fn(*args)
        except Exception as exc:  # reported, never swallowed
            self._report(exc, f"callback {getattr(fn, '__qualname__', fn)!r}")


def connect(client, server, *, clock=None, chunk_size=None, latency=0.0, report_error=None,
            client_address=("127.0.0.1", 50000), server_address=("127.0.0.1", 10000)):
    """Join protocols ``client`` and ``server`` in a :class:`Connection`. Each hears
    ``connection_made`` (the server's first), and nothing more until its ``pump()``.

    Args:
        client, server: The two protocols.
        clock: An object with ``now()``, for ``latency``; a FakeClock, usually.
        chunk_size: At most this many bytes per ``data_received``; None means what the
            real transport reads at once (``Transport.read_size``).
        latency: Seconds between a write and its arrival; needs a ``clock``.
        report_error: ``report_error(exception, context)`` for an exception a protocol
            raises (its connection is dropped either way); None raises it out of the call.
        client_address, server_address: What ``get_host`` and ``get_peer`` return.

    Raises:
        ValueError: a ``chunk_size`` below 1; a ``latency`` below 0, infinite, or clockless.
    """
    if chunk_size is None:
        chunk_size = Transport.read_size
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a whole number of bytes, not {chunk_size!r}")
    if not (latency >= 0 and math.isfinite(latency)):
        raise ValueError(f"latency must be a finite number of seconds, not {latency!r}")
    if latency and clock is None:
        raise ValueError("a latency needs a clock to measure it: pass clock=FakeClock()")
    connection = Connection(clock=clock, chunk_size=chunk_size, latency=latency,
                            report_error=report_error)
    connection.client = PairedTransport(connection, client, client_address)
    connection.server = PairedTransport(connection, server, server_address)
    connection.client.peer, connection.server.peer = connection.server, connection.client
    connection.server.start()
    connection.client.start()
    return connection
