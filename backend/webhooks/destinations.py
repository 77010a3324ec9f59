"""Where a webhook may go: the internet, and only those internal networks the install names.

A commune's referent types the receiver's address, and the delivery list shows what each
request got back: without this guard, that is a probe of the PC's own network (the database,
Redis, /metrics on loopback, the cloud's metadata address). The check is made when the address
is saved (an IP written in it) and again at each connection, on the address the name resolved
to, and the connection goes to that very address: a name that resolves elsewhere between the
check and the connection (DNS rebinding) gains nothing. `VIGIE_WEBHOOK_INTERNAL_NETWORKS` names
the internal networks receivers may be in (the hyperviseur's, say: `["10.20.0.0/16"]`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from httpcore._backends.auto import AutoBackend

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class Destinations:
    def __init__(self, internal_networks: Iterable[str] = ()):
        self.internal = [ipaddress.ip_network(network, strict=False) for network in internal_networks]

    def permits(self, address: Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.internal):
            return True
        return address.is_global and not address.is_multicast

    def refusal(self, host: str) -> str | None:
        """Why an address written in a URL is refused, or None (a name is checked when it is resolved)."""
        if host.lower().rstrip(".") in LOOPBACK_NAMES:
            host = "127.0.0.1"
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return None
        return None if self.permits(address) else f"adresse interne refusée ({address})"

    async def resolve(self, host: str, port: int) -> str:
        """The first address of `host` Vigie may connect to; ConnectError when none is."""
        written = self.refusal(host)
        if written:
            raise httpcore.ConnectError(written)
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"nom introuvable ({host}): {exc}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in found]
        for address in addresses:
            if self.permits(address):
                return str(address)
        raise httpcore.ConnectError(f"adresse interne refusée ({host} → {', '.join(map(str, addresses))})")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, connecting only to addresses `Destinations` permits. TLS still
    names the host (SNI and certificate check): only the TCP connection takes the address."""

    def __init__(self, destinations: Destinations):
        self.destinations = destinations
        self._inner = AutoBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        address = await self.destinations.resolve(host, port)
        return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks go over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(destinations: Destinations) -> Any:
    """An httpx transport whose connections pass the guard (httpx does not take a network backend:
    it is set on its pool)."""
    transport = httpx.AsyncHTTPTransport()
    transport._pool._network_backend = GuardedBackend(destinations)  # noqa: SLF001
    return transport
