"""``python -m coro``: the tour, or with ``--list`` the table of contents."""

import argparse
import sys

from coro.chapters import table_of_contents
from coro.cli import interrupted_by_signals


def main(argv=None):
    """Run the tour (or print the chapters); return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m coro",
        description="Run the tour: the same poems downloaded by every client model so far.",
    )
    parser.add_argument("--list", action="store_true",
                        help="print the chapters and their stages, then exit")
    options = parser.parse_args(argv)
    if options.list:
        print(table_of_contents())
        return 0
    from coro.tour import tour

    try:
        with interrupted_by_signals():  # SIGTERM too: the servers it started are stopped
            _, status = tour(sys.stdout)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
