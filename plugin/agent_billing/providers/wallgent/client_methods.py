"""Typed client methods of the wallgent provider, one per operation.

GENERATED from the registry by ``python -m agent_billing.codegen``: do not edit by hand.

Example:
    >>> from agent_billing.providers.wallgent.client_methods import WallgentOperations
    >>> "get_billing" in dir(WallgentOperations)
    True
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
    """The operations of the wallgent provider's synchronous client (mixed into its client class).

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> client, _ = sandbox_clients(create_app(), provider='wallgent')
        >>> type(client.call('get_billing')).__name__
        'BillingInfo'
    """

    def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None) -> BaseModel:
        raise NotImplementedError

    def get_billing(self) -> r.BillingInfo:
        """Current plan, status, period, billing method (WALLET or CARD) and saved card.

        ``GET /billing`` (read).

        Example:
            >>> client.get_billing()  # doctest: +SKIP
        """
        return typing.cast(r.BillingInfo, self.call('get_billing', {}))

    def subscribe(self, plan: Literal['STARTER', 'GROWTH'], payment_method: Literal['WALLET', 'CARD'], stripe_payment_method_id: str | None = None, *, idempotency_key: str | None = None) -> r.Subscription:
        """Subscribe to STARTER or GROWTH, paid now and monthly from the WALLET or a CARD. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/subscribe`` (charge).

        Example:
            >>> client.subscribe("STARTER", "WALLET")  # doctest: +SKIP
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
            >>> client.create_checkout("STARTER")  # doctest: +SKIP
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
            >>> client.change_plan("STARTER")  # doctest: +SKIP
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
            >>> client.cancel()  # doctest: +SKIP
        """
        return typing.cast(r.Cancellation, self.call('cancel', {}, idempotency_key=idempotency_key))

    def retry_payment(self, *, idempotency_key: str | None = None) -> r.RetriedPayment:
        """Pay a failed renewal again with the billing method. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/retry-payment`` (charge).

        Example:
            >>> client.retry_payment()  # doctest: +SKIP
        """
        return typing.cast(r.RetriedPayment, self.call('retry_payment', {}, idempotency_key=idempotency_key))

    def create_portal_session(self, *, idempotency_key: str | None = None) -> r.Url:
        """Self-service portal URL for a person (plan, invoices, card); relay it verbatim. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/portal`` (write).

        Example:
            >>> client.create_portal_session()  # doctest: +SKIP
        """
        return typing.cast(r.Url, self.call('create_portal_session', {}, idempotency_key=idempotency_key))

    def change_payment_method(self, payment_method: Literal['WALLET', 'CARD'], stripe_payment_method_id: str | None = None, *, idempotency_key: str | None = None) -> r.Ok:
        """Switch what future renewals hit: WALLET or CARD. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/change-payment-method`` (authorize).

        Example:
            >>> client.change_payment_method("WALLET")  # doctest: +SKIP
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
            >>> client.create_setup_intent()  # doctest: +SKIP
        """
        return typing.cast(r.SetupIntent, self.call('create_setup_intent', {}, idempotency_key=idempotency_key))

    def save_payment_method(self, payment_method_id: str, *, idempotency_key: str | None = None) -> r.Ok:
        """Save the card of a confirmed setup intent as the billing card. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/payment-method`` (write).

        Example:
            >>> client.save_payment_method("pm_card_visa")  # doctest: +SKIP
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
            >>> client.remove_payment_method()  # doctest: +SKIP
        """
        return typing.cast(r.Ok, self.call('remove_payment_method', {}, idempotency_key=idempotency_key))

    def list_invoices(self, *, page: int = 1, limit: int = 20) -> r.InvoicePage:
        """Billing invoices, one page at a time (page, limit).

        ``GET /billing/invoices`` (read).

        Example:
            >>> client.list_invoices(page=1)  # doctest: +SKIP
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
            >>> client.get_invoice("in_123")  # doctest: +SKIP
        """
        try:
            return typing.cast(r.Invoice, self.call('get_invoice', {"invoice_id": invoice_id}))
        except CardDataRefusedError:
            del invoice_id  # the refused digits must not stay reachable from the traceback
            raise


class AsyncWallgentOperations:
    """The operations of the wallgent provider's asynchronous client (mixed into its client class).

    Example:
        >>> import asyncio
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> _, aclient = sandbox_clients(create_app(), provider='wallgent')
        >>> type(asyncio.run(aclient.call('get_billing'))).__name__
        'BillingInfo'
    """

    async def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None) -> BaseModel:
        raise NotImplementedError

    async def get_billing(self) -> r.BillingInfo:
        """Current plan, status, period, billing method (WALLET or CARD) and saved card.

        ``GET /billing`` (read).

        Example:
            >>> await client.get_billing()  # doctest: +SKIP
        """
        return typing.cast(r.BillingInfo, await self.call('get_billing', {}))

    async def subscribe(self, plan: Literal['STARTER', 'GROWTH'], payment_method: Literal['WALLET', 'CARD'], stripe_payment_method_id: str | None = None, *, idempotency_key: str | None = None) -> r.Subscription:
        """Subscribe to STARTER or GROWTH, paid now and monthly from the WALLET or a CARD. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/subscribe`` (charge).

        Example:
            >>> await client.subscribe("STARTER", "WALLET")  # doctest: +SKIP
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
            >>> await client.create_checkout("STARTER")  # doctest: +SKIP
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
            >>> await client.change_plan("STARTER")  # doctest: +SKIP
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
            >>> await client.cancel()  # doctest: +SKIP
        """
        return typing.cast(r.Cancellation, await self.call('cancel', {}, idempotency_key=idempotency_key))

    async def retry_payment(self, *, idempotency_key: str | None = None) -> r.RetriedPayment:
        """Pay a failed renewal again with the billing method. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/retry-payment`` (charge).

        Example:
            >>> await client.retry_payment()  # doctest: +SKIP
        """
        return typing.cast(r.RetriedPayment, await self.call('retry_payment', {}, idempotency_key=idempotency_key))

    async def create_portal_session(self, *, idempotency_key: str | None = None) -> r.Url:
        """Self-service portal URL for a person (plan, invoices, card); relay it verbatim. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/portal`` (write).

        Example:
            >>> await client.create_portal_session()  # doctest: +SKIP
        """
        return typing.cast(r.Url, await self.call('create_portal_session', {}, idempotency_key=idempotency_key))

    async def change_payment_method(self, payment_method: Literal['WALLET', 'CARD'], stripe_payment_method_id: str | None = None, *, idempotency_key: str | None = None) -> r.Ok:
        """Switch what future renewals hit: WALLET or CARD. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/change-payment-method`` (authorize).

        Example:
            >>> await client.change_payment_method("WALLET")  # doctest: +SKIP
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
            >>> await client.create_setup_intent()  # doctest: +SKIP
        """
        return typing.cast(r.SetupIntent, await self.call('create_setup_intent', {}, idempotency_key=idempotency_key))

    async def save_payment_method(self, payment_method_id: str, *, idempotency_key: str | None = None) -> r.Ok:
        """Save the card of a confirmed setup intent as the billing card. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/payment-method`` (write).

        Example:
            >>> await client.save_payment_method("pm_card_visa")  # doctest: +SKIP
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
            >>> await client.remove_payment_method()  # doctest: +SKIP
        """
        return typing.cast(r.Ok, await self.call('remove_payment_method', {}, idempotency_key=idempotency_key))

    async def list_invoices(self, *, page: int = 1, limit: int = 20) -> r.InvoicePage:
        """Billing invoices, one page at a time (page, limit).

        ``GET /billing/invoices`` (read).

        Example:
            >>> await client.list_invoices(page=1)  # doctest: +SKIP
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
            >>> await client.get_invoice("in_123")  # doctest: +SKIP
        """
        try:
            return typing.cast(r.Invoice, await self.call('get_invoice', {"invoice_id": invoice_id}))
        except CardDataRefusedError:
            del invoice_id  # the refused digits must not stay reachable from the traceback
            raise
