"""Benchmark-report plumbing: timing, figures with their ratio to a same-run reference, docs.

Every bench script measures its own floor (or other reference) in the same run, builds
`Figure`s, prints them as it goes and finally appends one dated section, with the facts
of the machine it ran on, to `docs/benchmarks.md`. Earlier sections are never rewritten.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
DOCS_HEADER = """# Benchmarks

Figures measured by the scripts in `bench/` (run `make bench`, or
`.venv/bin/python bench/ledger.py`). Each run appends one dated section; earlier
sections stay as they were, so the history shows how the figures moved. Every ratio
compares two figures measured in the same run on the same machine, so the ratios
carry across machines better than the absolute numbers do.
"""


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds taken by one call of `fn`."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def mean_seconds(fn: Callable[[object], object], args: Iterable[object]) -> float:
    """Mean wall-clock seconds per call of `fn` over `args` (one call per item)."""
    items = list(args)
    if not items:
        raise ValueError("no calls to time")
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


@dataclass(frozen=True)
class Figure:
    """One measured value, optionally compared with a reference measured in the same run.

    `ratio` is value / reference. With a `goal`, the figure meets it when the ratio is
    at least the goal, or at most the goal when `at_most` is set (times, where less
    is better).
    """

    name: str
    value: float
    unit: str
    reference: float | None = None
    reference_name: str = ""
    goal: float | None = None
    at_most: bool = False

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if self.goal is None or ratio is None:
            return None
        return ratio <= self.goal if self.at_most else ratio >= self.goal

    @property
    def goal_text(self) -> str:
        if self.goal is None:
            return ""
        return f"{'≤' if self.at_most else '≥'} {self.goal:g}"

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT MET", None: ""}[self.met]


def format_value(value: float, unit: str) -> str:
    """A human figure: rates with thousands separators, seconds as ms or µs."""
    if unit == "s":
        if value >= 1:
            return f"{value:.2f} s"
        if value >= 1e-3:
            return f"{value * 1e3:.3g} ms"
        return f"{value * 1e6:.3g} µs"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def format_ratio(ratio: float | None) -> str:
    if ratio is None:
        return ""
    return f"{ratio:.3g}" if ratio < 100 else f"{ratio:,.0f}"


def figure_line(fig: Figure) -> str:
    line = f"  {fig.name:<52} {format_value(fig.value, fig.unit):>18}"
    if fig.ratio is not None:
        line += f"  ratio {format_ratio(fig.ratio):>6} to {fig.reference_name}"
        line += f" ({format_value(fig.reference, fig.unit)})"  # type: ignore[arg-type]
    if fig.goal is not None:
        line += f"  goal {fig.goal_text}: {fig.verdict}"
    return line


@dataclass
class Report:
    """The figures and notes of one run of one bench script."""

    script: str
    mode: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def section(self, title: str) -> None:
        print(f"\n{title}", flush=True)

    def add(self, fig: Figure) -> Figure:
        self.figures.append(fig)
        print(figure_line(fig), flush=True)
        return fig

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def goals(self) -> list[Figure]:
        return [f for f in self.figures if f.goal is not None]

    def summary(self) -> str:
        lines = ["\nGoals:"]
        for fig in self.goals():
            lines.append(
                f"  {fig.verdict:<8} {fig.name}: ratio {format_ratio(fig.ratio)} "
                f"(goal {fig.goal_text})"
            )
        return "\n".join(lines)

    def markdown(self) -> str:
        stamp = self.started.strftime("%Y-%m-%d %H:%M UTC")
        out = [f"## {stamp}: `{self.script}` ({self.mode} run)", ""]
        out += [f"- {name}: {value}" for name, value in self.facts.items()]
        out += ["", "| figure | value | reference | ratio | goal | |", "|---|---|---|---|---|---|"]
        for fig in self.figures:
            reference = ""
            if fig.reference is not None:
                reference = f"{fig.reference_name}: {format_value(fig.reference, fig.unit)}"
            out.append(
                f"| {fig.name} | {format_value(fig.value, fig.unit)} | {reference} "
                f"| {format_ratio(fig.ratio)} | {fig.goal_text} | {fig.verdict} |"
            )
        if self.notes:
            out += ["", "Notes:", ""]
            out += [f"- {text}" for text in self.notes]
        return "\n".join(out) + "\n"

    def append_to(self, path: Path = DOCS) -> Path:
        """Append this run as a new section, creating the file with its header if needed."""
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists() or path.stat().st_size == 0
        with path.open("a", encoding="utf-8") as fh:
            if new:
                fh.write(DOCS_HEADER)
            fh.write("\n" + self.markdown())
        return path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def revision() -> str:
    """The git commit measured, marked when the working tree has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


def machine_facts(postgres_version: str | None = None) -> dict[str, str]:
    """The code revision, CPU, cores, OS, Python, SQLite and PostgreSQL versions."""
    return {
        "revision": revision(),
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": postgres_version or "not measured",
    }
