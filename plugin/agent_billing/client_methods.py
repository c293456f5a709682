"""Typed client methods of the modelslab provider, one per operation.

GENERATED from the registry by ``python -m agent_billing.codegen``: do not edit by hand.

Example:
    >>> from agent_billing.client_methods import SyncOperations
    >>> "get_billing_overview" in dir(SyncOperations)
    True
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


class SyncOperations:
    """The operations of the modelslab provider's synchronous client (mixed into its client class).

    Example:
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> client, _ = sandbox_clients(create_app(), provider='modelslab')
        >>> type(client.call('get_billing_overview')).__name__
        'BillingOverview'
    """

    def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None) -> BaseModel:
        raise NotImplementedError

    def get_billing_overview(self) -> r.BillingOverview:
        """Balance, cards, subscriptions, invoices.

        ``GET /billing/overview`` (read).

        Example:
            >>> client.get_billing_overview()  # doctest: +SKIP
        """
        return typing.cast(r.BillingOverview, self.call('get_billing_overview', {}))

    def get_stripe_config(self) -> r.StripeConfig:
        """Publishable key, for trusted code only.

        ``GET /billing/stripe-config`` (read).

        Example:
            >>> client.get_stripe_config()  # doctest: +SKIP
        """
        return typing.cast(r.StripeConfig, self.call('get_stripe_config', {}))

    def get_billing_info(self) -> r.BillingInfo:
        """Name, email, address, tax id.

        ``GET /billing/info`` (read).

        Example:
            >>> client.get_billing_info()  # doctest: +SKIP
        """
        return typing.cast(r.BillingInfo, self.call('get_billing_info', {}))

    def update_billing_info(self, *, name: str | None = None, email: str | None = None, tax_id: str | None = None, tax_id_type: str | None = None, address_line1: str | None = None, address_line2: str | None = None, address_city: str | None = None, address_state: str | None = None, address_postal_code: str | None = None, address_country: str | None = None, idempotency_key: str | None = None) -> r.BillingInfo:
        """Change the fields given; others kept. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /billing/info`` (write).

        Example:
            >>> client.update_billing_info(name="Acme Corp")  # doctest: +SKIP
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
            >>> client.list_payment_methods()  # doctest: +SKIP
        """
        return typing.cast(r.PaymentMethodList, self.call('list_payment_methods', {}))

    def add_payment_method(self, payment_method_id: str, make_default: bool = True, *, idempotency_key: str | None = None) -> r.PaymentMethodResult:
        """Attach a pm_ id. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/payment-methods`` (write).

        Example:
            >>> client.add_payment_method("pm_card_visa")  # doctest: +SKIP
        """
        try:
            return typing.cast(r.PaymentMethodResult, self.call('add_payment_method', {"payment_method_id": payment_method_id, "make_default": make_default}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method_id, make_default  # the refused digits must not stay reachable from the traceback
            raise

    def set_default_payment_method(self, payment_method_id: str, *, idempotency_key: str | None = None) -> r.PaymentMethodResult:
        """Make a card the default. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /billing/payment-methods/{payment_method_id}/default`` (write).

        Example:
            >>> client.set_default_payment_method("pm_card_visa")  # doctest: +SKIP
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
            >>> client.remove_payment_method("pm_card_visa")  # doctest: +SKIP
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
            >>> client.create_setup_intent()  # doctest: +SKIP
        """
        return typing.cast(r.SetupIntent, self.call('create_setup_intent', {}, idempotency_key=idempotency_key))

    def list_invoices(self) -> r.InvoiceList:
        """All invoices.

        ``GET /billing/invoices`` (read).

        Example:
            >>> client.list_invoices()  # doctest: +SKIP
        """
        return typing.cast(r.InvoiceList, self.call('list_invoices', {}))

    def get_invoice(self, invoice_id: str) -> r.Invoice:
        """One invoice.

        ``GET /billing/invoices/{invoice_id}`` (read).

        Example:
            >>> client.get_invoice("in_123")  # doctest: +SKIP
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
            >>> client.get_invoice_pdf("in_123")  # doctest: +SKIP
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
            >>> client.get_wallet_balance()  # doctest: +SKIP
        """
        return typing.cast(r.WalletBalance, self.call('get_wallet_balance', {}))

    def get_wallet_transactions(self, *, type: Literal['credit', 'debit'] | None = None, limit: int = 50, offset: int = 0) -> r.WalletTransactions:
        """Newest first.

        ``GET /wallet/transactions`` (read).

        Example:
            >>> client.get_wallet_transactions(limit=20)  # doctest: +SKIP
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
            >>> client.fund_wallet(Decimal("25.00"))  # doctest: +SKIP
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
            >>> client.enable_auto_funding(Decimal("25.00"), Decimal("5.00"))  # doctest: +SKIP
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
            >>> client.disable_auto_funding()  # doctest: +SKIP
        """
        return typing.cast(r.AutoFunding, self.call('disable_auto_funding', {}, idempotency_key=idempotency_key))

    def withdraw(self, amount: Decimal | int | str, *, idempotency_key: str | None = None) -> r.Withdrawal:
        """Pay out (reseller accounts only). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /wallet/withdraw`` (payout).

        Example:
            >>> client.withdraw(Decimal("25.00"))  # doctest: +SKIP
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
            >>> client.get_payment_status("pi_123")  # doctest: +SKIP
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
            >>> client.validate_coupon("WELCOME50")  # doctest: +SKIP
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
            >>> client.redeem_coupon("WELCOME50")  # doctest: +SKIP
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
            >>> client.list_plans()  # doctest: +SKIP
        """
        return typing.cast(r.PlanCatalogue, self.call('list_plans', {}))

    def list_subscriptions(self) -> r.SubscriptionList:
        """Your subscriptions.

        ``GET /subscriptions`` (read).

        Example:
            >>> client.list_subscriptions()  # doctest: +SKIP
        """
        return typing.cast(r.SubscriptionList, self.call('list_subscriptions', {}))

    def create_subscription(self, plan_id: int, payment_method_id: str | None = None, success_url: str | None = None, cancel_url: str | None = None, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Charges now with payment_method_id, else a checkout URL. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions`` (charge).

        Example:
            >>> client.create_subscription(10)  # doctest: +SKIP
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
            >>> client.get_subscription_status(1)  # doctest: +SKIP
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
            >>> client.update_subscription(1, 42)  # doctest: +SKIP
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
            >>> client.pause_subscription(1)  # doctest: +SKIP
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
            >>> client.resume_subscription(1)  # doctest: +SKIP
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
            >>> client.reset_subscription_cycle(1)  # doctest: +SKIP
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
            >>> client.fix_payment(1)  # doctest: +SKIP
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
            >>> client.charge_subscription_amount(Decimal("25.00"))  # doctest: +SKIP
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
            >>> client.create_payment_link("fund", amount=Decimal("25.00"))  # doctest: +SKIP
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
            >>> client.confirm_wallet_checkout("cs_test_123")  # doctest: +SKIP
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
            >>> client.confirm_subscription_checkout("cs_test_123")  # doctest: +SKIP
        """
        try:
            return typing.cast(r.CheckoutConfirmation, self.call('confirm_subscription_checkout', {"session_id": session_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del session_id  # the refused digits must not stay reachable from the traceback
            raise


class AsyncOperations:
    """The operations of the modelslab provider's asynchronous client (mixed into its client class).

    Example:
        >>> import asyncio
        >>> from agent_billing.sandbox import create_app
        >>> from agent_billing.inprocess import sandbox_clients
        >>> _, aclient = sandbox_clients(create_app(), provider='modelslab')
        >>> type(asyncio.run(aclient.call('get_billing_overview'))).__name__
        'BillingOverview'
    """

    async def call(self, name: str, args: Mapping[str, Any] | BaseModel | None = None, *, idempotency_key: str | None = None) -> BaseModel:
        raise NotImplementedError

    async def get_billing_overview(self) -> r.BillingOverview:
        """Balance, cards, subscriptions, invoices.

        ``GET /billing/overview`` (read).

        Example:
            >>> await client.get_billing_overview()  # doctest: +SKIP
        """
        return typing.cast(r.BillingOverview, await self.call('get_billing_overview', {}))

    async def get_stripe_config(self) -> r.StripeConfig:
        """Publishable key, for trusted code only.

        ``GET /billing/stripe-config`` (read).

        Example:
            >>> await client.get_stripe_config()  # doctest: +SKIP
        """
        return typing.cast(r.StripeConfig, await self.call('get_stripe_config', {}))

    async def get_billing_info(self) -> r.BillingInfo:
        """Name, email, address, tax id.

        ``GET /billing/info`` (read).

        Example:
            >>> await client.get_billing_info()  # doctest: +SKIP
        """
        return typing.cast(r.BillingInfo, await self.call('get_billing_info', {}))

    async def update_billing_info(self, *, name: str | None = None, email: str | None = None, tax_id: str | None = None, tax_id_type: str | None = None, address_line1: str | None = None, address_line2: str | None = None, address_city: str | None = None, address_state: str | None = None, address_postal_code: str | None = None, address_country: str | None = None, idempotency_key: str | None = None) -> r.BillingInfo:
        """Change the fields given; others kept. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /billing/info`` (write).

        Example:
            >>> await client.update_billing_info(name="Acme Corp")  # doctest: +SKIP
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
            >>> await client.list_payment_methods()  # doctest: +SKIP
        """
        return typing.cast(r.PaymentMethodList, await self.call('list_payment_methods', {}))

    async def add_payment_method(self, payment_method_id: str, make_default: bool = True, *, idempotency_key: str | None = None) -> r.PaymentMethodResult:
        """Attach a pm_ id. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /billing/payment-methods`` (write).

        Example:
            >>> await client.add_payment_method("pm_card_visa")  # doctest: +SKIP
        """
        try:
            return typing.cast(r.PaymentMethodResult, await self.call('add_payment_method', {"payment_method_id": payment_method_id, "make_default": make_default}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del payment_method_id, make_default  # the refused digits must not stay reachable from the traceback
            raise

    async def set_default_payment_method(self, payment_method_id: str, *, idempotency_key: str | None = None) -> r.PaymentMethodResult:
        """Make a card the default. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``PUT /billing/payment-methods/{payment_method_id}/default`` (write).

        Example:
            >>> await client.set_default_payment_method("pm_card_visa")  # doctest: +SKIP
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
            >>> await client.remove_payment_method("pm_card_visa")  # doctest: +SKIP
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
            >>> await client.create_setup_intent()  # doctest: +SKIP
        """
        return typing.cast(r.SetupIntent, await self.call('create_setup_intent', {}, idempotency_key=idempotency_key))

    async def list_invoices(self) -> r.InvoiceList:
        """All invoices.

        ``GET /billing/invoices`` (read).

        Example:
            >>> await client.list_invoices()  # doctest: +SKIP
        """
        return typing.cast(r.InvoiceList, await self.call('list_invoices', {}))

    async def get_invoice(self, invoice_id: str) -> r.Invoice:
        """One invoice.

        ``GET /billing/invoices/{invoice_id}`` (read).

        Example:
            >>> await client.get_invoice("in_123")  # doctest: +SKIP
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
            >>> await client.get_invoice_pdf("in_123")  # doctest: +SKIP
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
            >>> await client.get_wallet_balance()  # doctest: +SKIP
        """
        return typing.cast(r.WalletBalance, await self.call('get_wallet_balance', {}))

    async def get_wallet_transactions(self, *, type: Literal['credit', 'debit'] | None = None, limit: int = 50, offset: int = 0) -> r.WalletTransactions:
        """Newest first.

        ``GET /wallet/transactions`` (read).

        Example:
            >>> await client.get_wallet_transactions(limit=20)  # doctest: +SKIP
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
            >>> await client.fund_wallet(Decimal("25.00"))  # doctest: +SKIP
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
            >>> await client.enable_auto_funding(Decimal("25.00"), Decimal("5.00"))  # doctest: +SKIP
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
            >>> await client.disable_auto_funding()  # doctest: +SKIP
        """
        return typing.cast(r.AutoFunding, await self.call('disable_auto_funding', {}, idempotency_key=idempotency_key))

    async def withdraw(self, amount: Decimal | int | str, *, idempotency_key: str | None = None) -> r.Withdrawal:
        """Pay out (reseller accounts only). Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /wallet/withdraw`` (payout).

        Example:
            >>> await client.withdraw(Decimal("25.00"))  # doctest: +SKIP
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
            >>> await client.get_payment_status("pi_123")  # doctest: +SKIP
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
            >>> await client.validate_coupon("WELCOME50")  # doctest: +SKIP
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
            >>> await client.redeem_coupon("WELCOME50")  # doctest: +SKIP
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
            >>> await client.list_plans()  # doctest: +SKIP
        """
        return typing.cast(r.PlanCatalogue, await self.call('list_plans', {}))

    async def list_subscriptions(self) -> r.SubscriptionList:
        """Your subscriptions.

        ``GET /subscriptions`` (read).

        Example:
            >>> await client.list_subscriptions()  # doctest: +SKIP
        """
        return typing.cast(r.SubscriptionList, await self.call('list_subscriptions', {}))

    async def create_subscription(self, plan_id: int, payment_method_id: str | None = None, success_url: str | None = None, cancel_url: str | None = None, *, idempotency_key: str | None = None) -> r.SubscriptionResult:
        """Charges now with payment_method_id, else a checkout URL. Sent with an Idempotency-Key (yours, or one generated for this call).

        ``POST /subscriptions`` (charge).

        Example:
            >>> await client.create_subscription(10)  # doctest: +SKIP
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
            >>> await client.get_subscription_status(1)  # doctest: +SKIP
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
            >>> await client.update_subscription(1, 42)  # doctest: +SKIP
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
            >>> await client.pause_subscription(1)  # doctest: +SKIP
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
            >>> await client.resume_subscription(1)  # doctest: +SKIP
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
            >>> await client.reset_subscription_cycle(1)  # doctest: +SKIP
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
            >>> await client.fix_payment(1)  # doctest: +SKIP
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
            >>> await client.charge_subscription_amount(Decimal("25.00"))  # doctest: +SKIP
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
            >>> await client.create_payment_link("fund", amount=Decimal("25.00"))  # doctest: +SKIP
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
            >>> await client.confirm_wallet_checkout("cs_test_123")  # doctest: +SKIP
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
            >>> await client.confirm_subscription_checkout("cs_test_123")  # doctest: +SKIP
        """
        try:
            return typing.cast(r.CheckoutConfirmation, await self.call('confirm_subscription_checkout', {"session_id": session_id}, idempotency_key=idempotency_key))
        except CardDataRefusedError:
            del session_id  # the refused digits must not stay reachable from the traceback
            raise
