"""Chapter 16: the slow poetry server on the kernel, a task per client.

Chapter 2's server sent a poem in a loop that read from top to bottom, send a chunk,
sleep, send the next, and served one client at a time, because ``time.sleep`` stopped
the whole program. Chapters 8 and 9 served every client at once by cutting that loop
into event handlers, with the loop's state kept in an object between two timers. Here
the loop is back, whole, in :func:`send_poem`, and every client is served at once:
each client gets a task of its own, and ``yield from sleep(delay)`` suspends that task
only, while the kernel (:mod:`coro.kernel.loop`) runs the others.

The rules that chapter 8 kept with timers and flags are written where they apply: a
client that takes no bytes for ``--idle-timeout`` seconds is dropped by a
:func:`~coro.kernel.timeouts.timeout_after` around the send; one that hangs up makes its own
task's send fail, and nobody else's; a handler that crashes ends its own task, and the
kernel reports it. Ctrl-C or SIGTERM cancels every task, so every ``with`` block closes
its socket on the way out. ``--slow-task`` is a debug aid: the kernel reports a task
step that keeps it from every other task for longer than that.

There are at most ``--max-clients`` client tasks at once, over all the ports
(``ClientTasks``): at the limit the accepting tasks wait for one to end, and the
next clients wait in the listen queue (``--backlog``).

What it still lacks: a task does one thing at a time, and this one only sends. It
notices that a client has gone only at its next send, and it must read what the
client said before it closes (:func:`say_goodbye`), or the close would reset the
connection. Reading and writing at once takes two tasks, or the protocols of chapter 9.

    python -m poetry_server.kernel_server [--iface HOST] [--port PORT] [--delay SECONDS]
                                          [--num-bytes N] [--idle-timeout SECONDS]
                                          [--backlog N] [--max-clients N]
                                          [--slow-task SECONDS] POEM ...
"""

import socket
import sys

from coro.kernel.loop import Kernel
from coro.kernel.sockets import Socket
from coro.kernel.task_group import TaskGroup
from coro.kernel.timeouts import timeout_after
from coro.kernel.traps import current_task, sleep, spawn, wait_any
from poetry_server import cli
from poetry_server.client_limit import default_max_clients

#: Seconds to stop accepting after accept() fails, when out of descriptors, say.
#: Trying again at once would spin, since the waiting connection is still waiting.
ACCEPT_BACKOFF = 0.1


def send_poem(sock, poem, *, num_bytes, delay, idle_timeout):
    """Send ``poem`` in chunks of ``num_bytes``, sleeping ``delay`` between them.

    A generator, run in the client's task: the sleep suspends this task only.

    Returns:
        The number of bytes sent, which is ``len(poem)``.

    Raises:
        TimeoutError: the client took no bytes for ``idle_timeout`` seconds.
        OSError: the client hung up.
    """
    sent = 0
    while sent < len(poem):
        if sent:
            yield from sleep(delay)
        chunk = poem[sent:sent + num_bytes]
        yield from send_chunk(sock, chunk, idle_timeout)
        sent += len(chunk)
    return sent


def send_chunk(sock, chunk, idle_timeout):
    """Send all of ``chunk``, however long that takes, as long as the client takes some.

    Raises:
        TimeoutError: the client took none of it for ``idle_timeout`` seconds.
    """
    while chunk:
        taken = yield from timeout_after(idle_timeout, sock.send(chunk))
        chunk = chunk[taken:]


def serve_client(sock, address, poem, *, num_bytes, delay, idle_timeout):
    """Send ``poem`` to one client; the task of that client, and its socket's owner.

    Whatever went wrong with this client is told on stderr in one line, and costs this
    task only. The socket is closed when the task ends, however it ends.

    Args:
        sock: The client's :class:`~coro.kernel.sockets.Socket`.
        address: The client's address, for the messages.
        poem: The poem's bytes (a :class:`memoryview`, so that chunks are not copies).
    """
    with sock:
        try:
            yield from send_poem(sock, poem, num_bytes=num_bytes, delay=delay,
                                 idle_timeout=idle_timeout)
            yield from say_goodbye(sock, idle_timeout)
        except TimeoutError:
            tell(address, f"took nothing for {idle_timeout:g}s; dropped")
        except OSError as exc:  # reset, broken pipe
            tell(address, f"hung up before the end of the poem ({exc.strerror})")


def say_goodbye(sock, idle_timeout):
    """End the poem with an end of file, and let the client close first.

    Closing a socket that holds bytes the client sent (a greeting, a stray key) makes
    the system reset the connection, and a reset throws away whatever part of the poem
    the client has not read yet. So the server shuts its sending side, which the client
    reads as the end of the poem, then reads and drops what the client sent until the
    client closes.

    The client has ``idle_timeout`` seconds in all for that, from the end of the poem,
    however much it sends meanwhile: a timeout around each read would start again with
    every byte, and a client that sent one a second would hold its connection for ever.
    """
    sock.shutdown(socket.SHUT_WR)
    try:
        yield from timeout_after(idle_timeout, _read_until_closed(sock))
    except TimeoutError:
        pass  # it has the whole poem and keeps its end open: close ours all the same


def _read_until_closed(sock):
    while (yield from sock.recv(4096)):
        pass


def tell(address, what):
    """Say on stderr what happened to the client at ``address``."""
    print(f"client {cli.format_address(address)} {what}", file=sys.stderr, flush=True)


class ClientTasks:
    """The tasks of the clients being served, over every port, and at most how many.

    Invariant: ``tasks`` holds the task of every client started and not yet ended, and
    no more than ``most`` of them; a task leaves it as the last thing it does.
    """

    def __init__(self, most):
        self.most = most
        self.tasks = set()

    def wait_for_room(self):
        """Return once fewer than ``most`` clients are being served.

        Until then the caller accepts nobody, so the next clients wait in the system's
        listen queue, and waiting costs nothing: the task sleeps until one ends.
        """
        while len(self.tasks) >= self.most:
            yield from wait_any(self.tasks)

    def start(self, client):
        """Start ``client`` (a generator) in a task of its own, counted until it ends.

        Not joined: a task that fails is reported by the kernel, and the others go on.
        """
        counted = self._counted(client)
        counted.__qualname__ = client.__qualname__  # the kernel names a task for it
        self.tasks.add((yield from spawn(counted)))

    def _counted(self, client):
        task = yield from current_task()
        try:
            yield from client
        finally:
            self.tasks.discard(task)


def serve(listener, poem, *, num_bytes, delay, idle_timeout, clients=None):
    """Accept clients for ever, while there is room, and start a :func:`serve_client`
    task for each.

    Args:
        clients: The ``ClientTasks`` of the server, shared by its ports; by
            default one of this port's own, of the default size.
    """
    if clients is None:
        clients = ClientTasks(default_max_clients())
    with listener:
        while True:
            yield from clients.wait_for_room()
            try:
                sock, address = yield from listener.accept()
            except ConnectionAbortedError:
                continue  # the client gave up while it waited in the queue
            except OSError as exc:
                print(f"accept: {exc.strerror}; retrying in {ACCEPT_BACKOFF}s",
                      file=sys.stderr, flush=True)
                yield from sleep(ACCEPT_BACKOFF)
                continue
            yield from clients.start(serve_client(sock, address, poem, num_bytes=num_bytes,
                                                  delay=delay, idle_timeout=idle_timeout))


def serve_all(listeners, poems, options):
    """The main task: one :func:`serve` task per poem, in a task group.

    Each poem is announced from here, inside the kernel, which handles Ctrl-C and
    SIGTERM by now: a signal sent as soon as the line is read stops the server cleanly.
    """
    group = TaskGroup()
    clients = ClientTasks(options.max_clients)
    for listener, poem in zip(listeners, poems):
        yield from group.spawn(serve(listener, memoryview(poem.data),
                                     num_bytes=options.num_bytes, delay=options.delay,
                                     idle_timeout=options.idle_timeout, clients=clients))
        cli.announce(cli.serving(poem, listener.raw))
    yield from group.join()


def run(listeners, poems, options, *, clock=None):
    """Announce and serve each poem on its listening socket until Ctrl-C or SIGTERM.

    Every socket, the listeners too, is closed when this returns.

    Args:
        listeners: Listening :class:`socket.socket` objects, one per poem.
        poems: The :class:`~poetry_server.catalogue.Poem` objects to serve.
        options: The parsed command line (pacing, ``idle_timeout``, ``slow_task``).
        clock: The kernel's clock; the real one by default.
    """
    sockets = [Socket(sock) for sock in listeners]
    with Kernel(clock=clock, slow_task=options.slow_task) as kernel:
        try:
            kernel.run(serve_all(sockets, poems, options))
        except KeyboardInterrupt:
            pass  # every task was cancelled first, and its `with` closed its socket


def make_parser(prog):
    """The poetry servers' command line, with ``--idle-timeout`` and ``--slow-task``."""
    parser = cli.make_parser(prog, __doc__.split("\n\n")[0])
    parser.add_argument("--idle-timeout", type=cli.seconds, default=60.0, metavar="SECONDS",
                        help="drop a client that takes no bytes of its poem for this long, "
                             "or that has not hung up this long after the end of its poem "
                             "(default: 60)")
    parser.add_argument("--slow-task", type=cli.seconds, metavar="SECONDS",
                        help="debug: report on stderr each task step that keeps the "
                             "kernel for longer than this")
    return parser


def main(argv=None, prog="python -m poetry_server.kernel_server"):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    try:
        options, poems = cli.parse_args(make_parser(prog), argv)
        listeners = cli.listen_all(options, poems)
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    run(listeners, poems, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
