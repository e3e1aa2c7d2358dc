"""The transport: how a connection's bytes move, so the protocol need not know.

A :class:`Transport` stands between one socket and one protocol. Writing does not
wait: ``write`` sends at once what the socket takes and keeps the rest in an
out-buffer, which the reactor drains when the socket becomes writable. Being told
"not now" (EAGAIN) or "only this much" (a partial send) is normal, not an error.
Socket errors (a reset, a broken pipe) end that connection, exactly once, and never
escape into the reactor.

What the out-buffer keeps of a write is a *reference*, not a copy, when it can: a
``bytes`` object (or a memoryview of one) cannot change, so the transport keeps the
object itself and an offset into it, and a server that sends one large poem to a
thousand slow clients holds the poem once, not a thousand times. Anything mutable (a
``bytearray``, a memoryview of one) is copied, since its owner may change it as soon as
``write`` returns: callers need do nothing, but a caller that wants a large buffer sent
without a copy must hand over ``bytes``. Small writes are copied too, onto the end of
the buffer, so that one ``send`` takes many of them.
"""

import collections
import enum
import errno
import socket
import struct

from coro.io.multiplexer import TooManyDescriptors
from coro.reactor.protocol import ConnectionDone


class Ending(enum.Enum):
    """What the protocol asked for, if it asked to end the connection."""

    WRITE_EOF = "write_eof"  # a half-close: no more writing, reading goes on
    LOSE_CONNECTION = "lose_connection"  # close once the buffer is sent


class Transport:
    """One TCP connection: a socket driven by the reactor, and its protocol.

    Invariants: the socket is watched for writing exactly while the out-buffer is not
    empty. The out-buffer is a queue of chunks, each a memoryview of a ``bytes`` object
    kept by reference or a ``bytearray`` of copied writes (small or mutable ones);
    ``_sent`` bytes of the first chunk have gone out, and ``_buffered`` counts the rest.
    ``connection_lost`` is called exactly once, after everything else, and the
    socket is closed by then. The registered producer is paused while the buffer is
    above ``high_water``, until it drains below ``low_water``; once the protocol has
    asked to end the connection, it is never resumed, since it may no longer write.
    """

    high_water = 64 * 1024
    low_water = 16 * 1024
    read_size = 64 * 1024
    #: The rest of a ``bytes`` write at least this long is kept by reference; a shorter
    #: one is copied onto the end of the buffer, where it shares a send with its neighbours.
    keep_from = 16 * 1024

    def __init__(self, reactor, sock, protocol):
        self._reactor = reactor
        self._sock = sock
        self._fd = sock.fileno()
        self.protocol = protocol
        self._buffer = collections.deque()
        self._sent = 0
        self._buffered = 0
        self._producer = None
        self._producer_paused = False
        self._reading = False
        self._held = False  # the protocol paused reading, perhaps before it began
        self._eof_received = False
        self._ending = None  # or an Ending
        self.disconnected = False
        sock.setblocking(False)
        reactor.own(self, self.abort_connection)

    def start(self):
        """Tell the protocol the connection is made, then start reading."""
        if self._call_protocol(self.protocol.connection_made, self) is not _FAILED:
            # After write_eof() in connection_made, the peer may still send.
            if self._ending is not Ending.LOSE_CONNECTION and not self._held:
                self.resume_producing()

    # -- writing --------------------------------------------------------------

    @property
    def buffer_size(self):
        """Bytes written and not yet taken by the socket."""
        return self._buffered

    def write(self, data):
        """Send ``data``: now, as far as the socket takes it, and the rest later.

        Writing to a connection the peer or the network has ended does nothing:
        ``connection_lost`` has told (or is about to tell) the protocol. Writing after
        the protocol itself asked to close is a mistake, and raises, however quickly the
        close went. What waits for the socket is kept by
        reference if it is ``bytes``, and copied if it is mutable (see the module's
        docstring).

        Raises:
            TypeError: if ``data`` is not bytes-like.
            RuntimeError: if the protocol already asked to close the connection.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        if self._ending:  # before the rest: however fast the close went, it is a mistake
            raise RuntimeError(f"write() after {self._ending.value}()")
        if self.disconnected or not data:
            return
        sent = 0
        if not self._buffer:
            # Send at once: for most writes the socket takes everything, and there is no
            # need to bother the reactor at all.
            try:
                sent = self._sock.send(data)
            except (BlockingIOError, InterruptedError):  # EAGAIN; EINTR: try again later
                pass
            except OSError as exc:
                self._lost(exc)
                return
            if sent == len(data):
                return
            if not self._watch(self._reactor.add_writer, self._on_writable):
                return
        self._keep(data, sent)
        if self._producer and not self._producer_paused and self._buffered > self.high_water:
            self._producer_paused = True
            self._producer.pause_producing()

    def _keep(self, data, start):
        """Put ``data[start:]`` at the end of the out-buffer: by reference if it is large
        and immutable, else as a copy joined to the small writes before it."""
        rest = memoryview(data)[start:]
        self._buffered += len(rest)
        if isinstance(rest.obj, bytes) and len(rest) >= self.keep_from:
            self._buffer.append(rest)
        elif self._buffer and isinstance(self._buffer[-1], bytearray):
            self._buffer[-1] += rest
        else:
            self._buffer.append(bytearray(rest))

    def writelines(self, chunks):
        """Write each of ``chunks``."""
        for chunk in chunks:
            self.write(chunk)

    def _on_writable(self):
        try:
            self._send_buffered()
        except OSError as exc:
            self._lost(exc)
            return
        if self._buffer:
            if self._producer_paused and self._buffered <= self.low_water:
                self._resume_producer()
            return
        self._reactor.remove_writer(self._fd)
        if self._ending:
            self._finish_ending()
        elif self._producer_paused:
            self._resume_producer()

    def _send_buffered(self):
        """Send chunks from the front of the out-buffer until the socket is full."""
        while self._buffer:
            first = self._buffer[0]
            try:
                # A view, not a slice: slicing would copy the rest of the chunk. It is
                # let go of at once, since a bytearray that is viewed cannot grow.
                with memoryview(first)[self._sent:] as rest:
                    sent = self._sock.send(rest)
            except (BlockingIOError, InterruptedError):
                return  # no room after all: the next writable event goes on
            self._buffered -= sent
            if self._sent + sent < len(first):
                self._sent += sent
                return  # the socket took part of the chunk: it is full
            self._buffer.popleft()
            self._sent = 0

    def _resume_producer(self):
        # After lose_connection() or write_eof(), a resumed producer's next write would
        # raise: it stays paused, and hears stop_producing when the connection is lost.
        if self._ending:
            return
        self._producer_paused = False
        self._producer.resume_producing()

    # -- closing --------------------------------------------------------------

    def lose_connection(self):
        """Close the connection once everything written has been sent."""
        if self.disconnected or self._ending is Ending.LOSE_CONNECTION:
            return
        self._ending = Ending.LOSE_CONNECTION
        self.pause_producing()
        if not self._buffer:
            self._finish_ending()

    def write_eof(self):
        """Half-close: send what is buffered, then tell the peer nothing more will come.

        Reading goes on; the connection ends when the peer closes its side too.
        """
        if self.disconnected or self._ending:
            return
        self._ending = Ending.WRITE_EOF
        if not self._buffer:
            self._finish_ending()

    def abort_connection(self):
        """Close the connection now, throwing away what is still buffered."""
        self._lost(ConnectionAbortedError(errno.ECONNABORTED, "connection aborted"))

    def reset_connection(self):
        """Close the connection now with a TCP reset, so that the peer sees an error.

        A plain close tells the peer "that is all"; where the end of the connection
        marks the end of the data (a slow poetry server), only a reset says
        "something went wrong". ``SO_LINGER`` on, with a linger time of zero, makes
        closing the socket send RST instead of FIN.
        """
        if not self.disconnected:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._lost(ConnectionResetError(errno.ECONNRESET, "connection reset"))

    def _finish_ending(self):
        if self._ending is Ending.LOSE_CONNECTION or self._eof_received:
            self._lost(ConnectionDone())
            return
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self._lost(exc)

    def _lost(self, reason):
        if self.disconnected:
            return
        self.disconnected = True
        self._reactor.remove_reader(self._fd)
        self._reactor.remove_writer(self._fd)
        self._sock.close()
        self._buffer.clear()
        self._sent = self._buffered = 0
        self._reactor.disown(self)
        if self._producer is not None:
            producer, self._producer = self._producer, None
            self._reactor.call_soon(producer.stop_producing)
        # Later, not now: the protocol may be in the middle of the call that ended it.
        self._reactor.call_soon(self._call_protocol, self.protocol.connection_lost, reason)

    # -- reading, and the transport as a producer -----------------------------

    def _on_readable(self):
        try:
            data = self._sock.recv(self.read_size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(exc)
            return
        if data:  # the common case, so the protocol is called here, not by _call_protocol
            try:
                self.protocol.data_received(data)
            except Exception as exc:  # reported, never swallowed
                self._protocol_failed(exc, "data_received")
            return
        self._eof_received = True
        self.pause_producing()
        keep_open = self._call_protocol(self.protocol.eof_received)
        if self._ending is Ending.WRITE_EOF and not self._buffer:
            self._lost(ConnectionDone())  # both sides have said they are done
        elif keep_open is not True and keep_open is not _FAILED:
            self.lose_connection()

    def pause_producing(self):
        """Stop reading from the socket (the peer's writes then back up)."""
        self._held = True
        if self._reading:
            self._reading = False
            self._reactor.remove_reader(self._fd)

    def resume_producing(self):
        """Read from the socket again."""
        self._held = False
        if not self._reading and not self.disconnected and not self._eof_received:
            if self._watch(self._reactor.add_reader, self._on_readable):
                self._reading = True

    def stop_producing(self):
        """The consumer is gone: close the connection."""
        self.lose_connection()

    def register_producer(self, producer):
        """Have ``producer`` paused and resumed as the out-buffer fills and drains."""
        if self._producer is not None:
            raise RuntimeError("a producer is already registered; unregister it first")
        self._producer = producer
        if self.disconnected:
            self._producer = None
            self._reactor.call_soon(producer.stop_producing)
        elif self._buffered > self.high_water:
            self._producer_paused = True
            producer.pause_producing()

    def unregister_producer(self):
        """Stop telling the producer about the buffer."""
        self._producer, self._producer_paused = None, False

    # -- the rest -------------------------------------------------------------

    def get_peer(self):
        """The address of the other end."""
        return self._peer_or_host(self._sock.getpeername)

    def get_host(self):
        """The address of this end."""
        return self._peer_or_host(self._sock.getsockname)

    def __repr__(self):
        return f"<{type(self).__name__} of {type(self.protocol).__name__} on fd {self._fd}>"

    def _peer_or_host(self, get):
        if self.disconnected:
            raise OSError(errno.ENOTCONN, "the connection is closed")
        return get()

    def _watch(self, add, callback):
        """Have the reactor watch the socket; a backend that cannot (select, past
        FD_SETSIZE) ends the connection with its explanation."""
        try:
            add(self._fd, callback)
        except TooManyDescriptors as exc:
            self._lost(exc)
            return False
        return True

    def _call_protocol(self, method, *args):
        """Call the protocol; if it raises, report it and drop the connection."""
        try:
            return method(*args)
        except Exception as exc:  # reported, never swallowed
            self._protocol_failed(exc, method.__name__)
            return _FAILED

    def _protocol_failed(self, exc, method_name):
        self._reactor.report_error(exc, f"{type(self.protocol).__name__}.{method_name}")
        self._lost(exc)


_FAILED = object()  # what _call_protocol returns when the protocol raised
