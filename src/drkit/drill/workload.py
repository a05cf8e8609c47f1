"""What a drill runs against the lab while it breaks it: a ledger of acknowledged writes, and service
instances that register under an ephemeral prefix with leases and keep them alive, as real ones do."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from drkit.sandbox import etcd_client
from drkit.sandbox.etcd_client import EtcdUnavailableError


@dataclass(frozen=True)
class Ack:
    key: str
    value: str
    revision: int
    at: float  # time.monotonic() when the write was acknowledged
    wall: float = 0.0  # time.time() then, to line acks up with a playbook's timestamps
    cluster: str = ""  # the ID of the cluster that acknowledged it (each region's cluster has its own)


@dataclass(frozen=True)
class Attempt:
    """One write the ledger tried, acknowledged or not: the measurement core needs failures too (timelines,
    the last failure before recovery), not just the acknowledgements."""

    at: float  # time.monotonic() when the write was sent
    seconds: float  # until it was acknowledged or failed
    ok: bool


class Background:
    """A body run on a daemon thread until stop() (which joins it); the body watches the event it is given."""

    def __init__(self, name: str, body: Callable[[threading.Event], None]) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=body, args=(self._stopping,), name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


@dataclass
class Ledger:
    """Writes `<prefix><seq>` through the endpoint at a steady rate and remembers every acknowledgement.
    A failed write is retried with the next sequence number; only acknowledged writes count."""

    url: str
    prefix: str = "/drill/ledger/"
    rate: float = 20.0
    timeout: float = 1.0  # per write: a write stuck on a dead server delays the next one by this much
    acks: list[Ack] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    failures: int = 0
    loop: Background = field(init=False)

    def __post_init__(self) -> None:
        self.loop = Background("drill-ledger", self._write)

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()

    def _write(self, stopping: threading.Event) -> None:
        sequence = 0
        interval = 1.0 / self.rate
        while not stopping.is_set():
            sequence += 1
            key, value = f"{self.prefix}{sequence:08d}", f"{sequence}:{time.time():.6f}"
            sent = time.monotonic()
            try:
                header = etcd_client.put_acknowledged(self.url, key, value, timeout=self.timeout)
                acked = time.monotonic()
                self.acks.append(Ack(key, value, header.revision, acked, time.time(), header.cluster_id))
                self.attempts.append(Attempt(sent, acked - sent, True))
            except EtcdUnavailableError:
                self.failures += 1
                self.attempts.append(Attempt(sent, time.monotonic() - sent, False))
            stopping.wait(interval)

    def first_ack_after(self, moment: float) -> Ack | None:
        return next((ack for ack in list(self.acks) if ack.at > moment), None)


@dataclass
class Instance:
    """One service instance: a registration key bound to its own lease, kept alive every TTL/3. When a
    keep-alive finds the lease gone it registers again with a new lease, as registration clients do."""

    url: str
    key: str
    ttl: int
    lease: int = 0
    registrations: int = 0
    alive: bool = True

    def register(self) -> None:
        self.lease = etcd_client.grant_lease(self.url, self.ttl)
        etcd_client.put(self.url, self.key, "up", lease=self.lease)
        self.registrations += 1

    def heartbeat(self) -> None:
        try:
            if etcd_client.keep_alive(self.url, self.lease) == 0:
                self.register()
        except EtcdUnavailableError:
            pass  # the cluster is down: try again on the next beat


@dataclass
class Registry:
    instances: list[Instance]
    loop: Background = field(init=False)

    def __post_init__(self) -> None:
        self.loop = Background("drill-registry", self._beat)

    @classmethod
    def register(cls, url: str, prefix: str, count: int, ttl: int) -> Registry:
        instances = [Instance(url, f"{prefix}drill/instance-{index}", ttl) for index in range(count)]
        for instance in instances:
            instance.register()
        return cls(instances)

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()

    def _beat(self, stopping: threading.Event) -> None:
        beat = max(0.5, self.instances[0].ttl / 3) if self.instances else 1.0
        while not stopping.wait(beat):
            for instance in self.instances:
                if instance.alive:
                    instance.heartbeat()
