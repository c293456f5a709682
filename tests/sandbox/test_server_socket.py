"""The loopback server's sockets have TCP_NODELAY: a kept-alive request must not wait for a delayed ACK.

A property, not a timing: the speed itself is measured in ``benchmarks/client_throughput.py``.
"""

from __future__ import annotations

import socket

import httpx

from agent_billing.sandbox import SandboxServer
from agent_billing.sandbox.server import _bind


def _nodelay(sock: socket.socket) -> bool:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_listening_socket_is_tcp_with_nodelay() -> None:
    sock = _bind("127.0.0.1", 0)
    try:
        # asyncio sets TCP_NODELAY on accepted connections only when the socket's proto is IPPROTO_TCP.
        assert sock.proto == socket.IPPROTO_TCP
        assert _nodelay(sock)
    finally:
        sock.close()


def test_accepted_connections_have_nodelay() -> None:
    with SandboxServer(tokens=("sk_sandbox_a",), rate_limit=False) as server, httpx.Client() as http:
        r = http.get(server.base_url + "/wallet/balance", headers={"Authorization": "Bearer sk_sandbox_a"})
        assert r.status_code == 200
        uvicorn_server = server._server
        assert uvicorn_server is not None
        connections = list(uvicorn_server.server_state.connections)
        assert connections, "the kept-alive connection should still be open"
        for protocol in connections:
            transport_socket = protocol.transport.get_extra_info("socket")
            assert transport_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
