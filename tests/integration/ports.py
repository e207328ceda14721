"""Free ports on 127.0.0.1 for the servers the tests start."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def ephemeral_port_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def bindable(port: int, kinds: tuple[int, ...]) -> bool:
    sockets = []
    try:
        for kind in kinds:
            s = socket.socket(socket.AF_INET, kind)
            sockets.append(s)
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        for s in sockets:
            s.close()


def free_port(kind: int) -> int:
    """A port free for `kind` on 127.0.0.1; for the media port (SOCK_DGRAM) free for TCP too,
    since the server also listens for ICE-TCP on that number. Picked below the kernel's
    ephemeral range: a port from bind(0) is one the kernel also hands to outgoing connections
    (to PostgreSQL, Synapse, ...), and one did take a media port's TCP side between the pick and
    the server's bind. A start that still fails with "address in use" is retried with new ports."""
    kinds = (socket.SOCK_DGRAM, socket.SOCK_STREAM) if kind == socket.SOCK_DGRAM else (kind,)
    low = ephemeral_port_range()[0]
    if low > 12000:
        rng = random.SystemRandom()
        for _ in range(50):
            port = rng.randrange(10000, low)
            if bindable(port, kinds):
                return port
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if bindable(port, kinds):
            return port
    raise OSError(f"no port on 127.0.0.1 free for {kinds} found")


def free_tcp_port() -> int:
    return free_port(socket.SOCK_STREAM)


def free_udp_port() -> int:
    return free_port(socket.SOCK_DGRAM)
