"""The testing layer: the book's own ways of testing asynchronous code, as a toolkit
(chapter 17).

It stands on every layer before it and adds nothing to them. Its pytest plugin,
:mod:`coro.testing.plugin`, is loaded by pytest itself once the package is installed
(the ``pytest11`` entry point ``coro``); nothing else here imports pytest.

- :mod:`~coro.testing.clock`: the fake clock, and ``autojump`` for a loop that polls;
- :mod:`~coro.testing.transports`: two protocols joined in memory, with faults;
- :mod:`~coro.testing.simnet`, :mod:`~coro.testing.simsockets`,
  :mod:`~coro.testing.simpoll`: a simulated network on a simulated clock, from a seed;
- :mod:`~coro.testing.scenario`: a simulated run of a poetry server and its clients;
- :mod:`~coro.testing.plugin`, with :mod:`~coro.testing.errors`,
  :mod:`~coro.testing.leftovers` and :mod:`~coro.testing.limits`: the pytest plugin.
"""

from coro.testing.clock import AutojumpMultiplexer, FakeClock, autojump
from coro.testing.scenario import ClientOutcome, SimulationResult, simulate_poetry
from coro.testing.simnet import Faults, SimulatedClock, SimulatedNetwork
from coro.testing.simpoll import SimulationStuck
from coro.testing.transports import Connection, Direction, PairedTransport, connect

__all__ = [
    "AutojumpMultiplexer", "ClientOutcome", "Connection", "Direction", "FakeClock", "Faults",
    "PairedTransport", "SimulatedClock", "SimulatedNetwork", "SimulationResult",
    "SimulationStuck", "autojump", "connect", "simulate_poetry",
]
