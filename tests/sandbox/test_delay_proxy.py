"""The delaying TCP proxy on loopback (no etcd): its parsing, and that it holds bytes for the delay each way,
keeps their order, changes its delay for bytes read afterwards, and stops at the end of its input."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from drkit.sandbox import delay_proxy
from drkit.sandbox.delay_proxy import Link, Target, parse_command, parse_delay, parse_target


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0.0), ("250ms", 0.25), ("1.5", 1.5), ("2s", 2.0), ("1m", 60.0), ("600s", 600.0)]
)
def test_delays(text: str, seconds: float) -> None:
    assert parse_delay(text) == seconds


@pytest.mark.parametrize(("text", "why"), [("slow", "not a delay"), ("-1s", "not a delay"), ("11m", "outside 0..600s")])
def test_bad_delays(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_delay(text)


def test_targets_and_commands() -> None:
    assert parse_target("10.201.0.2:2379") == Target("10.201.0.2", 2379)
    assert parse_target("[::1]:80") == Target("::1", 80)
    for bad in ("2379", ":2379", "host:", "host:http", "host:70000"):
        with pytest.raises(ValueError):
            parse_target(bad)
    assert parse_command("delay 500ms\n") == 0.5
    for bad in ("", "delay", "pause 1s", "delay 1s 2s"):
        with pytest.raises(ValueError):
            parse_command(bad)


async def _echo_through_proxy(delays: list[float]) -> list[tuple[bytes, float]]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    upstream = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = upstream.sockets[0].getsockname()[1]
    link = Link(delays[0])
    servers = await delay_proxy.start([Target("127.0.0.1", port)], link)
    host, proxied = delay_proxy.address(servers[f"127.0.0.1:{port}"]).split(":")
    reader, writer = await asyncio.open_connection(host, int(proxied))
    answers = []
    for index, delay in enumerate(delays):
        link.delay = delay
        started = time.monotonic()
        writer.write(f"ping-{index};".encode())
        await writer.drain()
        expected = len(f"ping-{index};")
        answers.append((await reader.readexactly(expected), time.monotonic() - started))
    writer.close()
    for server in [upstream, *servers.values()]:
        server.close()
    return answers


def test_bytes_are_held_for_the_delay_each_way_in_order() -> None:
    answers = asyncio.run(_echo_through_proxy([0.15, 0.0, 0.05]))
    assert [data for data, _ in answers] == [b"ping-0;", b"ping-1;", b"ping-2;"]
    (_, first), (_, second), (_, third) = answers
    assert 0.3 <= first < 1.0  # there and back: twice the one-way delay
    assert second < 0.1  # the delay changed for bytes read from then on
    assert 0.1 <= third < 0.6


def test_the_command_prints_where_it_listens_answers_commands_and_stops_at_end_of_input() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "drkit.sandbox.delay_proxy", "--to", "127.0.0.1:9", "--delay", "10ms"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdin is not None and process.stdout is not None
        listening = json.loads(process.stdout.readline())["listening"]
        assert listening["127.0.0.1:9"].startswith("127.0.0.1:")
        process.stdin.write("delay 2s\nnonsense\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "ok 2"
        assert process.stdout.readline().startswith("error unknown command 'nonsense'")
        process.stdin.close()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_command_refuses_bad_arguments_with_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "drkit.sandbox.delay_proxy", "--to", "nowhere", "--delay", "1s"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "'nowhere' is not host:port" in result.stderr
    assert "Traceback" not in result.stderr
