"""Chapter 1, exercise: ask a socket for bytes, blocking and not.

Two connected sockets, ``a`` and ``b``, from :func:`socket.socketpair`. It asks ``a``
for bytes before ``b`` has sent any, once in blocking mode (with a timeout, so that
the wait ends) and once in non-blocking mode; then again in each mode after ``b`` has
sent something; and last after ``b`` has closed.

    python -m exercises.ch01_would_block [--timeout SECONDS]
"""

import argparse
import socket
import sys
import time

from poetry_server.cli import seconds


def ask(sock):
    """Call ``sock.recv`` once and say in a few words what came of it."""
    began = time.monotonic()
    try:
        data = sock.recv(4096)
    except BlockingIOError as exc:
        outcome = f"BlockingIOError ({exc.strerror})"
    except TimeoutError:
        outcome = "TimeoutError"
    else:
        outcome = f"{data!r}"
    return f"{outcome}, after {time.monotonic() - began:.2f}s"


def set_mode(sock, blocking, timeout):
    """Blocking (for at most ``timeout`` seconds), or not blocking at all."""
    sock.settimeout(timeout if blocking else 0.0)  # a timeout of 0 is non-blocking


def mode(blocking):
    return "blocking" if blocking else "non-blocking"


def main(argv=None):
    """Run the experiment, printing a line per call; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m exercises.ch01_would_block",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=seconds, default=0.5, metavar="SECONDS",
                        help="how long the blocking recv waits (default: %(default)s)")
    options = parser.parse_args(argv)
    a, b = socket.socketpair()
    with a, b:
        for blocking in (True, False):
            set_mode(a, blocking, options.timeout)
            print(f"{mode(blocking):<12} recv, nothing sent yet: {ask(a)}")
        for blocking, data in ((True, b"a poem"), (False, b"and more")):
            b.sendall(data)
            set_mode(a, blocking, options.timeout)
            print(f"{mode(blocking):<12} recv, after b sent:     {ask(a)}")
        b.close()
        print(f"{mode(False):<12} recv, after b closed:   {ask(a)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
