"""Chapter 1, exercise: how many downloads were under way at once?

The tour's table sets each model's total time beside the sum of its downloads' times.
This one adds a column: the most downloads that were under way at the same moment,
worked out from the trace. A synchronous model has one at a time; the others, all
three.

    python -m exercises.ch01_at_once [--delay SECONDS] [--num-bytes N] MODEL ...
"""

import io
import sys

from coro import tour
from coro.cli import interrupted_by_signals
from exercises.ch01_tour import MODELS, make_parser


def most_at_once(trace):
    """The most tasks of ``trace`` that were under way at the same moment.

    A task is under way from its first record to its last. The records are in the order
    things happened, so one pass over them, counting starts and ends, is enough; no time
    is compared.
    """
    records = trace.records
    last = {record.task: index for index, record in enumerate(records)}
    started = set()
    running = most = 0
    for index, record in enumerate(records):
        if record.task not in started:
            started.add(record.task)
            running += 1
            most = max(most, running)
        if last[record.task] == index:
            running -= 1
    return most


def main(argv=None):
    """Run the chosen models quietly, then print the table; return the exit status."""
    options = make_parser("python -m exercises.ch01_at_once",
                          __doc__.split("\n\n")[0]).parse_args(argv)
    models = [MODELS[name] for name in dict.fromkeys(options.models)]
    try:
        with interrupted_by_signals():
            reports, status = tour.tour(io.StringIO(), delay=options.delay,
                                        num_bytes=options.num_bytes, models=models)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    print("model        total   sum of the downloads   most at once")
    for model in models:
        trace = reports[model.name].trace
        print(f"{model.name:<10} {trace.duration():6.2f}s {trace.sum_of_task_times():21.2f}s "
              f"{most_at_once(trace):14}")
    return status


if __name__ == "__main__":
    sys.exit(main())
