"""Typed client methods of the tenex provider, one per operation.

GENERATED from the registry and the examples beside it by ``python -m agent_billing.codegen``: do not edit by hand.

Every method's example runs against a fresh in-process sandbox, with ``client`` and ``aclient`` built
as here (both on the same sandbox; ``asyncio.run`` drives the async one):

Example:
    >>> import httpx
    >>> from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.providers.tenex.client import AsyncTenexClient, TenexClient
    >>> app = create_app()
    >>> client = TenexClient(base_url=SANDBOX_ORIGIN + '/tenex/api/v1/payments', token='tnx_sandbox',
    ...     transport=SyncASGITransport(app))
    >>> aclient = AsyncTenexClient(base_url=SANDBOX_ORIGIN + '/tenex/api/v1/payments', token='tnx_sandbox',
    ...     transport=httpx.ASGITransport(app=app))
    >>> client.get_subscription().plan
    'Team'
"""
# ruff: noqa: E501

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

import agent_billing.providers.tenex.results as r
from agent_billing.errors import CardDataRefusedError


class TenexOperations:
    """The operations of the tenex provider's synchronous client (mixed into ``TenexClient``).

    Example:
        >>> isinstance(client, TenexOperations), type(client).__name__
        (True, 'TenexClient')
    """

    def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None) -> BaseModel:
        raise NotImplementedError

    def get_subscription(self) -> r.Subscription:
        """Current subscription: plan name, status and renewal date.

        ``GET /subscriptions/current`` (read).

        Example:
            >>> client.get_subscription().plan
            'Team'
        """
        return typing.cast(r.Subscription, self.call('get_subscription', {}))

    def get_plan(self) -> r.Plan:
        """The plan: included credits per period, the soft cap (warnings) and the hard cap (new runs refused).

        ``GET /plans/current`` (read).

        Example:
            >>> client.get_plan().soft_cap
            Decimal('80000')
        """
        return typing.cast(r.Plan, self.call('get_plan', {}))

    def get_usage(self) -> r.Usage:
        """Credits used this period by the workspace against the caps, with each agent's share.

        ``GET /credits/usage`` (read).

        Example:
            >>> client.get_usage().credits_used
            Decimal('78500')
        """
        return typing.cast(r.Usage, self.call('get_usage', {}))

    def get_agent_usage(self, agent_id: str) -> r.AgentUsage:
        """One agent's credits used this period.

        ``GET /credits/usage/agents/{agent_id}`` (read).

        Example:
            >>> client.get_agent_usage("agt_research").runs
            40
        """
        try:
            return typing.cast(r.AgentUsage, self.call('get_agent_usage', {"agent_id": agent_id}))
        except CardDataRefusedError:
            del agent_id  # the refused digits must not stay reachable from the traceback
            raise

    def list_invoices(self, *, limit: int = 20, cursor: str | None = None) -> r.InvoicePage:
        """Invoices, newest first, one cursor page at a time (limit, cursor=next_cursor).

        ``GET /invoices`` (read).

        Example:
            >>> client.list_invoices(limit=4).items[0].status
            'paid'
        """
        try:
            return typing.cast(r.InvoicePage, self.call('list_invoices', {"limit": limit, "cursor": cursor}))
        except CardDataRefusedError:
            del limit, cursor  # the refused digits must not stay reachable from the traceback
            raise

    def get_invoice(self, invoice_id: str) -> r.Invoice:
        """One invoice with its status and total.

        ``GET /invoices/{invoice_id}`` (read).

        Example:
            >>> invoice_id = client.list_invoices().items[0].id
            >>> client.get_invoice(invoice_id).total
            Decimal('499.00')
        """
        try:
            return typing.cast(r.Invoice, self.call('get_invoice', {"invoice_id": invoice_id}))
        except CardDataRefusedError:
            del invoice_id  # the refused digits must not stay reachable from the traceback
            raise

    def list_ledger(self, *, limit: int = 20, cursor: str | None = None, agent_id: str | None = None) -> r.LedgerPage:
        """Credit ledger entries (grants and run debits), newest first, one cursor page at a time; agent_id filters.

        ``GET /credit-ledger`` (read).

        Example:
            >>> client.list_ledger(agent_id="agt_support").total
            40
        """
        try:
            return typing.cast(r.LedgerPage, self.call('list_ledger', {"limit": limit, "cursor": cursor, "agent_id": agent_id}))
        except CardDataRefusedError:
            del limit, cursor, agent_id  # the refused digits must not stay reachable from the traceback
            raise

    def create_portal_session(self, *, return_url: str | None = None, idempotency_key: str | None = None) -> r.PortalSession:
        """Billing-portal URL for a logged-in admin (plan, card, address); relay it verbatim. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing-portal/sessions`` (write).

        Example:
            >>> client.create_portal_session(return_url="https://app.example/billing").url[:37]
            'http://sandbox.local/tenex/portal/bps'
        """
        try:
            return typing.cast(r.PortalSession, self.call('create_portal_session', {"return_url": return_url}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del return_url  # the refused digits must not stay reachable from the traceback
            raise


class AsyncTenexOperations:
    """The operations of the tenex provider's asynchronous client (mixed into ``AsyncTenexClient``).

    Example:
        >>> isinstance(aclient, AsyncTenexOperations), type(aclient).__name__
        (True, 'AsyncTenexClient')
    """

    async def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None) -> BaseModel:
        raise NotImplementedError

    async def get_subscription(self) -> r.Subscription:
        """Current subscription: plan name, status and renewal date.

        ``GET /subscriptions/current`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.get_subscription()).plan
            'Team'
        """
        return typing.cast(r.Subscription, await self.call('get_subscription', {}))

    async def get_plan(self) -> r.Plan:
        """The plan: included credits per period, the soft cap (warnings) and the hard cap (new runs refused).

        ``GET /plans/current`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.get_plan()).soft_cap
            Decimal('80000')
        """
        return typing.cast(r.Plan, await self.call('get_plan', {}))

    async def get_usage(self) -> r.Usage:
        """Credits used this period by the workspace against the caps, with each agent's share.

        ``GET /credits/usage`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.get_usage()).credits_used
            Decimal('78500')
        """
        return typing.cast(r.Usage, await self.call('get_usage', {}))

    async def get_agent_usage(self, agent_id: str) -> r.AgentUsage:
        """One agent's credits used this period.

        ``GET /credits/usage/agents/{agent_id}`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.get_agent_usage("agt_research")).runs
            40
        """
        try:
            return typing.cast(r.AgentUsage, await self.call('get_agent_usage', {"agent_id": agent_id}))
        except CardDataRefusedError:
            del agent_id  # the refused digits must not stay reachable from the traceback
            raise

    async def list_invoices(self, *, limit: int = 20, cursor: str | None = None) -> r.InvoicePage:
        """Invoices, newest first, one cursor page at a time (limit, cursor=next_cursor).

        ``GET /invoices`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.list_invoices(limit=4)).items[0].status
            'paid'
        """
        try:
            return typing.cast(r.InvoicePage, await self.call('list_invoices', {"limit": limit, "cursor": cursor}))
        except CardDataRefusedError:
            del limit, cursor  # the refused digits must not stay reachable from the traceback
            raise

    async def get_invoice(self, invoice_id: str) -> r.Invoice:
        """One invoice with its status and total.

        ``GET /invoices/{invoice_id}`` (read).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     invoice_id = (await aclient.list_invoices()).items[0].id
            ...     return await aclient.get_invoice(invoice_id)
            >>> asyncio.run(example()).total
            Decimal('499.00')
        """
        try:
            return typing.cast(r.Invoice, await self.call('get_invoice', {"invoice_id": invoice_id}))
        except CardDataRefusedError:
            del invoice_id  # the refused digits must not stay reachable from the traceback
            raise

    async def list_ledger(self, *, limit: int = 20, cursor: str | None = None, agent_id: str | None = None) -> r.LedgerPage:
        """Credit ledger entries (grants and run debits), newest first, one cursor page at a time; agent_id filters.

        ``GET /credit-ledger`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.list_ledger(agent_id="agt_support")).total
            40
        """
        try:
            return typing.cast(r.LedgerPage, await self.call('list_ledger', {"limit": limit, "cursor": cursor, "agent_id": agent_id}))
        except CardDataRefusedError:
            del limit, cursor, agent_id  # the refused digits must not stay reachable from the traceback
            raise

    async def create_portal_session(self, *, return_url: str | None = None, idempotency_key: str | None = None) -> r.PortalSession:
        """Billing-portal URL for a logged-in admin (plan, card, address); relay it verbatim. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing-portal/sessions`` (write).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.create_portal_session(return_url="https://app.example/billing")).url[:37]
            'http://sandbox.local/tenex/portal/bps'
        """
        try:
            return typing.cast(r.PortalSession, await self.call('create_portal_session', {"return_url": return_url}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del return_url  # the refused digits must not stay reachable from the traceback
            raise
