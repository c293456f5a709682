"""Typed client methods of the wallgent provider, one per operation.

GENERATED from the registry and the examples beside it by ``python -m agent_billing.codegen``: do not edit by hand.

Every method's example runs against a fresh in-process sandbox, with ``client`` and ``aclient`` built
as here (both on the same sandbox; ``asyncio.run`` drives the async one):

Example:
    >>> import httpx
    >>> from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.providers.wallgent.client import AsyncWallgentClient, WallgentClient
    >>> app = create_app()
    >>> client = WallgentClient(base_url=SANDBOX_ORIGIN + '/wallgent/v1', token='wg_test_sandbox',
    ...     transport=SyncASGITransport(app))
    >>> aclient = AsyncWallgentClient(base_url=SANDBOX_ORIGIN + '/wallgent/v1', token='wg_test_sandbox',
    ...     transport=httpx.ASGITransport(app=app))
    >>> client.get_billing().plan
    'FREE'
"""
# ruff: noqa: E501

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

import agent_billing.providers.wallgent.results as r
from agent_billing.errors import CardDataRefusedError


class WallgentOperations:
    """The operations of the wallgent provider's synchronous client (mixed into ``WallgentClient``).

    Example:
        >>> isinstance(client, WallgentOperations), type(client).__name__
        (True, 'WallgentClient')
    """

    def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None) -> BaseModel:
        raise NotImplementedError

    def get_billing(self) -> r.BillingInfo:
        """Current plan, status, period, billing method (WALLET or CARD) and saved card.

        ``GET /billing`` (read).

        Example:
            >>> client.get_billing().plan
            'FREE'
        """
        return typing.cast(r.BillingInfo, self.call('get_billing', {}))

    def subscribe(self, plan: Literal['STARTER', 'GROWTH'], payment_method: Literal['WALLET', 'CARD'], stripe_payment_method_id: str | None = None, *, idempotency_key: str | None = None) -> r.Subscription:
        """Subscribe to STARTER or GROWTH, paid now and monthly from the WALLET or a CARD. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/subscribe`` (charge).

        Example:
            >>> client.subscribe("STARTER", "WALLET").invoice_id[:4]
            'inv_'
        """
        try:
            return typing.cast(r.Subscription, self.call('subscribe', {"plan": plan, "payment_method": payment_method, "stripe_payment_method_id": stripe_payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del plan, payment_method, stripe_payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    def create_checkout(self, plan: Literal['STARTER', 'GROWTH'], *, idempotency_key: str | None = None) -> r.Url:
        """Hosted checkout URL for a person to subscribe; relay it verbatim. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/checkout`` (write).

        Example:
            >>> client.create_checkout("STARTER").url[:39]
            'http://sandbox.local/wallgent/checkout/'
        """
        try:
            return typing.cast(r.Url, self.call('create_checkout', {"plan": plan}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del plan  # the refused digits must not stay reachable from the traceback
            raise

    def change_plan(self, plan: Literal['STARTER', 'GROWTH'], *, idempotency_key: str | None = None) -> r.PlanChange:
        """Upgrade or downgrade now; an upgrade charges the prorated difference. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/change-plan`` (charge).

        Example:
            >>> _ = client.subscribe("STARTER", "WALLET")
            >>> client.change_plan("GROWTH").proration_charge
            Decimal('150.00')
        """
        try:
            return typing.cast(r.PlanChange, self.call('change_plan', {"plan": plan}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del plan  # the refused digits must not stay reachable from the traceback
            raise

    def cancel(self, *, idempotency_key: str | None = None) -> r.Cancellation:
        """Cancel at the end of the current period. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/cancel`` (destructive).

        Example:
            >>> _ = client.subscribe("STARTER", "WALLET")
            >>> client.cancel().cancel_at_period_end
            True
        """
        return typing.cast(r.Cancellation, self.call('cancel', {}, idempotency_key=idempotency_key))

    def retry_payment(self, *, idempotency_key: str | None = None) -> r.RetriedPayment:
        """Pay a failed renewal again with the billing method. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/retry-payment`` (charge).

        Example:
            >>> _ = client.subscribe("STARTER", "WALLET")
            >>> client.retry_payment()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            agent_billing.errors.ConflictError: There is no failed payment to retry. ...
        """
        return typing.cast(r.RetriedPayment, self.call('retry_payment', {}, idempotency_key=idempotency_key))

    def create_portal_session(self, *, idempotency_key: str | None = None) -> r.Url:
        """Self-service portal URL for a person (plan, invoices, card); relay it verbatim. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/portal`` (write).

        Example:
            >>> client.create_portal_session().url[:37]
            'http://sandbox.local/wallgent/portal/'
        """
        return typing.cast(r.Url, self.call('create_portal_session', {}, idempotency_key=idempotency_key))

    def change_payment_method(self, payment_method: Literal['WALLET', 'CARD'], stripe_payment_method_id: str | None = None, *, idempotency_key: str | None = None) -> r.Ok:
        """Switch what future renewals hit: WALLET or CARD. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/change-payment-method`` (authorize).

        Example:
            >>> _ = client.subscribe("STARTER", "WALLET")
            >>> _ = client.save_payment_method("pm_card_visa")
            >>> client.change_payment_method("CARD").ok
            True
        """
        try:
            return typing.cast(r.Ok, self.call('change_payment_method', {"payment_method": payment_method, "stripe_payment_method_id": stripe_payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method, stripe_payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    def create_setup_intent(self, *, idempotency_key: str | None = None) -> r.SetupIntent:
        """Start saving a card without charging; trusted code or a person confirms it with Stripe. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/setup-intent`` (write).

        Example:
            >>> client.create_setup_intent().client_secret[:5]
            'seti_'
        """
        return typing.cast(r.SetupIntent, self.call('create_setup_intent', {}, idempotency_key=idempotency_key))

    def save_payment_method(self, payment_method_id: str, *, idempotency_key: str | None = None) -> r.Ok:
        """Save the card of a confirmed setup intent as the billing card (CARD renewals hit it). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/payment-method`` (authorize).

        Example:
            >>> client.save_payment_method("pm_card_visa").card_details.last4
            '4242'
        """
        try:
            return typing.cast(r.Ok, self.call('save_payment_method', {"payment_method_id": payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    def remove_payment_method(self, *, idempotency_key: str | None = None) -> r.Ok:
        """Remove the saved billing card. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``DELETE /billing/payment-method`` (destructive).

        Example:
            >>> _ = client.save_payment_method("pm_card_visa")
            >>> client.remove_payment_method().ok
            True
        """
        return typing.cast(r.Ok, self.call('remove_payment_method', {}, idempotency_key=idempotency_key))

    def list_invoices(self, *, page: int = 1, limit: int = 20) -> r.InvoicePage:
        """Billing invoices, one page at a time (page, limit).

        ``GET /billing/invoices`` (read).

        Example:
            >>> _ = client.subscribe("STARTER", "WALLET")
            >>> client.list_invoices(page=1, limit=20).total
            1
        """
        try:
            return typing.cast(r.InvoicePage, self.call('list_invoices', {"page": page, "limit": limit}))
        except CardDataRefusedError:
            del page, limit  # the refused digits must not stay reachable from the traceback
            raise

    def get_invoice(self, invoice_id: str) -> r.Invoice:
        """One invoice with its lines and payment status.

        ``GET /billing/invoices/{invoice_id}`` (read).

        Example:
            >>> invoice_id = client.subscribe("STARTER", "WALLET").invoice_id
            >>> client.get_invoice(invoice_id).amount
            Decimal('99.00')
        """
        try:
            return typing.cast(r.Invoice, self.call('get_invoice', {"invoice_id": invoice_id}))
        except CardDataRefusedError:
            del invoice_id  # the refused digits must not stay reachable from the traceback
            raise


class AsyncWallgentOperations:
    """The operations of the wallgent provider's asynchronous client (mixed into ``AsyncWallgentClient``).

    Example:
        >>> isinstance(aclient, AsyncWallgentOperations), type(aclient).__name__
        (True, 'AsyncWallgentClient')
    """

    async def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None) -> BaseModel:
        raise NotImplementedError

    async def get_billing(self) -> r.BillingInfo:
        """Current plan, status, period, billing method (WALLET or CARD) and saved card.

        ``GET /billing`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.get_billing()).plan
            'FREE'
        """
        return typing.cast(r.BillingInfo, await self.call('get_billing', {}))

    async def subscribe(self, plan: Literal['STARTER', 'GROWTH'], payment_method: Literal['WALLET', 'CARD'], stripe_payment_method_id: str | None = None, *, idempotency_key: str | None = None) -> r.Subscription:
        """Subscribe to STARTER or GROWTH, paid now and monthly from the WALLET or a CARD. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/subscribe`` (charge).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.subscribe("STARTER", "WALLET")).invoice_id[:4]
            'inv_'
        """
        try:
            return typing.cast(r.Subscription, await self.call('subscribe', {"plan": plan, "payment_method": payment_method, "stripe_payment_method_id": stripe_payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del plan, payment_method, stripe_payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    async def create_checkout(self, plan: Literal['STARTER', 'GROWTH'], *, idempotency_key: str | None = None) -> r.Url:
        """Hosted checkout URL for a person to subscribe; relay it verbatim. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/checkout`` (write).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.create_checkout("STARTER")).url[:39]
            'http://sandbox.local/wallgent/checkout/'
        """
        try:
            return typing.cast(r.Url, await self.call('create_checkout', {"plan": plan}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del plan  # the refused digits must not stay reachable from the traceback
            raise

    async def change_plan(self, plan: Literal['STARTER', 'GROWTH'], *, idempotency_key: str | None = None) -> r.PlanChange:
        """Upgrade or downgrade now; an upgrade charges the prorated difference. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/change-plan`` (charge).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.subscribe("STARTER", "WALLET")
            ...     return await aclient.change_plan("GROWTH")
            >>> asyncio.run(example()).proration_charge
            Decimal('150.00')
        """
        try:
            return typing.cast(r.PlanChange, await self.call('change_plan', {"plan": plan}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del plan  # the refused digits must not stay reachable from the traceback
            raise

    async def cancel(self, *, idempotency_key: str | None = None) -> r.Cancellation:
        """Cancel at the end of the current period. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/cancel`` (destructive).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.subscribe("STARTER", "WALLET")
            ...     return await aclient.cancel()
            >>> asyncio.run(example()).cancel_at_period_end
            True
        """
        return typing.cast(r.Cancellation, await self.call('cancel', {}, idempotency_key=idempotency_key))

    async def retry_payment(self, *, idempotency_key: str | None = None) -> r.RetriedPayment:
        """Pay a failed renewal again with the billing method. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/retry-payment`` (charge).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.subscribe("STARTER", "WALLET")
            ...     return await aclient.retry_payment()
            >>> asyncio.run(example())  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            agent_billing.errors.ConflictError: There is no failed payment to retry. ...
        """
        return typing.cast(r.RetriedPayment, await self.call('retry_payment', {}, idempotency_key=idempotency_key))

    async def create_portal_session(self, *, idempotency_key: str | None = None) -> r.Url:
        """Self-service portal URL for a person (plan, invoices, card); relay it verbatim. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/portal`` (write).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.create_portal_session()).url[:37]
            'http://sandbox.local/wallgent/portal/'
        """
        return typing.cast(r.Url, await self.call('create_portal_session', {}, idempotency_key=idempotency_key))

    async def change_payment_method(self, payment_method: Literal['WALLET', 'CARD'], stripe_payment_method_id: str | None = None, *, idempotency_key: str | None = None) -> r.Ok:
        """Switch what future renewals hit: WALLET or CARD. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/change-payment-method`` (authorize).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.subscribe("STARTER", "WALLET")
            ...     await aclient.save_payment_method("pm_card_visa")
            ...     return await aclient.change_payment_method("CARD")
            >>> asyncio.run(example()).ok
            True
        """
        try:
            return typing.cast(r.Ok, await self.call('change_payment_method', {"payment_method": payment_method, "stripe_payment_method_id": stripe_payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method, stripe_payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    async def create_setup_intent(self, *, idempotency_key: str | None = None) -> r.SetupIntent:
        """Start saving a card without charging; trusted code or a person confirms it with Stripe. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/setup-intent`` (write).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.create_setup_intent()).client_secret[:5]
            'seti_'
        """
        return typing.cast(r.SetupIntent, await self.call('create_setup_intent', {}, idempotency_key=idempotency_key))

    async def save_payment_method(self, payment_method_id: str, *, idempotency_key: str | None = None) -> r.Ok:
        """Save the card of a confirmed setup intent as the billing card (CARD renewals hit it). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/payment-method`` (authorize).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.save_payment_method("pm_card_visa")).card_details.last4
            '4242'
        """
        try:
            return typing.cast(r.Ok, await self.call('save_payment_method', {"payment_method_id": payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    async def remove_payment_method(self, *, idempotency_key: str | None = None) -> r.Ok:
        """Remove the saved billing card. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``DELETE /billing/payment-method`` (destructive).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.save_payment_method("pm_card_visa")
            ...     return await aclient.remove_payment_method()
            >>> asyncio.run(example()).ok
            True
        """
        return typing.cast(r.Ok, await self.call('remove_payment_method', {}, idempotency_key=idempotency_key))

    async def list_invoices(self, *, page: int = 1, limit: int = 20) -> r.InvoicePage:
        """Billing invoices, one page at a time (page, limit).

        ``GET /billing/invoices`` (read).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.subscribe("STARTER", "WALLET")
            ...     return await aclient.list_invoices(page=1, limit=20)
            >>> asyncio.run(example()).total
            1
        """
        try:
            return typing.cast(r.InvoicePage, await self.call('list_invoices', {"page": page, "limit": limit}))
        except CardDataRefusedError:
            del page, limit  # the refused digits must not stay reachable from the traceback
            raise

    async def get_invoice(self, invoice_id: str) -> r.Invoice:
        """One invoice with its lines and payment status.

        ``GET /billing/invoices/{invoice_id}`` (read).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     invoice_id = (await aclient.subscribe("STARTER", "WALLET")).invoice_id
            ...     return await aclient.get_invoice(invoice_id)
            >>> asyncio.run(example()).amount
            Decimal('99.00')
        """
        try:
            return typing.cast(r.Invoice, await self.call('get_invoice', {"invoice_id": invoice_id}))
        except CardDataRefusedError:
            del invoice_id  # the refused digits must not stay reachable from the traceback
            raise
