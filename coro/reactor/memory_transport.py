"""Fakes for testing protocols without sockets or real time.

A protocol only ever talks to its transport, so a test can hand it a
:class:`MemoryTransport` instead: what the protocol writes is kept in memory, and the
test plays the peer by calling :meth:`~MemoryTransport.receive`. Together with
:class:`coro.io.clock.FakeClock` (time moves when the test says so), a protocol's whole
life runs in microseconds, with no port and no sleep. A test checks that this
transport has every public method of the real one, with the same parameters, so the
fake cannot drift from what it stands for. (Twisted's ``StringTransport`` plays the
same part.)
"""

import errno

from coro.reactor.protocol import ConnectionDone


class MemoryTransport:
    """A transport that keeps what is written, and lets the test play the peer.

    Like the real transport, it calls ``connection_lost`` exactly once; it does so at
    once, since there is never anything left to send.
    """

    buffer_size = 0

    def __init__(self, protocol, *, peer=("127.0.0.1", 40000), host=("127.0.0.1", 10000)):
        self.protocol = protocol
        self._written = bytearray()
        self._peer, self._host = peer, host
        self.disconnected = False
        self.eof_written = False
        self.reading = False
        self.producer = None
        self.lost_reason = None

    def start(self):
        """Tell the protocol the connection is made."""
        self.protocol.connection_made(self)
        self.reading = not self.disconnected

    # -- what the protocol calls ----------------------------------------------

    def write(self, data):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        if self.eof_written:
            raise RuntimeError("write() after write_eof() or lose_connection()")
        if not self.disconnected:
            self._written += data

    def writelines(self, chunks):
        for chunk in chunks:
            self.write(chunk)

    def lose_connection(self):
        self.eof_written = True
        self._lose(ConnectionDone())

    def write_eof(self):
        self.eof_written = True

    def abort_connection(self):
        self._lose(ConnectionAbortedError(errno.ECONNABORTED, "connection aborted"))

    def reset_connection(self):
        self._lose(ConnectionResetError(errno.ECONNRESET, "connection reset"))

    def pause_producing(self):
        self.reading = False

    def resume_producing(self):
        self.reading = not self.disconnected

    def stop_producing(self):
        self.lose_connection()

    def register_producer(self, producer):
        if self.producer is not None:
            raise RuntimeError("a producer is already registered; unregister it first")
        self.producer = producer

    def unregister_producer(self):
        self.producer = None

    def get_peer(self):
        return self._peer

    def get_host(self):
        return self._host

    # -- what the test calls --------------------------------------------------

    def value(self):
        """Everything written so far."""
        return bytes(self._written)

    def clear(self):
        """Forget what was written so far."""
        self._written.clear()

    def receive(self, data):
        """Play the peer: ``data`` arrives."""
        if self.disconnected:
            raise RuntimeError("the connection is closed")
        self.protocol.data_received(data)

    def receive_eof(self):
        """Play the peer closing its side: the protocol decides whether to stay open."""
        if self.protocol.eof_received() is not True:
            self.lose_connection()

    def fail(self, reason):
        """Play the network failing: the connection is lost with ``reason``."""
        self._lose(reason)

    def _lose(self, reason):
        if self.disconnected:
            return
        self.disconnected = True
        self.reading = False
        self.lost_reason = reason
        if self.producer is not None:
            producer, self.producer = self.producer, None
            producer.stop_producing()
        self.protocol.connection_lost(reason)
