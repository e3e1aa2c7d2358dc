"""Where simulated time passes: a multiplexer over simulated sockets.

The kernel takes its multiplexer and its clock as arguments, as every loop here does,
so a simulated run passes its own: a :class:`SimMultiplexer` and the network's
:class:`~coro.testing.simnet.SimulatedClock`. Each turn, the kernel asks the
multiplexer to wait at most ``timeout`` seconds, until its next timer. A real poll
sleeps; this one moves the clock instead: to the next delivery the network has
scheduled, or to the end of the timeout if that comes first, applying the deliveries
due on the way. When a socket is ready already, it returns at once and time stands
still. So time moves only here, in jumps, and an hour of simulated time takes
milliseconds.

The clock has no ``advance``, on purpose. The kernel takes a clock that has one for a
:class:`~coro.io.clock.FakeClock` and, when no task is ready, jumps it to its next
timer itself, past any delivery due before it: a reply due in 10 ms would arrive
after a timeout of 5 s had fired. Here the poll alone moves time, and it stops at
whichever comes first.

When nothing can happen, the kernel waiting with no timeout and no delivery on its
way, a real program hangs. A simulation says so: :exc:`SimulationStuck` names every
open socket, what it holds, and what the kernel waits for on it. The same error ends a
run that would pass its ``max_time`` seconds of simulated time, so no seed can hang a
test.

The kernel's own descriptors are real: its self-pipe is a real socket pair, which a
signal or a worker thread writes to. The multiplexer watches them with a real poll of
no timeout each time it looks at its simulated sockets. A worker thread's answer comes
in real time, outside the simulation: a run that waits for one and for nothing else is
reported stuck, not waited for.
"""

import errno

from coro.io.multiplexer import READ, WRITE, Multiplexer, PollMultiplexer
from coro.testing.simsockets import FIRST_FD, _error


class SimulationStuck(RuntimeError):
    """Nothing can happen any more, or the run would pass its bound of simulated time."""


class SimMultiplexer(Multiplexer):
    """A multiplexer over simulated sockets (and real descriptors, polled without waiting).

    Invariant: a watched number from :data:`~coro.testing.simsockets.FIRST_FD` up is a
    simulated socket's (open when it was registered); any lower one is real, and is
    watched by ``_real`` too. Its :meth:`poll` is the only place simulated time passes.

    Args:
        network: The :class:`~coro.testing.simnet.SimulatedNetwork` whose sockets,
            deliveries and clock it polls.
    """

    name = "simulated"

    def __init__(self, network):
        super().__init__()
        self._network = network
        self._real = PollMultiplexer()

    def _check(self, fd, interest):
        super()._check(fd, interest)
        if fd >= FIRST_FD and self._network.socket_numbered(fd) is None:
            raise _error(errno.EBADF, f"no open simulated socket has number {fd}")

    def _add(self, fd, interest):
        if fd < FIRST_FD:
            self._real.register(fd, interest)

    def _change(self, fd, interest):
        if fd < FIRST_FD:
            self._real.modify(fd, interest)

    def _remove(self, fd):
        if fd < FIRST_FD:
            self._real.unregister(fd)

    def poll(self, timeout=None):
        """Return what is ready now; if nothing is, move time on until something is.

        Raises:
            SimulationStuck: nothing is ready and nothing will be (``timeout`` is None
                and no delivery is on its way), or the wait would pass the network's
                ``max_time``.
        """
        if not self._interest:
            raise ValueError("nothing to wait for: no descriptor is watched")
        network = self._network
        until = None if timeout is None else network.clock.now() + max(timeout, 0)
        events = self._ready()
        while not events:
            due = network.next_delivery()
            if due is None and until is None:
                raise self._stuck("nothing can happen: the kernel waits with no timeout, "
                                  "and nothing is on its way")
            step = until if due is None else due if until is None else min(due, until)
            if step > network.max_time:
                raise self._stuck(f"the run would pass its bound of {network.max_time:g}s "
                                  f"of simulated time")
            network.run_until(step)
            events = self._ready()
            if step == until:
                break
        return events

    def _ready(self):
        network, ready = self._network, []
        for fd, interest in self._interest.items():
            if fd >= FIRST_FD:
                sock = network.socket_numbered(fd)  # closed: "ready", the next call fails
                ready_now = interest if sock is None else interest & sock.readiness()
                if ready_now:
                    ready.append((fd, ready_now))
        if len(self._real):
            ready.extend(self._real.poll(0))
        return ready

    def _stuck(self, why):
        """A :exc:`SimulationStuck` saying ``why``, and what each open socket waits for."""
        network = self._network
        lines = [f"{why} (seed {network.seed}, simulated time {network.clock.now():.3f}s); "
                 f"the open sockets:"]
        for sock in network.open_sockets():
            wanted = self._interest.get(sock.fileno(), 0)
            watch = " and ".join(name for name, flag in (("READ", READ), ("WRITE", WRITE))
                                 if wanted & flag) or "nothing"
            lines.append(f"  {sock!r}: {sock.status()}; the kernel waits for {watch}")
        return SimulationStuck("\n".join(lines))

    def close(self):
        super().close()
        self._real.close()
