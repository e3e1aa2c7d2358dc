"""Chapter 3: the thread-per-client slow poetry server.

The same server as chapter 2 (:func:`poetry_server.blocking.serve_client` sends the
poem, unchanged), except that each accepted client gets a thread of its own, so a slow
client no longer holds up the next one. Each poem is served on its own port, with one
accepting thread per port.

Each thread holds a descriptor and a stack, so there are at most ``--max-clients`` of
them, over all the ports: at the limit, the accepting threads wait until a client's
thread ends, and the next clients wait in the listen queue (``--backlog``).

    python -m poetry_server.threaded [--iface HOST] [--port PORT] [--delay SECONDS]
                                     [--num-bytes N] [--backlog N] [--max-clients N]
                                     POEM ...
"""

import errno
import queue
import sys
import threading
import time

from coro.io.threads import signals_for_the_main_thread_only
from poetry_server import cli
from poetry_server.blocking import SEND_TIMEOUT, serve_client

#: accept() errors that mean "out of resources for now": wait, then try again.
#: Retrying at once would spin, since the pending connection is still pending.
_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_BACKOFF = 0.1


def serve(listener, poem, *, num_bytes, delay, places):
    """Accept clients forever, serving each in a thread of its own.

    Args:
        places: A semaphore with one place per client that may be served at once,
            shared by every port's accepting thread; a client holds its place until its
            thread ends.
    """
    while True:
        places.acquire()  # at the limit, accept nobody: the next wait in the listen queue
        sock, address = _accept(listener)
        thread = threading.Thread(
            target=_serve_then_close,
            args=(sock, address, poem, places),
            kwargs={"num_bytes": num_bytes, "delay": delay},
            daemon=True,
        )
        thread.start()


def _accept(listener):
    """The next client, once there is one; out of descriptors, wait and try again."""
    while True:
        try:
            return listener.accept()
        except ConnectionAbortedError:
            continue  # the client gave up while it waited in the queue
        except OSError as exc:
            if exc.errno not in _EXHAUSTED:
                raise
            print(f"accept: {exc.strerror}; retrying in {_BACKOFF}s", file=sys.stderr)
            time.sleep(_BACKOFF)


def _serve_then_close(sock, address, poem, places, *, num_bytes, delay):
    try:
        with sock:
            serve_client(sock, address, poem, num_bytes=num_bytes, delay=delay)
    finally:
        places.release()


def _accept_forever(listener, poem, options, places, failures):
    try:
        serve(listener, poem.data, num_bytes=options.num_bytes, delay=options.delay,
              places=places)
    except OSError as exc:
        failures.put(f"{poem.name}: accept failed: {exc}")


def main(argv=None, prog="python -m poetry_server.threaded"):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    cli.stop_on_signals()
    parser = cli.make_parser(prog, __doc__.split("\n\n")[0])
    parser.epilog += f" A client that takes no bytes for {SEND_TIMEOUT:g}s is dropped."
    try:
        options, poems = cli.parse_args(parser, argv)
        listeners = cli.listen_all(options, poems)
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    failures = queue.Queue()
    places = threading.BoundedSemaphore(options.max_clients)
    try:
        for poem, listener in zip(poems, listeners):
            cli.announce(cli.serving(poem, listener))
            with signals_for_the_main_thread_only():
                threading.Thread(
                    target=_accept_forever,
                    args=(listener, poem, options, places, failures),
                    daemon=True,
                ).start()
        failure = failures.get()  # blocks until Ctrl-C, or until a port fails
        print(f"{prog}: error: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for listener in listeners:
            listener.close()


if __name__ == "__main__":
    sys.exit(main())
