"""Real ``mcp`` 2.x clients for the tests: over stdio to ``python -m agent_billing.mcp`` (driven from
synchronous tests), in-process, and over streamable HTTP on loopback; each in either protocol revision
(``MODES``: ``legacy`` is 2025-11-25 with ``initialize`` and a session, ``2026-07-28`` is stateless, where
the official client answers a server's ``input_required`` rounds by the same elicitation callback).

The stdio client lives on its own event loop in a thread, so one server process serves a whole test
module (starting one costs seconds; a call costs milliseconds). ``on_elicit`` decides each elicitation.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import uvicorn
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp import Client, StdioServerParameters, types

Elicit = Callable[[types.ElicitRequestParams], types.ElicitResult]
NODE_BIN = Path(__file__).resolve().parents[2] / ".ci" / "node" / "node_modules" / ".bin"  # .ci/run installs there
LEGACY, STATELESS = "legacy", "2026-07-28"
MODES = (LEGACY, STATELESS)  # pytest parameters: each revision the server serves


def content_of(result: types.CallToolResult) -> tuple[dict[str, Any], bool]:
    """(parsed JSON content, isError) of a tool result."""
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return json.loads(block.text), bool(result.is_error)


def memory_calls(server: Any, calls: list[tuple[str, dict[str, Any]]], answer: Elicit | None = None,
                 mode: str = LEGACY) -> list[tuple[dict[str, Any], bool]]:
    """Tool calls through the official client connected in-process: (content, isError) of each.

    ``server`` is a ``BillingMCPServer``; ``answer(params)`` is the client's elicitation callback (none: the
    client declares no elicitation).
    """

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert answer is not None
        return await asyncio.to_thread(answer, params)

    async def run() -> list[tuple[dict[str, Any], bool]]:
        async with Client(server.server, mode=mode, elicitation_callback=elicit if answer else None) as client:
            return [content_of(await client.call_tool(name, arguments)) for name, arguments in calls]

    return asyncio.run(run())


def server_env(base_url: str, token: str, state_dir: Path, **extra: str) -> dict[str, str]:
    """The server process's environment: the sandbox on loopback, its own state directory, nothing else of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_BILLING_", "MODELSLAB_"))}
    return {**env, "AGENT_BILLING_BASE_URL": base_url, "AGENT_BILLING_TOKEN": token,
            "AGENT_BILLING_STATE_DIR": str(state_dir), **extra}


class StdioSession:
    """One server process and one official client; ``elicitation=False`` declares no elicitation capability."""

    def __init__(self, args: list[str], env: dict[str, str], errlog: Path, *, elicitation: bool = True,
                 mode: str = LEGACY) -> None:
        self.params = StdioServerParameters(command=sys.executable, args=["-m", "agent_billing.mcp", *args], env=env)
        self.errlog, self.elicitation, self.mode = errlog, elicitation, mode
        self.on_elicit: Elicit = lambda params: types.ElicitResult(action="decline")
        self.elicitations: list[types.ElicitRequestParams] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.session: Client | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, timeout: float = 60.0) -> StdioSession:
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"the MCP server did not start: {self._error!r}; stderr: {self.errlog.read_text()}")
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _elicit(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicitations.append(params)
        return await asyncio.to_thread(self.on_elicit, params)  # it may call the sandbox synchronously

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        callback = self._elicit if self.elicitation else None
        with self.errlog.open("w") as errors:
            async with Client(stdio_client(self.params, errlog=errors), mode=self.mode, read_timeout_seconds=60,
                              elicitation_callback=callback) as session:
                self.session = session
                self._ready.set()
                await self._stop.wait()

    def run(self, make: Callable[[Client], Coroutine[Any, Any, Any]], timeout: float = 60.0) -> Any:
        assert self._loop is not None and self.session is not None
        return asyncio.run_coroutine_threadsafe(make(self.session), self._loop).result(timeout)

    def tools(self) -> dict[str, types.Tool]:
        listed = self.run(lambda session: session.list_tools())
        return {tool.name: tool for tool in listed.tools}

    def call(self, name: str, **arguments: Any) -> tuple[dict[str, Any], bool]:
        """(parsed JSON content, isError) of one tool call."""
        return content_of(self.run(lambda session: session.call_tool(name, arguments)))

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


class LoopbackHttp:
    """An ASGI app, lifespan included, served by uvicorn on 127.0.0.1 (a free port) in a thread: real HTTP.

    ``url`` is the MCP endpoint, ``http://127.0.0.1:<port>/mcp``.
    """

    def __init__(self, app: Any, timeout: float = 15.0) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._timeout = timeout

    def __enter__(self) -> LoopbackHttp:
        self._thread.start()
        deadline = time.monotonic() + self._timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(self._timeout)
        self._sock.close()


@asynccontextmanager
async def http_session(url: str, token: str | None, *, elicit: Any = None, headers: dict[str, str] | None = None,
                       mode: str = LEGACY, statuses: list[int] | None = None) -> AsyncIterator[Client]:
    """A connected official client over streamable HTTP, sending ``Authorization: Bearer token``.

    ``statuses`` collects the HTTP status of every response the client gets (the SDK reports a refusal
    as a generic error without its status).
    """
    sent = {**({"Authorization": f"Bearer {token}"} if token is not None else {}), **(headers or {})}

    async def record(response: Any) -> None:
        if statuses is not None:
            statuses.append(response.status_code)

    http = create_mcp_http_client(headers=sent)
    http.event_hooks = {**http.event_hooks, "response": [*http.event_hooks.get("response", []), record]}
    async with http, \
            Client(streamable_http_client(url, http_client=http), mode=mode, read_timeout_seconds=60,
                   elicitation_callback=elicit) as session:
        yield session



def start_http_server(args: list[str], env: dict[str, str], errlog: Path,
                      timeout: float = 60.0) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m agent_billing.mcp --http --port 0 ARGS``, its stderr to ``errlog``; (process, MCP URL)."""
    with errlog.open("wb") as errors:
        process = subprocess.Popen([sys.executable, "-m", "agent_billing.mcp", "--http", "--port", "0", *args],
                                   env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        for line in errlog.read_text().splitlines():
            if "streamable HTTP at " in line:
                return process, line.split("streamable HTTP at ")[1].split()[0]
        time.sleep(0.05)
    process.kill()
    process.wait(10)
    raise RuntimeError(f"the HTTP server did not announce its URL; stderr: {errlog.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server process started by ``start_http_server`` (bounded)."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def node_tool(name: str, what: str, min_node: tuple[int, int] = (22, 0)) -> tuple[Path, Path]:
    """(node, the npm tool ``name``) installed under ``.ci/node`` by ``.ci/run``; else skip, or fail under ``CI=true``.

    ``what`` names the tool in the reason; ``min_node`` is the Node version it needs (major, minor).
    """
    node, tool = NODE_BIN / "node", NODE_BIN / name
    problem = None
    if not (node.exists() and tool.exists()):
        problem = f"{what} is not installed in {NODE_BIN.parent.parent} (.ci/run installs it)"
    else:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
        found = tuple(int(part) for part in version.lstrip("v").split(".")[:2] if part.isdigit())
        if found < min_node:
            problem = f"{what} needs Node {'.'.join(map(str, min_node))} or later, found {version}"
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {problem}")
        pytest.skip(problem)
    return node, tool


@contextmanager
def carded_sandbox(account: str) -> Iterator[Any]:
    """A loopback sandbox (no rate limit) whose ``account`` has a default Visa card: what a charge needs."""
    from agent_billing.providers.modelslab.client import ModelsLabClient
    from agent_billing.sandbox.server import SandboxServer

    with SandboxServer(tokens=(account,), rate_limit=False) as server:
        with ModelsLabClient(base_url=server.base_url, token=account) as client:
            client.add_payment_method("pm_card_visa", make_default=True)
        yield server


def ledger(sandbox: Any, account: str) -> tuple[Decimal, int]:
    """(balance, number of credits) of ``account`` on the sandbox."""
    from agent_billing.providers.modelslab.client import ModelsLabClient

    with ModelsLabClient(base_url=sandbox.base_url, token=account) as client:
        credits = [t for t in client.get_wallet_transactions().items if t.type == "credit"]
        return client.get_wallet_balance().balance, len(credits)
