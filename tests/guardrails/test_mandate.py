"""Mandates: validation, the three verdicts, and attempts to slip a charge past a limit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from agent_billing.guardrails.mandate import Mandate, MandateDecision, format_money
from agent_billing.registry import Effect

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
ZERO = Decimal("0")


def decide(m: Mandate, operation: str = "fund_wallet", effect: Effect = Effect.CHARGE, amount: Any = "25",
           plan_id: int | None = None, spent: Any = "0", now: datetime = NOW, **kw: Any) -> MandateDecision:
    return m.evaluate(operation=operation, effect=effect, amount=None if amount is None else Decimal(amount),
                      plan=plan_id, spent_24h=Decimal(spent), now=now, **kw)


# --- construction and validation


def test_defaults_allow_everything_but_never_auto_approve() -> None:
    m = Mandate()
    assert m.name == "default" and m.allowed_operations is None and not m.read_only
    assert m.max_per_charge is None and m.max_per_24h is None and not m.auto_approve
    assert decide(m, amount="9999").verdict == "inside"


def test_caps_are_parsed_as_money_and_kept_to_the_cent() -> None:
    m = Mandate(max_per_charge="$50", max_per_24h=100.5)
    assert m.max_per_charge == Decimal("50.00") and str(m.max_per_charge) == "50.00"
    assert m.max_per_24h == Decimal("100.50")


@pytest.mark.parametrize("bad", ["0", 0, "-1", "10.001", "abc", True, float("nan"), float("inf"), [10]])
def test_bad_caps_are_rejected(bad: Any) -> None:
    with pytest.raises(ValidationError):
        Mandate(max_per_charge=bad)
    with pytest.raises(ValidationError):
        Mandate(max_per_24h=bad)


def test_naive_expiry_is_rejected_and_aware_expiry_kept_in_utc() -> None:
    with pytest.raises(ValidationError):
        Mandate(expires_at=datetime(2026, 12, 1))
    paris = timezone(timedelta(hours=1))
    m = Mandate(expires_at=datetime(2026, 12, 1, 1, 0, tzinfo=paris))
    assert m.expires_at == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert m.expires_at is not None and m.expires_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("bad", [[True], [0], [-3], "10", [""], ["x" * 65]])
def test_bad_plan_ids_are_rejected(bad: Any) -> None:
    with pytest.raises(ValidationError):
        Mandate(allowed_plan_ids=bad)


def test_mandate_is_frozen_and_refuses_unknown_fields() -> None:
    m = Mandate(max_per_charge="10")
    with pytest.raises(ValidationError):
        m.max_per_charge = Decimal("1000")  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Mandate(max_per_charg="10")  # type: ignore[call-arg]  # a typo must not silently mean "no cap"


@pytest.mark.parametrize("bad", ["", "has space", "x" * 101])
def test_bad_names_are_rejected(bad: str) -> None:
    with pytest.raises(ValidationError):
        Mandate(name=bad)


def test_currency_is_normalised_and_checked() -> None:
    assert Mandate(currency="eur").currency == "EUR"
    with pytest.raises(ValidationError):
        Mandate(currency="dollars")


def test_a_mandate_round_trips_through_json() -> None:
    m = Mandate(name="ops", allowed_operations={"fund_wallet"}, max_per_charge="50", max_per_24h="100",
                allowed_plan_ids={10, 42}, expires_at=NOW, auto_approve=True)
    assert Mandate.model_validate_json(m.model_dump_json()) == m


# --- describe


def test_describe_reads_like_the_policy() -> None:
    m = Mandate(max_per_charge="50", max_per_24h="100", allowed_plan_ids=[42, 10],
                expires_at=datetime(2026, 12, 1, tzinfo=timezone.utc))
    text = m.describe()
    assert "up to $50.00 per charge, $100.00 per 24 h, plans 10 and 42, until 2026-12-01 UTC" in text
    assert "a human approves each charge" in text
    assert "auto-approved" in Mandate(auto_approve=True).describe()
    assert "no per-charge limit, no 24 h limit, any plan, no expiry" in Mandate().describe()
    assert "plan 7," in Mandate(allowed_plan_ids=[7]).describe()
    assert "plans 1, 2 and 3" in Mandate(allowed_plan_ids=[3, 1, 2]).describe()
    assert "only fund_wallet, get_wallet_balance" in Mandate(
        allowed_operations=["get_wallet_balance", "fund_wallet"]).describe()
    assert "until 2026-12-01 15:30 UTC" in Mandate(expires_at=datetime(2026, 12, 1, 15, 30, tzinfo=timezone.utc)
                                                   ).describe()


def test_read_only_policy() -> None:
    m = Mandate.read_only_policy()
    assert m.read_only and "read-only" in m.describe()
    assert Mandate.read_only_policy("viewer").name == "viewer"
    assert decide(m, "get_wallet_balance", Effect.READ, None).verdict == "inside"
    for effect in Effect:
        if effect is not Effect.READ:
            assert decide(m, "x", effect, "10").verdict == "forbidden"


def test_format_money_uses_the_currency() -> None:
    assert format_money(Decimal("1234.5")) == "$1,234.50"
    assert format_money(Decimal("3"), "EUR") == "3.00 EUR"


# --- forbidden


def test_operation_outside_the_allowed_list_is_forbidden_not_escalated() -> None:
    m = Mandate(allowed_operations={"get_wallet_balance", "fund_wallet"}, auto_approve=True)
    d = decide(m, "withdraw", Effect.PAYOUT, "5")
    assert d.verdict == "forbidden"
    assert d.reasons == ("Mandate 'default' does not allow withdraw.",)
    # Reads are not exempt from the allow-list either.
    assert decide(m, "list_invoices", Effect.READ, None).verdict == "forbidden"
    assert decide(m, "fund_wallet", Effect.CHARGE, "5").verdict == "inside"


def test_empty_allow_list_allows_nothing() -> None:
    m = Mandate(allowed_operations=frozenset())
    assert decide(m, "get_wallet_balance", Effect.READ, None).verdict == "forbidden"


def test_operation_names_are_matched_exactly() -> None:
    m = Mandate(allowed_operations={"fund_wallet"})
    for sneaky in ("Fund_Wallet", "fund_wallet ", "fund_walletx", "", "fund"):
        assert decide(m, sneaky).verdict == "forbidden"


def test_read_only_forbids_writes_and_destructive_even_without_amounts() -> None:
    m = Mandate(read_only=True)
    d = decide(m, "update_billing_info", Effect.WRITE, None)
    assert d.verdict == "forbidden" and "read-only" in d.reasons[0] and "change to the account" in d.reasons[0]
    assert decide(m, "remove_payment_method", Effect.DESTRUCTIVE, None).verdict == "forbidden"


def test_forbidden_wins_over_outside_and_lists_every_forbidding_reason() -> None:
    m = Mandate(read_only=True, allowed_operations={"get_wallet_balance"}, max_per_charge="1",
                expires_at=NOW - timedelta(days=1))
    d = decide(m, "fund_wallet", Effect.CHARGE, "500")
    assert d.verdict == "forbidden" and len(d.reasons) == 2


# --- outside


def test_per_charge_cap() -> None:
    m = Mandate(max_per_charge="50")
    assert decide(m, amount="50").verdict == "inside"  # the cap itself is allowed
    d = decide(m, amount="50.01")
    assert d.verdict == "outside"
    assert d.reasons == ("$50.01 is above the per-charge limit of $50.00.",)


def test_rolling_24h_cap_counts_what_was_already_spent() -> None:
    m = Mandate(max_per_24h="100")
    assert decide(m, amount="40", spent="60").verdict == "inside"
    d = decide(m, amount="40.01", spent="60")
    assert d.verdict == "outside"
    assert d.reasons == (
        "$40.01 on top of $60.00 already spent in the last 24 h is above the 24 h limit of $100.00.",
    )
    # Splitting a large charge into small ones does not help once the window is full.
    assert decide(m, amount="0.01", spent="100").verdict == "outside"


def test_all_reasons_are_listed() -> None:
    m = Mandate(max_per_charge="10", max_per_24h="20", allowed_plan_ids={1}, expires_at=NOW)
    d = decide(m, "create_subscription", Effect.CHARGE, "30", plan_id=2, spent="5")
    assert d.verdict == "outside" and len(d.reasons) == 4
    assert "expired at 2026-06-01 12:00 UTC" in d.message
    assert "Plan 2 is not among the allowed plans (plan 1)." in d.reasons


def test_expiry_is_exclusive_and_applies_to_everything_that_needs_approval() -> None:
    m = Mandate(expires_at=NOW, auto_approve=True)
    before = NOW - timedelta(microseconds=1)
    assert decide(m, now=before).verdict == "inside"
    assert decide(m, now=NOW).verdict == "outside"
    assert decide(m, "pause_subscription", Effect.DESTRUCTIVE, None, now=NOW).verdict == "outside"
    assert decide(m, "withdraw", Effect.PAYOUT, "5", now=NOW).verdict == "outside"
    # Reads and writes need no approval, so an expired mandate does not stop them.
    assert decide(m, "get_wallet_balance", Effect.READ, None, now=NOW).verdict == "inside"
    assert decide(m, "create_payment_link", Effect.WRITE, "10", now=NOW).verdict == "inside"


def test_expiry_compares_instants_not_wall_clocks() -> None:
    m = Mandate(expires_at=NOW)
    tokyo = timezone(timedelta(hours=9))
    # 20:59 in Tokyo is 11:59 UTC: still inside; 21:00 in Tokyo is the expiry instant.
    assert decide(m, now=datetime(2026, 6, 1, 20, 59, tzinfo=tokyo)).verdict == "inside"
    assert decide(m, now=datetime(2026, 6, 1, 21, 0, tzinfo=tokyo)).verdict == "outside"


def test_plan_not_allowed() -> None:
    m = Mandate(allowed_plan_ids={10, 42})
    assert decide(m, "create_subscription", Effect.CHARGE, None, plan_id=42).verdict == "inside"
    d = decide(m, "create_subscription", Effect.CHARGE, None, plan_id=43)
    assert d.verdict == "outside" and d.reasons == ("Plan 43 is not among the allowed plans (plans 10 and 42).",)
    assert decide(Mandate(allowed_plan_ids=set()), "create_subscription", Effect.CHARGE, None,
                  plan_id=1).verdict == "outside"


@pytest.mark.parametrize("caps", [{"max_per_charge": "50"}, {"max_per_24h": "50"}])
@pytest.mark.parametrize("effect", [Effect.CHARGE, Effect.AUTHORIZE, Effect.PAYOUT])
def test_unknown_amount_fails_closed_when_a_cap_is_set(caps: dict[str, str], effect: Effect) -> None:
    d = decide(Mandate(**caps), "create_subscription", effect, None, plan_id=10)
    assert d.verdict == "outside"
    assert any("not known" in r for r in d.reasons)


def test_unknown_amount_is_fine_without_caps() -> None:
    assert decide(Mandate(allowed_plan_ids={10}), "create_subscription", Effect.CHARGE, None,
                  plan_id=10).verdict == "inside"


def test_payouts_count_against_the_caps() -> None:
    m = Mandate(max_per_charge="100")
    assert decide(m, "withdraw", Effect.PAYOUT, "100.01").verdict == "outside"


def test_authorizing_future_charges_cannot_be_bounded_by_a_24h_cap() -> None:
    d = decide(Mandate(max_per_24h="1000"), "enable_auto_funding", Effect.AUTHORIZE, "10")
    assert d.verdict == "outside" and "future automatic charges" in d.reasons[0]
    # A per-charge cap alone does bound each recharge.
    assert decide(Mandate(max_per_charge="50"), "enable_auto_funding", Effect.AUTHORIZE, "50").verdict == "inside"
    assert decide(Mandate(max_per_charge="50"), "enable_auto_funding", Effect.AUTHORIZE, "51").verdict == "outside"


def test_destructive_is_not_capped_but_needs_an_unexpired_mandate() -> None:
    m = Mandate(max_per_charge="1", max_per_24h="1")
    assert decide(m, "remove_payment_method", Effect.DESTRUCTIVE, None).verdict == "inside"


def test_reads_and_writes_are_inside_whatever_the_amounts() -> None:
    m = Mandate(max_per_charge="1", max_per_24h="1", allowed_plan_ids={1})
    # A payment link moves no money by itself; the human pays on the hosted page.
    assert decide(m, "create_payment_link", Effect.WRITE, "500", plan_id=99, spent="1000").verdict == "inside"
    assert decide(m, "get_wallet_balance", Effect.READ, None).verdict == "inside"


def test_currency_mismatch_fails_closed() -> None:
    m = Mandate(max_per_charge="50")
    d = decide(m, amount="10", currency="EUR")
    assert d.verdict == "outside" and "EUR" in d.reasons[0]
    assert decide(m, amount="10", currency="usd").verdict == "inside"
    assert decide(Mandate(), amount="10", currency="EUR").verdict == "inside"  # nothing to compare


def test_non_usd_mandates_format_their_currency() -> None:
    d = decide(Mandate(max_per_charge="5", currency="EUR"), amount="6")
    assert d.reasons == ("6.00 EUR is above the per-charge limit of 5.00 EUR.",)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"now": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"amount": "-1"}, "negative"),
        ({"spent": "-0.01"}, "negative"),
    ],
)
def test_invalid_inputs_raise_instead_of_deciding(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decide(Mandate(max_per_charge="10", max_per_24h="10"), **kw)


def test_auto_approve_only_inside() -> None:
    m = Mandate(max_per_charge="10", auto_approve=True)
    assert m.may_auto_approve(decide(m, amount="10"))
    assert not m.may_auto_approve(decide(m, amount="11"))
    assert not Mandate(max_per_charge="10").may_auto_approve(decide(m, amount="10"))


def test_effect_may_be_given_as_its_value() -> None:
    assert decide(Mandate(read_only=True), effect="charge", amount="1").verdict == "forbidden"  # type: ignore[arg-type]


cents = st.decimals(min_value=0, max_value=20_000, places=2, allow_nan=False, allow_infinity=False)


@given(amount=cents, spent=cents, per_charge=cents.filter(lambda d: d > 0), per_day=cents.filter(lambda d: d > 0))
def test_inside_never_breaks_a_cap(amount: Decimal, spent: Decimal, per_charge: Decimal, per_day: Decimal) -> None:
    m = Mandate(max_per_charge=per_charge, max_per_24h=per_day)
    d = m.evaluate(operation="fund_wallet", effect=Effect.CHARGE, amount=amount, spent_24h=spent,
                   now=NOW)
    within = amount <= per_charge and spent + amount <= per_day
    assert (d.verdict == "inside") == within
    assert (d.reasons == ()) == within


def test_plan_names_and_numeric_strings() -> None:
    assert Mandate(allowed_plan_ids=["10", "STARTER"]).allowed_plan_ids == frozenset({10, "STARTER"})
