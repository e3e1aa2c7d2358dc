"""A simulated network on a simulated clock, where one seed decides everything.

A test on loopback sockets sees the network loopback is: no latency worth the name,
no lost bytes, a connection that is never reset unless the test resets it. The bugs
that a slow or broken network finds, a timeout that fires in the wrong place, a
download that takes a short poem for a whole one, a socket left open after a reset,
wait there for a network bad enough to show them, and then they come back once a
week and never under a debugger. So this module replaces the network and the clock,
the two things a kernel run cannot decide for itself, with a simulation: connections,
latency, the size of each piece that arrives, stalls, resets and refused connections
are drawn from one :class:`random.Random` seeded with one number. The code under test
is the book's own, unmodified: chapter 16's kernel, its client and its server run as
tasks of one :class:`~coro.kernel.loop.Kernel`, and only their sockets are simulated.
The same seed gives the same run, event for event, so a seed that fails is a bug
report: ``python -m poetry_server.simulation --seed N`` replays it, as many times as
it takes. (FoundationDB tests its database this way; so do TigerBeetle and others.)

Where time moves: only in the multiplexer's poll, :mod:`coro.testing.simpoll` says
how and why. The clock is a :class:`SimulatedClock`, with ``now()`` and nothing else.

Installing it. :func:`~coro.kernel.sockets.listen` and
:func:`~coro.kernel.sockets.open_connection` make their sockets with ``socket.socket``
and ``socket.getaddrinfo``, read from the module global ``socket`` of
:mod:`coro.kernel.sockets`. :meth:`SimulatedNetwork.installed` replaces exactly that
one global, for the length of a ``with`` block, by a namespace with the real
constants and the simulated ``socket`` and ``getaddrinfo``; nothing else is patched.
Replacing one name is the price of running the stages as they are written, with no
parameter added to them for the sake of a test.

The log. Each line is a simulated time and an event: ``listen``, ``connect`` (a
connection is named ``c1``, ``c2``, ... in the order it was asked for), ``establish``,
``refuse``, ``deliver`` (so many bytes, ``a->b`` from the end that connected to the end
the listener made, or ``b->a``), ``fin``, ``reset`` (and why: ``fault``, or what TCP
resets for), ``stall`` (written when the piece is sent: it, and every piece behind
it, arrives that much later), ``close``.

What it simplifies. The network has one host, 127.0.0.1. A handshake is one trip:
the connection is in the listener's queue and the connecting socket writable at the
same moment. A reset, when it arrives, cuts both ends at once, as a middlebox that
drops a connection does. A listener whose queue is full drops the handshake, tried
again a second later, as a SYN is. The TCP of each socket is in
:mod:`coro.testing.simsockets`.
"""

import contextlib
import errno
import heapq
import itertools
import random
import socket
from dataclasses import dataclass

from coro.kernel import sockets as kernel_sockets
from coro.testing.simpoll import SimMultiplexer, SimulationStuck
from coro.testing.simsockets import FIRST_FD, HOST, Connection, Kind, SimSocket, State, _error

__all__ = ["FAULT_LEVELS", "Faults", "SimMultiplexer", "SimSocket", "SimulatedClock",
           "SimulatedNetwork", "SimulationStuck"]

#: The first port handed to a socket that connects without binding.
EPHEMERAL_PORTS = 54001
#: How long a handshake dropped by a full listen queue waits to be tried again.
HANDSHAKE_RETRY = 1.0


@dataclass(frozen=True)
class Faults:
    """What can go wrong on the network, and how often.

    Attributes:
        latency: The (lowest, highest) seconds a delivery takes, drawn uniformly.
        max_chunk: At most how many bytes of a send arrive in one delivery (a send is
            cut into pieces of 1 to ``max_chunk`` bytes); None: a send arrives whole.
        stall_probability: The chance that a delivery, and the ones behind it, stall.
        stall: The (shortest, longest) seconds a stall lasts.
        reset_probability: The chance that a delivery resets its connection instead.
        refuse_probability: The chance that a connection is refused.
    """

    latency: tuple[float, float] = (0.001, 0.001)
    max_chunk: int | None = None
    stall_probability: float = 0.0
    stall: tuple[float, float] = (1.0, 5.0)
    reset_probability: float = 0.0
    refuse_probability: float = 0.0

    def __post_init__(self):
        for name in ("stall_probability", "reset_probability", "refuse_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a probability, not {getattr(self, name)!r}")
        for name in ("latency", "stall"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} is a range of seconds (low, high), not {(low, high)}")
        if self.max_chunk is not None and self.max_chunk < 1:
            raise ValueError(f"max_chunk is at least 1 byte, or None, not {self.max_chunk!r}")

    @classmethod
    def none(cls):
        """A perfect network: one millisecond for every delivery, and nothing goes wrong."""
        return cls()

    @classmethod
    def some(cls):
        """A bad day: varied latency, small pieces, now and then a stall or a reset."""
        return cls(latency=(0.001, 0.05), max_chunk=64, stall_probability=0.01,
                   reset_probability=0.005, refuse_probability=0.05)

    @classmethod
    def many(cls):
        """A terrible day: a fault of some kind on most connections."""
        return cls(latency=(0.001, 0.1), max_chunk=32, stall_probability=0.03,
                   stall=(0.5, 3.0), reset_probability=0.02, refuse_probability=0.1)


#: The fault levels a command line can name.
FAULT_LEVELS = {"none": Faults.none(), "some": Faults.some(), "many": Faults.many()}


class SimulatedClock:
    """The network's clock: ``now()`` only. It has no ``advance``: the network moves it."""

    def __init__(self):
        self._now = 0.0

    def now(self):
        """The simulated time, in seconds from the start of the run."""
        return self._now


class SimulatedNetwork:
    """Listeners, sockets and deliveries on a simulated clock, all drawn from ``seed``.

    Invariant: ``_deliveries`` holds what is on its way, keyed ``(time, sequence)``, no
    time earlier than the clock; ``_sockets`` every open simulated socket by number;
    ``log`` one line per network event, in the order they happened.

    Args:
        seed: The seed of every random choice; the same seed gives the same run.
        faults: The :class:`Faults` to draw from; a perfect network by default.
        max_time: The bound of simulated time: past it, the poll raises
            :exc:`SimulationStuck`.
    """

    def __init__(self, seed, *, faults=Faults.none(), max_time=3600.0):
        self.seed, self.faults, self.max_time = seed, faults, max_time
        self.random = random.Random(seed)
        self.clock = SimulatedClock()
        self.log = []
        self.connections = []  # every Connection, in the order they were opened
        self._deliveries, self._sequence = [], itertools.count()
        self._sockets, self._free_fds, self._next_fd = {}, [], FIRST_FD
        self._bound, self._listeners = {}, {}  # (host, port) -> SimSocket
        self._ports = itertools.count(EPHEMERAL_PORTS)
        self._owner = None

    # -- the socket module, as coro.kernel.sockets sees it -------------------------

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
        """A new :class:`~coro.testing.simsockets.SimSocket` (TCP over IPv4 only)."""
        if family != socket.AF_INET or type != socket.SOCK_STREAM:
            raise ValueError(f"the simulated network has TCP over IPv4 only, "
                             f"not family {family!r} type {type!r}")
        return SimSocket(self)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        """The one address of ``host:port``: ``host`` must be 127.0.0.1, as a number."""
        if host != HOST:
            raise ValueError(f"the simulated network has one host, {HOST}, "
                             f"and looks up no names: not {host!r}")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (HOST, int(port)))]

    @contextlib.contextmanager
    def installed(self):
        """Make :mod:`coro.kernel.sockets` create simulated sockets, until the block ends."""
        previous = kernel_sockets.socket
        if isinstance(previous, _SocketModule):
            raise RuntimeError("a simulated network is installed already")
        kernel_sockets.socket = _SocketModule(self)
        try:
            yield self
        finally:
            kernel_sockets.socket = previous

    def multiplexer(self):
        """A new :class:`SimMultiplexer` over this network, for a kernel."""
        return SimMultiplexer(self)

    def expect_connection(self, owner):
        """Say who opens the next connection: it is recorded as ``Connection.owner``.

        Raises:
            RuntimeError: the owner told before made no connection.
        """
        if self._owner is not None:
            raise RuntimeError(f"{self._owner!r} was to open a connection and opened none")
        self._owner = owner

    def open_sockets(self):
        """The simulated sockets not closed yet, by number."""
        return [self._sockets[fd] for fd in sorted(self._sockets)]

    def socket_numbered(self, fd):
        """The open simulated socket with descriptor number ``fd``, or None."""
        return self._sockets.get(fd)

    # -- what the sockets call -------------------------------------------------------

    def _open(self, sock):
        fd = heapq.heappop(self._free_fds) if self._free_fds else self._take_fd()
        self._sockets[fd] = sock
        return fd

    def _take_fd(self):
        self._next_fd += 1
        return self._next_fd - 1

    def _release(self, sock):
        fd = sock._fd
        del self._sockets[fd]
        heapq.heappush(self._free_fds, fd)
        if sock._address is not None and self._bound.get(sock._address) is sock:
            del self._bound[sock._address]
        if sock.connection is not None:
            self._note(f"close {sock.connection.name} {sock._side[0]}")
        elif sock._backlog:  # a listener
            self._note(f"close listener {_format(sock._address)}")

    def _bind(self, sock, address):
        host, port = address
        if host != HOST:
            raise _error(errno.EADDRNOTAVAIL, f"the simulated network has one host, {HOST}")
        if port == 0:
            port = next(port for port in self._ports if (HOST, port) not in self._bound)
        if (HOST, port) in self._bound:
            raise _error(errno.EADDRINUSE)
        self._bound[HOST, port] = sock
        return HOST, port

    def _listen(self, sock):
        self._listeners[sock._address] = sock
        self._note(f"listen {_format(sock._address)}")

    def _unlisten(self, sock):
        del self._listeners[sock._address]

    def _connect(self, sock, address):
        if len(address) != 2 or address[0] != HOST:
            raise ValueError(f"the simulated network has one host, {HOST}, not {address!r}")
        owner, self._owner = self._owner, None
        connection = Connection(f"c{len(self.connections) + 1}", sock, address, owner)
        self.connections.append(connection)
        self._note(f"connect {connection.name} {_format(connection.client_address)} -> "
                   f"{_format(address)}")
        refuse = self._chance(self.faults.refuse_probability)
        self._schedule(self.clock.now() + self._between(self.faults.latency),
                       connection, "a->b", Kind.HANDSHAKE, refuse)
        return connection

    def _transmit(self, sock, kind, data=b""):
        """Send ``data`` (or a FIN) from ``sock`` to its peer, as pieces the faults decide."""
        connection, direction, faults = sock.connection, sock._side, self.faults
        for piece in self._pieces(data) if kind is Kind.DATA else [data]:
            when = self.clock.now() + self._between(faults.latency)
            if self._chance(faults.stall_probability):
                stall = self._between(faults.stall)
                self._note(f"stall {connection.name} {direction} {stall:.3f}s")
                when += stall
            if self._chance(faults.reset_probability):
                kind, piece = Kind.RESET, "fault"
            self._schedule(when, connection, direction, kind, piece)
            if kind is Kind.RESET:
                break  # the connection is cut there: nothing sent behind it arrives

    def _reset(self, sock, why):
        """Reset ``sock``'s connection from its end: its peer hears it after the bytes ahead."""
        connection = sock.connection
        if not connection.resetting:
            connection.resetting = True
            self._schedule(self.clock.now() + self._between(self.faults.latency),
                           connection, sock._side, Kind.RESET, why)

    # -- time and deliveries -------------------------------------------------------------

    def _schedule(self, when, connection, direction, kind, data):
        when = max(when, connection.arrivals[direction])  # TCP keeps the order of bytes
        connection.arrivals[direction] = when
        heapq.heappush(self._deliveries,
                       (when, next(self._sequence), connection, direction, kind, data))

    def next_delivery(self):
        """When the next delivery is due, or None if nothing is on its way."""
        return self._deliveries[0][0] if self._deliveries else None

    def run_until(self, until):
        """Move the clock to ``until``, applying every delivery due by then, in order."""
        while self._deliveries and self._deliveries[0][0] <= until:
            when, _, connection, direction, kind, data = heapq.heappop(self._deliveries)
            self.clock._now = max(self.clock._now, when)
            self._deliver(connection, direction, kind, data)
        self.clock._now = max(self.clock._now, until)

    def _deliver(self, connection, direction, kind, data):
        if kind is Kind.HANDSHAKE:
            self._handshake(connection, refuse=data)
            return
        if connection.broken:
            return  # lost with the connection
        name, to = connection.name, connection.b if direction == "a->b" else connection.a
        if kind is Kind.RESET:
            connection.resetting = connection.broken = True
            self._note(f"reset {name} {direction} ({data})")
            for end in (connection.a, connection.b):
                if end is not None:
                    end._arrive(Kind.RESET, b"")
        elif kind is Kind.FIN:
            self._note(f"fin {name} {direction}")
            to._arrive(kind, b"")
        else:
            self._note(f"deliver {name} {direction} {len(data)} bytes")
            to._arrive(kind, data)

    def _handshake(self, connection, *, refuse):
        a, name = connection.a, connection.name
        if a.state is not State.CONNECTING:
            self._note(f"abandon {name}: the connecting socket closed first")
            return
        listener = self._listeners.get(connection.server_address)
        if refuse or listener is None:
            why = "fault" if refuse else f"nothing listens on {_format(connection.server_address)}"
            self._note(f"refuse {name} ({why})")
            a._refused()
        elif len(listener._queue) >= listener._backlog:
            self._note(f"drop {name} (the listen queue is full; tried again in "
                       f"{HANDSHAKE_RETRY:g}s)")
            self._schedule(self.clock.now() + HANDSHAKE_RETRY, connection, "a->b",
                           Kind.HANDSHAKE, False)
        else:
            b = SimSocket(self)
            b._connected(connection, "b->a", a, connection.server_address,
                         connection.client_address)
            a._connected(connection, "a->b", b)
            connection.b = b
            listener._queue.append(b)
            self._note(f"establish {name}")

    # -- chance ---------------------------------------------------------------------------

    def _chance(self, probability):
        """True with ``probability``; a probability of 0 draws nothing from the seed."""
        return probability > 0 and self.random.random() < probability

    def _between(self, bounds):
        low, high = bounds
        return low if low == high else self.random.uniform(low, high)

    def _pieces(self, data):
        if self.faults.max_chunk is None:
            return [data]
        pieces, at = [], 0
        while at < len(data):
            size = self.random.randint(1, self.faults.max_chunk)
            pieces.append(data[at:at + size])
            at += size
        return pieces

    def _note(self, what):
        self.log.append(f"{self.clock.now():.3f} {what}")


class _SocketModule:
    """What :mod:`coro.kernel.sockets` sees as ``socket`` while a network is installed:
    the simulated ``socket`` and ``getaddrinfo``, and the real constants."""

    def __init__(self, network):
        self.socket, self.getaddrinfo = network.socket, network.getaddrinfo

    def __getattr__(self, name):
        if name.isupper():  # SOL_SOCKET, SO_ERROR, SHUT_WR, ...
            return getattr(socket, name)
        raise AttributeError(f"the simulated network has no socket.{name}: "
                             f"only socket(), getaddrinfo() and the constants")


def _format(address):
    return f"{address[0]}:{address[1]}"
