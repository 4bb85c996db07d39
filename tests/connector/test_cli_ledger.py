"""The fixed command-line interface (issue section 3), in-process and as real processes.

`typer.testing.CliRunner` covers every command and its errors; the installed `tracespace`
console script is also run as a subprocess for init, append and verify, and `serve` is
started on a free loopback port and queried over HTTP.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from connector.cli import app as cli_app
from connector.node import Node
from ledger import merkle
from ledger.checkpoint import format_cosigner_vkey, open_checkpoint, verify_cosignature
from ledger.tlog_proof import verify_tlog_proof

SCRIPT = Path(sys.executable).with_name("tracespace")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch):
    for name in ("TRACESPACE_HOME", "TRACESPACE_DATABASE_URL", "TRACESPACE_PORT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def db_option(database_url: str) -> list[str]:
    return [] if database_url.startswith("sqlite") else ["--database-url", database_url]


def run(runner: CliRunner, *args: str, **kwargs):
    return runner.invoke(cli_app, list(args), **kwargs)


def one_line_error(result) -> str:
    assert result.exit_code not in (0, None), result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def size_of(folder: Path) -> int:
    node = Node.open(folder)
    try:
        return node.ledger.size
    finally:
        node.close()


@pytest.fixture
def folder(tmp_path: Path, runner: CliRunner, database_url: str) -> Path:
    d = tmp_path / "resin"
    result = run(
        runner, "init", "--dir", str(d), "--name", "resin-plant", "--prefix", "88.100.1",
        "--gs1-prefix", "9506000", "--gs1-prefix", "4012345", *db_option(database_url),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return d


def test_init_creates_the_node_folder(folder: Path, runner: CliRunner, database_url: str):
    assert (folder / "tracespace.toml").is_file()
    for secret in ("node.key", "operator.token"):
        mode = stat.S_IMODE((folder / secret).stat().st_mode)
        assert mode == 0o600, (secret, oct(mode))
    if database_url.startswith("sqlite"):
        assert (folder / "ledger.db").is_file()
    node = Node.open(folder)
    assert node.config.prefixes == ["88.100.1"]
    assert node.config.gs1_company_prefixes == ["9506000", "4012345"]  # written by init
    assert node.ledger.size == 1
    assert len(node.operator_token) >= 16
    vkey = node.vkey
    node.close()
    key_before = (folder / "node.key").read_bytes()

    again = run(runner, "init", "--dir", str(folder), "--name", "resin-plant")
    assert "already" in one_line_error(again)
    assert (folder / "node.key").read_bytes() == key_before
    bad_name = run(runner, "init", "--dir", str(folder.parent / "x"), "--name", "Bad Name!")
    one_line_error(bad_name)
    assert vkey.startswith("tracespace.local/resin-plant+")


def test_append_prints_the_last_seq(folder: Path, runner: CliRunner, tmp_path: Path):
    payloads = tmp_path / "events.jsonl"
    payloads.write_text('{"lot": "A"}\n\n{"lot": "B", "qty": 2.5}\n[1, 2]\n', encoding="utf-8")
    result = run(
        runner, "ledger", "append", "--dir", str(folder), "--type", "lot.event", str(payloads)
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "3"
    node = Node.open(folder)
    assert [node.ledger.entry(s).payload for s in (1, 2, 3)] == [
        {"lot": "A"}, {"lot": "B", "qty": 2.5}, [1, 2],
    ]  # fmt: skip
    node.close()
    piped = run(runner, "ledger", "append", "--dir", str(folder), "--type", "lot.event", "-",
                input='{"lot": "C"}\n')  # fmt: skip
    assert piped.exit_code == 0, piped.output
    assert piped.stdout.strip() == "4"
    default_stdin = run(runner, "ledger", "append", "--dir", str(folder), "--type", "x.y",
                        input="true\n")  # fmt: skip
    assert default_stdin.stdout.strip() == "5"


BAD_INPUT = [
    ('{"ok": 1}\n{"broken": \n{"ok": 3}\n', "lot.event", "line 2"),
    ('{"ok": 1}\n{"n": NaN}\n', "lot.event", ""),
    ('{"ok": 1}\n{"n": 18014398509481984}\n', "lot.event", ""),
    ('{"ok": 1}\n', "Not A Type", "type"),
    ("\n\n", "lot.event", "no payloads"),
]


def test_bad_input_writes_nothing(folder: Path, runner: CliRunner, tmp_path: Path):
    payloads = tmp_path / "bad.jsonl"
    for content, type_, expect in BAD_INPUT:
        payloads.write_text(content, encoding="utf-8")
        result = run(
            runner, "ledger", "append", "--dir", str(folder), "--type", type_, str(payloads)
        )
        line = one_line_error(result)
        assert expect in line, (content, line)
        assert size_of(folder) == 1, content


def test_missing_file_and_missing_node_are_one_line_errors(runner: CliRunner, tmp_path: Path):
    assert "tracespace.toml" in one_line_error(
        run(runner, "ledger", "verify", "--dir", str(tmp_path / "nowhere"))
    )
    (tmp_path / "n").mkdir()
    one_line_error(run(runner, "ledger", "checkpoint", "--dir", str(tmp_path / "n")))


def test_dir_defaults_to_tracespace_home_then_cwd(
    folder: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    by_env = run(runner, "ledger", "append", "--type", "lot.event", input="{}\n",
                 env={"TRACESPACE_HOME": str(folder)})  # fmt: skip
    assert by_env.exit_code == 0, by_env.output
    assert by_env.stdout.strip() == "1"
    monkeypatch.chdir(folder)
    by_cwd = run(runner, "ledger", "append", "--type", "lot.event", input="{}\n")
    assert by_cwd.exit_code == 0, by_cwd.output
    assert by_cwd.stdout.strip() == "2"
    # --dir wins over $TRACESPACE_HOME, which wins over the working directory.
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    wrong_env = run(runner, "ledger", "checkpoint", env={"TRACESPACE_HOME": str(elsewhere)})
    one_line_error(wrong_env)
    explicit = run(runner, "ledger", "checkpoint", "--dir", str(folder),
                   env={"TRACESPACE_HOME": str(elsewhere)})  # fmt: skip
    assert explicit.exit_code == 0, explicit.output


def test_checkpoint_prove_verify_and_rotate(folder: Path, runner: CliRunner):
    run(runner, "ledger", "append", "--dir", str(folder), "--type", "lot.event",
        input="".join(f'{{"n": {i}}}\n' for i in range(9)))  # fmt: skip
    node = Node.open(folder)
    vkey, origin = node.vkey, node.config.origin
    entry4 = node.ledger.entry_bytes(4)
    node.close()

    cp_out = run(runner, "ledger", "checkpoint", "--dir", str(folder))
    assert cp_out.exit_code == 0, cp_out.output
    cp, _ = open_checkpoint(cp_out.stdout, vkey, origin=origin)
    assert cp.size == 10

    proof = run(runner, "ledger", "prove", "4", "--dir", str(folder))
    assert proof.exit_code == 0, proof.output
    proven, _ = verify_tlog_proof(proof.stdout, merkle.leaf_hash(entry4), vkey)
    assert proven.size == 10
    one_line_error(run(runner, "ledger", "prove", "10", "--dir", str(folder)))

    ok = run(runner, "ledger", "verify", "--dir", str(folder))
    assert ok.exit_code == 0, ok.output
    assert "ledger OK" in ok.stdout
    report = run(runner, "ledger", "verify", "--dir", str(folder), "--json")
    data = json.loads(report.stdout)
    assert (data["ok"], data["size"], data["checkpoints_checked"]) == (True, 10, 1)

    rotated = run(runner, "ledger", "rotate-key", "--dir", str(folder))
    assert rotated.exit_code == 0, rotated.output
    retired = sorted(folder.glob("node.key.retired-*"))
    assert len(retired) == 1, sorted(p.name for p in folder.iterdir())
    for key_file in (folder / "node.key", retired[0]):
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    node = Node.open(folder)
    new_vkey = node.vkey
    node.close()
    assert new_vkey != vkey
    after = run(
        runner, "ledger", "append", "--dir", str(folder), "--type", "lot.event", input="{}\n"
    )
    assert after.stdout.strip() == "11"
    cp_after = run(runner, "ledger", "checkpoint", "--dir", str(folder)).stdout
    open_checkpoint(cp_after, new_vkey)
    final = run(runner, "ledger", "verify", "--dir", str(folder), "--json")
    assert final.exit_code == 0, final.output
    assert len(json.loads(final.stdout)["keys"]) == 2


# -- real processes --------------------------------------------------------------------------


def script() -> list[str]:
    if SCRIPT.is_file():
        return [str(SCRIPT)]
    if shutil.which("tracespace"):
        return [shutil.which("tracespace")]
    pytest.skip("the tracespace console script is not installed (pip install -e .)")


def clean_environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESPACE_")}
    env.update(extra)
    return env


def test_real_process_init_append_verify(tmp_path: Path):
    # SQLite only: each process start costs seconds; the in-process tests cover PostgreSQL.
    cmd = script()
    folder = tmp_path / "plant"

    def call(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*cmd, *args], input=stdin, capture_output=True, text=True, timeout=120,
            env=clean_environ(**env), cwd=tmp_path,
        )  # fmt: skip

    init = call("init", "--dir", str(folder), "--name", "plant")
    assert init.returncode == 0, init.stderr
    assert stat.S_IMODE((folder / "node.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "operator.token").stat().st_mode) == 0o600

    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({"n": i}) + "\n" for i in range(25)), encoding="utf-8")
    append = call("ledger", "append", "--dir", str(folder), "--type", "lot.event", str(events))
    assert append.returncode == 0, append.stderr
    assert append.stdout.strip() == "25"

    bad = call("ledger", "append", "--type", "lot.event", "-", stdin='{"a": 1}\nnot json\n',
               TRACESPACE_HOME=str(folder))  # fmt: skip
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "line 2" in bad.stderr

    verify = call("ledger", "verify", "--json", TRACESPACE_HOME=str(folder))
    assert verify.returncode == 0, verify.stderr
    report = json.loads(verify.stdout)
    assert (report["ok"], report["size"], report["entries_checked"]) == (True, 26, 26)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_really_serves(runner: CliRunner, tmp_path: Path):
    cmd = script()
    folder = tmp_path / "served"
    assert run(runner, "init", "--dir", str(folder), "--name", "served").exit_code == 0
    run(runner, "ledger", "append", "--dir", str(folder), "--type", "lot.event", input="{}\n{}\n")
    node = Node.open(folder)
    vkey = node.vkey
    node.close()
    port = free_port()
    proc = subprocess.Popen(
        [*cmd, "serve", "--dir", str(folder), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_environ(),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1].decode()
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer /healthz"
            time.sleep(0.1)
        assert health.json()["size"] == 3
        assert httpx.get(f"{base}/ledger/key").text.strip() == vkey
        note = httpx.get(f"{base}/ledger/checkpoint").text
        cp, _ = open_checkpoint(note, vkey)
        assert cp.size == 3

        # Another node witnesses this one through `ledger cosign` over real HTTP.
        witness_dir = tmp_path / "witness"
        made = run(runner, "init", "--dir", str(witness_dir), "--name", "witness")
        assert made.exit_code == 0, made.output
        cosigned = run(runner, "ledger", "cosign", base, "--no-send", "--dir", str(witness_dir))
        assert cosigned.exit_code == 0, cosigned.output
        witness = Node.open(witness_dir)
        witness_vkey = format_cosigner_vkey(witness.config.origin, witness.public_key)
        witness.close()
        verify_cosignature(cosigned.stdout, witness_vkey)
        open_checkpoint(cosigned.stdout, vkey)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_cosign_of_an_unreachable_peer_is_one_line(folder: Path, runner: CliRunner):
    result = run(
        runner, "ledger", "cosign", f"http://127.0.0.1:{free_port()}", "--dir", str(folder)
    )
    assert "network" in one_line_error(result)


def test_help_lists_the_fixed_commands(runner: CliRunner):
    top = run(runner, "--help")
    assert top.exit_code == 0
    for command in ("init", "serve", "ledger"):
        assert command in top.stdout
    sub = run(runner, "ledger", "--help")
    for command in ("append", "verify", "export", "checkpoint", "prove", "rotate-key", "cosign"):
        assert command in sub.stdout
