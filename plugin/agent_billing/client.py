"""The neutral client core: ``SyncClient`` and ``AsyncClient``, retrying, idempotent, bounded httpx clients.

Each provider's typed client (one method per operation, generated into its package's ``client_methods.py``)
mixes its methods into these and is found through ``provider_clients``. Both share request building and
error mapping (``exchange.py``) and the retry policy (``retry.py``); they differ only in how they send and sleep.
``BillingClient``/``AsyncBillingClient`` are deprecated aliases of the default provider's typed clients.

Example:
    >>> sync_cls, async_cls = provider_clients(get_registry())
    >>> issubclass(sync_cls, SyncClient), issubclass(async_cls, AsyncClient)
    (True, True)
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import time
import typing
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from types import TracebackType
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, SecretStr
from typing_extensions import Self

from agent_billing import telemetry
from agent_billing.bounds import NOT_SENT, Exceeded, install_deadline, read_async, read_sync
from agent_billing.config import Settings
from agent_billing.conventions import Pagination
from agent_billing.errors import (
    AuthenticationError,
    BillingConnectionError,
    BillingError,
    CardDataRefusedError,
    DeadlineExceededError,
    InvalidRequestError,
    OutcomeUnknownError,
    RateLimitedError,
    ResponseTooLargeError,
    ServerError,
    UnexpectedResponseError,
)
from agent_billing.exchange import PreparedCall, interpret_with_id, prepare, unreadable, validate_args
from agent_billing.registry import Operation, Registry, get_registry
from agent_billing.retry import RETRY_STATUSES, RetryPolicy, server_wait_hint

logger = logging.getLogger("agent_billing.client")

# A result and the request id the API gave it (the header or ``meta.request_id``), for the audit trail.
_Answer = tuple[BaseModel, str | None]


class _Attempt(typing.NamedTuple):
    """One request to send, and the monotonic deadline of the whole call it belongs to."""

    request: httpx.Request
    deadline: float

_USER_AGENT = "agent-billing/0.1 (+python httpx)"


class _ClientCore:
    """What both clients share: settings, registry, plan catalogue, retry bookkeeping."""

    def __init__(
        self,
        *,
        base_url: str | None,
        token: str | SecretStr | None,
        timeout: float | None,
        retry: RetryPolicy | None,
        provider: str | None,
        settings: Settings | None,
        allow_live: bool = False,
    ) -> None:
        settings = settings or Settings()
        if base_url is not None:
            settings = settings.model_copy(update={"base_url": base_url})
        if token is not None:
            settings = settings.model_copy(
                update={"token": token if isinstance(token, SecretStr) else SecretStr(token)}
            )
        if timeout is not None:
            settings = settings.model_copy(update={"timeout": timeout})
        self.registry: Registry = get_registry(provider)
        connection = self.registry.connection
        if not settings.token_variables:
            settings = settings.model_copy(update={"token_variables": connection.token_variables})
        if settings.base_url is None:
            settings = settings.model_copy(update={"base_url": connection.default_base_url})
        self._settings = settings
        self._token = settings.require_token()
        from agent_billing.guardrails.redaction import register_credential  # echoes of the token are hidden
        register_credential(self._token.get_secret_value())
        if connection.is_live(self._token.get_secret_value()) and not (settings.allow_live or allow_live):
            raise AuthenticationError(
                f"this is a live {self.registry.provider} key, which moves real money; pass allow_live=True (or set "
                "AGENT_BILLING_ALLOW_LIVE=1) to use it on purpose"
            )
        self.retry = retry or RetryPolicy(max_retries=settings.max_retries)
        # Monotonic seconds; the deadline of every call is measured on it.
        self._clock: typing.Callable[[], float] = time.monotonic
        # Plan ids seen in the provider's plan catalogue (an operation declares ``plan_catalogue``).
        self._known_plans: frozenset[Any] | None = None

    @property
    def base_url(self) -> str:
        """The API base URL."""
        return (self._settings.base_url or self.registry.connection.default_base_url).rstrip("/")

    @property
    def settings(self) -> Settings:
        """The settings in force (timeout, response cap, lock timeout...); the token stays a ``SecretStr``."""
        return self._settings

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, token={self._token!r})"

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "timeout": httpx.Timeout(self._settings.timeout, connect=min(10.0, self._settings.timeout)),
            # Uncompressed answers: the size cap then counts what is held in memory, and no small
            # compressed body can unpack into a large one between two checks.
            "headers": {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"},
            "limits": httpx.Limits(max_connections=20, max_keepalive_connections=10),
        }

    @property
    def account_id(self) -> str:
        """A stable, non-secret name for the account this client acts on (a hash, never the token).

        Guardrail state (spend totals, approvals, pending outcomes) is keyed by it, so two accounts
        sharing one state directory never mix their limits.
        """
        material = f"{self.registry.provider}|{self.base_url}|{self._token.get_secret_value()}"
        return "acct_" + hashlib.sha256(material.encode()).hexdigest()[:20]

    def _prepare(self, name: str, args: Mapping[str, Any] | BaseModel, idempotency_key: str | None) -> PreparedCall:
        """The public path: whatever ``args`` is (a mapping or a model), it is guarded and validated."""
        from agent_billing.guardrails.card_data import refuse_card_data

        op = self.registry.get(name)
        try:
            raw = args.model_dump(mode="python", exclude_none=True) if isinstance(args, BaseModel) else dict(args)
            # Raw card data never leaves this process, whatever field it hides in.
            refuse_card_data(raw)
            return self._prepared(op, validate_args(op, raw), idempotency_key)
        except BillingError:
            raise
        except Exception as exc:  # a value no validator foresaw (a type error, an arithmetic one...)
            raise InvalidRequestError(f"invalid arguments for {name} ({type(exc).__name__}); nothing was sent",
                                      details={"errors": [{"field": "(arguments)", "message": type(exc).__name__}]},
                                      ) from None

    def _prepared(self, op: Operation, args: BaseModel, idempotency_key: str | None) -> PreparedCall:
        """Internal: ``args`` were already guarded and validated by the tool flow."""
        call = prepare(op, args, idempotency_key, self.registry.wire)
        self._check_plan(op, call.args)
        return call

    def _check_plan(self, op: Operation, args: BaseModel) -> None:
        # The plan catalogue seen on the catalogue's read lets us refuse an unknown plan before any request.
        if op.plan_field is None or self._known_plans is None:
            return
        plan = getattr(args, op.plan_field, None)
        if plan is not None and plan not in self._known_plans:
            known = ", ".join(str(p) for p in sorted(self._known_plans))
            raise InvalidRequestError(
                f"unknown {op.plan_field} {plan}: the catalogue has {known}",
                details={"errors": [{"field": op.plan_field, "message": "unknown plan id"}]},
            )

    def _after(self, call: PreparedCall, result: BaseModel) -> BaseModel:
        if call.operation.plan_catalogue is not None:
            self._known_plans = frozenset(call.operation.plan_catalogue(result))
        return result

    def _pagination(self) -> Pagination:
        """How this provider's lists page (refused for a provider that declares no cursor pages)."""
        pages = self.registry.wire.pagination
        if pages is None:
            raise InvalidRequestError(f"{self.registry.provider} declares no cursor-paged lists")
        return pages

    def _first_page(self, name: str, args: Mapping[str, Any] | BaseModel | None) -> dict[str, Any]:
        """The arguments of a cursor-paged list's first page (refused if ``name`` takes no cursor)."""
        cursor = self._pagination().cursor_arg
        if cursor not in self.registry.get(name).args.model_fields:
            raise InvalidRequestError(f"{name} is not a cursor-paged list: its arguments have no {cursor}")
        if isinstance(args, BaseModel):
            return args.model_dump(mode="python", exclude_none=True)
        return dict(args or {})

    def _next_page(self, name: str, args: dict[str, Any], page: BaseModel,
                   seen: set[str]) -> tuple[list[Any], dict[str, Any] | None]:
        """(the page's items, the next page's arguments or None at the end), by the declared ``Pagination``."""
        pages = self._pagination()
        items, cursor = getattr(page, pages.items_field, None), getattr(page, pages.next_field, None)
        if not isinstance(items, list):
            raise UnexpectedResponseError(f"{name} answered a page without a list of {pages.items_field}")
        if cursor is None:
            return items, None
        if not isinstance(cursor, str):
            raise UnexpectedResponseError(f"{name} answered a page whose {pages.next_field} is not a string")
        if cursor in seen:  # a server handing back an old cursor would otherwise loop forever
            raise UnexpectedResponseError(f"{name} repeated the cursor {cursor!r}: the pages do not end")
        seen.add(cursor)
        return items, {**args, pages.cursor_arg: cursor}

    def _request(self, call: PreparedCall) -> httpx.Request:
        headers = call.headers()
        headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        return httpx.Request(
            call.method,
            self.base_url + call.path,
            params=call.params or None,
            content=call.body,
            headers=headers,
        )

    def _next_wait(
        self, call: PreparedCall, attempt: int, waited: float, outcome: httpx.Response | Exception, deadline: float,
    ) -> float | None:
        """Seconds to wait before retrying, or None to stop and surface the outcome."""
        if isinstance(outcome, Exceeded):
            return None  # the deadline is gone, or the same answer would be as large again
        if isinstance(outcome, httpx.Response):
            if outcome.status_code not in RETRY_STATUSES:
                return None
            delay = self.retry.delay(attempt, server_wait_hint(outcome.headers))
        else:
            delay = self.retry.delay(attempt, None)
        if not self.retry.allows(attempt, waited, delay, remaining=deadline - self._clock()):
            return None
        logger.debug(
            "retrying %s %s (attempt %d) in %.2fs after %s",
            call.method, call.path, attempt, delay,
            outcome.status_code if isinstance(outcome, httpx.Response) else type(outcome).__name__,
        )
        return delay

    def _connection_error(self, call: PreparedCall, exc: Exception, maybe_sent: bool) -> BillingError:
        # httpx's message may hold the URL (never the token, which lives in a header): keep it short.
        what = f"{call.method} {call.path}: {exc.cause if isinstance(exc, Exceeded) else type(exc).__name__}"
        details = {"idempotency_key": call.idempotency_key} if call.idempotency_key else {}
        bounded = f" ({exc.detail})" if isinstance(exc, Exceeded) else ""
        if call.operation.is_mutation and maybe_sent:
            return OutcomeUnknownError(
                f"no readable answer from the billing API for {what}{bounded}; the request may have taken effect. "
                "Check the ledger before doing anything else; repeat only with the same idempotency key.",
                idempotency_key=call.idempotency_key,
                cause=exc.cause if isinstance(exc, Exceeded) else "no_response", details=details,
                status=exc.status if isinstance(exc, Exceeded) else None)
        if isinstance(exc, Exceeded) and exc.cause == "response_too_large":
            return ResponseTooLargeError(f"{what}{bounded}", status=exc.status, details=details)
        sent = "" if maybe_sent else "; nothing was sent"
        if isinstance(exc, Exceeded):
            return DeadlineExceededError(f"{what}: no complete answer within the call's {self._settings.timeout:g} s "
                                         f"(AGENT_BILLING_TIMEOUT){bounded}{sent}", details=details)
        return BillingConnectionError(f"could not reach the billing API for {what}{sent}", details=details)

    def _failed_unexpectedly(self, call: PreparedCall, exc: Exception, maybe_sent: bool) -> BillingError:
        """A failure nothing above foresaw, as a typed error that says whether the request may have gone."""
        what = f"{call.method} {call.path} failed unexpectedly ({type(exc).__name__})"
        if call.operation.is_mutation and maybe_sent:
            return OutcomeUnknownError(
                f"{what} after it was sent; it may have taken effect. Check the ledger before doing anything "
                "else; repeat only with the same idempotency key.", idempotency_key=call.idempotency_key,
                cause=type(exc).__name__,
                details={"idempotency_key": call.idempotency_key} if call.idempotency_key else {})
        if maybe_sent:
            return UnexpectedResponseError(f"{what} while reading the answer")
        return BillingConnectionError(f"{what}; nothing was sent")

    def _attempts(self, call: PreparedCall) -> Generator[_Attempt | float, httpx.Response | Exception | None, _Answer]:
        """The retry loop without I/O: yields an attempt to send (gets the response or the transport error
        back) or seconds to sleep; returns the result and its request id. Both clients drive it, so they retry alike.

        Every attempt and wait fits in one deadline (``Settings.timeout`` from the first attempt on). A mutation
        that any attempt may have delivered (no answer after sending, a 5xx, a deadline crossed while the
        answer was awaited) ends as an ``OutcomeUnknownError`` unless a later attempt got a definite answer for
        the same key. Only ``BillingError`` leaves it."""
        attempt, waited, maybe_sent = 0, 0.0, False
        deadline = self._clock() + self._settings.timeout
        try:
            while True:
                attempt += 1
                outcome = yield _Attempt(self._request(call), deadline)
                assert outcome is not None
                maybe_sent = maybe_sent or _may_have_committed(outcome)
                delay = self._next_wait(call, attempt, waited, outcome, deadline)
                if delay is None:
                    if isinstance(outcome, Exception):
                        raise self._connection_error(call, outcome, maybe_sent) from None
                    return self._finish(call, outcome, maybe_sent)
                yield delay
                waited += delay
        except BillingError:
            raise
        except Exception as exc:
            raise self._failed_unexpectedly(call, exc, maybe_sent) from None

    def _finish(self, call: PreparedCall, response: httpx.Response, maybe_sent: bool = False) -> _Answer:
        logger.debug(
            "%s %s -> %s request_id=%s", call.method, call.path, response.status_code,
            response.headers.get("X-Request-Id"),
        )
        try:
            result, request_id = interpret_with_id(call, response)
            return self._after(call, result), request_id
        except (RateLimitedError, ServerError) as exc:
            if call.operation.is_mutation and (maybe_sent or isinstance(exc, ServerError)):
                # An earlier attempt (or this 5xx) may have committed: the last answer does not say.
                raise OutcomeUnknownError(
                    f"{call.method} {call.path} ended with {exc.status} after an attempt that may have taken "
                    "effect. Check the ledger before doing anything else; repeat only with the same idempotency key.",
                    idempotency_key=call.idempotency_key, cause=exc.code, status=exc.status,
                    request_id=exc.request_id,
                    details={"idempotency_key": call.idempotency_key} if call.idempotency_key else {},
                ) from None
            if isinstance(exc, RateLimitedError) and exc.retry_after is None:
                exc.retry_after = server_wait_hint(response.headers)
            raise
        except BillingError:
            raise
        except Exception as exc:  # an answer so odd that reading it broke: unknown for a mutation
            raise unreadable(call, response, type(exc).__name__, None) from None


class SyncClient(_ClientCore):
    """A synchronous client of one provider's API: ``call`` by operation name, retries, idempotency, typed errors.

    The typed methods come from each provider's client class (each named after its provider,
    found by ``provider_clients``), which mixes its generated methods into this one; ``PROVIDER`` is its default.

    Example:
        >>> client = SyncClient(base_url="http://127.0.0.1:8787/v1", token="t")
        >>> client.registry.provider == client.PROVIDER or client.PROVIDER is None
        True
        >>> client.close()
    """

    PROVIDER: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | SecretStr | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        provider: str | None = None,
        settings: Settings | None = None,
        allow_live: bool = False,
    ) -> None:
        super().__init__(
            base_url=base_url, token=token, timeout=timeout, retry=retry, provider=provider or self.PROVIDER,
            settings=settings, allow_live=allow_live,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, **self._client_kwargs())
        if self._owns_http:
            install_deadline(self._http)  # every socket read then ends by the call's deadline

    @classmethod
    def from_env(cls, *, provider: str | None = None, **kwargs: Any) -> Self:
        """A client configured from the provider's variables and ``.env`` (see ``config.py``)."""
        provider = provider or cls.PROVIDER
        return cls(settings=Settings.from_env(provider=provider), provider=provider, **kwargs)

    def call(
        self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None
    ) -> BaseModel:
        """Call an operation by registry name (the typed methods use this).

        ``args`` may be a mapping or a model: either way it passes the card-data guard and validation
        before anything is sent. Errors are ``BillingError`` subclasses only.
        """
        try:
            prepared = self._prepare(name, args or {}, idempotency_key)
        except CardDataRefusedError as exc:
            args = None  # the refused digits must not stay reachable from the traceback's frames
            raise exc.with_traceback(None) from None
        return self._send(prepared)[0]

    def _call_validated(self, op: Operation, args: BaseModel, idempotency_key: str | None) -> _Answer:
        """Internal (tool flows): ``args`` were guarded and validated already; returns the request id too."""
        return self._send(self._prepared(op, args, idempotency_key))

    def _send(self, call: PreparedCall) -> _Answer:
        """Send a prepared call, retrying per the policy with the same idempotency key."""
        steps = self._attempts(call)
        step = next(steps)
        while True:
            outcome: httpx.Response | Exception | None = None
            if isinstance(step, _Attempt):
                started = telemetry.request_started()  # telemetry hook
                try:
                    outcome = read_sync(self._http, step.request, deadline=step.deadline,
                                        max_bytes=self._settings.max_response_bytes, clock=self._clock)
                except Exception as exc:  # any transport's failure is a failed attempt, never a crash
                    outcome = exc
                telemetry.request_ended(started, step.request, outcome, self.registry.provider, call.operation)  # hook
            else:
                time.sleep(step)
            try:
                step = steps.send(outcome)
            except StopIteration as done:
                answer: _Answer = done.value
                return answer

    def paginate(self, name: str, args: Mapping[str, Any] | BaseModel | None = None) -> Iterator[Any]:
        """Every item of the cursor-paged list ``name``, page after page to the end (the provider's declared
        ``WireConventions.pagination``: the page's next cursor is the next call's cursor argument).

        ``args`` are the first page's (``limit``, filters); each page is one ``call``, fetched when the
        items before it have been consumed. The arguments are checked when iteration starts.

        Example (a made-up provider's list, ``example_registry`` from the doctest set-up, served by a stub):
            >>> from agent_billing.registry import register_provider
            >>> register_provider("example_pages", lambda: example_registry)
            >>> def serve(request: httpx.Request) -> httpx.Response:
            ...     after = int(request.url.params.get("cursor", "0"))
            ...     more = {"next_page": str(after + 2)} if after < 4 else {}
            ...     items = [{"id": f"it_{after}"}, {"id": f"it_{after + 1}"}]
            ...     return httpx.Response(200, json={"data": {"items": items, **more}})
            >>> client = SyncClient(base_url="http://example.test/v1", token="t", provider="example_pages",
            ...                     transport=httpx.MockTransport(serve))
            >>> [item.id for item in client.paginate("list_items", {"limit": 2})]
            ['it_0', 'it_1', 'it_2', 'it_3', 'it_4', 'it_5']
            >>> client.close()
        """
        page_args: dict[str, Any] | None = self._first_page(name, args)
        seen: set[str] = set()
        while page_args is not None:
            items, page_args = self._next_page(name, page_args, self.call(name, page_args), seen)
            yield from items

    def close(self) -> None:
        """Close pooled connections (only those this client opened)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



class AsyncClient(_ClientCore):
    """Asynchronous twin of ``SyncClient``: ``await client.call(...)``.

    Example:
        >>> client = AsyncClient(base_url="http://127.0.0.1:8787/v1", token="t")
        >>> client.PROVIDER is None
        True
    """

    PROVIDER: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | SecretStr | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        provider: str | None = None,
        settings: Settings | None = None,
        allow_live: bool = False,
    ) -> None:
        super().__init__(
            base_url=base_url, token=token, timeout=timeout, retry=retry, provider=provider or self.PROVIDER,
            settings=settings, allow_live=allow_live,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, **self._client_kwargs())

    @classmethod
    def from_env(cls, *, provider: str | None = None, **kwargs: Any) -> Self:
        """A client configured from the provider's variables and ``.env`` (see ``config.py``)."""
        provider = provider or cls.PROVIDER
        return cls(settings=Settings.from_env(provider=provider), provider=provider, **kwargs)

    async def call(
        self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None
    ) -> BaseModel:
        """Call an operation by registry name; ``args`` are guarded and validated as in ``SyncClient.call``."""
        try:
            prepared = self._prepare(name, args or {}, idempotency_key)
        except CardDataRefusedError as exc:
            args = None  # the refused digits must not stay reachable from the traceback's frames
            raise exc.with_traceback(None) from None
        return (await self._send(prepared))[0]

    async def _call_validated(self, op: Operation, args: BaseModel, idempotency_key: str | None) -> _Answer:
        """Internal (tool flows): ``args`` were guarded and validated already; returns the request id too."""
        return await self._send(self._prepared(op, args, idempotency_key))

    async def _send(self, call: PreparedCall) -> _Answer:
        """Send a prepared call, retrying per the policy with the same idempotency key."""
        steps = self._attempts(call)
        step = next(steps)
        while True:
            outcome: httpx.Response | Exception | None = None
            if isinstance(step, _Attempt):
                started = telemetry.request_started()  # telemetry hook
                try:
                    outcome = await read_async(self._http, step.request, deadline=step.deadline,
                                               max_bytes=self._settings.max_response_bytes, clock=self._clock)
                except Exception as exc:  # any transport's failure is a failed attempt, never a crash
                    outcome = exc
                telemetry.request_ended(started, step.request, outcome, self.registry.provider, call.operation)  # hook
            else:
                await asyncio.sleep(step)
            try:
                step = steps.send(outcome)
            except StopIteration as done:
                answer: _Answer = done.value
                return answer

    async def paginate(self, name: str, args: Mapping[str, Any] | BaseModel | None = None) -> AsyncIterator[Any]:
        """Every item of the cursor-paged list ``name``, to the end: ``async for item in client.paginate(...)``.

        Example (a made-up provider's list, ``example_registry`` from the doctest set-up, served by a stub):
            >>> import asyncio
            >>> from agent_billing.registry import register_provider
            >>> register_provider("example_pages", lambda: example_registry)
            >>> def serve(request: httpx.Request) -> httpx.Response:
            ...     more = {} if request.url.params.get("cursor") else {"next_page": "2"}
            ...     return httpx.Response(200, json={"data": {"items": [{"id": "it"}], **more}})
            >>> client = AsyncClient(base_url="http://example.test/v1", token="t", provider="example_pages",
            ...                      transport=httpx.MockTransport(serve))
            >>> async def count() -> int:
            ...     return len([item async for item in client.paginate("list_items")])
            >>> asyncio.run(count())
            2
        """
        page_args: dict[str, Any] | None = self._first_page(name, args)
        seen: set[str] = set()
        while page_args is not None:
            items, page_args = self._next_page(name, page_args, await self.call(name, page_args), seen)
            for item in items:
                yield item

    async def aclose(self) -> None:
        """Close pooled connections (only those this client opened)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()



def _may_have_committed(outcome: httpx.Response | Exception) -> bool:
    """Whether this attempt may have reached the server and taken effect there."""
    if isinstance(outcome, httpx.Response):
        return outcome.status_code >= 500
    if isinstance(outcome, Exceeded):
        return outcome.sent
    return not isinstance(outcome, NOT_SENT)


def provider_clients(registry: Registry) -> tuple[type[SyncClient], type[AsyncClient]]:
    """A provider's typed (sync, async) client classes: those of the ``client`` module beside its generated
    methods (``Registry.typed_methods``) that mix them in; the untyped core classes for a provider without any.

    Example:
        >>> [cls.PROVIDER for cls in provider_clients(get_registry())] == [get_registry().provider] * 2
        True
    """
    if registry.typed_methods is None:
        return SyncClient, AsyncClient
    module, sync_name, async_name = registry.typed_methods
    client_module = importlib.import_module(module.rpartition(".")[0] + ".client")
    classes = [value for value in vars(client_module).values() if isinstance(value, type)]
    found = []
    for mixin in (sync_name, async_name):
        matches = [cls for cls in classes if any(
            base.__name__ == mixin and base.__module__ == module for base in cls.__mro__[1:])]
        if len(matches) != 1:
            raise LookupError(f"{client_module.__name__} must define exactly one client class mixing in {mixin}")
        found.append(matches[0])
    return found[0], found[1]


# Deprecated names (before each provider's typed client was named after it): the default provider's clients.
_DEPRECATED_ALIASES = ("BillingClient", "AsyncBillingClient")


def deprecated_alias(name: str, *, stacklevel: int = 3) -> type[SyncClient] | type[AsyncClient]:
    """The default provider's typed client behind the deprecated name ``name``, with a ``DeprecationWarning``
    naming the client to use instead (the name the default provider declares in ``Provider.clients``).

    ``stacklevel`` points the warning at the code that used the old name (3: its caller's caller).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     cls = deprecated_alias("BillingClient", stacklevel=2)
        >>> cls is provider_clients(get_registry())[0], caught[0].category.__name__
        (True, 'DeprecationWarning')
        >>> str(caught[0].message) == f"BillingClient is deprecated: use {cls.__name__} (from {cls.__module__})"
        True
    """
    import warnings

    cls = provider_clients(get_registry())[_DEPRECATED_ALIASES.index(name)]
    warnings.warn(f"{name} is deprecated: use {cls.__name__} (from {cls.__module__})", DeprecationWarning,
                  stacklevel=stacklevel)
    return cls


def __getattr__(name: str) -> Any:
    """``BillingClient``/``AsyncBillingClient``: deprecated aliases of the default provider's typed clients.

    Type checkers see them as ``Any``; import the typed client from its provider's package for static types.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", DeprecationWarning)
        ...     from agent_billing.client import BillingClient
        >>> BillingClient is provider_clients(get_registry())[0]
        True
    """
    if name in _DEPRECATED_ALIASES:
        return deprecated_alias(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
