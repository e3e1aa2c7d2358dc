"""Chapter 17: replay one simulated run of chapter 16's server and client, from its seed.

A simulated run (:mod:`coro.testing.simnet`) is decided by its seed: the same seed gives
the same connections, the same pieces at the same simulated times, the same faults and
the same outcomes. So when a property test fails for a seed, this command runs that
seed again, alone, and prints what the network did, one event a line, and what each
client got. Run it as often as it takes, add a print to the server or the client, run
it again: the run does not change under you.

It lives among the stages, not in :mod:`coro.testing`, because it runs two of them,
:func:`poetry_server.kernel_server.serve` and :func:`coro.kernel_client.get_poetry`,
and the runtime layers never import a stage. What the server says about its clients
(a client that hung up) goes to stderr, as it does on a real network.

    python -m poetry_server.simulation --seed N [--clients N] [--faults none|some|many]
"""

import argparse
import sys

from coro.kernel_client import get_poetry
from coro.testing.scenario import simulate_poetry
from coro.testing.simnet import FAULT_LEVELS
from poetry_server.kernel_server import serve


def make_parser(prog):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True,
                        help="the seed of the run to replay")
    parser.add_argument("--clients", type=int, default=3, metavar="N",
                        help="how many clients download the poem at once (default: 3)")
    parser.add_argument("--faults", choices=list(FAULT_LEVELS), default="some",
                        help="what goes wrong on the network, and how often "
                             "(default: %(default)s)")
    return parser


def main(argv=None, prog="python -m poetry_server.simulation"):
    """Replay the run; return 0 if it left nothing behind, 1 if it did."""
    options = make_parser(prog).parse_args(argv)
    if options.clients < 1:
        make_parser(prog).error(f"--clients must be at least 1, not {options.clients}")
    result = simulate_poetry(options.seed, serve, get_poetry, clients=options.clients,
                             faults=FAULT_LEVELS[options.faults])
    for line in result.log:
        print(line)
    print()
    for outcome in result.outcomes:
        print(outcome)
    left = [*(f"socket left open: {sock}" for sock in result.open_sockets),
            *([f"timers left set: {result.timers_left}"] if result.timers_left else []),
            *(f"error reported: {error}" for error in result.reported)]
    print(f"Simulated time: {result.elapsed:.3f}s; "
          + ("nothing was left behind." if not left else "left behind:"))
    for line in left:
        print(f"  {line}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
