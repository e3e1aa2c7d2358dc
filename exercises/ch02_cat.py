"""Chapter 2, exercise: print the poem as it arrives.

The blocking client keeps each poem's bytes and prints how many it got. This client
prints the poem itself, as its server sends it, one poem after another. A chunk may
end in the middle of a character, so a chunk cannot be decoded on its own: an
incremental decoder keeps the first bytes of an unfinished character until the rest
arrive, and every character comes out whole.

    python -m exercises.ch02_cat [--timeout SECONDS] [HOST:]PORT ...
"""

import argparse
import codecs
import socket
import sys

from coro import cli
from poetry_server.cli import seconds

PROG = "python -m exercises.ch02_cat"


def cat(address, out, *, timeout):
    """Write the poem at ``address`` to ``out`` (a text stream) as it arrives.

    A poem cut short in the middle of a character ends in U+FFFD, the replacement
    character.

    Raises:
        OSError: the connection was refused, reset, or timed out.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with socket.create_connection(address, timeout=timeout) as sock:
        while data := sock.recv(4096):
            out.write(decoder.decode(data))  # whole characters only; keeps the rest
            out.flush()
    out.write(decoder.decode(b"", final=True))
    out.flush()


def main(argv=None):
    """Print each poem in turn; return the exit status."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("addresses", nargs="+", type=cli.parse_address, metavar="[HOST:]PORT",
                        help="a poetry server to download from (host: 127.0.0.1)")
    parser.add_argument("--timeout", type=seconds, default=10.0, metavar="SECONDS",
                        help="give up on a server that sends nothing for this long "
                             "(default: 10)")
    options = parser.parse_args(argv)
    status = cli.OK
    try:
        with cli.interrupted_by_signals():
            for address in options.addresses:
                try:
                    cat(address, sys.stdout, timeout=options.timeout)
                except OSError as exc:
                    print(f"{PROG}: {cli.describe(exc, address, options.timeout)}",
                          file=sys.stderr)
                    status = cli.FAILED
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return cli.INTERRUPTED
    return status


if __name__ == "__main__":
    sys.exit(main())
