"""Simulated TCP sockets: the calls the kernel's Socket makes, and what TCP answers.

A :class:`SimSocket` stands where a non-blocking ``socket.socket`` stands, and answers
the calls :class:`coro.kernel.sockets.Socket` makes, and those :func:`~coro.kernel.sockets.listen`
and :func:`~coro.kernel.sockets.open_connection` make, with the answers TCP gives:

- ``connect_ex`` says EINPROGRESS; the handshake arrives later, and then the socket is
  writable and ``SO_ERROR`` is 0, or ECONNREFUSED when nothing listens there (or the
  network refuses it on purpose);
- ``recv`` raises :exc:`BlockingIOError` while nothing has arrived, and returns ``b""``
  once the peer's end of file (its ``shutdown(SHUT_WR)`` or its ``close``) has arrived
  after all its bytes;
- ``send`` takes what fits in the send buffer, :data:`~coro.testing.simsockets.SEND_BUFFER` bytes that the peer
  has not read yet, in flight or waiting in its buffer; past that it raises
  :exc:`BlockingIOError`, so a peer that never reads holds the sender back;
- after a reset, the next ``recv`` or ``send`` raises :exc:`ConnectionResetError`, and
  the bytes not read yet are gone; after that, ``recv`` gives ``b""`` and ``send``
  :exc:`BrokenPipeError`, as Linux does;
- closing a socket whose peer's bytes it never read resets the connection (the rule
  chapter 16's ``say_goodbye`` is written for); bytes that reach a closed socket reset
  the connection too, so a sender learns at its next call that nobody reads any more.

What is sent travels as *deliveries*: the socket hands its bytes to the network
(:class:`~coro.testing.simnet.SimulatedNetwork`), which decides when each piece arrives
and whether it arrives at all, and calls ``_arrive`` on the other end at that time.
The sockets know TCP; the network knows time and chance.

A descriptor number is taken from :data:`FIRST_FD` up, far above any real one, and the
lowest free number is given again after a close, as a system does: a registration
that outlives its socket would watch the next socket with that number.
"""

import collections
import enum
import errno
import os
import socket

from coro.io.multiplexer import READ, WRITE

#: The one host of the simulated network.
HOST = "127.0.0.1"
#: The first simulated descriptor number; no real descriptor is that high.
FIRST_FD = 100_000
#: How many bytes a socket may have sent that its peer has not read yet.
SEND_BUFFER = 64 * 1024

_OPTIONS = {(socket.SOL_SOCKET, socket.SO_REUSEADDR), (socket.IPPROTO_TCP, socket.TCP_NODELAY)}


def _error(code, detail=None):
    """The OSError subclass the system raises for ``code`` (EAGAIN: BlockingIOError...)."""
    message = os.strerror(code) if detail is None else f"{os.strerror(code)} ({detail})"
    return OSError(code, message)


class State(enum.Enum):
    """Where a simulated socket is in its life."""

    FRESH = "fresh"  # made; neither listening nor connected
    LISTENING = "listening"
    CONNECTING = "connecting"  # connect_ex was called; the handshake is on its way
    CONNECTED = "connected"
    REFUSED = "refused"  # the handshake came back refused
    CLOSED = "closed"


class Kind(enum.Enum):
    """What a delivery carries from one end of a connection to the other."""

    HANDSHAKE = "handshake"
    DATA = "data"
    FIN = "fin"  # the end of file: the sender will send no more
    RESET = "reset"


class Connection:
    """One TCP connection, named ``c1``, ``c2``, ... in the order ``connect_ex`` was called.

    Invariant: ``a`` is the end that connected; ``b`` is the end the listener made, or
    None until the handshake succeeded. It is reset at most once (``resetting``); once
    the reset has arrived (``broken``), nothing more is delivered on it. Deliveries in
    one direction arrive in the order they were sent: ``arrivals`` holds the time of
    the last one scheduled each way.
    """

    def __init__(self, name, a, server_address, owner):
        self.name, self.a, self.b = name, a, None
        self.client_address, self.server_address = a.getsockname(), server_address
        self.owner = owner  # whoever the network was told opens it (a client's number)
        self.resetting = False  # a reset is on its way, or has arrived
        self.broken = False  # a reset has arrived: nothing more is delivered
        self.arrivals = {"a->b": 0.0, "b->a": 0.0}

    @property
    def ended(self):
        """Whether both of its ends are closed (or it never had a second one)."""
        return all(end is None or end.state is State.CLOSED for end in (self.a, self.b))

    def __repr__(self):
        return f"<Connection {self.name} {self.client_address} -> {self.server_address}>"


class SimSocket:
    """A simulated TCP socket, always non-blocking.

    Invariant: an open socket holds a descriptor number, registered with its network;
    a connected one has a ``_peer`` (the other end, perhaps closed by now) and
    ``_unread_by_peer`` counts the bytes it sent that the peer has not read, never
    more than :data:`~coro.testing.simsockets.SEND_BUFFER`. ``_reset`` is an arrived reset not yet raised;
    ``_dead`` a reset already raised.
    """

    family, type, proto = socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP

    def __init__(self, network):
        self._network = network
        self.state = State.FRESH
        self._fd = network._open(self)
        self._address = self._peer_address = None
        self.connection, self._side, self._peer = None, None, None
        self._received = bytearray()  # arrived, not read yet
        self._unread_by_peer = 0
        self._eof = self._shut_rd = self._shut_wr = False
        self._reset = self._dead = False
        self._so_error = 0
        self._backlog, self._queue = 0, collections.deque()  # a listener's: accepted, not taken

    # -- the socket API ---------------------------------------------------------

    def fileno(self):
        return -1 if self.state is State.CLOSED else self._fd

    def setblocking(self, flag):
        if flag:
            raise ValueError("a simulated socket never blocks: it has no thread to stop")

    def setsockopt(self, level, option, value):
        self._check_open()
        if (level, option) not in _OPTIONS:
            raise _error(errno.ENOPROTOOPT, "the simulation knows SO_REUSEADDR and TCP_NODELAY")

    def getsockopt(self, level, option):
        """Only ``SO_ERROR``: the error of the last connect, cleared as it is read."""
        self._check_open()
        if (level, option) != (socket.SOL_SOCKET, socket.SO_ERROR):
            raise _error(errno.ENOPROTOOPT, "the simulation knows SO_ERROR only")
        code, self._so_error = self._so_error, 0
        return code

    def getsockname(self):
        self._check_open()
        return self._address or ("0.0.0.0", 0)

    def getpeername(self):
        self._check_open()
        if self._peer_address is None or self.state is not State.CONNECTED:
            raise _error(errno.ENOTCONN)
        return self._peer_address

    def bind(self, address):
        self._check_open()
        if self._address is not None:
            raise _error(errno.EINVAL, "bound already")
        self._address = self._network._bind(self, address)

    def listen(self, backlog=128):
        self._check_open()
        if self.state is not State.FRESH:
            raise _error(errno.EINVAL, f"a {self.state.value} socket cannot listen")
        if self._address is None:
            self.bind((HOST, 0))
        self._network._listen(self)
        self.state, self._backlog = State.LISTENING, max(backlog, 1)

    def accept(self):
        """Take the first connection that finished its handshake; EAGAIN if none has."""
        self._check_open()
        if self.state is not State.LISTENING:
            raise _error(errno.EINVAL, "not listening")
        if not self._queue:
            raise _error(errno.EAGAIN)
        sock = self._queue.popleft()
        return sock, sock._peer_address

    def connect_ex(self, address):
        """Start the handshake with ``address``; returns EINPROGRESS, as non-blocking TCP does."""
        self._check_open()
        if self.state is not State.FRESH:
            return errno.EISCONN if self.state is State.CONNECTED else errno.EALREADY
        if self._address is None:
            self._address = self._network._bind(self, (HOST, 0))
        self.state, self._peer_address = State.CONNECTING, tuple(address)
        self.connection = self._network._connect(self, self._peer_address)
        self._side = "a->b"
        return errno.EINPROGRESS

    def _check_connected(self):
        """What recv and send check first: open, connected, and not reset since the
        last call (a reset is raised once, at the first call after it arrived)."""
        self._check_open()
        if self.state is State.CONNECTING:
            raise _error(errno.EAGAIN)
        if self.state is not State.CONNECTED:
            raise _error(errno.ENOTCONN)
        if self._reset:
            self._reset, self._dead = False, True
            raise _error(errno.ECONNRESET)

    def recv(self, size):
        self._check_connected()
        if self._received:
            data = bytes(self._received[:size])
            del self._received[:size]
            self._peer._unread_by_peer -= len(data)
            return data
        if self._eof or self._shut_rd or self._dead:
            return b""
        raise _error(errno.EAGAIN)

    def send(self, data):
        """Send what fits in the send buffer; returns how many bytes it took."""
        self._check_connected()
        if self._shut_wr or self._dead:
            raise _error(errno.EPIPE)
        room = SEND_BUFFER - self._unread_by_peer
        if room <= 0:
            raise _error(errno.EAGAIN)
        data = bytes(data[:room])
        if data:
            self._unread_by_peer += len(data)
            self._network._transmit(self, Kind.DATA, data)
        return len(data)

    def shutdown(self, how):
        self._check_open()
        if self.state is not State.CONNECTED:
            raise _error(errno.ENOTCONN)
        if how in (socket.SHUT_RD, socket.SHUT_RDWR):
            self._shut_rd = True
            self._discard_received()
        if how in (socket.SHUT_WR, socket.SHUT_RDWR) and not self._shut_wr:
            self._shut_wr = True
            if not (self._reset or self._dead):
                self._network._transmit(self, Kind.FIN)

    def close(self):
        """Close the socket and free its number; the peer hears a FIN, or a reset."""
        if self.state is State.CLOSED:
            return
        if self.state is State.LISTENING:
            self._network._unlisten(self)
            while self._queue:  # handshakes nobody accepted: their clients are reset
                self._queue.popleft()._abort("the listener closed before accepting it")
        elif self.state is State.CONNECTED and not (self._reset or self._dead):
            if self._received:
                self._network._reset(self, "closed with bytes it never read")
            elif not self._shut_wr:
                self._network._transmit(self, Kind.FIN)
        self._close_quietly()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        where = f" {self.connection.name} {self._side[0]}" if self.connection else ""
        return f"<SimSocket fd={self._fd}{where} {self.state.value}>"

    # -- what the network and its multiplexer call -----------------------------------

    def readiness(self):
        """READ and WRITE, each set when that call would not raise BlockingIOError."""
        state = self.state
        if state is State.LISTENING:
            return READ if self._queue else 0
        if state is State.REFUSED or state is State.CLOSED or self._reset:
            return READ | WRITE  # an error to read: poll says "ready" for it
        if state is not State.CONNECTED:
            return 0
        ready = READ if self._received or self._eof or self._shut_rd or self._dead else 0
        if self._shut_wr or self._dead or self._unread_by_peer < SEND_BUFFER:
            ready |= WRITE
        return ready

    def status(self):
        """What this socket holds and waits for, in words (for a report of a stuck run)."""
        if self.state is State.LISTENING:
            return f"listening on {self._address}, no connection arriving"
        if self.state is State.CONNECTED:
            return (f"{len(self._received)} bytes to read, "
                    f"{self._unread_by_peer} sent and unread by the peer"
                    + (", end of file read" if self._eof else ""))
        return self.state.value

    def _arrive(self, kind, data):
        """Data, a FIN or a reset reaches this end (on a connection not reset before)."""
        if self.state is State.CLOSED:
            if kind is Kind.DATA:  # nobody will read it: the sender is told with a reset
                self._network._reset(self, "bytes arrived after it closed")
            return
        if kind is Kind.RESET:
            self._reset = not self._dead
            self._discard_received()
        elif kind is Kind.FIN:
            self._eof = True
        elif self._shut_rd:
            self._peer._unread_by_peer -= len(data)  # taken, and thrown away
        else:
            self._received += data

    def _connected(self, connection, side, peer, address=None, peer_address=None):
        """The handshake of ``connection`` succeeded: this end talks to ``peer`` now."""
        self.state, self.connection, self._side, self._peer = (
            State.CONNECTED, connection, side, peer)
        if address is not None:
            self._address, self._peer_address = address, peer_address

    def _refused(self):
        self.state, self._so_error = State.REFUSED, errno.ECONNREFUSED

    def _abort(self, why):
        """Close an accepted socket nobody took: its peer is reset."""
        self._network._reset(self, why)
        self._close_quietly()

    def _discard_received(self):
        if self._peer is not None:
            self._peer._unread_by_peer -= len(self._received)
        self._received.clear()

    def _close_quietly(self):
        self.state = State.CLOSED
        self._network._release(self)

    def _check_open(self):
        if self.state is State.CLOSED:
            raise _error(errno.EBADF)
