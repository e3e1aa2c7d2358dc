"""What every benchmark server shares: its command line, its port line, its poem.

Every server listens on 127.0.0.1 only, on a port the system picks, with the same
backlog of 1024, so that no server turns away the load generator's bursts of
connections because its framework's default backlog is smaller than another's.
"""

import argparse
import functools
import sys

from poetry_server.catalogue import load_poem

HOST = "127.0.0.1"
BACKLOG = 1024
POEM_SIZE = 1 << 20  # 1 MiB
WORKLOADS = ("echo", "poem")


def parse_args(description, add_options=None):
    """Parse ``--workload`` and whatever ``add_options(parser)`` adds."""
    module = getattr(sys.modules["__main__"].__spec__, "name", None)
    parser = argparse.ArgumentParser(prog=f"python -m {module}" if module else None,
                                     description=description.splitlines()[0])
    parser.add_argument("--workload", choices=WORKLOADS, required=True,
                        help="echo what arrives, or send the 1 MiB poem and close")
    if add_options is not None:
        add_options(parser)
    return parser.parse_args()


def announce(port):
    """Tell the runner the server is listening: the port, alone on a line, flushed."""
    print(port, flush=True)


@functools.cache
def poem():
    """The bulk payload: The Rime of the Ancient Mariner, repeated up to 1 MiB exactly."""
    verse = load_poem("mariner").data
    copies = -(-POEM_SIZE // len(verse))  # rounded up
    return (verse * copies)[:POEM_SIZE]
