"""The benchmark suite: coro's reactor against asyncio and the other frameworks.

    python -m benchmarks [--quick] [--only echo,bulk,idle,timers] [--reps N] [--out PATH]

Every server runs in its own process, the load generator in another, and the runner
(:mod:`benchmarks.__main__`) only starts, watches and stops them, so the three never
share a CPU's time through one interpreter. Four figures are measured:

- **echo**: requests per second, 1 KiB messages, 10 and 100 connections, each
  connection waiting for its whole echo before sending again;
- **bulk**: MB/s served when 50 clients at a time each download a 1 MiB poem;
- **idle**: resident memory per connection, 10,000 connections held open;
- **timers**: seconds to fire 100,000 ``call_later(0, ...)`` callbacks.

Speed on a shared machine drifts, so no number is meaningful alone: each figure is
reported as the median of several repetitions and as a ratio to asyncio measured in
the same run, with the servers taking turns within each repetition.
"""
