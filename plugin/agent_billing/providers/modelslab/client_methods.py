"""Typed client methods of the modelslab provider, one per operation.

GENERATED from the registry and the examples beside it by ``python -m agent_billing.codegen``: do not edit by hand.

Every method's example runs against a fresh in-process sandbox, with ``client`` and ``aclient`` built
as here (both on the same sandbox; ``asyncio.run`` drives the async one):

Example:
    >>> import httpx
    >>> from agent_billing.inprocess import SANDBOX_ORIGIN, SyncASGITransport
    >>> from agent_billing.sandbox import create_app
    >>> from agent_billing.providers.modelslab.client import AsyncModelsLabClient, ModelsLabClient
    >>> app = create_app()
    >>> client = ModelsLabClient(base_url=SANDBOX_ORIGIN + '/api/agents/v1', token='sk_sandbox_demo',
    ...     transport=SyncASGITransport(app))
    >>> aclient = AsyncModelsLabClient(base_url=SANDBOX_ORIGIN + '/api/agents/v1', token='sk_sandbox_demo',
    ...     transport=httpx.ASGITransport(app=app))
    >>> client.get_billing_overview().wallet_balance
    Decimal('0.00')
"""
# ruff: noqa: E501

from __future__ import annotations

import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

import agent_billing.providers.modelslab.results as r
from agent_billing.errors import CardDataRefusedError


class ModelsLabOperations:
    """The operations of the modelslab provider's synchronous client (mixed into ``ModelsLabClient``).

    Example:
        >>> isinstance(client, ModelsLabOperations), type(client).__name__
        (True, 'ModelsLabClient')
    """

    def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None) -> BaseModel:
        raise NotImplementedError

    def get_billing_overview(self) -> r.BillingOverview:
        """Balance, cards, subscriptions, invoices.

        ``GET /billing/overview`` (read).

        Example:
            >>> client.get_billing_overview().wallet_balance
            Decimal('0.00')
        """
        return typing.cast(r.BillingOverview, self.call('get_billing_overview', {}))

    def get_stripe_config(self) -> r.StripeConfig:
        """Publishable key, for trusted code only.

        ``GET /billing/stripe-config`` (read).

        Example:
            >>> client.get_stripe_config().publishable_key[:8]
            'pk_test_'
        """
        return typing.cast(r.StripeConfig, self.call('get_stripe_config', {}))

    def get_billing_info(self) -> r.BillingInfo:
        """Name, email, address, tax id.

        ``GET /billing/info`` (read).

        Example:
            >>> client.get_billing_info().name is None
            True
        """
        return typing.cast(r.BillingInfo, self.call('get_billing_info', {}))

    def update_billing_info(self, *, name: str | None = None, email: str | None = None, tax_id: str | None = None, tax_id_type: str | None = None, address_line1: str | None = None, address_line2: str | None = None, address_city: str | None = None, address_state: str | None = None, address_postal_code: str | None = None, address_country: str | None = None, idempotency_key: str | None = None) -> r.BillingInfo:
        """Change the fields given; others kept. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /billing/info`` (write).

        Example:
            >>> client.update_billing_info(name="Acme Corp").updated_fields
            ['name']
        """
        try:
            return typing.cast(r.BillingInfo, self.call('update_billing_info', {"name": name, "email": email, "tax_id": tax_id, "tax_id_type": tax_id_type, "address_line1": address_line1, "address_line2": address_line2, "address_city": address_city, "address_state": address_state, "address_postal_code": address_postal_code, "address_country": address_country}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del name, email, tax_id, tax_id_type, address_line1, address_line2, address_city, address_state, address_postal_code, address_country  # the refused digits must not stay reachable from the traceback
            raise

    def list_payment_methods(self) -> r.PaymentMethodList:
        """Saved cards.

        ``GET /billing/payment-methods`` (read).

        Example:
            >>> client.list_payment_methods().count
            0
        """
        return typing.cast(r.PaymentMethodList, self.call('list_payment_methods', {}))

    def add_payment_method(self, payment_method_id: str, make_default: bool = True, *, idempotency_key: str | None = None) -> r.PaymentMethodResult:
        """Attach a pm_ id. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/payment-methods`` (authorize).

        Example:
            >>> client.add_payment_method("pm_card_visa").payment_method.last4
            '4242'
        """
        try:
            return typing.cast(r.PaymentMethodResult, self.call('add_payment_method', {"payment_method_id": payment_method_id, "make_default": make_default}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method_id, make_default  # the refused digits must not stay reachable from the traceback
            raise

    def set_default_payment_method(self, payment_method_id: str, *, idempotency_key: str | None = None) -> r.PaymentMethodResult:
        """Make a card the default. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /billing/payment-methods/{payment_method_id}/default`` (authorize).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> _ = client.add_payment_method("pm_card_mastercard", make_default=False)
            >>> client.set_default_payment_method("pm_card_mastercard").payment_method.is_default
            True
        """
        try:
            return typing.cast(r.PaymentMethodResult, self.call('set_default_payment_method', {"payment_method_id": payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    def remove_payment_method(self, payment_method_id: str, *, idempotency_key: str | None = None) -> r.PaymentMethodResult:
        """Detach a card. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``DELETE /billing/payment-methods/{payment_method_id}`` (destructive).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> client.remove_payment_method("pm_card_visa").removed
            True
        """
        try:
            return typing.cast(r.PaymentMethodResult, self.call('remove_payment_method', {"payment_method_id": payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    def create_setup_intent(self, *, idempotency_key: str | None = None) -> r.SetupIntent:
        """Save a card without charging. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/setup-intent`` (write).

        Example:
            >>> client.create_setup_intent().status
            'requires_payment_method'
        """
        return typing.cast(r.SetupIntent, self.call('create_setup_intent', {}, idempotency_key=idempotency_key))

    def list_invoices(self) -> r.InvoiceList:
        """All invoices.

        ``GET /billing/invoices`` (read).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> invoice_id = client.fund_wallet(Decimal("25.00")).invoice_id
            >>> client.list_invoices().invoices[0].status
            'paid'
        """
        return typing.cast(r.InvoiceList, self.call('list_invoices', {}))

    def get_invoice(self, invoice_id: str) -> r.Invoice:
        """One invoice.

        ``GET /billing/invoices/{invoice_id}`` (read).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> invoice_id = client.fund_wallet(Decimal("25.00")).invoice_id
            >>> client.get_invoice(invoice_id).amount
            Decimal('25.00')
        """
        try:
            return typing.cast(r.Invoice, self.call('get_invoice', {"invoice_id": invoice_id}))
        except CardDataRefusedError:
            del invoice_id  # the refused digits must not stay reachable from the traceback
            raise

    def get_invoice_pdf(self, invoice_id: str) -> r.InvoicePdf:
        """PDF and receipt links.

        ``GET /billing/invoices/{invoice_id}/pdf`` (read).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> invoice_id = client.fund_wallet(Decimal("25.00")).invoice_id
            >>> client.get_invoice_pdf(invoice_id).number
            'SBX-000001'
        """
        try:
            return typing.cast(r.InvoicePdf, self.call('get_invoice_pdf', {"invoice_id": invoice_id}))
        except CardDataRefusedError:
            del invoice_id  # the refused digits must not stay reachable from the traceback
            raise

    def get_wallet_balance(self) -> r.WalletBalance:
        """Current balance.

        ``GET /wallet/balance`` (read).

        Example:
            >>> client.get_wallet_balance().balance
            Decimal('0.00')
        """
        return typing.cast(r.WalletBalance, self.call('get_wallet_balance', {}))

    def get_wallet_transactions(self, *, type: Literal['credit', 'debit'] | None = None, limit: int = 50, offset: int = 0) -> r.WalletTransactions:
        """Newest first.

        ``GET /wallet/transactions`` (read).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> invoice_id = client.fund_wallet(Decimal("25.00")).invoice_id
            >>> client.get_wallet_transactions(type="credit", limit=10).items[0].usecase
            'wallet_funding'
        """
        try:
            return typing.cast(r.WalletTransactions, self.call('get_wallet_transactions', {"type": type, "limit": limit, "offset": offset}))
        except CardDataRefusedError:
            del type, limit, offset  # the refused digits must not stay reachable from the traceback
            raise

    def fund_wallet(self, amount: Decimal | int | str, payment_method_id: str | None = None, *, idempotency_key: str | None = None) -> r.Charge:
        """Charge a saved card into the wallet. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /wallet/fund`` (charge).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> client.fund_wallet(Decimal("25.00")).amount
            Decimal('25.00')
        """
        try:
            return typing.cast(r.Charge, self.call('fund_wallet', {"amount": amount, "payment_method_id": payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del amount, payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    def enable_auto_funding(self, auto_charge_amount: Decimal | int | str, charge_threshold: Decimal | int | str, *, idempotency_key: str | None = None) -> r.AutoFunding:
        """Recharge when low (future charges). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /wallet/auto-funding`` (authorize).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> client.enable_auto_funding(Decimal("25.00"), Decimal("5.00")).enabled
            True
        """
        try:
            return typing.cast(r.AutoFunding, self.call('enable_auto_funding', {"auto_charge_amount": auto_charge_amount, "charge_threshold": charge_threshold}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del auto_charge_amount, charge_threshold  # the refused digits must not stay reachable from the traceback
            raise

    def disable_auto_funding(self, *, idempotency_key: str | None = None) -> r.AutoFunding:
        """Stop recharges. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``DELETE /wallet/auto-funding`` (destructive).

        Example:
            >>> client.disable_auto_funding().enabled
            False
        """
        return typing.cast(r.AutoFunding, self.call('disable_auto_funding', {}, idempotency_key=idempotency_key))

    def withdraw(self, amount: Decimal | int | str, *, idempotency_key: str | None = None) -> r.Withdrawal:
        """Pay out (reseller accounts only). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /wallet/withdraw`` (payout).

        Example:
            >>> client.withdraw(Decimal("10.00"))  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            agent_billing.errors.PermissionDeniedError: Withdrawals are available to reseller accounts only. ...
        """
        try:
            return typing.cast(r.Withdrawal, self.call('withdraw', {"amount": amount}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del amount  # the refused digits must not stay reachable from the traceback
            raise

    def get_payment_status(self, payment_intent_id: str) -> r.PaymentStatus:
        """Of a card payment.

        ``GET /payments/{payment_intent_id}/status`` (read).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> payment_intent_id = client.fund_wallet(Decimal("25.00")).payment.payment_intent_id
            >>> client.get_payment_status(payment_intent_id).status
            'succeeded'
        """
        try:
            return typing.cast(r.PaymentStatus, self.call('get_payment_status', {"payment_intent_id": payment_intent_id}))
        except CardDataRefusedError:
            del payment_intent_id  # the refused digits must not stay reachable from the traceback
            raise

    def validate_coupon(self, coupon_code: str, purchase_amount: Decimal | int | str | None = None) -> r.CouponValidation:
        """What a coupon gives.

        ``GET /wallet/coupons/validate`` (read).

        Example:
            >>> client.validate_coupon("WELCOME50").credit_amount
            Decimal('5.00')
        """
        try:
            return typing.cast(r.CouponValidation, self.call('validate_coupon', {"coupon_code": coupon_code, "purchase_amount": purchase_amount}))
        except CardDataRefusedError:
            del coupon_code, purchase_amount  # the refused digits must not stay reachable from the traceback
            raise

    def redeem_coupon(self, coupon_code: str, payment_method_id: str | None = None, purchase_amount: Decimal | int | str | None = None, *, idempotency_key: str | None = None) -> r.CouponRedemption:
        """A bonus coupon charges purchase_amount. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /wallet/coupons/redeem`` (write).

        Example:
            >>> client.redeem_coupon("WELCOME50").credited
            Decimal('5.00')
        """
        try:
            return typing.cast(r.CouponRedemption, self.call('redeem_coupon', {"coupon_code": coupon_code, "payment_method_id": payment_method_id, "purchase_amount": purchase_amount}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del coupon_code, payment_method_id, purchase_amount  # the refused digits must not stay reachable from the traceback
            raise

    def list_plans(self) -> r.PlanCatalogue:
        """Plans, prices, pay-as-you-go.

        ``GET /subscriptions/plans`` (read).

        Example:
            >>> client.list_plans().subscription_plans[0].name
            'Basic'
        """
        return typing.cast(r.PlanCatalogue, self.call('list_plans', {}))

    def list_subscriptions(self) -> r.SubscriptionList:
        """Your subscriptions.

        ``GET /subscriptions`` (read).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> plans = client.list_plans().subscription_plans
            >>> subscription_id = client.create_subscription(plans[0].id, "pm_card_visa").subscription.id
            >>> client.list_subscriptions().count
            1
        """
        return typing.cast(r.SubscriptionList, self.call('list_subscriptions', {}))

    def create_subscription(self, plan_id: int, payment_method_id: str | None = None, success_url: str | None = None, cancel_url: str | None = None, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Charges now with payment_method_id, else a checkout URL. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions`` (charge).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> plans = client.list_plans().subscription_plans
            >>> client.create_subscription(plans[0].id, "pm_card_visa").subscription.status
            'active'
        """
        try:
            return typing.cast(r.SubscriptionResult, self.call('create_subscription', {"plan_id": plan_id, "payment_method_id": payment_method_id, "success_url": success_url, "cancel_url": cancel_url}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del plan_id, payment_method_id, success_url, cancel_url  # the refused digits must not stay reachable from the traceback
            raise

    def get_subscription_status(self, subscription_id: int) -> r.SubscriptionStatus:
        """Status, current period.

        ``GET /subscriptions/{subscription_id}/status`` (read).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> plans = client.list_plans().subscription_plans
            >>> subscription_id = client.create_subscription(plans[0].id, "pm_card_visa").subscription.id
            >>> client.get_subscription_status(subscription_id).plan_name
            'Basic'
        """
        try:
            return typing.cast(r.SubscriptionStatus, self.call('get_subscription_status', {"subscription_id": subscription_id}))
        except CardDataRefusedError:
            del subscription_id  # the refused digits must not stay reachable from the traceback
            raise

    def update_subscription(self, subscription_id: int, new_plan_id: int, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Change plan (an upgrade charges the difference). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /subscriptions/{subscription_id}`` (charge).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> plans = client.list_plans().subscription_plans
            >>> subscription_id = client.create_subscription(plans[0].id, "pm_card_visa").subscription.id
            >>> client.update_subscription(subscription_id, plans[1].id).subscription.plan_name
            'Standard'
        """
        try:
            return typing.cast(r.SubscriptionResult, self.call('update_subscription', {"subscription_id": subscription_id, "new_plan_id": new_plan_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del subscription_id, new_plan_id  # the refused digits must not stay reachable from the traceback
            raise

    def pause_subscription(self, subscription_id: int, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Pause billing and service. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/{subscription_id}/pause`` (destructive).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> plans = client.list_plans().subscription_plans
            >>> subscription_id = client.create_subscription(plans[0].id, "pm_card_visa").subscription.id
            >>> client.pause_subscription(subscription_id).subscription.status
            'paused'
        """
        try:
            return typing.cast(r.SubscriptionResult, self.call('pause_subscription', {"subscription_id": subscription_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del subscription_id  # the refused digits must not stay reachable from the traceback
            raise

    def resume_subscription(self, subscription_id: int, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Resume (billing restarts). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/{subscription_id}/resume`` (charge).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> plans = client.list_plans().subscription_plans
            >>> subscription_id = client.create_subscription(plans[0].id, "pm_card_visa").subscription.id
            >>> _ = client.pause_subscription(subscription_id)
            >>> client.resume_subscription(subscription_id).subscription.status
            'active'
        """
        try:
            return typing.cast(r.SubscriptionResult, self.call('resume_subscription', {"subscription_id": subscription_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del subscription_id  # the refused digits must not stay reachable from the traceback
            raise

    def reset_subscription_cycle(self, subscription_id: int, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """New period now, charged. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/{subscription_id}/reset-cycle`` (charge).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> plans = client.list_plans().subscription_plans
            >>> subscription_id = client.create_subscription(plans[0].id, "pm_card_visa").subscription.id
            >>> client.reset_subscription_cycle(subscription_id).subscription.status
            'active'
        """
        try:
            return typing.cast(r.SubscriptionResult, self.call('reset_subscription_cycle', {"subscription_id": subscription_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del subscription_id  # the refused digits must not stay reachable from the traceback
            raise

    def fix_payment(self, subscription_id: int, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Retry a past-due payment. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/{subscription_id}/fix-payment`` (charge).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> plans = client.list_plans().subscription_plans
            >>> subscription_id = client.create_subscription(plans[0].id, "pm_card_visa").subscription.id
            >>> client.fix_payment(subscription_id)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            agent_billing.errors.ConflictError: Cannot fix the payment of subscription ...: it is active (allowed from: past_due). ...
        """
        try:
            return typing.cast(r.SubscriptionResult, self.call('fix_payment', {"subscription_id": subscription_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del subscription_id  # the refused digits must not stay reachable from the traceback
            raise

    def charge_subscription_amount(self, amount: Decimal | int | str, *, idempotency_key: str | None = None) -> r.Charge:
        """One-off charge to the default card. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/charge-amount`` (charge).

        Example:
            >>> _ = client.add_payment_method("pm_card_visa")
            >>> client.charge_subscription_amount(Decimal("25.00")).balance
            Decimal('25.00')
        """
        try:
            return typing.cast(r.Charge, self.call('charge_subscription_amount', {"amount": amount}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del amount  # the refused digits must not stay reachable from the traceback
            raise

    def create_payment_link(self, purpose: Literal['fund', 'subscribe'], amount: Decimal | int | str | None = None, plan_id: int | None = None, *, idempotency_key: str | None = None) -> r.PaymentLink:
        """Checkout URL for a person; relay verbatim. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/payment-link`` (write).

        Example:
            >>> client.create_payment_link("fund", amount=Decimal("25.00")).payment_url[:38]
            'http://sandbox.local/sandbox/checkout/'
        """
        try:
            return typing.cast(r.PaymentLink, self.call('create_payment_link', {"purpose": purpose, "amount": amount, "plan_id": plan_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del purpose, amount, plan_id  # the refused digits must not stay reachable from the traceback
            raise

    def confirm_wallet_checkout(self, session_id: str, *, idempotency_key: str | None = None) -> r.CheckoutConfirmation:
        """Credit the wallet after a fund link is paid. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /wallet/confirm-checkout`` (write).

        Example:
            >>> session_id = client.create_payment_link("fund", amount=Decimal("25.00")).session_id
            >>> client.confirm_wallet_checkout(session_id)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            agent_billing.errors.ConflictError: The human has not paid yet. ...
        """
        try:
            return typing.cast(r.CheckoutConfirmation, self.call('confirm_wallet_checkout', {"session_id": session_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del session_id  # the refused digits must not stay reachable from the traceback
            raise

    def confirm_subscription_checkout(self, session_id: str, *, idempotency_key: str | None = None) -> r.CheckoutConfirmation:
        """Activate after a subscribe link is paid. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/confirm-checkout`` (write).

        Example:
            >>> plans = client.list_plans().subscription_plans
            >>> session_id = client.create_payment_link("subscribe", plan_id=plans[0].id).session_id
            >>> client.confirm_subscription_checkout(session_id)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            agent_billing.errors.ConflictError: The human has not paid yet. ...
        """
        try:
            return typing.cast(r.CheckoutConfirmation, self.call('confirm_subscription_checkout', {"session_id": session_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del session_id  # the refused digits must not stay reachable from the traceback
            raise


class AsyncModelsLabOperations:
    """The operations of the modelslab provider's asynchronous client (mixed into ``AsyncModelsLabClient``).

    Example:
        >>> isinstance(aclient, AsyncModelsLabOperations), type(aclient).__name__
        (True, 'AsyncModelsLabClient')
    """

    async def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None) -> BaseModel:
        raise NotImplementedError

    async def get_billing_overview(self) -> r.BillingOverview:
        """Balance, cards, subscriptions, invoices.

        ``GET /billing/overview`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.get_billing_overview()).wallet_balance
            Decimal('0.00')
        """
        return typing.cast(r.BillingOverview, await self.call('get_billing_overview', {}))

    async def get_stripe_config(self) -> r.StripeConfig:
        """Publishable key, for trusted code only.

        ``GET /billing/stripe-config`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.get_stripe_config()).publishable_key[:8]
            'pk_test_'
        """
        return typing.cast(r.StripeConfig, await self.call('get_stripe_config', {}))

    async def get_billing_info(self) -> r.BillingInfo:
        """Name, email, address, tax id.

        ``GET /billing/info`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.get_billing_info()).name is None
            True
        """
        return typing.cast(r.BillingInfo, await self.call('get_billing_info', {}))

    async def update_billing_info(self, *, name: str | None = None, email: str | None = None, tax_id: str | None = None, tax_id_type: str | None = None, address_line1: str | None = None, address_line2: str | None = None, address_city: str | None = None, address_state: str | None = None, address_postal_code: str | None = None, address_country: str | None = None, idempotency_key: str | None = None) -> r.BillingInfo:
        """Change the fields given; others kept. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /billing/info`` (write).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.update_billing_info(name="Acme Corp")).updated_fields
            ['name']
        """
        try:
            return typing.cast(r.BillingInfo, await self.call('update_billing_info', {"name": name, "email": email, "tax_id": tax_id, "tax_id_type": tax_id_type, "address_line1": address_line1, "address_line2": address_line2, "address_city": address_city, "address_state": address_state, "address_postal_code": address_postal_code, "address_country": address_country}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del name, email, tax_id, tax_id_type, address_line1, address_line2, address_city, address_state, address_postal_code, address_country  # the refused digits must not stay reachable from the traceback
            raise

    async def list_payment_methods(self) -> r.PaymentMethodList:
        """Saved cards.

        ``GET /billing/payment-methods`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.list_payment_methods()).count
            0
        """
        return typing.cast(r.PaymentMethodList, await self.call('list_payment_methods', {}))

    async def add_payment_method(self, payment_method_id: str, make_default: bool = True, *, idempotency_key: str | None = None) -> r.PaymentMethodResult:
        """Attach a pm_ id. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/payment-methods`` (authorize).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.add_payment_method("pm_card_visa")).payment_method.last4
            '4242'
        """
        try:
            return typing.cast(r.PaymentMethodResult, await self.call('add_payment_method', {"payment_method_id": payment_method_id, "make_default": make_default}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method_id, make_default  # the refused digits must not stay reachable from the traceback
            raise

    async def set_default_payment_method(self, payment_method_id: str, *, idempotency_key: str | None = None) -> r.PaymentMethodResult:
        """Make a card the default. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /billing/payment-methods/{payment_method_id}/default`` (authorize).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     await aclient.add_payment_method("pm_card_mastercard", make_default=False)
            ...     return await aclient.set_default_payment_method("pm_card_mastercard")
            >>> asyncio.run(example()).payment_method.is_default
            True
        """
        try:
            return typing.cast(r.PaymentMethodResult, await self.call('set_default_payment_method', {"payment_method_id": payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    async def remove_payment_method(self, payment_method_id: str, *, idempotency_key: str | None = None) -> r.PaymentMethodResult:
        """Detach a card. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``DELETE /billing/payment-methods/{payment_method_id}`` (destructive).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     return await aclient.remove_payment_method("pm_card_visa")
            >>> asyncio.run(example()).removed
            True
        """
        try:
            return typing.cast(r.PaymentMethodResult, await self.call('remove_payment_method', {"payment_method_id": payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    async def create_setup_intent(self, *, idempotency_key: str | None = None) -> r.SetupIntent:
        """Save a card without charging. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/setup-intent`` (write).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.create_setup_intent()).status
            'requires_payment_method'
        """
        return typing.cast(r.SetupIntent, await self.call('create_setup_intent', {}, idempotency_key=idempotency_key))

    async def list_invoices(self) -> r.InvoiceList:
        """All invoices.

        ``GET /billing/invoices`` (read).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     invoice_id = (await aclient.fund_wallet(Decimal("25.00"))).invoice_id
            ...     return await aclient.list_invoices()
            >>> asyncio.run(example()).invoices[0].status
            'paid'
        """
        return typing.cast(r.InvoiceList, await self.call('list_invoices', {}))

    async def get_invoice(self, invoice_id: str) -> r.Invoice:
        """One invoice.

        ``GET /billing/invoices/{invoice_id}`` (read).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     invoice_id = (await aclient.fund_wallet(Decimal("25.00"))).invoice_id
            ...     return await aclient.get_invoice(invoice_id)
            >>> asyncio.run(example()).amount
            Decimal('25.00')
        """
        try:
            return typing.cast(r.Invoice, await self.call('get_invoice', {"invoice_id": invoice_id}))
        except CardDataRefusedError:
            del invoice_id  # the refused digits must not stay reachable from the traceback
            raise

    async def get_invoice_pdf(self, invoice_id: str) -> r.InvoicePdf:
        """PDF and receipt links.

        ``GET /billing/invoices/{invoice_id}/pdf`` (read).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     invoice_id = (await aclient.fund_wallet(Decimal("25.00"))).invoice_id
            ...     return await aclient.get_invoice_pdf(invoice_id)
            >>> asyncio.run(example()).number
            'SBX-000001'
        """
        try:
            return typing.cast(r.InvoicePdf, await self.call('get_invoice_pdf', {"invoice_id": invoice_id}))
        except CardDataRefusedError:
            del invoice_id  # the refused digits must not stay reachable from the traceback
            raise

    async def get_wallet_balance(self) -> r.WalletBalance:
        """Current balance.

        ``GET /wallet/balance`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.get_wallet_balance()).balance
            Decimal('0.00')
        """
        return typing.cast(r.WalletBalance, await self.call('get_wallet_balance', {}))

    async def get_wallet_transactions(self, *, type: Literal['credit', 'debit'] | None = None, limit: int = 50, offset: int = 0) -> r.WalletTransactions:
        """Newest first.

        ``GET /wallet/transactions`` (read).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     invoice_id = (await aclient.fund_wallet(Decimal("25.00"))).invoice_id
            ...     return await aclient.get_wallet_transactions(type="credit", limit=10)
            >>> asyncio.run(example()).items[0].usecase
            'wallet_funding'
        """
        try:
            return typing.cast(r.WalletTransactions, await self.call('get_wallet_transactions', {"type": type, "limit": limit, "offset": offset}))
        except CardDataRefusedError:
            del type, limit, offset  # the refused digits must not stay reachable from the traceback
            raise

    async def fund_wallet(self, amount: Decimal | int | str, payment_method_id: str | None = None, *, idempotency_key: str | None = None) -> r.Charge:
        """Charge a saved card into the wallet. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /wallet/fund`` (charge).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     return await aclient.fund_wallet(Decimal("25.00"))
            >>> asyncio.run(example()).amount
            Decimal('25.00')
        """
        try:
            return typing.cast(r.Charge, await self.call('fund_wallet', {"amount": amount, "payment_method_id": payment_method_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del amount, payment_method_id  # the refused digits must not stay reachable from the traceback
            raise

    async def enable_auto_funding(self, auto_charge_amount: Decimal | int | str, charge_threshold: Decimal | int | str, *, idempotency_key: str | None = None) -> r.AutoFunding:
        """Recharge when low (future charges). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /wallet/auto-funding`` (authorize).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     return await aclient.enable_auto_funding(Decimal("25.00"), Decimal("5.00"))
            >>> asyncio.run(example()).enabled
            True
        """
        try:
            return typing.cast(r.AutoFunding, await self.call('enable_auto_funding', {"auto_charge_amount": auto_charge_amount, "charge_threshold": charge_threshold}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del auto_charge_amount, charge_threshold  # the refused digits must not stay reachable from the traceback
            raise

    async def disable_auto_funding(self, *, idempotency_key: str | None = None) -> r.AutoFunding:
        """Stop recharges. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``DELETE /wallet/auto-funding`` (destructive).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.disable_auto_funding()).enabled
            False
        """
        return typing.cast(r.AutoFunding, await self.call('disable_auto_funding', {}, idempotency_key=idempotency_key))

    async def withdraw(self, amount: Decimal | int | str, *, idempotency_key: str | None = None) -> r.Withdrawal:
        """Pay out (reseller accounts only). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /wallet/withdraw`` (payout).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.withdraw(Decimal("10.00")))  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            agent_billing.errors.PermissionDeniedError: Withdrawals are available to reseller accounts only. ...
        """
        try:
            return typing.cast(r.Withdrawal, await self.call('withdraw', {"amount": amount}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del amount  # the refused digits must not stay reachable from the traceback
            raise

    async def get_payment_status(self, payment_intent_id: str) -> r.PaymentStatus:
        """Of a card payment.

        ``GET /payments/{payment_intent_id}/status`` (read).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     payment_intent_id = (await aclient.fund_wallet(Decimal("25.00"))).payment.payment_intent_id
            ...     return await aclient.get_payment_status(payment_intent_id)
            >>> asyncio.run(example()).status
            'succeeded'
        """
        try:
            return typing.cast(r.PaymentStatus, await self.call('get_payment_status', {"payment_intent_id": payment_intent_id}))
        except CardDataRefusedError:
            del payment_intent_id  # the refused digits must not stay reachable from the traceback
            raise

    async def validate_coupon(self, coupon_code: str, purchase_amount: Decimal | int | str | None = None) -> r.CouponValidation:
        """What a coupon gives.

        ``GET /wallet/coupons/validate`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.validate_coupon("WELCOME50")).credit_amount
            Decimal('5.00')
        """
        try:
            return typing.cast(r.CouponValidation, await self.call('validate_coupon', {"coupon_code": coupon_code, "purchase_amount": purchase_amount}))
        except CardDataRefusedError:
            del coupon_code, purchase_amount  # the refused digits must not stay reachable from the traceback
            raise

    async def redeem_coupon(self, coupon_code: str, payment_method_id: str | None = None, purchase_amount: Decimal | int | str | None = None, *, idempotency_key: str | None = None) -> r.CouponRedemption:
        """A bonus coupon charges purchase_amount. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /wallet/coupons/redeem`` (write).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.redeem_coupon("WELCOME50")).credited
            Decimal('5.00')
        """
        try:
            return typing.cast(r.CouponRedemption, await self.call('redeem_coupon', {"coupon_code": coupon_code, "payment_method_id": payment_method_id, "purchase_amount": purchase_amount}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del coupon_code, payment_method_id, purchase_amount  # the refused digits must not stay reachable from the traceback
            raise

    async def list_plans(self) -> r.PlanCatalogue:
        """Plans, prices, pay-as-you-go.

        ``GET /subscriptions/plans`` (read).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.list_plans()).subscription_plans[0].name
            'Basic'
        """
        return typing.cast(r.PlanCatalogue, await self.call('list_plans', {}))

    async def list_subscriptions(self) -> r.SubscriptionList:
        """Your subscriptions.

        ``GET /subscriptions`` (read).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     plans = (await aclient.list_plans()).subscription_plans
            ...     subscription_id = (await aclient.create_subscription(plans[0].id, "pm_card_visa")).subscription.id
            ...     return await aclient.list_subscriptions()
            >>> asyncio.run(example()).count
            1
        """
        return typing.cast(r.SubscriptionList, await self.call('list_subscriptions', {}))

    async def create_subscription(self, plan_id: int, payment_method_id: str | None = None, success_url: str | None = None, cancel_url: str | None = None, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Charges now with payment_method_id, else a checkout URL. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions`` (charge).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     plans = (await aclient.list_plans()).subscription_plans
            ...     return await aclient.create_subscription(plans[0].id, "pm_card_visa")
            >>> asyncio.run(example()).subscription.status
            'active'
        """
        try:
            return typing.cast(r.SubscriptionResult, await self.call('create_subscription', {"plan_id": plan_id, "payment_method_id": payment_method_id, "success_url": success_url, "cancel_url": cancel_url}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del plan_id, payment_method_id, success_url, cancel_url  # the refused digits must not stay reachable from the traceback
            raise

    async def get_subscription_status(self, subscription_id: int) -> r.SubscriptionStatus:
        """Status, current period.

        ``GET /subscriptions/{subscription_id}/status`` (read).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     plans = (await aclient.list_plans()).subscription_plans
            ...     subscription_id = (await aclient.create_subscription(plans[0].id, "pm_card_visa")).subscription.id
            ...     return await aclient.get_subscription_status(subscription_id)
            >>> asyncio.run(example()).plan_name
            'Basic'
        """
        try:
            return typing.cast(r.SubscriptionStatus, await self.call('get_subscription_status', {"subscription_id": subscription_id}))
        except CardDataRefusedError:
            del subscription_id  # the refused digits must not stay reachable from the traceback
            raise

    async def update_subscription(self, subscription_id: int, new_plan_id: int, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Change plan (an upgrade charges the difference). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /subscriptions/{subscription_id}`` (charge).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     plans = (await aclient.list_plans()).subscription_plans
            ...     subscription_id = (await aclient.create_subscription(plans[0].id, "pm_card_visa")).subscription.id
            ...     return await aclient.update_subscription(subscription_id, plans[1].id)
            >>> asyncio.run(example()).subscription.plan_name
            'Standard'
        """
        try:
            return typing.cast(r.SubscriptionResult, await self.call('update_subscription', {"subscription_id": subscription_id, "new_plan_id": new_plan_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del subscription_id, new_plan_id  # the refused digits must not stay reachable from the traceback
            raise

    async def pause_subscription(self, subscription_id: int, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Pause billing and service. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/{subscription_id}/pause`` (destructive).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     plans = (await aclient.list_plans()).subscription_plans
            ...     subscription_id = (await aclient.create_subscription(plans[0].id, "pm_card_visa")).subscription.id
            ...     return await aclient.pause_subscription(subscription_id)
            >>> asyncio.run(example()).subscription.status
            'paused'
        """
        try:
            return typing.cast(r.SubscriptionResult, await self.call('pause_subscription', {"subscription_id": subscription_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del subscription_id  # the refused digits must not stay reachable from the traceback
            raise

    async def resume_subscription(self, subscription_id: int, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Resume (billing restarts). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/{subscription_id}/resume`` (charge).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     plans = (await aclient.list_plans()).subscription_plans
            ...     subscription_id = (await aclient.create_subscription(plans[0].id, "pm_card_visa")).subscription.id
            ...     await aclient.pause_subscription(subscription_id)
            ...     return await aclient.resume_subscription(subscription_id)
            >>> asyncio.run(example()).subscription.status
            'active'
        """
        try:
            return typing.cast(r.SubscriptionResult, await self.call('resume_subscription', {"subscription_id": subscription_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del subscription_id  # the refused digits must not stay reachable from the traceback
            raise

    async def reset_subscription_cycle(self, subscription_id: int, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """New period now, charged. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/{subscription_id}/reset-cycle`` (charge).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     plans = (await aclient.list_plans()).subscription_plans
            ...     subscription_id = (await aclient.create_subscription(plans[0].id, "pm_card_visa")).subscription.id
            ...     return await aclient.reset_subscription_cycle(subscription_id)
            >>> asyncio.run(example()).subscription.status
            'active'
        """
        try:
            return typing.cast(r.SubscriptionResult, await self.call('reset_subscription_cycle', {"subscription_id": subscription_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del subscription_id  # the refused digits must not stay reachable from the traceback
            raise

    async def fix_payment(self, subscription_id: int, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Retry a past-due payment. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/{subscription_id}/fix-payment`` (charge).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     plans = (await aclient.list_plans()).subscription_plans
            ...     subscription_id = (await aclient.create_subscription(plans[0].id, "pm_card_visa")).subscription.id
            ...     return await aclient.fix_payment(subscription_id)
            >>> asyncio.run(example())  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            agent_billing.errors.ConflictError: Cannot fix the payment of subscription ...: it is active (allowed from: past_due). ...
        """
        try:
            return typing.cast(r.SubscriptionResult, await self.call('fix_payment', {"subscription_id": subscription_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del subscription_id  # the refused digits must not stay reachable from the traceback
            raise

    async def charge_subscription_amount(self, amount: Decimal | int | str, *, idempotency_key: str | None = None) -> r.Charge:
        """One-off charge to the default card. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/charge-amount`` (charge).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     await aclient.add_payment_method("pm_card_visa")
            ...     return await aclient.charge_subscription_amount(Decimal("25.00"))
            >>> asyncio.run(example()).balance
            Decimal('25.00')
        """
        try:
            return typing.cast(r.Charge, await self.call('charge_subscription_amount', {"amount": amount}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del amount  # the refused digits must not stay reachable from the traceback
            raise

    async def create_payment_link(self, purpose: Literal['fund', 'subscribe'], amount: Decimal | int | str | None = None, plan_id: int | None = None, *, idempotency_key: str | None = None) -> r.PaymentLink:
        """Checkout URL for a person; relay verbatim. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/payment-link`` (write).

        Example:
            >>> import asyncio
            >>> asyncio.run(aclient.create_payment_link("fund", amount=Decimal("25.00"))).payment_url[:38]
            'http://sandbox.local/sandbox/checkout/'
        """
        try:
            return typing.cast(r.PaymentLink, await self.call('create_payment_link', {"purpose": purpose, "amount": amount, "plan_id": plan_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del purpose, amount, plan_id  # the refused digits must not stay reachable from the traceback
            raise

    async def confirm_wallet_checkout(self, session_id: str, *, idempotency_key: str | None = None) -> r.CheckoutConfirmation:
        """Credit the wallet after a fund link is paid. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /wallet/confirm-checkout`` (write).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     session_id = (await aclient.create_payment_link("fund", amount=Decimal("25.00"))).session_id
            ...     return await aclient.confirm_wallet_checkout(session_id)
            >>> asyncio.run(example())  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            agent_billing.errors.ConflictError: The human has not paid yet. ...
        """
        try:
            return typing.cast(r.CheckoutConfirmation, await self.call('confirm_wallet_checkout', {"session_id": session_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del session_id  # the refused digits must not stay reachable from the traceback
            raise

    async def confirm_subscription_checkout(self, session_id: str, *, idempotency_key: str | None = None) -> r.CheckoutConfirmation:
        """Activate after a subscribe link is paid. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions/confirm-checkout`` (write).

        Example:
            >>> import asyncio
            >>> async def example():
            ...     plans = (await aclient.list_plans()).subscription_plans
            ...     session_id = (await aclient.create_payment_link("subscribe", plan_id=plans[0].id)).session_id
            ...     return await aclient.confirm_subscription_checkout(session_id)
            >>> asyncio.run(example())  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            agent_billing.errors.ConflictError: The human has not paid yet. ...
        """
        try:
            return typing.cast(r.CheckoutConfirmation, await self.call('confirm_subscription_checkout', {"session_id": session_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del session_id  # the refused digits must not stay reachable from the traceback
            raise
