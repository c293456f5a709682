"""The audit log: card numbers and secrets never reach it, lines stay whole, events round-trip."""

from __future__ import annotations

import json
import multiprocessing
import re
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agent_billing.audit import (
    REDACTED,
    AuditEvent,
    AuditLog,
    JsonlAuditLog,
    MemoryAuditLog,
    MultiAuditLog,
    is_secret_name,
    redact_event,
    scrub,
    scrub_text,
)
from agent_billing.errors import AuditWriteError
from agent_billing.registry import Effect

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
# Test PANs (Luhn-valid): Visa, Mastercard, Amex, Discover.
PANS = ["4242424242424242", "5555555555554444", "378282246310005", "6011111111111117"]
SECRETS = [
    "seti_1AbcDEF_secret_XyZ987654321",
    "pi_3QwErTy_secret_AbCdEfGh123",
    "sk_live_51HqLyjWDarjtT1zdp7dc",
    "whsec_abcdefgh12345678",
    "tok-ModelsLab-9f8e7d6c5b4a",
    "hunter2-password-value",
    "wg_live_AbCdEf0123456789",
    "conf_" + "Q" * 43,
]


def event(**kw: Any) -> AuditEvent:
    base: dict[str, Any] = {
        "timestamp": NOW, "operation": "fund_wallet", "effect": "charge", "amount": "25", "decision": "requested",
    }
    base.update(kw)
    return AuditEvent(**base)


def smuggling_event() -> AuditEvent:
    """Every PAN and secret, in every place one could hide."""
    visa, mc, amex, discover = PANS
    return event(
        decision="failed",
        approver=f"ops@example.com card {visa}",
        reason=f"declined for 4242 4242 4242 4242; client_secret={SECRETS[0]}; Authorization: Bearer {SECRETS[2]}",
        arguments={
            "amount": Decimal("25.00"),
            "payment_method_id": f"pm_{visa}",
            "note": f"card {mc[:4]}-{mc[4:8]}-{mc[8:12]}-{mc[12:]}",
            "card_as_number": int(amex),
            "card_as_decimal": Decimal(discover),
            "nested": [{"deep": {"value": f"pan {visa}"}}],
            visa: "a PAN as a key",
            "token": SECRETS[4],
            "api_key": SECRETS[2],
            "X-API-Key": SECRETS[2],
            "Authorization": f"Bearer {SECRETS[4]}",
            "password": SECRETS[5],
            "confirmation": SECRETS[7],
        },
        result={
            "setup_intent": {"id": "seti_1AbcDEF", "client_secret": SECRETS[0], "Client-Secret": SECRETS[1]},
            "error": {"message": f"card {amex} declined", "details": [discover]},
            "webhook": f"signed with {SECRETS[3]}",
            "log": f"GET /v1/wallet with {SECRETS[6]}",
        },
    )


def digits_of(text: str) -> str:
    return re.sub(r"\D", "", text)


def assert_clean(text: str) -> None:
    for pan in PANS:
        assert pan not in text
        # Whatever the separators: no PAN survives in the file's digits, field by field.
        for run in re.findall(r"\d[\d \-.]{11,}\d", text):
            assert pan not in digits_of(run)
    for secret in SECRETS:
        assert secret not in text
        assert secret.split("_")[-1] not in text


# --- redaction


def test_the_event_itself_is_scrubbed_on_construction() -> None:
    e = smuggling_event()
    assert_clean(repr(e.model_dump()))
    assert e.arguments["token"] == REDACTED and e.arguments["api_key"] == REDACTED
    assert e.arguments["payment_method_id"] != "pm_" + PANS[0]
    assert e.arguments["amount"] == Decimal("25.00")  # ordinary values are kept as they are
    assert e.result is not None and e.result["setup_intent"]["id"] == "seti_1AbcDEF"


def test_a_smuggled_pan_or_secret_never_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path) as log:
        log.record(smuggling_event())
    text = path.read_text()
    assert_clean(text)
    line = json.loads(text)
    assert line["arguments"]["token"] == REDACTED
    assert line["result"]["setup_intent"]["client_secret"] == REDACTED


def test_an_unvalidated_event_is_scrubbed_before_writing(tmp_path: Path) -> None:
    # model_construct skips validation: the logs must not rely on the constructor alone.
    raw = smuggling_event().model_dump()
    raw.update(
        reason=f"card {PANS[0]} token={SECRETS[4]}",
        arguments={"pan": PANS[1], "client_secret": SECRETS[0], "n": int(PANS[2])},
        result={"x": [PANS[3]], "api_key": SECRETS[2]},
    )
    sneaky = AuditEvent.model_construct(**raw)
    assert PANS[1] in repr(sneaky.arguments)  # really unscrubbed
    direct, via_multi = tmp_path / "direct.jsonl", tmp_path / "multi.jsonl"
    with JsonlAuditLog(direct) as log:
        log.record(sneaky)
    memory, memory_via_multi = MemoryAuditLog(), MemoryAuditLog()
    memory.record(sneaky)
    with JsonlAuditLog(via_multi) as log:
        MultiAuditLog(log, memory_via_multi).record(sneaky)
    assert_clean(direct.read_text())
    assert_clean(via_multi.read_text())
    assert_clean(repr(memory.events[0].model_dump()))
    assert_clean(repr(memory_via_multi.events[0].model_dump()))
    assert_clean(sneaky.to_json_line())
    assert_clean(repr(redact_event(sneaky).model_dump()))


def test_unknown_objects_are_named_not_repred(tmp_path: Path) -> None:
    class Leaky:
        def __repr__(self) -> str:
            return f"Leaky({PANS[0]}, {SECRETS[2]})"

        __str__ = __repr__

    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path) as log:
        log.record(event(arguments={"thing": Leaky()}))
    text = path.read_text()
    assert_clean(text)
    assert json.loads(text)["arguments"]["thing"] == "<Leaky>"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("token", True), ("access_token", True), ("refresh-token", True), ("client_secret", True),
        ("Client-Secret", True), ("api_key", True), ("X-API-Key", True), ("apiKey", True),
        ("Authorization", True), ("password", True), ("stripe_secret_key", True), ("cookie", True),
        ("idempotency_key", False), ("amount", False), ("payment_method_id", False), ("request_id", False),
        ("publishable_key", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_secret_text_patterns() -> None:
    assert scrub_text(f"url?client_secret={SECRETS[0]}&x=1") == "url?client_secret=[redacted]&x=1"
    assert SECRETS[2] not in scrub_text(f"key is {SECRETS[2]}")
    assert scrub_text('{"token": "abc123"}') == '{"token": "[redacted]"}'
    assert scrub_text("plain words, $25.00, req_123, pm_card_visa") == "plain words, $25.00, req_123, pm_card_visa"


def test_scrub_keeps_the_shape_of_ordinary_values() -> None:
    value = {"a": [1, "x", {"b": None, "c": True}], "amount": Decimal("10.50"), "n": 3}
    assert scrub(value) == value


def test_never_more_than_redacted_for_a_secret_value() -> None:
    e = event(arguments={"token": {"nested": "structure", "with": [SECRETS[4]]}})
    assert e.arguments == {"token": REDACTED}


# --- the event model


def test_event_validation() -> None:
    with pytest.raises(ValidationError):
        event(decision="maybe")
    with pytest.raises(ValidationError):
        event(effect="teleport")
    with pytest.raises(ValidationError):
        event(timestamp=datetime(2026, 1, 1))  # naive: ambiguous in a money log
    with pytest.raises(ValidationError):
        event(amount="10.001")
    with pytest.raises(ValidationError):
        event(surprise=1)
    e = event(timestamp=datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))), amount=None)
    assert e.timestamp == NOW and e.timestamp.tzinfo == timezone.utc and e.amount is None
    assert event().effect is Effect.CHARGE and event().amount == Decimal("25")


def test_default_timestamp_is_now_in_utc() -> None:
    e = AuditEvent(operation="list_plans", effect=Effect.READ, decision="succeeded")
    assert e.timestamp.tzinfo == timezone.utc
    assert abs(datetime.now(timezone.utc) - e.timestamp) < timedelta(seconds=5)


def test_events_round_trip_through_a_line(tmp_path: Path) -> None:
    original = event(
        decision="succeeded", approver="alice", idempotency_key="ab_fund_wallet_0123", request_id="req_9",
        mandate="default", reason="inside mandate", currency="USD",
        arguments={"amount": "25.00", "payment_method_id": "pm_card_visa"},
        result={"transaction_id": "tx_1", "new_balance": "125.00", "card": {"brand": "visa", "last4": "4242"}},
    )
    line = original.to_json_line()
    assert "\n" not in line
    assert AuditEvent.from_json_line(line) == original
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path) as log:
        log.record(original)
        log.record(event(decision="refused", amount=None))
        assert [e.decision for e in log.read()] == ["succeeded", "refused"]
        assert next(iter(log.read())) == original


def test_decimals_are_written_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path) as log:
        log.record(event(amount=Decimal("25.10"), arguments={"amount": Decimal("25.10")}))
    raw = path.read_text()
    assert '"amount":"25.10"' in raw and "25.1," not in raw
    data = json.loads(raw)
    assert data["effect"] == "charge" and data["timestamp"] == "2026-06-01T12:00:00Z"
    assert AuditEvent.from_json_line(raw).amount == Decimal("25.10")


def test_a_newline_in_a_reason_cannot_forge_a_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    forged = json.dumps({"operation": "withdraw", "decision": "approved"})
    with JsonlAuditLog(path) as log:
        log.record(event(reason=f"ok\n{forged}\n", approver="eve\r\nalice"))
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["decision"] == "requested"


# --- the logs


def test_protocol() -> None:
    for log in (MemoryAuditLog(), MultiAuditLog()):
        assert isinstance(log, AuditLog)


def test_memory_log_keeps_events_in_order() -> None:
    log = MemoryAuditLog()
    for decision in ("requested", "approved", "succeeded"):
        log.record(event(decision=decision))
    assert [e.decision for e in log.events] == ["requested", "approved", "succeeded"]


def test_jsonl_log_creates_its_directory_appends_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "audit.jsonl"
    with JsonlAuditLog(path) as log:
        assert log.path == path
        log.record(event())
    with JsonlAuditLog(path) as again:  # reopening appends, never truncates
        again.record(event(decision="approved"))
    assert len(path.read_text().splitlines()) == 2
    assert path.stat().st_mode & 0o077 == 0


def test_each_line_is_on_disk_as_soon_as_record_returns(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = JsonlAuditLog(path, fsync=True)
    log.record(event())
    assert path.read_text().endswith("\n")  # read by another handle, before close
    log.close()
    with pytest.raises(AuditWriteError, match="closed"):  # one documented type for every audit failure
        log.record(event())
    log.close()


def test_concurrent_writers_produce_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    logs = [JsonlAuditLog(path), JsonlAuditLog(path)]  # two handles on one file, like two processes
    big = {"blob": "x" * 5000}  # lines larger than a pipe buffer

    def write(worker: int) -> None:
        for i in range(40):
            logs[worker % 2].record(event(request_id=f"req_{worker}_{i}", arguments=big))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for log in logs:
        log.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 8 * 40
    ids = {json.loads(line)["request_id"] for line in lines}
    assert len(ids) == 8 * 40


def _process_writer(path: str, worker: int) -> None:
    with JsonlAuditLog(path) as log:
        for i in range(50):
            log.record(event(request_id=f"p{worker}_{i}", arguments={"blob": "y" * 3000}))


def test_concurrent_processes_produce_whole_lines(tmp_path: Path) -> None:
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    path = tmp_path / "audit.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_process_writer, args=(str(path), w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    lines = path.read_text().splitlines()
    assert len({json.loads(line)["request_id"] for line in lines}) == len(lines) == 150


def test_multi_log_records_everywhere_and_reports_the_first_failure() -> None:
    class Broken:
        def record(self, event: AuditEvent) -> None:
            raise OSError("disk full")

    a, b = MemoryAuditLog(), MemoryAuditLog()
    multi = MultiAuditLog(a, Broken(), b)
    with pytest.raises(AuditWriteError, match="disk full") as raised:  # typed, the cause kept
        multi.record(event())
    assert isinstance(raised.value.__cause__, OSError)
    assert len(a.events) == len(b.events) == 1  # the broken sink did not silence the others


def test_the_log_uses_the_shared_secret_policy(tmp_path: Path) -> None:
    """What the model-facing output hides is what the log hides (refresh_token, sk_test_..., tnx_...)."""
    from agent_billing.tools.shaping import result_content

    result = {"refresh_token": "rt-123456789", "note": "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
              "auth": "Authorization: Basic dXNlcjpwYXNzd29yZA==", "key": "tnx_live_9a3b3d3337e50801e966",
              "token_type": "Bearer", "max_tokens": 100, "publishable_key": "pk_test_TYooMQauvdEDq54NiTphI7jx"}
    path = tmp_path / "audit.jsonl"
    with JsonlAuditLog(path) as log:
        log.record(event(result=result))
    logged = json.loads(path.read_text())["result"]
    shown = result_content(result)
    for secret in ("rt-123456789", "4eC39HqLyjWDarjtT1zdp7dc", "dXNlcjpwYXNzd29yZA", "9a3b3d3337e50801e966"):
        assert secret not in json.dumps(logged) and secret not in json.dumps(shown)
    for name in ("token_type", "max_tokens", "publishable_key"):  # bookkeeping and public keys stay
        assert logged[name] == shown[name] == result[name]


def test_a_record_is_scrubbed_once_and_encoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25: building a chained line from a validated event neither scrubs it again nor parses JSON back."""
    import agent_billing.audit as audit
    import agent_billing.audit_event as audit_event  # where scrubbing lives (audit re-exports it)

    built = smuggling_event()  # scrubbed here, once
    calls = {"scrub": 0, "loads": 0}
    real_scrub, real_loads = audit.scrub, json.loads

    def counting_scrub(value: Any) -> Any:
        calls["scrub"] += 1
        return real_scrub(value)

    def counting_loads(text: Any, **kw: Any) -> Any:
        calls["loads"] += 1
        return real_loads(text, **kw)

    monkeypatch.setattr(audit_event, "scrub", counting_scrub)
    monkeypatch.setattr(json, "loads", counting_loads)  # the one json module, as audit uses it
    line, _ = audit.chain_record(built, 1, audit.GENESIS_HASH)
    assert calls == {"scrub": 0, "loads": 0}
    monkeypatch.undo()
    assert_clean(line)
    assert json.loads(line)["arguments"]["token"] == REDACTED
