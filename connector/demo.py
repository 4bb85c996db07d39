"""`tracespace demo`: the green fibre supply chain on real node processes on loopback.

Eight nodes (a resolution root, national and sector node, four enterprises and a
regulator) run as separate `tracespace serve` processes, each with its own SQLite
database, key and prefix. The scenario (`connector.scenario.steps`) drives them through
their public HTTP APIs only, then prints one line per step and where to look.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from connector.cli.common import CliError
from connector.scenario import network, steps
from connector.scenario.parties import PARTIES

console = Console(soft_wrap=True, highlight=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_node(folder: Path, port: int, options: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """Start `tracespace serve` for `folder` (with more `options`) and wait until it answers."""
    proc = network.spawn(folder, port, options)
    try:
        network.wait_until_up(f"http://127.0.0.1:{port}", proc, timeout=20)
    except network.NodeFailed as exc:
        log = folder / "serve.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        network.stop([proc])
        raise RuntimeError(f"{exc}\n{detail}") from None
    return proc


class DemoFailed(CliError):
    """A step of the demo failed; the message names the step and the node's answer."""


def _line(number: int | None, title: str, fact: str, seconds: float) -> None:
    label = f"{number}. {title}" if number is not None else title
    console.print(f"[green]✓[/] [bold]{label}[/] [dim]({seconds:.1f} s)[/] — {fact}")


def run_demo(out: Path, keep_running: bool = False) -> steps.Scenario:
    """Run the whole scenario in `out` (emptied first); stop every node before returning."""
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    began = time.monotonic()
    previous = network.signals_as_interrupts()
    net = None
    try:
        ports = {p.name: free_port() for p in PARTIES}
        net = network.Network(out / "nodes", PARTIES, ports)
        net.start()
        (out / "nodes" / "pids").write_text(" ".join(map(str, net.pids())) + "\n")
        fact = f"{len(net.nodes)} node processes (root, national, sector, 4 enterprises, regulator)"
        _line(None, "start the network", fact, time.monotonic() - began)
        scenario = steps.Scenario(net, out)
        t = time.monotonic()
        _line(None, "connect the parties", steps.connect(scenario), time.monotonic() - t)
        for number, (title, step) in enumerate(steps.STEPS, start=1):
            t = time.monotonic()
            try:
                fact = step(scenario)
            except Exception as exc:
                console.print(f"[red]✗ {number}. {title}[/] — {exc}")
                raise DemoFailed(f"step {number} ({title}) failed: {exc}") from exc
            _line(number, title, fact, time.monotonic() - t)
        _summary(scenario, time.monotonic() - began)
        if keep_running:
            _keep_running(scenario)
        return scenario
    finally:
        if net is not None:
            net.close()
        network.restore_signals(previous)


def _summary(s: steps.Scenario, seconds: float) -> None:
    console.print(f"\n[bold]Done in {seconds:.1f} s.[/] Where to look:")
    for label, url in s.urls.items():
        console.print(f"  {label}: {url}")
    if "audit report" not in s.urls:
        console.print(f"  audit files: {s.out / 'audit'}")
    console.print(f"  node folders: {s.out / 'nodes'} (tracespace ledger verify --dir FOLDER)")
    console.print(f"  files written ({len(s.files)}):")
    for folder in sorted({p.parent for p in s.files}):
        names = sorted(p.name for p in s.files if p.parent == folder)
        shown = ", ".join(names[:4]) + (f", … ({len(names)} files)" if len(names) > 4 else "")
        console.print(f"    {folder.relative_to(s.out)}/: {shown}")


def _keep_running(s: steps.Scenario) -> None:
    console.print("\n[bold]The network is up[/] (Ctrl-C stops every node):")
    for name, node in s.net.nodes.items():
        console.print(f"  {name:14} {node.url}  operator token: {node.folder / 'operator.token'}")
    try:
        while all(n.process is not None and n.process.poll() is None for n in s.net.nodes.values()):
            time.sleep(0.5)
        console.print("[red]a node exited; stopping the network[/]")
    except KeyboardInterrupt:
        console.print("\nstopping the network")


def main() -> None:
    run_demo(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("demo-output"))
