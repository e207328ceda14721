"""Networks of a test's own: Linux network namespaces that the `netns` fixture creates (unique
names, `ip netns add`), the processes run inside them, and impairments applied per peer, all
removed by name when the test ends, failed or not.

What works on these machines (../shared/INTEROP.md): no `netem`; random loss with nftables
`numgen random` on the *input* hook (on output the sender gets EPERM instead of loss); rate
limits with `htb` + `u32` (or `tbf` on a veth end, `Namespace.cap`); delay from a userspace
relay in front of one peer (`DelayRelay`); blocked protocols with nftables. Chromium runs in a
namespace with only `lo`; Firefox gathers candidates only on the interface of a default route,
so it needs a second namespace joined by a veth pair (`Network.link`).

How a test reaches into a namespace: a network namespace belongs to a *thread*, and sockets and
child processes keep the namespace of the thread that made them. `Namespace.enter()` moves the
test's thread into the namespace until the fixture ends, so everything the test then starts
(`chorus serve`, chromedriver, requests to 127.0.0.1, a selenium session) is inside it;
`with ns.entered():` does the same for a block. Request `netns` *before* fixtures whose
teardown still talks to processes inside (the `browsers` fixture): pytest tears down in reverse
order, so they are quit while the thread is still inside, and only then does this fixture move
the thread back and delete the namespaces.

Only addresses inside the namespaces are ever used: 127.0.0.1 of each, and the veth pairs'
198.18.0.0/15 addresses (RFC 2544's benchmarking range), which exist nowhere else. Each
namespace's output hook rejects every other destination at once (counted as "outside"): a
browser's background lookups (the resolver in /etc/resolv.conf, say) fail on the spot instead of
waiting on a dead end, and nothing a test starts can send beyond its own namespaces."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import pytest

from conftest import stop_process

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
# Our nftables table in each namespace (the namespace is ours: its whole ruleset is ours too).
NFT_TABLE = "chorus_test"
# Where the veth pairs' addresses come from (RFC 2544's benchmarking range).
LINK_RANGE = "198.18.0.0/15"

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


def _run(args: list[str], *, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, input=input)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done


def missing_tools() -> list[str]:
    """What the fixture needs and this machine lacks (scripts/install-deps.sh --test installs it)."""
    missing = [tool for tool in ("ip", "nft", "tc") if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)")
    return missing


@dataclass
class Namespace:
    """One network namespace made by the fixture; `lo` is up."""

    name: str
    network: "Network" = field(repr=False)

    # MARK: running things inside

    def run(self, args: list[str], *, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        """Runs a short command inside (`ip netns exec`)."""
        return _run(["ip", "netns", "exec", self.name, *args], check=check, input=input)

    def popen(self, args: list[str], **kwargs) -> subprocess.Popen:
        """Starts a process inside; the fixture stops it by PID (SIGTERM, then SIGKILL) at the end."""
        process = subprocess.Popen(["ip", "netns", "exec", self.name, *args], **kwargs)
        self.network.processes.append(process)
        return process

    @contextmanager
    def entered(self) -> Iterator["Namespace"]:
        """This thread's new sockets and child processes are inside during the block."""
        previous = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"{NETNS_DIR}/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield self
            finally:
                _setns(previous)
        finally:
            os.close(target)
            os.close(previous)

    def enter(self) -> None:
        """Moves this thread inside until the fixture ends (see the module's docstring)."""
        self.network.enter(self)

    # MARK: impairments (each for the whole namespace or one port; see INTEROP.md)

    def nft(self, rules: str) -> None:
        """Adds rules to the namespace's input chain (`nft` syntax, one rule per line)."""
        lines = [line.strip() for line in rules.strip().splitlines() if line.strip()]
        script = "".join(f"add rule inet {NFT_TABLE} input {line}\n" for line in lines)
        self.run(["nft", "-f", "-"], input=script)

    def block(self, protocol: str, *, port: int | None = None, allow_ports: tuple[int, int] | None = None) -> None:
        """Drops `protocol` ("udp" or "tcp") packets arriving in the namespace (to `port` only,
        when given), except those from or to `allow_ports` (a low-high range: a TURN relay's).
        Both counted, so the test can see what tried and what passed: `counted("block-udp")`,
        `counted("allow-udp")`."""
        rules = []
        if allow_ports is not None:
            low, high = allow_ports
            rules += [f"{protocol} sport {low}-{high} counter accept comment \"allow-{protocol}\"",
                      f"{protocol} dport {low}-{high} counter accept comment \"allow-{protocol}\""]
        match = f"{protocol} dport {port}" if port is not None else f"meta l4proto {protocol}"
        rules.append(f"{match} counter drop comment \"block-{protocol}\"")
        self.nft("\n".join(rules))

    def loss(self, percent: float, *, port: int, protocol: str = "udp", direction: str = "dport") -> None:
        """Random loss of `percent` % of the packets to (`dport`) or from (`sport`) `port`,
        drawn per packet on the input hook."""
        threshold = int(round(percent * 100))
        self.nft(f"{protocol} {direction} {port} numgen random mod 10000 < {threshold} counter drop comment \"loss-{port}\"")

    def rate(self, kbit: int, *, port: int, device: str = "lo", protocol: str = "udp",
             direction: str = "dport", burst_kbit: int = 32) -> None:
        """Caps packets to (`dport`) or from (`sport`) `port` leaving `device` at `kbit` kbit/s
        (htb class + u32 filter on the port; everything else in an unlimited class)."""
        number = {"udp": 17, "tcp": 6}[protocol]
        if self.run(["tc", "qdisc", "show", "dev", device]).stdout.find("htb 1:") < 0:
            self.run(["tc", "qdisc", "add", "dev", device, "root", "handle", "1:", "htb", "default", "10"])
            self.run(["tc", "class", "add", "dev", device, "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit"])
        classid = f"1:{20 + len(self.network.rate_classes.setdefault(self.name, []))}"
        self.network.rate_classes[self.name].append(classid)
        self.run(["tc", "class", "add", "dev", device, "parent", "1:", "classid", classid, "htb",
                  "rate", f"{kbit}kbit", "ceil", f"{kbit}kbit", "burst", f"{burst_kbit}kbit"])
        self.run(["tc", "filter", "add", "dev", device, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                  "match", "ip", "protocol", str(number), "0xff",
                  "match", "ip", direction, str(port), "0xffff", "flowid", classid])

    def cap(self, device: str, kbit: int, *, burst_bytes: int = 16_000, latency_ms: int = 100) -> None:
        """Caps everything leaving `device` (a veth end in this namespace) at `kbit` kbit/s with a
        token bucket (`tbf`): a bottleneck link. What does not fit within `latency_ms` of queue
        is dropped, as a router's buffer would."""
        self.run(["tc", "qdisc", "replace", "dev", device, "root", "tbf", "rate", f"{kbit}kbit",
                  "burst", str(burst_bytes), "latency", f"{latency_ms}ms"])

    def uncap(self, device: str) -> None:
        """Lifts `cap` (the device's default qdisc again)."""
        self.run(["tc", "qdisc", "del", "dev", device, "root"], check=False)

    def qdisc_stats(self, device: str) -> str:
        """`tc -s qdisc show` for the device: what the bottleneck sent, dropped and held."""
        return self.run(["tc", "-s", "qdisc", "show", "dev", device], check=False).stdout

    def clear_impairments(self) -> None:
        """Removes the input rules and the qdiscs on `lo` (the namespace and its guard stay)."""
        self.run(["nft", "flush", "chain", "inet", NFT_TABLE, "input"], check=False)
        self.run(["tc", "qdisc", "del", "dev", "lo", "root"], check=False)
        self.network.rate_classes.pop(self.name, None)

    def counted(self, comment: str) -> int:
        """Packets the counted rules with that comment ("block-udp", "allow-udp", "loss-PORT")
        matched so far."""
        listing = self.run(["nft", "list", "table", "inet", NFT_TABLE], check=False).stdout
        total = 0
        for line in listing.splitlines():
            if f'comment "{comment}"' in line:
                found = re.search(r"counter packets (\d+)", line)
                total += int(found.group(1)) if found else 0
        return total



@dataclass
class Link:
    """A veth pair made by `Network.link`: its two ends' interface names and addresses."""

    device_a: str
    device_b: str
    address_a: str
    address_b: str


@dataclass
class Network:
    """The namespaces, links and processes of one test (the `netns` fixture's value)."""

    prefix: str
    namespaces: list[Namespace] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)
    rate_classes: dict[str, list[str]] = field(default_factory=dict)
    _links: int = 0
    _entered: list[int] = field(default_factory=list)  # fds of the namespaces to return to

    def namespace(self, hint: str) -> Namespace:
        """A new namespace named chorus-<hint>-<unique> with `lo` up."""
        name = f"{self.prefix}-{hint}-{uuid.uuid4().hex[:6]}"[:48]
        _run(["ip", "netns", "add", name])
        namespace = Namespace(name=name, network=self)
        self.namespaces.append(namespace)
        namespace.run(["ip", "link", "set", "lo", "up"])
        namespace.run(["nft", "-f", "-"], input=(
            f"add table inet {NFT_TABLE}\n"
            f"add chain inet {NFT_TABLE} input {{ type filter hook input priority 0; policy accept; }}\n"
            f"add chain inet {NFT_TABLE} output {{ type filter hook output priority 0; policy accept; }}\n"
            f"add rule inet {NFT_TABLE} output meta nfproto ipv4 ip daddr != {{ 127.0.0.0/8, {LINK_RANGE} }} "
            f"counter reject comment \"outside\"\n"
            f"add rule inet {NFT_TABLE} output meta nfproto ipv6 ip6 daddr != {{ ::1, fe80::/10, ff00::/8 }} "
            f"counter reject comment \"outside\"\n"))
        return namespace

    def link(self, a: Namespace, b: Namespace, *, default_route_in_a: bool = True) -> tuple[str, str]:
        """A veth pair between a and b with one /30 of 198.18.0.0/15 on it; returns (a's address,
        b's address). With `default_route_in_a`, a's default route goes over it (Firefox gathers
        ICE candidates only on the interface of a default route)."""
        index = self._links
        self._links += 1
        base = 4 * index
        address_a = f"198.18.{base // 256}.{base % 256 + 1}"
        address_b = f"198.18.{base // 256}.{base % 256 + 2}"
        tag = uuid.uuid4().hex[:6]
        end_a, end_b = f"cv{tag}a", f"cv{tag}b"  # interface names: at most 15 characters
        _run(["ip", "link", "add", end_a, "netns", a.name, "type", "veth", "peer", "name", end_b, "netns", b.name])
        a.run(["ip", "addr", "add", f"{address_a}/30", "dev", end_a])
        b.run(["ip", "addr", "add", f"{address_b}/30", "dev", end_b])
        a.run(["ip", "link", "set", end_a, "up"])
        b.run(["ip", "link", "set", end_b, "up"])
        if default_route_in_a:
            a.run(["ip", "route", "add", "default", "via", address_b, "dev", end_a])
        self.links.append(Link(device_a=end_a, device_b=end_b, address_a=address_a, address_b=address_b))
        return address_a, address_b

    def enter(self, namespace: Namespace) -> None:
        previous = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"{NETNS_DIR}/{namespace.name}", os.O_RDONLY)
        try:
            _setns(target)
        except OSError:
            os.close(previous)
            raise
        finally:
            os.close(target)
        self._entered.append(previous)

    def close(self) -> list[str]:
        """Back to where the thread was, processes stopped by PID, namespaces deleted by name;
        returns what could not be undone."""
        problems = []
        while self._entered:
            fd = self._entered.pop()
            try:
                _setns(fd)
            except OSError as error:
                problems.append(f"leaving the namespace: {error}")
            finally:
                os.close(fd)
        for process in reversed(self.processes):
            stop_process(process)
        for namespace in reversed(self.namespaces):
            # Deleting the name frees the namespace (and its veth ends, rules and qdiscs) once
            # no process is left inside; a straggler the test started some other way is killed.
            for pid in _pids_in(namespace.name):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            done = _run(["ip", "netns", "del", namespace.name], check=False)
            if done.returncode != 0:
                problems.append(f"ip netns del {namespace.name}: {done.stderr.strip()}")
        leftover = set(os.listdir(NETNS_DIR)) if os.path.isdir(NETNS_DIR) else set()
        problems += [f"namespace {n.name} still exists" for n in self.namespaces if n.name in leftover]
        return problems


# The integration suite runs twice (SQLite, then PostgreSQL). A server in a namespace of its own
# cannot reach the test PostgreSQL on the host's loopback, so tests that start one use SQLite
# (`sqlite_database`) and run in the first pass only: the second would repeat them exactly.
skip_on_postgres_pass = pytest.mark.skipif(
    os.environ.get("CHORUS_INTEGRATION_DATABASE", "sqlite") == "postgres",
    reason="its server runs in a namespace of its own, on SQLite: once per run, in the SQLite pass")


def sqlite_database(directory) -> str:
    """A --database for a server inside a namespace (see skip_on_postgres_pass)."""
    return f"sqlite://{directory / 'chorus-netns.db'}"


def _pids_in(name: str) -> list[int]:
    done = _run(["ip", "netns", "pids", name], check=False)
    return [int(pid) for pid in done.stdout.split() if pid.isdigit() and int(pid) != os.getpid()]


@pytest.fixture
def netns(request: pytest.FixtureRequest) -> Iterator[Network]:
    """A Network for this test (see the module's docstring); skipped (or failed under
    CHORUS_REQUIRE_BROWSER) without ip/nft/tc or root. Everything is removed afterwards."""
    missing = missing_tools()
    if missing:
        reason = f"network namespaces need {', '.join(missing)} (scripts/install-deps.sh --test, as root)"
        if os.environ.get("CHORUS_REQUIRE_BROWSER"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    if threading.current_thread() is not threading.main_thread():
        pytest.fail("the netns fixture moves the test's thread: run the test on the main thread", pytrace=False)
    network = Network(prefix=f"chorus-{os.getpid()}")
    try:
        yield network
    finally:
        problems = network.close()
        assert not problems, f"network namespaces not cleaned up: {problems}"


class PortForwarder:
    """A TCP relay: a listener on 127.0.0.1 inside one namespace (the one the calling thread is
    in when it is made) to an address reachable from there, e.g. Chorus's HTTP port behind a
    veth. A page must come from 127.0.0.1 to be a secure context (getUserMedia needs one), and
    the browser's own namespace has only its veth address otherwise."""

    def __init__(self, target: tuple[str, int]) -> None:
        import socket

        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()  # inherits the namespace of the thread that made it

    def _accept(self) -> None:
        import socket

        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        import socket

        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.closed = True
        self.listener.close()


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 20) -> None:
    """Waits until something listens on host:port (from the calling thread's namespace)."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {host}:{port} within {timeout}s")


class DelayRelay:
    """A UDP relay in front of one peer, the delay that `netem` would give (INTEROP.md: no netem
    here): it listens on 127.0.0.1 of the namespace the calling thread is in (`port`) and passes
    each datagram on to `target` from a socket of its own per peer address, holding what comes
    back from the target `down_ms` and what goes to it `up_ms`. The peer is pointed at `port`
    (whip-client.js's `udpPort` rewrites the answer's candidate); loss comes from nftables on
    the relay's port (`Namespace.loss(port=relay.port, direction="sport")`: the datagrams it
    sends toward the peer), so the kernel counts it."""

    def __init__(self, target: tuple[str, int], *, down_ms: float = 0, up_ms: float = 0) -> None:
        import selectors
        import socket

        self.target = target
        self.down = down_ms / 1000
        self.up = up_ms / 1000
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.upstream: dict[tuple[str, int], socket.socket] = {}
        self.forwarded = {"up": 0, "down": 0}
        self.closed = False
        # Sockets are made here, in the caller's namespace; the thread only uses them.
        self._spares = [self._socket() for _ in range(4)]
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"delay-relay-{self.port}")
        self.thread.start()

    def _socket(self):
        import socket

        upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        upstream.bind(("127.0.0.1", 0))
        upstream.setblocking(False)
        return upstream

    def _run(self) -> None:
        import heapq
        import selectors

        due: list[tuple[float, int, object, bytes, tuple[str, int]]] = []
        order = 0
        while not self.closed:
            timeout = max(0.0, due[0][0] - time.monotonic()) if due else 0.05
            try:
                events = self.selector.select(min(timeout, 0.05))
            except (OSError, ValueError):
                return
            now = time.monotonic()
            for key, _ in events:
                try:
                    data, source = key.fileobj.recvfrom(65536)
                except OSError:
                    continue
                if key.data is None:  # from the peer, toward the target
                    upstream = self.upstream.get(source)
                    if upstream is None:
                        if not self._spares:
                            continue  # more peer addresses than sockets made up front
                        upstream = self._spares.pop()
                        self.upstream[source] = upstream
                        self.selector.register(upstream, selectors.EVENT_READ, source)
                    heapq.heappush(due, (now + self.up, order, upstream, data, self.target))
                    self.forwarded["up"] += 1
                else:  # from the target, back to the peer it belongs to
                    heapq.heappush(due, (now + self.down, order, self.listener, data, key.data))
                    self.forwarded["down"] += 1
                order += 1
            now = time.monotonic()
            while due and due[0][0] <= now:
                _, _, sock, data, destination = heapq.heappop(due)
                try:
                    sock.sendto(data, destination)
                except OSError:
                    pass  # dropped by a rule of the test, or the peer is gone

    def close(self) -> None:
        self.closed = True
        self.thread.join(timeout=2)
        for sock in [self.listener, *self.upstream.values(), *self._spares]:
            sock.close()
        self.selector.close()

