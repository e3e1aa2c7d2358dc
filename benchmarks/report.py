"""The report: medians, ratios to asyncio, a plain-text table and a JSON file.

Each figure of each server is the median of its repetitions, and its ratio to the
baseline's median (asyncio's protocols; for timers, asyncio's loop) from the same
run. The ratio is always server / baseline, so whether above 1 is good depends on
the figure, and the header says it: higher is better for requests and MB/s, lower
for memory and seconds.
The JSON file keeps every repetition's value and details, and the machine they ran on.
"""

import datetime
import json
import os
import platform
import statistics
from dataclasses import dataclass
from importlib import metadata

#: A load generator this busy (share of its core) may be what limits the figure.
LOADGEN_SATURATED = 0.9


@dataclass(frozen=True)
class Figure:
    title: str
    unit: str
    better: str  # "higher" or "lower"
    form: str  # how a value is written
    ratio: bool = True


FIGURES = {
    "echo-10": Figure("echo 10 conn", "req/s", "higher", "{:,.0f}"),
    "echo-100": Figure("echo 100 conn", "req/s", "higher", "{:,.0f}"),
    "bulk": Figure("bulk 50x1MiB", "MB/s", "higher", "{:,.0f}"),
    "idle-memory": Figure("idle memory", "KiB/conn", "lower", "{:.2f}"),
    "idle-held": Figure("idle held", "conns", "higher", "{:.0f}", ratio=False),
    "timers": Figure("100k timers", "s", "lower", "{:.3f}"),
}

#: Framework packages whose versions go into the JSON.
PACKAGES = ("uvloop", "twisted", "tornado", "trio", "gevent")


def machine():
    """What the figures were measured on."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": f"{platform.system()} {platform.release()}",
        "packages": versions,
    }


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except FileNotFoundError:
        return None
    return None


def summarize(samples, baseline):
    """Turn ``{figure: {server: [Sample, ...]}}`` into medians, ratios and raw values."""
    summary = {}
    for name, by_server in samples.items():
        figure = FIGURES[name]
        rows = {}
        for server, runs in by_server.items():
            values = [run.value for run in runs if run.value is not None]
            missing = [run.missing for run in runs if run.missing is not None]
            rows[server] = {
                "median": statistics.median(values) if values else None,
                "values": [run.value for run in runs],
                "missing": missing,
                "details": [run.details for run in runs],
                "notes": sorted({run.note for run in runs if run.note}),
            }
        base = rows.get(baseline, {}).get("median")
        for row in rows.values():
            row["ratio"] = (row["median"] / base if figure.ratio and base
                            and row["median"] is not None else None)
        summary[name] = {"title": figure.title, "unit": figure.unit,
                         "better": figure.better, "servers": rows}
    return summary


def table(summary, servers, *, repetitions, baseline, info):
    """The plain-text table: one row per server, one column per figure."""
    notes = _Footnotes()
    names = [name for name in FIGURES if name in summary]
    header = ["server", *(FIGURES[name].title for name in names)]
    units = ["", *(f"{FIGURES[name].unit} ({FIGURES[name].better} better)"
                   if FIGURES[name].ratio else FIGURES[name].unit for name in names)]
    rows = [[server, *(_cell(summary[name]["servers"].get(server), FIGURES[name], notes)
                       for name in names)] for server in servers]
    widths = [max(len(row[column]) for row in [header, units, *rows])
              for column in range(len(header))]

    def line(cells):
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    title = (f"Median of {repetitions} repetition{'s' * (repetitions != 1)}; "
             f"×N = ratio to {baseline} (protocols) measured in the same run.\n"
             f"{info['date']}, {info['cpu_count']} CPUs ({info['cpu_model']}), "
             f"Python {info['python']}, {info['kernel']}.")
    lines = [title, "", line(header), line(units), *map(line, rows)]
    if notes.texts:
        lines.append("")
        lines.extend(f"[{number}] {text}" for number, text in enumerate(notes.texts, 1))
    return "\n".join(lines) + "\n"


class _Footnotes:
    """Numbered notes under the table, each text once."""

    def __init__(self):
        self.texts = []

    def mark(self, text):
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"


def _cell(row, figure, notes):
    if row is None:
        return "-"
    if row["median"] is None:
        reason = row["missing"][0] if row["missing"] else "no value"
        word = "n/a" if reason.startswith("n/a") else "error"
        return f"{word} {notes.mark(reason)}"
    text = figure.form.format(row["median"])
    if row["ratio"] is not None:
        text += f" ×{row['ratio']:.2f}"
    if row["missing"]:
        failed = len(row["missing"])
        text += " " + notes.mark(f"{failed} of {len(row['values'])} repetitions gave "
                                 f"no value: {row['missing'][0]}")
    for note in row["notes"]:
        text += " " + notes.mark(note)
    busy = [details.get("loadgen_cpu") or 0 for details in row["details"]]
    if busy and statistics.median(busy) >= LOADGEN_SATURATED:
        text += " " + notes.mark(
            f"the load generator used >= {LOADGEN_SATURATED:.0%} of its core: "
            "the server may be faster than this figure")
    return text


def write(path_json, path_text, *, summary, text, info, settings, notes):
    """Write the JSON file (all repetitions) and the text table."""
    path_json.parent.mkdir(parents=True, exist_ok=True)
    document = {"machine": info, "settings": settings, "figures": summary,
                "notes": notes, "table": text}
    path_json.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    path_text.parent.mkdir(parents=True, exist_ok=True)
    path_text.write_text(text, encoding="utf-8")
