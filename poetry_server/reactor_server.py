"""Chapter 8: the slow poetry server on a reactor, every client in one thread.

Chapter 2's server slept between two chunks, and while it slept it could do nothing
else; chapter 3 gave every client a thread to sleep in. Here nobody sleeps. Sending a
poem is a handful of event handlers that the reactor calls:

- the listening socket is readable: accept the clients waiting, start a sender each;
- a sender's timer is due: send the next chunk, and set the timer for the one after;
- a client's socket is writable again: send the rest of a chunk that did not fit;
- a client's socket is readable: it sent something (ignored) or hung up.

The pacing that ``time.sleep(delay)`` did is ``reactor.call_later(delay, ...)``: a
note in the reactor's timer heap instead of a blocked thread, so one thread serves
any number of clients. A client that takes no bytes for ``--idle-timeout`` seconds
(it never reads, or it vanished without a word) is dropped; the others never notice.
This is what ``python -m poetry_server`` runs.

Any number, up to a limit: each client holds a descriptor, and a process has only so
many. The server serves at most ``--max-clients`` at once, over all its ports; at the
limit it stops accepting until one leaves, and the next clients wait, connected, in
the system's listen queue, which holds ``--backlog`` of them.

With ``--framed`` it sends framed slow poetry: the same chunks at the same pace, but
of the poem as one netstring, ``<length>:<poem>,``, so that a client that gets fewer
bytes than the length said knows the poem was cut short (chapter 13's proxy needs it).

    python -m poetry_server.reactor_server [--iface HOST] [--port PORT] [--delay SECONDS]
                                           [--num-bytes N] [--idle-timeout SECONDS]
                                           [--framed] [--backlog N] [--max-clients N]
                                           POEM ...
"""

import sys

from coro import netstring
from poetry_server import cli

#: Seconds to stop accepting after accept() fails: out of descriptors, say. Trying
#: again at once would spin, since the waiting connection is still waiting.
ACCEPT_BACKOFF = 0.1


class PoemSender:
    """Sends one poem to one client: a chunk, then a timer for the next one.

    A sender waits either for its timer (the chunk went out) or for the socket to
    become writable (part of the chunk is pending, and a stall timer runs), never
    both. Once the poem is sent or the client is gone, the socket is closed and
    nothing of the sender is left in the reactor; then ``on_close()``, if given, is
    called, once.
    """

    def __init__(self, reactor, sock, address, poem, *, num_bytes, delay, idle_timeout,
                 on_close=None):
        self.reactor = reactor
        self.sock = sock
        self.address = address
        self.poem = memoryview(poem)
        self.num_bytes, self.delay, self.idle_timeout = num_bytes, delay, idle_timeout
        self.on_close = on_close
        self.offset = 0  # poem bytes the socket has taken
        self.pending = None  # the part of the current chunk the socket has not taken
        self.timer = None  # the next chunk's timer, or the stall timer while waiting for room
        self.waiting_for_room = False
        self.closed = False
        sock.setblocking(False)

    def start(self):
        self.reactor.add_reader(self.sock, self.on_readable)
        self.reactor.own(self, self.close)
        self.timer = self.reactor.call_soon(self.send_next_chunk)

    def send_next_chunk(self):
        """The timer is due: send the next ``num_bytes`` of the poem."""
        self.pending = self.poem[self.offset:self.offset + self.num_bytes]
        self.send_pending()

    def send_pending(self):
        """Send what the socket takes of the chunk, then wait: for room, or for the timer."""
        try:
            sent = self.sock.send(self.pending)
        except BlockingIOError:
            sent = 0  # no room at all
        except OSError as exc:
            self.close(f"hung up before the end of the poem ({exc.strerror})")
            return
        self.offset += sent
        self.pending = self.pending[sent:]
        if self.pending:  # the socket took less than the chunk: wait until it has room
            if not self.waiting_for_room:
                self.waiting_for_room = True
                self.reactor.add_writer(self.sock, self.send_pending)
                self.restart_stall_clock()
            elif sent:
                self.restart_stall_clock()  # it took something: no stall yet
            return
        if self.waiting_for_room:
            self.waiting_for_room = False
            self.reactor.remove_writer(self.sock)
            self.timer.cancel()
        if self.offset == len(self.poem):
            self.close()  # end of poem is end of connection
        else:
            self.timer = self.reactor.call_later(self.delay, self.send_next_chunk)

    def restart_stall_clock(self):
        """Drop the client if it takes nothing for ``idle_timeout`` seconds from now."""
        self.timer.cancel()  # the chunk's timer, already fired, or the last stall timer
        self.timer = self.reactor.call_later(self.idle_timeout, self.on_stalled)

    def on_readable(self):
        """The client sent bytes (ignored: this protocol has nothing to ask) or hung up."""
        try:
            data = self.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError as exc:
            self.close(f"hung up before the end of the poem ({exc.strerror})")
            return
        if not data:
            # End of file: the client will send nothing more. It may still read (a
            # half-close, as `nc -N` does), so go on sending; a real hang-up shows up
            # as an error on the next send.
            self.reactor.remove_reader(self.sock)

    def on_stalled(self):
        self.close(f"took nothing for {self.idle_timeout:g}s; dropped")

    def close(self, problem=None):
        """Stop sending and close the socket, saying why on stderr if it went wrong."""
        if self.closed:
            return
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        self.reactor.remove_reader(self.sock)
        self.reactor.remove_writer(self.sock)
        self.reactor.disown(self)
        self.sock.close()
        if problem:
            print(f"client {cli.format_address(self.address)} {problem}", file=sys.stderr,
                  flush=True)
        if self.on_close is not None:
            self.on_close()


class Acceptor:
    """Accepts the clients of one port, while the server's limit has room, and hands
    each to ``start(sock, address)``.

    Invariant: the listening socket is watched exactly while ``accepting`` is true,
    which is while the acceptor is open, the server's ``ClientLimit`` has room, and no
    backoff runs after a failed ``accept()``. While it is not watched, new clients wait
    in the system's listen queue, and cost the server nothing.

    Args:
        start: Starts serving one accepted client; whatever serves it takes a place in
            ``limit`` and gives it back when the client has gone.
        limit: The server's limit, shared by its acceptors; at the limit it pauses them.
    """

    #: Clients accepted in one go, before other events get their turn.
    accepts_per_tick = 64

    def __init__(self, reactor, listener, start, limit):
        self.reactor = reactor
        self.listener = listener
        self.start = start
        self.limit = limit
        self.accepting = False
        self.backoff = None
        listener.setblocking(False)
        reactor.own(self, self.close)
        limit.add_acceptor(self)
        self.resume()

    def on_readable(self):
        for _ in range(self.accepts_per_tick):
            if not self.accepting:
                return  # the last client filled the limit
            try:
                sock, address = self.listener.accept()
            except BlockingIOError:
                return  # nobody else is waiting
            except ConnectionAbortedError:
                continue  # the client gave up while it waited in the queue
            except OSError as exc:
                print(f"accept: {exc.strerror}; retrying in {ACCEPT_BACKOFF}s",
                      file=sys.stderr, flush=True)
                self.pause()
                self.backoff = self.reactor.call_later(ACCEPT_BACKOFF, self.end_backoff)
                return
            self.start(sock, address)

    def pause(self):
        """Stop accepting: the limit is full, or ``accept()`` failed."""
        if self.accepting:
            self.accepting = False
            self.reactor.remove_reader(self.listener)

    def resume(self):
        """Accept again, unless the limit is still full, a backoff runs, or it is closed."""
        if (not self.accepting and self.backoff is None and not self.limit.full
                and self.listener.fileno() != -1):
            self.accepting = True
            self.reactor.add_reader(self.listener, self.on_readable)

    def end_backoff(self):
        self.backoff = None
        self.resume()

    def close(self):
        """Stop accepting; the clients already accepted are the senders' to close."""
        if self.backoff is not None:
            self.backoff.cancel()
        self.pause()
        self.limit.remove_acceptor(self)
        self.listener.close()


def poem_sender(reactor, poem, limit, **sending):
    """The ``start`` of an :class:`Acceptor` that sends ``poem`` to each client with a
    :class:`PoemSender`, which holds a place in ``limit`` until it closes."""
    def start(sock, address):
        limit.take()
        PoemSender(reactor, sock, address, poem, on_close=limit.release, **sending).start()

    return start


def serve(reactor, listener, poem, options, limit):
    """Serve ``poem`` on ``listener``: accept clients while ``limit`` has room, and start
    a sender for each.

    With ``--framed``, what each sender sends is the poem as one netstring, encoded
    once here: every sender sends from that one object, as it would the poem.
    """
    data = netstring.encode(poem.data) if options.framed else poem.data
    start = poem_sender(reactor, data, limit, num_bytes=options.num_bytes,
                        delay=options.delay, idle_timeout=options.idle_timeout)
    Acceptor(reactor, listener, start, limit)


def main(argv=None, prog="python -m poetry_server.reactor_server"):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    return cli.serve_on_reactor(argv, prog, __doc__.split("\n\n")[0], serve, framed=True)


if __name__ == "__main__":
    sys.exit(main())
