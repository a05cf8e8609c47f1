"""A delaying TCP proxy: the lab's stand-in for a slow link between regions (this kernel has no netem qdisc).

    python -m drkit.sandbox.delay_proxy --to 10.201.0.2:2379 --to 10.201.0.3:2379 [--delay 0]

Listens on 127.0.0.1 (an ephemeral port per --to target), forwards every connection to its target, and holds
every chunk of bytes, in each direction, for the current delay before passing it on: a one-way latency, so a
round trip takes twice the delay. Chunks keep their order and are pipelined (the delay adds latency, not a
throughput limit). On start it prints one JSON line, {"listening": {"<target>": "127.0.0.1:<port>"}}; then it
reads commands on stdin, one a line: `delay 500ms` (any drkit duration) changes the delay of the bytes read
from then on, and answers `ok <seconds>`; end of input (its parent gone) stops it. Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from drkit.spec.units import parse_duration

CHUNK = 65536
MAX_DELAY = 600.0


@dataclass(frozen=True)
class Target:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_target(text: str) -> Target:
    """`host:port` -> Target; ValueError with the reason otherwise."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r} is not host:port")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return Target(host.strip("[]"), int(port))


def parse_delay(text: str) -> float:
    """A delay such as `250ms`, `1.5s` or `0`: seconds, 0 to 10 minutes; ValueError otherwise."""
    value = text.strip()
    try:
        seconds = float(value) if value.replace(".", "", 1).isdigit() else parse_duration(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a delay (such as 250ms, 1.5s, 0)") from None
    if not 0 <= seconds <= MAX_DELAY:
        raise ValueError(f"a delay of {text!r} is outside 0..{MAX_DELAY:g}s")
    return seconds


def parse_command(line: str) -> float:
    """A control line, `delay <duration>`, -> the new delay in seconds; ValueError otherwise."""
    words = line.split()
    if len(words) != 2 or words[0] != "delay":
        raise ValueError(f"unknown command {line.strip()!r} (expected: delay <duration>)")
    return parse_delay(words[1])


class Link:
    """The current one-way delay, shared by every connection (changed by the control commands)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: Link) -> None:
    """Copy reader -> writer, each chunk held until `delay` after it was read; order kept, reads never wait."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            if writer.can_write_eof():
                writer.write_eof()

    delivering = asyncio.create_task(deliver())
    try:
        while not delivering.done():  # a delivery that failed (peer gone) ends the reading too
            data = await reader.read(CHUNK)
            queue.put_nowait((loop.time() + link.delay, data))
            if not data:
                break
        await delivering
    except (OSError, asyncio.IncompleteReadError):
        delivering.cancel()
    finally:
        if not delivering.done():
            delivering.cancel()


async def _serve_connection(
    client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, target: Target, link: Link
) -> None:
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(target.host, target.port)
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(
            _pump(client_reader, upstream_writer, link),
            _pump(upstream_reader, client_writer, link),
            return_exceptions=True,
        )
    finally:
        for writer in (client_writer, upstream_writer):
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()


async def start(targets: Sequence[Target], link: Link, host: str = "127.0.0.1") -> dict[str, asyncio.Server]:
    """One listening server per target on an ephemeral port of `host`: target text -> its server."""
    servers = {}
    for target in targets:

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, to: Target = target) -> None:
            await _serve_connection(reader, writer, to, link)

        servers[str(target)] = await asyncio.start_server(handle, host, 0)
    return servers


def address(server: asyncio.Server) -> str:
    host, port = server.sockets[0].getsockname()[:2]
    return f"{host}:{port}"


async def _control(link: Link) -> None:
    """Commands on stdin until end of input."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        if not line.strip():
            continue
        try:
            link.delay = parse_command(line)
            print(f"ok {link.delay:g}", flush=True)
        except ValueError as error:
            print(f"error {error}", flush=True)


async def _main(targets: Sequence[Target], delay: float) -> None:
    link = Link(delay)
    servers = await start(targets, link)
    print(json.dumps({"listening": {name: address(server) for name, server in servers.items()}}), flush=True)
    try:
        await _control(link)
    finally:
        for server in servers.values():
            server.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drkit.sandbox.delay_proxy", description=__doc__.split("\n")[0])
    parser.add_argument("--to", action="append", required=True, help="host:port to forward to (repeatable)")
    parser.add_argument("--delay", default="0", help="initial one-way delay (default 0)")
    args = parser.parse_args(argv)
    try:
        targets = [parse_target(text) for text in args.to]
        delay = parse_delay(args.delay)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_main(targets, delay))
    except OSError as error:
        print(f"error: cannot listen: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
