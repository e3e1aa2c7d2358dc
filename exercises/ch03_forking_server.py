"""Chapter 3, exercise: a process per client instead of a thread.

Before threads were common, a UNIX server served many clients at once by forking: for
each client, the accepting process makes a copy of itself, and the copy serves that one
client and exits. A copy shares no memory with the server, so nothing needs a lock;
but each client costs a whole process, and the server must collect ("reap") each copy
that has ended, or it stays in the process table as a zombie.

``serve_client`` is chapter 2's, unchanged. At most ``--max-clients`` copies serve at
once; at the limit, the server waits for one to end before it accepts the next client.
Ctrl-C stops the server and the copies still serving.

    python -m exercises.ch03_forking_server [--iface HOST] [--port PORT] [--delay SECONDS]
                                            [--num-bytes N] [--backlog N]
                                            [--max-clients N] POEM
"""

import contextlib
import os
import signal
import sys
import traceback

from coro.io.threads import signals_for_the_main_thread_only
from poetry_server import cli
from poetry_server.blocking import serve_client


def serve(listener, poem, *, num_bytes, delay, max_clients):
    """Accept clients forever, each served by a process of its own. When the server
    stops (Ctrl-C), so do the children still serving."""
    children = set()
    try:
        while True:
            reap(children, block=len(children) >= max_clients)
            sock, address = listener.accept()
            with sock:  # the child has its own copy; the server closes this one at once
                fork_to_serve(children, listener, sock, address, poem,
                              num_bytes=num_bytes, delay=delay)
    finally:
        stop(children)


def reap(children, *, block):
    """Collect the children that have ended; with ``block``, wait for one first."""
    while children:
        pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        if pid == 0:
            return  # none of the others has ended yet
        children.discard(pid)
        block = False


def stop(children):
    """Stop every child still serving, and collect them all."""
    # A Ctrl-C that lands as waitpid returns loses the pid it collected, which stays in
    # ``children``: such a child is already gone, which is all that is asked here.
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    children.clear()


def fork_to_serve(children, listener, sock, address, poem, *, num_bytes, delay):
    """Fork a child that serves the client on ``sock``, then exits; add it to ``children``."""
    # Until the child has its own signal handlers, a Ctrl-C must not reach it: the
    # parent's handler would raise KeyboardInterrupt in the child, in the parent's code.
    # Nor the parent, until the child is in ``children``, so that stopping stops it too.
    with signals_for_the_main_thread_only():
        pid = os.fork()
        if pid == 0:
            _serve_then_exit(listener, sock, address, poem, num_bytes=num_bytes, delay=delay)
        children.add(pid)


def _serve_then_exit(listener, sock, address, poem, *, num_bytes, delay):
    # os._exit, never return or sys.exit: the child must not run the parent's loop, its
    # ``finally`` clauses or its exit handlers. A Ctrl-C in the terminal ends the child
    # as it ends any program that does not catch it.
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        listener.close()  # only the server accepts
        serve_client(sock, address, poem, num_bytes=num_bytes, delay=delay)
        sock.close()
    except BaseException:
        traceback.print_exc()  # a bug in the child: told, then the child ends
        os._exit(1)
    os._exit(0)


def main(argv=None):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    cli.stop_on_signals()
    prog = "python -m exercises.ch03_forking_server"
    parser = cli.make_parser(prog, __doc__.split("\n\n")[0], many_poems=False)
    try:
        options, [poem] = cli.parse_args(parser, argv)
        [listener] = cli.listen_all(options, [poem])
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    with listener:
        try:
            cli.announce(cli.serving(poem, listener))
            serve(listener, poem.data, num_bytes=options.num_bytes, delay=options.delay,
                  max_clients=options.max_clients)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
