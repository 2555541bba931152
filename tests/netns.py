"""Two hosts for real: Celery workers in two Linux network namespaces made by the test.

Each namespace ("host") has its own loopback and one interface on a bridge in the root namespace,
on a /24 of the test process's own: the bridge is .1, host a .2, host b .3. PostgreSQL and Redis
listen on 127.0.0.1 only (bin/_common.sh), which a namespace cannot reach — its 127.0.0.1 is its
own — so a forwarder in the test process listens on the bridge address, on the services' own port
numbers, and relays each connection to 127.0.0.1. A worker in a namespace is given DATABASE_URL,
DATABASE_REPLICA_URL and the broker URLs with the bridge address instead of 127.0.0.1 (the same
test database) and reaches the services only through the forwarder, which records who connected:
a relayed connection's local port is what PostgreSQL shows as its client_port, so a backend in
pg_stat_activity can be traced to the namespace address its worker connected from.

Without namespaces (not root, no CAP_NET_ADMIN, no ``ip`` binary, ``ip netns add`` refused) the
test is skipped with the reason — also under REQUIRE_SERVICES=1, which fails a test only for want
of PostgreSQL and Redis. Everything (workers, forwarder, namespaces, bridge) is torn down at the
end of the test, whether it passed or not.

Fixtures: ``two_hosts`` (a :class:`Network`, hosts ``.a`` and ``.b``) and ``host_workers`` (a
:class:`HostWorkers`: ``host_workers("first", two_hosts.a)`` starts a worker in namespace a on the
test's own queue). Import them into a test module (``# noqa: F401``) to use them.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.workers import StartWorker, Worker, require_services, worker_pool

CAP_NET_ADMIN = 12
LOCAL_HOSTS = ("127.0.0.1", "localhost")
DEFAULT_PORTS = {"postgres": 5432, "postgresql": 5432, "redis": 6379}
# The URLs a worker uses to reach the services (DATABASE_REPLICA_URL only when set).
SERVICE_VARIABLES = ("DATABASE_URL", "DATABASE_REPLICA_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")


class NamespacesUnavailable(Exception):
    """This machine (or this process) cannot make network namespaces; the message says why."""


def ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise NamespacesUnavailable(f"`ip {' '.join(args)}` failed (exit {done.returncode}): "
                                    f"{(done.stderr or done.stdout).strip()}")


def why_no_namespaces() -> str | None:
    """Why this process cannot make namespaces, when it can tell before trying; else None."""
    if shutil.which("ip") is None:
        return "no `ip` binary (iproute2) on PATH"
    if os.geteuid() != 0:
        with open("/proc/self/status") as status:
            effective = next((int(line.split()[1], 16) for line in status if line.startswith("CapEff:")), 0)
        if not effective >> CAP_NET_ADMIN & 1:
            return f"not root (euid {os.geteuid()}) and no CAP_NET_ADMIN"
    return None


@dataclass(frozen=True)
class Relay:
    """One connection through the forwarder: from ``client`` (a namespace's address and port) to the
    service on ``port``, relayed from ``upstream`` (127.0.0.1 and the port the service sees)."""

    port: int
    client: tuple[str, int]
    upstream: tuple[str, int]


class Forwarder:
    """TCP relays from ``listen``:port to ``target``:port for each port, in a thread of its own
    running an asyncio loop (any number of concurrent connections; ``close()`` ends them all)."""

    def __init__(self, listen: str, ports: Iterable[int], target: str = "127.0.0.1") -> None:
        self.listen, self.ports, self.target = listen, sorted(set(ports)), target
        self._relays: list[Relay] = []
        self._lock = threading.Lock()
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"forwarder-{listen}", daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)

    def relays(self, port: int | None = None) -> list[Relay]:
        with self._lock:
            return [relay for relay in self._relays if port is None or relay.port == port]

    def close(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    async def _serve(self) -> None:
        for port in self.ports:
            self._servers.append(await asyncio.start_server(partial(self._relay, port), self.listen, port,
                                                            reuse_address=True))

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()

    async def _relay(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            up_reader, upstream = await asyncio.open_connection(self.target, port)
            with self._lock:
                self._relays.append(Relay(port, writer.get_extra_info("peername")[:2],
                                          upstream.get_extra_info("sockname")[:2]))
            await asyncio.gather(self._pipe(reader, upstream, writer), self._pipe(up_reader, writer, upstream))
        except OSError:
            pass  # the service refused or reset: the client sees its connection closed
        except asyncio.CancelledError:
            pass  # close(): ends normally (asyncio logs a handler task that ends cancelled as an error)
        finally:
            for end in (writer, upstream):
                if end is not None:
                    end.close()
            self._tasks.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, other: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()  # a half-close passes through; the other direction goes on
        except OSError:
            # One side is gone: close both, so the other direction's read ends too.
            writer.close()
            other.close()


@dataclass(frozen=True)
class Host:
    """A network namespace standing for a machine: its name and its address on the bridge."""

    label: str
    namespace: str
    address: str

    @property
    def prefix(self) -> list[str]:
        """The command prefix that runs a program on this host. ``ip netns exec`` execs the program
        (no fork in between), so a Popen of it has the program's own pid."""
        return ["ip", "netns", "exec", self.namespace]

    def holds(self, pid: int) -> bool:
        """Whether process ``pid`` runs in this namespace (its network namespace is the one
        ``ip netns add`` bound to /run/netns/<name>)."""
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{self.namespace}").st_ino

    def run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, *command], capture_output=True, text=True, timeout=timeout, check=False)


def through(url: str, address: str) -> tuple[str, int | None]:
    """``url`` with a loopback host replaced by ``address``, and the port to forward (None: the
    URL does not point at this machine's loopback, so it is used as it is)."""
    parts = urlsplit(url)
    if parts.hostname not in LOCAL_HOSTS:
        return url, None
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{address}:{port}" if userinfo else f"{address}:{port}"
    return urlunsplit(parts._replace(netloc=netloc)), port


def _free_subnet() -> int:
    """The third octet of a 10.231.x.0/24 no interface of this machine uses, from the pid on (two
    test processes at once would rarely pick the same, and never one already taken)."""
    listing = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=False).stdout
    start = os.getpid() % 200
    for step in range(200):
        third = (start + step) % 200 + 10
        if f" 10.231.{third}." not in listing:
            return third
    raise NamespacesUnavailable("no free 10.231.x.0/24 (x 10–209) for the test bridge")


def _sweep_leftovers() -> None:
    """Deletes the namespaces and bridges of test processes that are gone (killed before their
    teardown ran), which would otherwise hold their subnets for good."""
    def listing(*args: str) -> str:
        return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False).stdout

    namespaces = [("netns", name) for name in listing("netns", "list").split() if re.fullmatch(r"apr\d+[ab]", name)]
    links = re.findall(r"^\d+: ([^:@\s]+)", listing("-o", "link", "show", "type", "bridge"), re.MULTILINE)
    bridges = [("link", name) for name in links if re.fullmatch(r"apr\d+br", name)]
    for kind, name in namespaces + bridges:
        if not os.path.exists(f"/proc/{re.sub(r'[^0-9]', '', name)}"):
            subprocess.run(["ip", kind, "del", name], capture_output=True, timeout=30, check=False)


@dataclass
class Network:
    """Two namespaces ``a`` and ``b`` on a bridge, and the forwarder to the services. ``create()``
    builds it all (NamespacesUnavailable when the machine refuses); ``destroy()`` undoes whatever
    was built, and may be called after a partial ``create()``."""

    tag: str = field(default_factory=lambda: f"apr{os.getpid()}")
    service_urls: Mapping[str, str] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    gateway: str = ""
    worker_env: dict[str, str] = field(default_factory=dict)
    forwarder: Forwarder | None = None
    _made: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"{self.tag}br"

    @property
    def a(self) -> Host:
        return self.hosts["a"]

    @property
    def b(self) -> Host:
        return self.hosts["b"]

    def create(self) -> None:
        _sweep_leftovers()
        third = _free_subnet()
        self.gateway = f"10.231.{third}.1"
        ip("link", "add", self.bridge, "type", "bridge")
        self._made.append(("link", "del", self.bridge))
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for number, label in enumerate("ab", start=2):
            host = Host(label, f"{self.tag}{label}", f"10.231.{third}.{number}")
            self._add_host(host)
            self.hosts[label] = host
        ports: set[int] = set()
        for variable, url in self.service_urls.items():
            self.worker_env[variable], port = through(url, self.gateway)
            if port is not None:
                ports.add(port)
        self.forwarder = Forwarder(self.gateway, ports)
        self.forwarder.start()

    def _add_host(self, host: Host) -> None:
        outside, inside = f"{host.namespace}0", f"{host.namespace}1"
        ip("netns", "add", host.namespace)
        self._made.append(("netns", "del", host.namespace))
        ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        self._made.append(("link", "del", outside))  # gone already once its peer's namespace is
        ip("link", "set", inside, "netns", host.namespace)
        ip("-n", host.namespace, "link", "set", inside, "name", "eth0")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", host.namespace, "link", "set", "eth0", "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        ip("link", "set", outside, "master", self.bridge)
        ip("link", "set", outside, "up")

    def destroy(self) -> None:
        if self.forwarder is not None:
            self.forwarder.close()
            self.forwarder = None
        for undo in reversed(self._made):
            subprocess.run(["ip", *undo], capture_output=True, timeout=30, check=False)
        self._made.clear()

    def host_of(self, address: str) -> Host | None:
        return next((host for host in self.hosts.values() if host.address == address), None)

    def database_hosts(self) -> Counter[str]:
        """How many backends of the test database each host holds now (by label), traced through
        the forwarder: PostgreSQL sees a relayed connection come from 127.0.0.1 and the relay's port."""
        from django.db import connection

        assert self.forwarder is not None
        port = urlsplit(self.worker_env["DATABASE_URL"]).port or DEFAULT_PORTS["postgres"]
        relayed = {relay.upstream[1]: self.host_of(relay.client[0]) for relay in self.forwarder.relays(port)}
        with connection.cursor() as cursor:
            cursor.execute("SELECT client_port FROM pg_stat_activity WHERE datname = current_database() "
                           "AND client_addr = '127.0.0.1' AND pid <> pg_backend_pid()")
            hosts = [relayed.get(client_port) for (client_port,) in cursor.fetchall()]
        return Counter(host.label for host in hosts if host is not None)


def service_urls() -> dict[str, str]:
    """The URLs a worker of this test needs: the test database's, the replica's (when set) and the
    broker's, as this process reaches them."""
    from django.conf import settings

    from tests.test_services import _test_database_url

    urls = {"DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": str(settings.CELERY_BROKER_URL),
            "CELERY_RESULT_BACKEND": str(settings.CELERY_RESULT_BACKEND)}
    if os.environ.get("DATABASE_REPLICA_URL"):
        urls["DATABASE_REPLICA_URL"] = os.environ["DATABASE_REPLICA_URL"]
    return urls


@pytest.fixture
def two_hosts(transactional_db: None) -> Iterator[Network]:
    """Hosts ``a`` and ``b`` (the test's rows are committed, so their workers can see them)."""
    require_services()
    reason = why_no_namespaces()
    network = Network(service_urls=service_urls())
    if reason is None:
        try:
            network.create()
        except NamespacesUnavailable as refused:
            reason = str(refused)
        except BaseException:
            network.destroy()
            raise
    if reason is not None:
        network.destroy()
        pytest.skip(f"needs Linux network namespaces: {reason}")
    try:
        yield network
    finally:
        network.destroy()


class HostWorkers:
    """Starts workers on the hosts of a :class:`Network`, all on one queue of the test's own."""

    def __init__(self, network: Network, queue: str, start: StartWorker) -> None:
        self.network, self.queue, self._start = network, queue, start

    def __call__(self, name: str, host: Host, *, env: Mapping[str, str] | None = None) -> Worker:
        """A worker named ``name`` on ``host``; ``env`` adds to its environment (the service URLs
        as the host reaches them are set already)."""
        return self._start(f"{name}-{host.namespace}", prefix=host.prefix, env={**self.network.worker_env,
                                                                                 **(env or {})})


@pytest.fixture
def host_workers(two_hosts: Network) -> Iterator[HostWorkers]:
    """Workers on the hosts of ``two_hosts``; at the end stopped (before the network goes), their
    queue and any message a killed one left unacknowledged gone."""
    queue = f"appraisal-netns-{os.getpid()}"
    with worker_pool(queue) as start:
        yield HostWorkers(two_hosts, queue, start)

