"""The runner: every server, every workload, several times over, then the report.

    python -m benchmarks [--quick] [--only echo,bulk,idle,timers] [--reps N] [--out PATH]

Each repetition runs every selected workload against every server, the servers
taking turns, and the next repetition starts the lineup one server later: a machine
that slows down during the run slows every server alike, in every position.
Progress goes to stderr; the table goes to stdout and to ``latest.txt`` next to the
JSON file (``benchmarks/results/latest.json`` by default).

Whatever happens, a server that fails, a Ctrl-C or SIGTERM, every process the
runner started is stopped before it exits.
"""

import argparse
import signal
import sys
import time
from pathlib import Path

from benchmarks import measure, report
from benchmarks.processes import ProcessFailed, stop_all
from benchmarks.servers import BASELINE, LINEUP
from benchmarks.usage import raise_fd_limit

RESULTS = Path(__file__).resolve().parent / "results"
QUICK = measure.Windows(warmup=0.2, echo=0.5, bulk=0.5)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one repetition and short windows: a smoke test, not a figure")
    parser.add_argument("--only", default=",".join(measure.WORKLOADS), metavar="LIST",
                        help="comma-separated workloads (default: %(default)s)")
    parser.add_argument("--reps", type=int, help="repetitions (default 5, 1 with --quick)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json", metavar="PATH",
                        help="the JSON file; the table goes next to it as .txt "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in measure.WORKLOADS]
    if unknown or not args.only:
        parser.error(f"--only takes some of {', '.join(measure.WORKLOADS)}, "
                     f"not {args.only!r}")
    if args.reps is None:
        args.reps = 1 if args.quick else 5
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def run(workloads, repetitions, windows, notes):
    """Take every figure; returns ``{figure: {server: [Sample per repetition]}}``."""
    samples = {figure: {server.name: [] for server in LINEUP}
               for workload in workloads for figure in measure.WORKLOADS[workload][1]}
    for repetition in range(repetitions):
        shift = repetition % len(LINEUP)
        lineup = LINEUP[shift:] + LINEUP[:shift]
        for workload in workloads:
            take, figures = measure.WORKLOADS[workload]
            for server in lineup:
                if workload == "timers" and server.timers is None:
                    continue  # the same loop as another row's
                started = time.monotonic()
                try:
                    taken = take(server, windows, notes)
                except ProcessFailed as exc:
                    taken = {figure: measure.Sample(None, f"error: {exc}") for figure in figures}
                for figure, sample in taken.items():
                    samples[figure][server.name].append(sample)
                _progress(repetition, repetitions, workload, server.name, taken,
                          time.monotonic() - started)
    # Rows a workload does not apply to (timers of asyncio-streams) have no samples.
    return {figure: {server: runs for server, runs in by_server.items() if runs}
            for figure, by_server in samples.items()}


def _progress(repetition, repetitions, workload, server, taken, seconds):
    shown = ", ".join(f"{figure} {sample.value:,.3g}" if sample.value is not None
                      else f"{figure} {sample.missing}" for figure, sample in taken.items())
    print(f"[{repetition + 1}/{repetitions}] {workload:<6} {server:<16} {shown} "
          f"({seconds:.1f}s)", file=sys.stderr, flush=True)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the finally that stops the children


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # Ctrl-C raises KeyboardInterrupt even when the runner was started with SIGINT
    # ignored, as a shell does for `make bench &`.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise_fd_limit()
    windows = QUICK if args.quick else measure.Windows()
    info = report.machine()
    notes = []
    started = time.monotonic()
    try:
        samples = run(args.only, args.reps, windows, notes)
    except KeyboardInterrupt:
        print("interrupted: every process started has been stopped", file=sys.stderr)
        return 130
    finally:
        stop_all()
    info["run_seconds"] = round(time.monotonic() - started, 1)
    summary = report.summarize(samples, BASELINE)
    text = report.table(summary, [server.name for server in LINEUP],
                        repetitions=args.reps, baseline=BASELINE, info=info)
    print(text, end="")
    settings = {"repetitions": args.reps, "workloads": args.only, "quick": args.quick,
                "windows": vars(windows), "baseline": BASELINE,
                "echo_connections": measure.ECHO_CONNECTIONS,
                "bulk_connections": measure.BULK_CONNECTIONS,
                "idle_connections": measure.IDLE_CONNECTIONS,
                "cpus": {"server": measure.SERVER_CPU, "load": measure.LOAD_CPU}}
    report.write(args.out, args.out.with_suffix(".txt"), summary=summary, text=text,
                 info=info, settings=settings, notes=notes)
    print(f"\n{args.out} and {args.out.with_suffix('.txt')} written "
          f"in {info['run_seconds']:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
