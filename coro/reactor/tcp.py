"""TCP on the reactor: listening for connections and making them, without waiting.

Both end the same way: a socket, a protocol from the factory, and a
:class:`~coro.reactor.transport.Transport` between them.
"""

import enum
import errno
import socket

from coro.io.multiplexer import TooManyDescriptors
from coro.io.nonblocking import os_error
from coro.reactor.transport import Transport

#: Seconds to stop accepting after accept() fails (out of descriptors, say). Retrying
#: at once would spin, since the pending connection is still pending.
ACCEPT_BACKOFF = 0.1


class Listener:
    """Accepts connections on a listening socket and starts a transport for each.

    Args:
        reactor: The reactor to run on.
        sock: A bound, listening socket; the listener owns it from now on.
        factory: Its ``build_protocol(address)`` makes each connection's protocol.

    A server with a client limit calls :meth:`pause` when the limit is full, even in
    the middle of a ``build_protocol``: no connection is accepted after that until
    :meth:`resume`, and the clients that come meanwhile wait in the listen queue.
    """

    #: Connections accepted in one go, before other events get their turn.
    accepts_per_tick = 64

    def __init__(self, reactor, sock, factory):
        self._reactor = reactor
        self._sock = sock
        self.factory = factory
        self.address = sock.getsockname()[:2]
        self._backoff = None
        self._paused = False
        sock.setblocking(False)
        reactor.add_reader(sock, self._on_readable)
        reactor.own(self, self.close)

    def _on_readable(self):
        for _ in range(self.accepts_per_tick):
            if self._paused:  # the last build_protocol filled the server's limit
                return
            try:
                sock, address = self._sock.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:
                continue  # the client gave up while it waited in the queue
            except OSError as exc:
                self._back_off(exc)
                return
            try:
                transport = _make_transport(self._reactor, sock, self.factory, address)
            except Exception as exc:  # reported; this connection is closed, the next served
                self._reactor.report_error(exc, _context(self.factory, "from", address))
                continue
            transport.start()

    def _back_off(self, exc):
        """Out of descriptors (or another accept error): report it, stop accepting for
        a while, then try again. The pending connection waits in the kernel's queue."""
        self._reactor.report_error(exc, f"accepting on {_where(self.address)} "
                                        f"(retrying in {ACCEPT_BACKOFF}s)")
        self._reactor.remove_reader(self._sock)
        self._backoff = self._reactor.call_later(ACCEPT_BACKOFF, self._resume)

    def _resume(self):
        self._backoff = None
        if not self._paused:
            self._reactor.add_reader(self._sock, self._on_readable)

    def pause(self):
        """Stop accepting until :meth:`resume`; new connections wait in the listen queue."""
        if not self._paused:
            self._paused = True
            if self._backoff is None and self._sock.fileno() != -1:
                self._reactor.remove_reader(self._sock)

    def resume(self):
        """Accept again after :meth:`pause` (a closed listener stays closed)."""
        if self._paused:
            self._paused = False
            if self._backoff is None and self._sock.fileno() != -1:
                self._reactor.add_reader(self._sock, self._on_readable)

    def __repr__(self):
        return f"<{type(self).__name__} on {_where(self.address)}>"

    def close(self):
        """Stop listening. Connections already accepted go on."""
        if self._sock.fileno() == -1:
            return
        if self._backoff is not None:
            self._backoff.cancel()
        elif not self._paused:
            self._reactor.remove_reader(self._sock)
        self._sock.close()
        self._reactor.disown(self)


def _make_transport(reactor, sock, factory, address):
    """A new connection, accepted or made: its protocol from the factory, and a
    transport between them, not started yet.

    Raises:
        Exception: what ``build_protocol`` raised, or :exc:`ConnectionAbortedError` if
            it returned None; the socket is closed by then.
    """
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        protocol = factory.build_protocol(address)
        if protocol is None:
            raise ConnectionAbortedError(
                f"{type(factory).__name__}.build_protocol returned None: no protocol, "
                f"so no connection")
        return Transport(reactor, sock, protocol)
    except BaseException:
        sock.close()
        raise


def _context(factory, direction, address):
    """How an error report names a connection that got no protocol."""
    return (f"{type(factory).__name__}.build_protocol, for the connection {direction} "
            f"{_where(address)}")


def _where(address):
    """``host:port`` for a message, an IPv6 host in brackets: ``[::1]:10001``."""
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen(reactor, factory, port=0, *, host="127.0.0.1", backlog=128):
    """Listen for TCP connections on ``host:port`` (port 0: any free port).

    The address family is the host's, as the system resolves it: ``"::1"`` listens on
    IPv6, ``"127.0.0.1"`` on IPv4.

    Returns:
        The :class:`Listener`; its ``address`` says which port it got.
    """
    # Looking a name up blocks; for numeric and loopback addresses it is instant.
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                  flags=socket.AI_PASSIVE)[0]
    sock = socket.create_server(address, family=family, backlog=backlog)
    return Listener(reactor, sock, factory)


class ConnectorState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"


class Connector:
    """One outgoing connection being made, without waiting for it.

    ``connect_ex`` starts the handshake and returns at once; the socket becomes
    writable when the handshake is over, and ``SO_ERROR`` then says how it went.
    Invariant: each attempt ends in exactly one of two ways. Either the factory builds
    a protocol, the state is CONNECTED and the protocol hears ``connection_made``, or
    the state is FAILED, the socket is closed, and the factory hears
    ``client_connection_failed`` (also when ``build_protocol`` raised or returned None).
    """

    def __init__(self, reactor, address, factory, *, timeout=30.0):
        self._reactor = reactor
        self.address = address
        self.factory = factory
        self._sock = None
        self._timer = None
        self.state = ConnectorState.CONNECTING
        try:
            # Looking a name up blocks; for numeric and loopback addresses it is instant.
            family, kind, proto, _, sockaddr = socket.getaddrinfo(
                *address, type=socket.SOCK_STREAM)[0]
            self._sock = socket.socket(family, kind, proto)
            self._sock.setblocking(False)
            code = self._sock.connect_ex(sockaddr)
            if code not in (0, errno.EINPROGRESS):
                raise os_error(code)
            reactor.add_writer(self._sock, self._on_writable)
        except (OSError, TooManyDescriptors) as exc:
            reactor.call_soon(self._fail, exc)  # told later, never inside connect() itself
            return
        self._timer = reactor.call_later(timeout, self._fail, TimeoutError(
            errno.ETIMEDOUT, f"no connection after {timeout:g}s"))
        reactor.own(self, self.cancel)

    def _on_writable(self):
        code = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self._fail(os_error(code))
            return
        self._stop_waiting()
        sock, self._sock = self._sock, None
        try:
            transport = _make_transport(self._reactor, sock, self.factory, self.address)
        except Exception as exc:  # reported, and the client waiting on it is told
            self._reactor.report_error(exc, _context(self.factory, "to", self.address))
            self._fail(exc)
            return
        self.state = ConnectorState.CONNECTED  # first: a cancel() in connection_made is too late
        transport.start()

    def _stop_waiting(self):
        if self._timer is not None:
            self._timer.cancel()
        if self._sock is not None:
            self._reactor.remove_writer(self._sock)
        self._reactor.disown(self)

    def _fail(self, reason):
        if self.state is not ConnectorState.CONNECTING:
            return
        self.state = ConnectorState.FAILED
        self._stop_waiting()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.factory.client_connection_failed(self, reason)

    def __repr__(self):
        return f"<{type(self).__name__} to {_where(self.address)}, {self.state.value}>"

    def cancel(self):
        """Give up connecting; the factory hears ``client_connection_failed``."""
        self._fail(ConnectionAbortedError(errno.ECONNABORTED, "connecting was cancelled"))


def connect(reactor, host, port, factory, *, timeout=30.0):
    """Start connecting to ``host:port``; returns the :class:`Connector`.

    ``factory.build_protocol`` makes the protocol once connected;
    ``factory.client_connection_failed(connector, reason)`` hears a failure (refused,
    timed out after ``timeout`` seconds, cancelled, no protocol built).
    """
    return Connector(reactor, (host, port), factory, timeout=timeout)
