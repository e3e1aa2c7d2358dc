"""Chapter 16: the slow poetry server on the kernel, a task per client.

Chapter 2's server sent a poem in a loop that read from top to bottom, send a chunk,
sleep, send the next, and served one client at a time, because ``time.sleep`` stopped
the whole program. Chapters 8 and 9 served every client at once by cutting that loop
into event handlers, with the loop's state kept in an object between two timers. Here
the loop is back, whole, in :func:`send_poem`, and every client is served at once:
each client gets a task of its own, and ``yield from sleep(delay)`` suspends that task
only, while the kernel (:mod:`coro.kernel`) runs the others.

The rules that chapter 8 kept with timers and flags are written where they apply: a
client that takes no bytes for ``--idle-timeout`` seconds is dropped by a
:func:`~coro.timeouts.timeout_after` around the send; one that hangs up makes its own
task's send fail, and nobody else's; a handler that crashes ends its own task, and the
kernel reports it. Ctrl-C or SIGTERM cancels every task, so every ``with`` block closes
its socket on the way out. ``--slow-task`` is a debug aid: the kernel reports a task
step that keeps it from every other task for longer than that.

    python -m poetry_server.kernel_server [--iface HOST] [--port PORT] [--delay SECONDS]
                                          [--num-bytes N] [--idle-timeout SECONDS]
                                          [--slow-task SECONDS] POEM ...
"""

import socket
import sys

from coro.kernel import Kernel
from coro.kernel_io import Socket
from coro.task_group import TaskGroup
from coro.timeouts import timeout_after
from coro.traps import sleep, spawn
from poetry_server import cli

#: Seconds to stop accepting after accept() fails: out of descriptors, say. Trying
#: again at once would spin, since the waiting connection is still waiting.
ACCEPT_BACKOFF = 0.1


def send_poem(client, address, poem, *, num_bytes, delay, idle_timeout):
    """Send ``poem`` to one client, ``num_bytes`` every ``delay`` seconds; a task.

    The client's socket is closed when the task ends, however it ends. A client that
    hangs up, or takes nothing for ``idle_timeout`` seconds, is told about on stderr.

    Args:
        client: The client's :class:`~coro.kernel_io.Socket`.
        address: The client's address, for the messages.
        poem: The poem's bytes (a :class:`memoryview`, so that chunks are not copies).
    """
    with client:
        try:
            for offset in range(0, len(poem), num_bytes):
                if offset:
                    yield from sleep(delay)  # this task waits; the others go on
                yield from send_chunk(client, poem[offset:offset + num_bytes], idle_timeout)
            yield from say_goodbye(client, idle_timeout)
        except TimeoutError:
            tell(address, f"took nothing for {idle_timeout:g}s; dropped")
        except OSError as exc:  # reset, broken pipe: this client only
            tell(address, f"hung up before the end of the poem ({exc.strerror})")


def send_chunk(client, chunk, idle_timeout):
    """Send all of ``chunk``, however long that takes, as long as the client takes some.

    Raises:
        TimeoutError: the client took none of it for ``idle_timeout`` seconds.
    """
    while chunk:
        sent = yield from timeout_after(idle_timeout, client.send(chunk))
        chunk = chunk[sent:]


def say_goodbye(client, idle_timeout):
    """End the poem with an end of file, and let the client close first.

    Closing a socket that holds bytes the client sent (a greeting, a stray key) makes
    the system reset the connection, and a reset throws away whatever part of the poem
    the client has not read yet. So the server shuts its sending side, which the client
    reads as the end of the poem, then reads and drops what the client sent until the
    client closes, or until it has been silent for ``idle_timeout`` seconds.
    """
    client.shutdown(socket.SHUT_WR)
    try:
        while (yield from timeout_after(idle_timeout, client.recv(4096))):
            pass
    except TimeoutError:
        pass  # it has the whole poem and keeps its end open: close ours all the same


def tell(address, what):
    """Say on stderr what happened to the client at ``address``."""
    host, port = address[:2]
    print(f"client {host}:{port} {what}", file=sys.stderr, flush=True)


def serve(listener, poem, **pacing):
    """Accept clients on ``listener`` for ever, and start a :func:`send_poem` task for each.

    The handlers are not joined: one that fails is reported by the kernel, and the
    others go on. ``pacing`` is ``num_bytes``, ``delay`` and ``idle_timeout``.
    """
    with listener:
        while True:
            try:
                client, address = yield from listener.accept()
            except ConnectionAbortedError:
                continue  # the client gave up while it waited in the queue
            except OSError as exc:
                print(f"accept: {exc.strerror}; retrying in {ACCEPT_BACKOFF}s",
                      file=sys.stderr, flush=True)
                yield from sleep(ACCEPT_BACKOFF)
                continue
            yield from spawn(send_poem(client, address, poem, **pacing))


def serve_all(listeners, poems, options):
    """The main task: one :func:`serve` task per poem, in a task group.

    Each poem is announced from here, inside the kernel, which handles Ctrl-C and
    SIGTERM by now: a signal sent as soon as the line is read stops the server cleanly.
    """
    group = TaskGroup()
    for listener, poem in zip(listeners, poems):
        yield from group.spawn(serve(listener, memoryview(poem.data),
                                     num_bytes=options.num_bytes, delay=options.delay,
                                     idle_timeout=options.idle_timeout))
        cli.announce(poem, listener.raw)
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
                        help="drop a client that takes no bytes for this long (default: 60)")
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
