"""Chapter 1, exercise: a tour of your choosing.

``python -m coro`` runs every client model so far, at one pace. This one runs only the
models you name, in the order you name them, against servers that send ``--num-bytes``
every ``--delay`` seconds:

    python -m exercises.ch01_tour [--delay SECONDS] [--num-bytes N] MODEL ...

MODEL is a name from the tour's last table: blocking, threaded, busy, select, ...
"""

import argparse
import sys

from coro import tour
from coro.cli import interrupted_by_signals
from poetry_server.cli import seconds, whole

MODELS = {model.name: model for model in tour.MODELS}


def make_parser(prog, description):
    """The command line of a tour: the pace of its servers, and the models to run."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--delay", type=seconds, default=tour.DELAY, metavar="SECONDS",
                        help="seconds between two chunks (default: %(default)s)")
    parser.add_argument("--num-bytes", type=whole(1), default=tour.NUM_BYTES, metavar="N",
                        help="bytes in each chunk (default: %(default)s)")
    parser.add_argument("models", nargs="+", choices=list(MODELS), metavar="MODEL",
                        help=f"a client model to run: {', '.join(MODELS)}")
    return parser


def main(argv=None):
    """Run the chosen models; return the exit status."""
    options = make_parser("python -m exercises.ch01_tour",
                          __doc__.split("\n\n")[0]).parse_args(argv)
    models = [MODELS[name] for name in dict.fromkeys(options.models)]  # each once
    try:
        with interrupted_by_signals():
            _, status = tour.tour(sys.stdout, delay=options.delay,
                                  num_bytes=options.num_bytes, models=models)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
